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

/* Build the wire image of a tagged frame in this CPU's scratch skb. */
static struct sk_buff *bpfdev_scratch_frame(const struct bpfdev_frame *f)
{
	struct bpfdev_scratch *s = this_cpu_ptr(bpfdev_scratch);
	const unsigned int macs = 2 * ETH_ALEN;
	struct sk_buff *skb;

	if (f->len > s->room || f->skb->len < macs)
		return NULL;
	skb = build_skb_around(&s->skb, s->data, 0);
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

static void bpfdev_tap_frame(struct bpfdev_if *bif, struct sk_buff *skb, bool outgoing)
{
	struct sk_buff *filter_skb = skb;
	struct bpfdev_frame f = { .skb = skb, .len = skb->len };
	bool scratch_tried = false;
	struct bpfdev_d *d;

	if (bif->dlt == DLT_EN10MB && skb_vlan_tag_present(skb)) {
		f.has_tag = true;
		f.tag[0] = skb->vlan_proto;
		f.tag[1] = htons(skb_vlan_tag_get(skb));
		f.len += VLAN_HLEN;
	}

	list_for_each_entry_rcu(d, &bif->dlist, bif_node) {
		struct bpfdev_filter *flt;
		unsigned int snaplen = (unsigned int)-1;
		bool wake = false;

		if (!bpfdev_direction_ok(d, outgoing))
			continue;
		this_cpu_inc(d->stats->recv);
		flt = rcu_dereference(d->rfilter);
		if (flt) {
			if (f.has_tag && !scratch_tried) {
				struct sk_buff *s = bpfdev_scratch_frame(&f);

				scratch_tried = true;
				if (s) {
					filter_skb = s;
					f.flat = s->data;
				}
			}
			snaplen = bpf_prog_run(flt->prog, filter_skb);
			if (!snaplen)
				continue;
		}
		this_cpu_inc(d->stats->match);
		/* Read the clock once, and only for frames that are kept. */
		if (!f.real_ns)
			f.real_ns = ktime_get_real_ns();
		spin_lock(&d->lock);
		if (d->bif == bif && d->sbuf)
			wake = bpfdev_catch_locked(d, &f, snaplen);
		spin_unlock(&d->lock);
		if (wake)
			bpfdev_wakeup(d);
	}
}

static int bpfdev_tap_rcv(struct sk_buff *skb, struct net_device *dev,
			  struct packet_type *pt, struct net_device *orig_dev)
{
	struct bpfdev_if *bif = container_of(pt, struct bpfdev_if, pt);
	bool outgoing = skb->pkt_type == PACKET_OUTGOING;
	const u8 *link;
	int off;

	/* Multicast looped back by the stack, and lo's transmit copy: seen once. */
	if (skb->pkt_type == PACKET_LOOPBACK || (outgoing && bif->loopback))
		goto out;
	if (bif->dlt == DLT_EN10MB)
		link = skb_mac_header_was_set(skb) ? skb_mac_header(skb) : skb->data;
	else
		link = skb_network_header(skb);
	off = skb->data - link;
	if (off < 0 || off > skb_headroom(skb))
		off = 0;
	/* Start the frame at its link header, as af_packet does; undone below. */
	skb_push(skb, off);
	bpfdev_tap_frame(bif, skb, outgoing);
	skb_pull(skb, off);
out:
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
	bif->hdrlen = BPF_WORDALIGN(bif->linkhdr_len + SIZEOF_BPF_HDR(struct bpf_hdr)) -
		      bif->linkhdr_len;
	bif->loopback = dev->flags & IFF_LOOPBACK;
	bif->dev = dev;
	dev_hold(dev);
	INIT_LIST_HEAD(&bif->dlist);
	bif->pt.type = htons(ETH_P_ALL);
	bif->pt.dev = dev;
	bif->pt.func = bpfdev_tap_rcv;
	/* Frames owned by a bpfdev socket are not shown to the taps (bpf_feedback.c). */
	bif->pt.af_packet_priv = bif;
	bif->pt.id_match = bpfdev_feedback_id_match;
	list_add(&bif->node, &bpfdev_if_list);
	dev_add_pack(&bif->pt);
	atomic_inc(&bpfdev_live_ifs);
	return bif;
}

static void bpfdev_if_put(struct bpfdev_if *bif)
{
	if (!list_empty(&bif->dlist))
		return;
	dev_remove_pack(&bif->pt);	/* waits for taps in flight */
	list_del(&bif->node);
	dev_put(bif->dev);
	kfree_rcu(bif, rcu);
	atomic_dec(&bpfdev_live_ifs);
}

/* Called with RTNL held. */
void bpfdev_detach(struct bpfdev_d *d)
{
	struct bpfdev_if *bif = d->bif;

	ASSERT_RTNL();
	if (!bif)
		return;
	list_del_rcu(&d->bif_node);
	if (d->promisc) {
		d->promisc = false;
		dev_set_promiscuity(bif->dev, -1);
	}
	spin_lock_bh(&d->lock);
	WRITE_ONCE(d->bif, NULL);
	spin_unlock_bh(&d->lock);
	bpfdev_if_put(bif);
}

/* BIOCSETIF: attach (or move) d to the named interface of the opener's namespace. */
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
		goto reset;
	bif = bpfdev_if_get(dev);
	if (IS_ERR(bif)) {
		err = PTR_ERR(bif);
		goto unlock;
	}
	if (d->bif) {
		bpfdev_detach(d);
		/* Taps may still walk the old list through d->bif_node. */
		synchronize_net();
	}
	list_add_rcu(&d->bif_node, &bif->dlist);
	spin_lock_bh(&d->lock);
	WRITE_ONCE(d->bif, bif);
	d->detached = false;
	spin_unlock_bh(&d->lock);
reset:
	spin_lock_bh(&d->lock);
	bpfdev_reset_locked(d);
	spin_unlock_bh(&d->lock);
unlock:
	rtnl_unlock();
	return err;
}

static int bpfdev_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct bpfdev_if *bif;
	struct bpfdev_d *d, *tmp;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	bif = bpfdev_if_find(dev);
	if (!bif)
		return NOTIFY_DONE;
	/* The last detach frees bif: walk with a saved next pointer. */
	list_for_each_entry_safe(d, tmp, &bif->dlist, bif_node) {
		spin_lock_bh(&d->lock);
		d->detached = true;
		spin_unlock_bh(&d->lock);
		bpfdev_detach(d);
		wake_up_interruptible(&d->wait);
		if (d->fasync)
			kill_fasync(&d->fasync, SIGIO, POLL_HUP);
	}
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
	rcu_barrier();	/* kfree_rcu of the last bif */
	bpfdev_scratch_free();
}
