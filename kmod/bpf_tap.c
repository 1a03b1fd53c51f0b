// SPDX-License-Identifier: GPL-2.0
/*
 * The tap: one ETH_P_ALL packet handler per attached interface (BSD's
 * bpf_if) feeding an RCU list of descriptors. Sees every frame received and
 * sent, from its link-layer header, with a VLAN tag that the stack moved into
 * metadata put back. Nothing is allocated per packet: frames whose tag must
 * be reinserted for the filter are linearised into a per-CPU scratch skb.
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "bpfdev.h"

static LIST_HEAD(bpfdev_if_list);	/* under RTNL */

/* Per-CPU skb over a linear buffer, for filtering frames with a tag put back. */
struct bpfdev_scratch {
	struct sk_buff skb;
	u8 *data;
	unsigned int size;	/* of the allocation, skb_shared_info included */
	unsigned int room;	/* largest frame it holds */
};

static struct bpfdev_scratch __percpu *bpfdev_scratch;

#define BPF_SCRATCH_FRAME (GSO_LEGACY_MAX_SIZE + VLAN_HLEN)

static int bpfdev_link_type(const struct net_device *dev, unsigned int *dlt,
			    unsigned int *linkhdr_len)
{
	switch (dev->type) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		*dlt = DLT_EN10MB;
		*linkhdr_len = ETH_HLEN;
		return 0;
	case ARPHRD_NONE:
	case ARPHRD_RAWIP:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_PPP:
		*dlt = DLT_RAW;
		*linkhdr_len = 0;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* bh_hdrlen: the record header padded so the network header is aligned. */
static unsigned int bpfdev_hdrlen(unsigned int linkhdr_len)
{
	return BPF_WORDALIGN(linkhdr_len + SIZEOF_BPF_HDR(struct bpf_hdr)) - linkhdr_len;
}

/* Build the wire image of a tagged frame in this CPU's scratch skb. */
static struct sk_buff *bpfdev_scratch_frame(const struct bpfdev_frame *f)
{
	struct bpfdev_scratch *s = this_cpu_ptr(bpfdev_scratch);
	const unsigned int macs = 2 * ETH_ALEN;
	struct sk_buff *skb;

	if (f->len > s->room || f->skb->len < macs)
		return NULL;
	/*
	 * build_skb_around() expects a zeroed skb: it does not reset len, and
	 * skb_put() below adds to it. Left over from the last frame, len would
	 * let the filter read bytes of earlier, larger frames, or past the
	 * buffer. The tap runs with BH off, so nothing else on this CPU uses
	 * the scratch skb meanwhile.
	 */
	memset(&s->skb, 0, sizeof(s->skb));
	skb = build_skb_around(&s->skb, s->data, s->size);
	if (!skb)
		return NULL;
	if (skb_copy_bits(f->skb, 0, s->data, macs) ||
	    skb_copy_bits(f->skb, macs, s->data + macs + VLAN_HLEN,
			  f->skb->len - macs))
		return NULL;
	memcpy(s->data + macs, f->tag, VLAN_HLEN);
	skb_put(skb, f->len);
	skb_reset_mac_header(skb);
	return skb;
}

static bool bpfdev_direction_ok(const struct bpfdev_d *d, bool outgoing)
{
	switch (READ_ONCE(d->direction)) {
	case BPF_D_IN:
		return !outgoing;
	case BPF_D_OUT:
		return outgoing;
	default:
		return true;
	}
}

/* Offer the frame to one descriptor: direction, filter, buffer. */
void bpfdev_tap_deliver(struct bpfdev_d *d, struct bpfdev_if *bif, struct bpfdev_tap_ctx *c)
{
	struct bpfdev_filter *flt;
	unsigned int snaplen = (unsigned int)-1;
	unsigned int fildrop;
	bool wake = false;

	if (!bpfdev_direction_ok(d, c->outgoing))
		return;
	this_cpu_inc(d->stats->recv);
	flt = rcu_dereference(d->rfilter);
	if (flt) {
		if (c->f.has_tag && !c->scratch_tried) {
			struct sk_buff *s = bpfdev_scratch_frame(&c->f);

			c->scratch_tried = true;
			if (s) {
				c->filter_skb = s;
				c->f.flat = s->data;
			}
		}
		snaplen = bpf_prog_run(flt->prog, c->filter_skb);
		if (!snaplen)
			return;
	}
	this_cpu_inc(d->stats->match);
	fildrop = READ_ONCE(d->fildrop);
	if (fildrop != BPF_FILDROP_PASS) {
		/* OpenBSD: only received frames are dropped; DROP never captures. */
		if (!c->outgoing && READ_ONCE(d->bif) == bif)
			c->drop = true;
		if (fildrop == BPF_FILDROP_DROP)
			return;
	}
	/* Read the clock once, and only for frames that are kept. */
	if (!c->f.real_ns)
		c->f.real_ns = ktime_get_real_ns();
	spin_lock(&d->lock);
	if (d->bif == bif)
		wake = bpfdev_slots_catch_locked(d, &c->f, snaplen);
	spin_unlock(&d->lock);
	if (wake)
		bpfdev_wakeup(d);
}

/* Returns whether a BIOCSFILDROP descriptor wants the frame kept from the stack. */
static bool bpfdev_tap_frame(struct bpfdev_if *bif, struct sk_buff *skb, bool outgoing)
{
	struct bpfdev_tap_ctx c = {
		.f = { .skb = skb, .len = skb->len },
		.filter_skb = skb,
		.outgoing = outgoing,
	};
	struct bpfdev_d *d;

	if (READ_ONCE(bif->dlt) == DLT_EN10MB && skb_vlan_tag_present(skb)) {
		c.f.has_tag = true;
		c.f.tag[0] = skb->vlan_proto;
		c.f.tag[1] = htons(skb_vlan_tag_get(skb));
		c.f.len += VLAN_HLEN;
	}

	list_for_each_entry_rcu(d, &bif->dlist, bif_node)
		bpfdev_tap_deliver(d, bif, &c);
	/* Descriptors in fan-out groups are not on dlist: one test for the rest. */
	if (unlikely(!list_empty(&bif->groups)))
		bpfdev_fanout_deliver(bif, &c);
	return c.drop;
}

static int bpfdev_tap_rcv(struct sk_buff *skb, struct net_device *dev,
			  struct packet_type *pt, struct net_device *orig_dev)
{
	struct bpfdev_if *bif = container_of(pt, struct bpfdev_if, pt);
	bool outgoing = skb->pkt_type == PACKET_OUTGOING;
	bool drop = false;
	const u8 *link;
	int off;

	/* Multicast looped back by the stack, and lo's transmit copy: seen once. */
	if (skb->pkt_type == PACKET_LOOPBACK || (outgoing && READ_ONCE(bif->loopback)))
		goto mark;
	if (READ_ONCE(bif->dlt) == DLT_EN10MB)
		link = skb_mac_header_was_set(skb) ? skb_mac_header(skb) : skb->data;
	else
		link = skb_network_header(skb);
	off = skb->data - link;
	if (off < 0 || off > skb_headroom(skb))
		off = 0;
	/* Start the frame at its link header, as af_packet does; undone below. */
	skb_push(skb, off);
	drop = bpfdev_tap_frame(bif, skb, outgoing);
	skb_pull(skb, off);
mark:
	/*
	 * Only a frame to drop leaves a mark for the ingress hook: a stale one
	 * never matches, as it names an earlier receive pass (bpf_fildrop.c).
	 */
	if (unlikely(drop))
		bpfdev_fildrop_mark(bif, skb);
	consume_skb(skb);
	return 0;
}

static struct bpfdev_if *bpfdev_if_find(struct net_device *dev)
{
	struct bpfdev_if *bif;

	ASSERT_RTNL();
	list_for_each_entry(bif, &bpfdev_if_list, node)
		if (bif->dev == dev)
			return bif;
	return NULL;
}

static struct bpfdev_if *bpfdev_if_get(struct net_device *dev)
{
	struct bpfdev_if *bif = bpfdev_if_find(dev);
	int err;

	if (bif)
		return bif;
	bif = kzalloc(sizeof(*bif), GFP_KERNEL);
	if (!bif)
		return ERR_PTR(-ENOMEM);
	err = bpfdev_link_type(dev, &bif->dlt, &bif->linkhdr_len);
	if (err) {
		kfree(bif);
		return ERR_PTR(err);
	}
	bif->hdrlen = bpfdev_hdrlen(bif->linkhdr_len);
	bif->loopback = dev->flags & IFF_LOOPBACK;
	bif->dev = dev;
	dev_hold(dev);
	INIT_LIST_HEAD(&bif->dlist);
	INIT_LIST_HEAD(&bif->groups);
	bif->pt.type = htons(ETH_P_ALL);
	bif->pt.dev = dev;
	bif->pt.func = bpfdev_tap_rcv;
	/* Frames owned by a bpfdev socket are not shown to the taps (bpf_feedback.c). */
	bif->pt.af_packet_priv = bif;
	bif->pt.id_match = bpfdev_feedback_id_match;
	bpfdev_fildrop_init_if(bif);
	list_add(&bif->node, &bpfdev_if_list);
	dev_add_pack(&bif->pt);
	atomic_inc(&bpfdev_live_ifs);
	return bif;
}

static void bpfdev_if_free_rcu(struct rcu_head *head)
{
	struct bpfdev_if *bif = container_of(head, struct bpfdev_if, rcu);

	dev_put(bif->dev);
	kfree(bif);
	atomic_dec(&bpfdev_live_ifs);
}

/*
 * Drop the tap when its last descriptor has gone. Taps in flight may still
 * run on bif (and use bif->dev) inside their RCU section: bif and its
 * device reference go after a grace period, without waiting for it here.
 */
static void bpfdev_if_put(struct bpfdev_if *bif)
{
	if (!list_empty(&bif->dlist) || !list_empty(&bif->groups))
		return;
	/* The last BIOCSFILDROP descriptor unhooked bif when it left. */
	WARN_ON_ONCE(bif->fildrop_users);
	__dev_remove_pack(&bif->pt);
	list_del(&bif->node);
	call_rcu(&bif->rcu, bpfdev_if_free_rcu);
}

/* Take d off its interface's list; bif itself stays. Called with RTNL held. */
static void bpfdev_unlink(struct bpfdev_d *d)
{
	struct bpfdev_if *bif = d->bif;

	if (d->fanout)
		bpfdev_fanout_leave(d, false);
	else
		list_del_rcu(&d->bif_node);
	d->unlink_gp = get_state_synchronize_rcu();
	bpfdev_fildrop_leave(d, bif);
	if (d->promisc) {
		d->promisc = false;
		dev_set_promiscuity(bif->dev, -1);
	}
	spin_lock_bh(&d->lock);
	WRITE_ONCE(d->bif, NULL);
	spin_unlock_bh(&d->lock);
}

/* Called with RTNL held. */
void bpfdev_detach(struct bpfdev_d *d)
{
	struct bpfdev_if *bif = d->bif;

	ASSERT_RTNL();
	if (!bif)
		return;
	bpfdev_unlink(d);
	bpfdev_if_put(bif);
}

/*
 * BIOCSETIF: attach (or move) d to the named interface of the opener's
 * namespace, then discard what was buffered. Under ioctl_lock.
 */
int bpfdev_attach(struct bpfdev_d *d, const char *ifname)
{
	struct net_device *dev;
	struct bpfdev_if *bif;
	int err = 0;

	rtnl_lock();
	dev = __dev_get_by_name(d->net, ifname);
	if (!dev) {
		err = -ENXIO;
		goto unlock;
	}
	if (d->bif && d->bif->dev == dev)
		goto unlock;
	bif = bpfdev_if_get(dev);
	if (IS_ERR(bif)) {
		err = PTR_ERR(bif);
		goto unlock;
	}
	/* Hook the new interface before leaving the old: a failure changes nothing. */
	err = bpfdev_fildrop_prepare(d, bif);
	if (err) {
		bpfdev_if_put(bif);
		goto unlock;
	}
	if (d->bif)
		bpfdev_detach(d);
	/*
	 * Taps may still walk the list d left (moved, or detached by the
	 * notifier) through d->bif_node: relink only after a grace period.
	 */
	if (d->ever_attached && !poll_state_synchronize_rcu(d->unlink_gp))
		synchronize_net();
	list_add_rcu(&d->bif_node, &bif->dlist);
	bpfdev_fildrop_commit(d);
	spin_lock_bh(&d->lock);
	WRITE_ONCE(d->bif, bif);
	d->detached = false;
	d->ever_attached = true;
	spin_unlock_bh(&d->lock);
unlock:
	rtnl_unlock();
	if (err)
		return err;
	/*
	 * Reset as FreeBSD's reset_d: after a read() copying the hold buffer
	 * out has handed it back. That copy can take as long as the reader's
	 * page faults, so wait without RTNL. Killable only: the attach is done,
	 * and a process being killed no longer cares what is buffered.
	 */
	if (bpfdev_slots_lock_idle(d, true))
		return 0;
	bpfdev_reset_locked(d);
	spin_unlock_bh(&d->lock);
	return 0;
}

/*
 * The per-CPU counters only ever grow: each CPU's tap increments its own
 * without a lock (this_cpu_inc, a read-modify-write). Zeroing them from
 * another CPU would race those increments and lose the reset, so a reset
 * records the sums as a baseline instead, and readers subtract it.
 */
static void bpfdev_stats_sum(struct bpfdev_d *d, struct bpfdev_pcpu_stats *sum)
{
	int cpu;

	sum->recv = 0;
	sum->match = 0;
	for_each_possible_cpu(cpu) {
		const struct bpfdev_pcpu_stats *s = per_cpu_ptr(d->stats, cpu);

		sum->recv += READ_ONCE(s->recv);
		sum->match += READ_ONCE(s->match);
	}
}

/* The counters since the last reset. Takes d->lock. */
void bpfdev_stats_read(struct bpfdev_d *d, struct bpfdev_pcpu_stats *sum)
{
	struct bpfdev_pcpu_stats base;

	spin_lock_bh(&d->lock);
	base = d->stats_base;
	spin_unlock_bh(&d->lock);
	bpfdev_stats_sum(d, sum);
	sum->recv -= base.recv;
	sum->match -= base.match;
}

/* Called with d->lock held. */
void bpfdev_stats_zero(struct bpfdev_d *d)
{
	bpfdev_stats_sum(d, &d->stats_base);
}

static unsigned int bpfdev_if_users(struct bpfdev_if *bif)
{
	unsigned int n = list_count_nodes(&bif->dlist);

	return n + bpfdev_fanout_members(bif);
}

/* The interface went away (or took a link type we cannot give): detach all. */
static void bpfdev_if_detach_all(struct bpfdev_if *bif)
{
	unsigned int n = bpfdev_if_users(bif);
	struct bpfdev_d *d;

	/* Plain descriptors first, then fan-out members; bif stays until the end. */
	while (n--) {
		d = list_first_entry_or_null(&bif->dlist, struct bpfdev_d, bif_node);
		if (!d)
			d = bpfdev_fanout_first(bif);
		spin_lock_bh(&d->lock);
		d->detached = true;
		spin_unlock_bh(&d->lock);
		bpfdev_unlink(d);
		wake_up_interruptible(&d->wait);
		if (d->fasync)
			kill_fasync(&d->fasync, SIGIO, POLL_HUP);
	}
	/* Freed once, after the walk: nothing above touches bif after this. */
	bpfdev_if_put(bif);
}

/*
 * The device's type changed (bonding takes its first slave's): the link
 * type and header length follow. A tap in flight may see the old or the new
 * values; each is a valid record layout.
 */
static void bpfdev_if_retype(struct bpfdev_if *bif)
{
	unsigned int dlt, linkhdr_len;

	if (bpfdev_link_type(bif->dev, &dlt, &linkhdr_len)) {
		bpfdev_if_detach_all(bif);
		return;
	}
	WRITE_ONCE(bif->dlt, dlt);
	WRITE_ONCE(bif->linkhdr_len, linkhdr_len);
	WRITE_ONCE(bif->hdrlen, bpfdev_hdrlen(linkhdr_len));
	WRITE_ONCE(bif->loopback, bif->dev->flags & IFF_LOOPBACK);
}

/* Descriptors attached to bif, in fan-out groups or not. Under RTNL. */
static int bpfdev_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct bpfdev_if *bif;

	if (event != NETDEV_UNREGISTER && event != NETDEV_POST_TYPE_CHANGE)
		return NOTIFY_DONE;
	bif = bpfdev_if_find(dev);
	if (!bif)
		return NOTIFY_DONE;
	if (event == NETDEV_UNREGISTER)
		bpfdev_if_detach_all(bif);
	else
		bpfdev_if_retype(bif);
	return NOTIFY_DONE;
}

