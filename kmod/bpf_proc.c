// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/bpfdev: every descriptor opened in this network namespace with
 * its interface and counters (FreeBSD's netstat -B), and, in the initial
 * namespace, how many descriptors, tapped interfaces and filters exist.
 */
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "bpfdev.h"

static LIST_HEAD(bpfdev_d_list);
static DEFINE_MUTEX(bpfdev_d_list_lock);
atomic_t bpfdev_live_ifs = ATOMIC_INIT(0);
atomic_t bpfdev_live_filters = ATOMIC_INIT(0);

void bpfdev_proc_add(struct bpfdev_d *d)
{
	d->owner = get_task_pid(current, PIDTYPE_TGID);
	mutex_lock(&bpfdev_d_list_lock);
	list_add_tail(&d->all_node, &bpfdev_d_list);
	mutex_unlock(&bpfdev_d_list_lock);
}

void bpfdev_proc_del(struct bpfdev_d *d)
{
	mutex_lock(&bpfdev_d_list_lock);
	list_del(&d->all_node);
	mutex_unlock(&bpfdev_d_list_lock);
	put_pid(d->owner);
}

static const char *const bpfdev_dir_names[] = { "in", "inout", "out" };
static const char *const bpfdev_fanout_names[] = { "-", "hash", "cpu", "rr" };

static void bpfdev_proc_show_d(struct seq_file *seq, struct bpfdev_d *d)
{
	char ifname[IFNAMSIZ] = "-", flags[4], *fl = flags;
	struct bpfdev_pcpu_stats sum;
	struct bpf_fanout fo;
	unsigned long pinned;
	unsigned int bufsize;
	u64 drops;

	spin_lock_bh(&d->lock);
	if (d->bif)
		strscpy(ifname, d->bif->dev->name, sizeof(ifname));
	bufsize = d->bufsize;
	drops = d->drops;
	fo = d->fanout_show;
	pinned = bpfdev_zbuf_pages_locked(d);
	spin_unlock_bh(&d->lock);
	bpfdev_stats_read(d, &sum);
	if (READ_ONCE(d->immediate))
		*fl++ = 'I';
	if (d->promisc)
		*fl++ = 'P';
	if (d->locked)
		*fl++ = 'L';
	*fl = '\0';
	seq_printf(seq, "%4d %7d %-15s %9u %12llu %12llu %12llu %-6s %6lu %-5s %-5s ",
		   d->unit, pid_vnr(d->owner), ifname, bufsize, sum.recv, sum.match, drops,
		   READ_ONCE(d->bufops)->mode == BPF_BUFMODE_ZBUF ? "zbuf" : "buffer", pinned,
		   bpfdev_dir_names[READ_ONCE(d->direction)], flags);
	/* The group as "id:mode", "+r" with rollover; "-" when in none. */
	if (BPF_FANOUT_MODE(fo.bf_mode) == BPF_FANOUT_NONE)
		seq_puts(seq, "-\n");
	else
		seq_printf(seq, "%u:%s%s\n", fo.bf_group,
			   bpfdev_fanout_names[BPF_FANOUT_MODE(fo.bf_mode)],
			   fo.bf_mode & BPF_FANOUT_ROLLOVER ? "+r" : "");
}

static int bpfdev_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct bpfdev_d *d;
	unsigned int count = 0;

	mutex_lock(&bpfdev_d_list_lock);
	list_for_each_entry(d, &bpfdev_d_list, all_node)
		count++;
	if (net_eq(net, &init_net))
		seq_printf(seq, "descriptors %u interfaces %d filters %d groups %d pinned %ld\n",
			   count, atomic_read(&bpfdev_live_ifs), atomic_read(&bpfdev_live_filters),
			   atomic_read(&bpfdev_live_groups), atomic_long_read(&bpfdev_zbuf_pinned));
	seq_puts(seq, "unit     pid interface         bufsize         recv        match         drop mode   pinned dir   flags fanout\n");
	list_for_each_entry(d, &bpfdev_d_list, all_node)
		if (net_eq(d->net, net))
			bpfdev_proc_show_d(seq, d);
	mutex_unlock(&bpfdev_d_list_lock);
	return 0;
}

static int __net_init bpfdev_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("bpfdev", 0400, net->proc_net, bpfdev_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit bpfdev_proc_net_exit(struct net *net)
{
	remove_proc_entry("bpfdev", net->proc_net);
}

static struct pernet_operations bpfdev_proc_net_ops = {
	.init = bpfdev_proc_net_init,
	.exit = bpfdev_proc_net_exit,
};

int bpfdev_proc_init(void)
{
	return register_pernet_subsys(&bpfdev_proc_net_ops);
}

void bpfdev_proc_exit(void)
{
	unregister_pernet_subsys(&bpfdev_proc_net_ops);
}