static struct notifier_block bpfdev_netdev_nb = {
	.notifier_call = bpfdev_netdev_event,
};

static void bpfdev_scratch_free(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		kfree(per_cpu_ptr(bpfdev_scratch, cpu)->data);
	free_percpu(bpfdev_scratch);
}

int bpfdev_tap_init(void)
{
	unsigned int size = BPF_SCRATCH_FRAME +
			    SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	int cpu, err;

	bpfdev_scratch = alloc_percpu(struct bpfdev_scratch);
	if (!bpfdev_scratch)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct bpfdev_scratch *s = per_cpu_ptr(bpfdev_scratch, cpu);

		s->data = kmalloc_node(size, GFP_KERNEL, cpu_to_node(cpu));
		if (!s->data) {
			bpfdev_scratch_free();
			return -ENOMEM;
		}
		s->size = size;
		s->room = BPF_SCRATCH_FRAME;
	}
	err = register_netdevice_notifier(&bpfdev_netdev_nb);
	if (err)
		bpfdev_scratch_free();
	return err;
}

void bpfdev_tap_exit(void)
{
	unregister_netdevice_notifier(&bpfdev_netdev_nb);
	rcu_barrier();	/* the last bif's and descriptors' call_rcu */
	bpfdev_fildrop_exit();
	bpfdev_scratch_free();
}
