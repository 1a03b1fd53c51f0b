// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out groups (BIOCSFANOUT), as Linux's PACKET_FANOUT: descriptors on one
 * interface that join the same group id share its frames. Each frame goes to
 * exactly one member of each group, chosen by a symmetric flow hash, the CPU
 * or round robin, then through that member's direction check and filter.
 * With rollover, a member whose buffer cannot take the frame is passed over
 * for the next one that can, before a drop is counted.
 *
 * Locking. Groups hang off bif->groups and their members are an array
 * published with rcu_assign_pointer; both change only under RTNL, and the
 * tap reads them inside its RCU (softirq) section. A change copies the
 * array, so every frame sees one whole membership, old or new, and goes to
 * exactly one member of it. A member is never on bif->dlist at the same
 * time: moving between the two lists waits out a grace period in between
 * (see bpfdev_fanout_join() and bpfdev_fanout_leave()).
 */
#include <linux/if_vlan.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "bpfdev.h"

struct bpfdev_fanout_members {
	struct rcu_head rcu;
	unsigned int n;
	struct bpfdev_d *d[];
};

struct bpfdev_fanout {
	struct list_head node;		/* on bif->groups */
	struct bpfdev_fanout_members __rcu *members;	/* never empty */
	unsigned int id;
	unsigned int mode;		/* BPF_FANOUT_HASH, _CPU or _RR */
	bool rollover;
	atomic_t rr;
	struct rcu_head rcu;
};

atomic_t bpfdev_live_groups = ATOMIC_INIT(0);
static u32 bpfdev_fanout_seed __read_mostly;

void bpfdev_fanout_init(void)
{
	bpfdev_fanout_seed = get_random_u32();
}

/*
 * Flow hash that both directions of a flow share: addresses and ports are
 * each put in order before hashing. Read from the frame as on the wire: a
 * VLAN tag in metadata is not in the bytes, tags in the bytes (802.1Q,
 * 802.1ad, up to two) are skipped, so tagged and untagged copies of a flow
 * hash alike. Fragments after the first carry no ports, so every fragment of
 * a fragmented datagram hashes on addresses alone.
 */
struct bpfdev_flow {
	u32 lo[4], hi[4];
	u32 ports;
	u32 proto;
};

static void bpfdev_flow_order(struct bpfdev_flow *k, const void *a, const void *b,
			      unsigned int len)
{
	bool swap = memcmp(a, b, len) > 0;

	memcpy(k->lo, swap ? b : a, len);
	memcpy(k->hi, swap ? a : b, len);
}

static void bpfdev_flow_ports(struct bpfdev_flow *k, const struct sk_buff *skb, int off)
{
	__be16 p[2], *pp;

	switch (k->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
		break;
	default:
		return;
	}
	pp = skb_header_pointer(skb, off, sizeof(p), p);
	if (!pp)
		return;
	k->ports = ntohs(pp[0]) < ntohs(pp[1]) ?
		   (u32)ntohs(pp[0]) << 16 | ntohs(pp[1]) :
		   (u32)ntohs(pp[1]) << 16 | ntohs(pp[0]);
}

static bool bpfdev_flow_ipv4(struct bpfdev_flow *k, const struct sk_buff *skb, int off)
{
	struct iphdr buf, *iph = skb_header_pointer(skb, off, sizeof(buf), &buf);

	if (!iph || iph->ihl < 5)
		return false;
	k->proto = iph->protocol;
	bpfdev_flow_order(k, &iph->saddr, &iph->daddr, sizeof(iph->saddr));
	if (!(iph->frag_off & htons(IP_MF | IP_OFFSET)))
		bpfdev_flow_ports(k, skb, off + iph->ihl * 4);
	return true;
}

static bool bpfdev_flow_ipv6(struct bpfdev_flow *k, const struct sk_buff *skb, int off)
{
	struct ipv6hdr buf, *ip6 = skb_header_pointer(skb, off, sizeof(buf), &buf);
	unsigned int i;
	u8 next;

	if (!ip6)
		return false;
	bpfdev_flow_order(k, &ip6->saddr, &ip6->daddr, sizeof(ip6->saddr));
	next = ip6->nexthdr;
	off += sizeof(*ip6);
	/* A few extension headers; a fragment after the first has no ports. */
	for (i = 0; i < 8; i++) {
		u8 h[2], *hp;
		struct frag_hdr fbuf, *fh;

		switch (next) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
		case NEXTHDR_AUTH:
			hp = skb_header_pointer(skb, off, sizeof(h), h);
			if (!hp)
				return true;
			next = hp[0];
			off += next == NEXTHDR_AUTH ? (hp[1] + 2) * 4 : (hp[1] + 1) * 8;
			continue;
		case NEXTHDR_FRAGMENT:
			fh = skb_header_pointer(skb, off, sizeof(fbuf), &fbuf);
			if (!fh)
				return true;
			k->proto = fh->nexthdr;
			if (fh->frag_off & htons(IP6_OFFSET | IP6_MF))
				return true;
			next = fh->nexthdr;
			off += sizeof(*fh);
			continue;
		default:
			break;
		}
		break;
	}
	k->proto = next;
	bpfdev_flow_ports(k, skb, off);
	return true;
}

static u32 bpfdev_flow_hash(const struct bpfdev_if *bif, const struct bpfdev_tap_ctx *c)
{
	const struct sk_buff *skb = c->f.skb;
	struct bpfdev_flow k = {};
	__be16 type, *tp;
	u8 v, *vp;
	int off = 0;
	unsigned int tags;

	if (bif->dlt == DLT_EN10MB) {
		off = 2 * ETH_ALEN;
		for (tags = 0;; tags++) {
			tp = skb_header_pointer(skb, off, sizeof(type), &type);
			if (!tp)
				goto other;
			if (!eth_type_vlan(*tp) || tags == 2)
				break;
			off += VLAN_HLEN;
		}
		off += sizeof(type);
		if (*tp == htons(ETH_P_IP) && bpfdev_flow_ipv4(&k, skb, off))
			goto hash;
		if (*tp == htons(ETH_P_IPV6) && bpfdev_flow_ipv6(&k, skb, off))
			goto hash;
		k.proto = ntohs(*tp);
		goto other;
	}
	vp = skb_header_pointer(skb, 0, sizeof(v), &v);
	if (vp && *vp >> 4 == 4 && bpfdev_flow_ipv4(&k, skb, 0))
		goto hash;
	if (vp && *vp >> 4 == 6 && bpfdev_flow_ipv6(&k, skb, 0))
		goto hash;
other:
	/* Not IP: the MAC pair (ordered) and the EtherType. */
	if (bif->dlt == DLT_EN10MB) {
		u8 macs[2 * ETH_ALEN], *mp = skb_header_pointer(skb, 0, sizeof(macs), macs);

		if (mp)
			bpfdev_flow_order(&k, mp, mp + ETH_ALEN, ETH_ALEN);
	}
hash:
	return jhash2((const u32 *)&k, sizeof(k) / sizeof(u32), bpfdev_fanout_seed);
}

/*
 * Rollover: from the chosen member on, the first whose buffer has room for
 * the frame. If none has, the chosen one, which counts the drop. The room
 * test and the store are two lock sections: another CPU may fill the buffer
 * in between (then that frame is dropped, as without rollover) or a read()
 * may empty it (then the frame was moved needlessly); either way it reaches
 * exactly one member.
 */
static struct bpfdev_d *bpfdev_fanout_rollover(const struct bpfdev_fanout_members *m,
					       unsigned int n, unsigned int i,
					       const struct bpfdev_tap_ctx *c)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct bpfdev_d *d = READ_ONCE(m->d[(i + k) % n]);
		bool room;

		spin_lock(&d->lock);
		room = bpfdev_slots_room_locked(d, &c->f);
		spin_unlock(&d->lock);
		if (room)
			return d;
	}
	return READ_ONCE(m->d[i]);
}

/* Called by the tap inside its RCU section, for frames on an interface with groups. */
void bpfdev_fanout_deliver(struct bpfdev_if *bif, struct bpfdev_tap_ctx *c)
{
	struct bpfdev_fanout *g;
	bool hashed = false;
	u32 hash = 0;

	list_for_each_entry_rcu(g, &bif->groups, node) {
		/* One snapshot of the membership per frame: exactly one member. */
		const struct bpfdev_fanout_members *m = rcu_dereference(g->members);
		unsigned int n = READ_ONCE(m->n), i;
		struct bpfdev_d *d;

		switch (g->mode) {
		case BPF_FANOUT_HASH:
			if (!hashed) {
				hash = bpfdev_flow_hash(bif, c);
				hashed = true;
			}
			i = reciprocal_scale(hash, n);
			break;
		case BPF_FANOUT_CPU:
			i = raw_smp_processor_id() % n;
			break;
		default:
			i = (unsigned int)atomic_inc_return(&g->rr) % n;
			break;
		}
		if (g->rollover && n > 1)
			d = bpfdev_fanout_rollover(m, n, i, c);
		else
			d = READ_ONCE(m->d[i]);
		bpfdev_tap_deliver(d, bif, c);
	}
}

static struct bpfdev_fanout *bpfdev_fanout_find(struct bpfdev_if *bif, unsigned int id)
{
	struct bpfdev_fanout *g;

	ASSERT_RTNL();
	list_for_each_entry(g, &bif->groups, node)
		if (g->id == id)
			return g;
	return NULL;
}

static struct bpfdev_fanout_members *bpfdev_members(struct bpfdev_fanout *g)
{
	return rtnl_dereference(g->members);
}

/* The first member of the first group, for the interface-removal walk. */
struct bpfdev_d *bpfdev_fanout_first(struct bpfdev_if *bif)
{
	struct bpfdev_fanout *g;

	g = list_first_entry_or_null(&bif->groups, struct bpfdev_fanout, node);
	return g ? bpfdev_members(g)->d[0] : NULL;
}

unsigned int bpfdev_fanout_members(struct bpfdev_if *bif)
{
	struct bpfdev_fanout *g;
	unsigned int n = 0;

	ASSERT_RTNL();
	list_for_each_entry(g, &bif->groups, node)
		n += bpfdev_members(g)->n;
	return n;
}

static void bpfdev_fanout_show(struct bpfdev_d *d, unsigned int id, unsigned int mode)
{
	spin_lock_bh(&d->lock);
	d->fanout_show.bf_group = id;
	d->fanout_show.bf_mode = mode;
	spin_unlock_bh(&d->lock);
}

/*
 * Zero d's counters, so they count only what the new membership offers it.
 * Called while no tap can reach d (between a removal and a grace period's
 * end, and the insertion), so the per-CPU counters are not being written.
 * Records already buffered stay for the reader: the slots are not touched,
 * so this needs no wait for a read() copying out, and may run under RTNL.
 */
static void bpfdev_fanout_zero_counters(struct bpfdev_d *d)
{
	spin_lock_bh(&d->lock);
	d->drops = 0;
	spin_unlock_bh(&d->lock);
	bpfdev_stats_zero(d);
}

/*
 * Join: take d off bif->dlist, wait a grace period, zero its counters, then
 * publish a membership array that holds it. A frame either walked dlist
 * before the removal (it may reach d as a plain descriptor, and the grace
 * period ends before d's counters are zeroed) or reads the group after the new array is
 * published (it reaches exactly one member, maybe d); no frame does both, so
 * none reaches d twice. Frames in the gap go to the old members only. The
 * group's other members never see a frame twice: each frame reads one array.
 */
static int bpfdev_fanout_join(struct bpfdev_d *d, const struct bpf_fanout *req)
{
	struct bpfdev_if *bif = d->bif;
	unsigned int mode = BPF_FANOUT_MODE(req->bf_mode);
	bool rollover = req->bf_mode & BPF_FANOUT_ROLLOVER;
	struct bpfdev_fanout_members *old = NULL, *m;
	struct bpfdev_fanout *g, *fresh = NULL;
	unsigned int n = 0;

	g = bpfdev_fanout_find(bif, req->bf_group);
	if (g) {
		if (g->mode != mode || g->rollover != rollover)
			return -EINVAL;
		old = bpfdev_members(g);
		n = old->n;
		if (n >= BPF_FANOUT_MAX_MEMBERS)
			return -ENOSPC;
	} else {
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return -ENOMEM;
		fresh->id = req->bf_group;
		fresh->mode = mode;
		fresh->rollover = rollover;
	}
	m = kzalloc(struct_size(m, d, n + 1), GFP_KERNEL_ACCOUNT);
	if (!m) {
		kfree(fresh);
		return -ENOMEM;
	}
	if (old)
		memcpy(m->d, old->d, n * sizeof(m->d[0]));
	m->d[n] = d;
	m->n = n + 1;

	list_del_rcu(&d->bif_node);
	synchronize_net();
	/* No tap walks through d->bif_node any more. */
	INIT_LIST_HEAD(&d->bif_node);
	bpfdev_fanout_zero_counters(d);
	if (fresh) {
		/* The members are in place before the group can be found. */
		RCU_INIT_POINTER(fresh->members, m);
		list_add_tail_rcu(&fresh->node, &bif->groups);
		atomic_inc(&bpfdev_live_groups);
		g = fresh;
	} else {
		rcu_assign_pointer(g->members, m);
		kfree_rcu(old, rcu);
	}
	d->fanout = g;
	bpfdev_fanout_show(d, g->id, req->bf_mode);
	return 0;
}

/*
 * Leave d's group (under RTNL). The array without d is published first; a
 * frame that read the old array may still be delivered to d, which stays
 * valid: whoever frees d (release) or moves it (attach) waits a grace period
 * after this. With to_dlist, d goes back to seeing every frame: after a grace
 * period no frame reaches d through the group, then its counters are zeroed
 * and it is put back on dlist, so no frame reaches it twice either.
 */
void bpfdev_fanout_leave(struct bpfdev_d *d, bool to_dlist)
{
	struct bpfdev_fanout *g = d->fanout;
	struct bpfdev_fanout_members *old, *m = NULL;
	unsigned int i, j;

	ASSERT_RTNL();
	if (!g)
		return;
	old = bpfdev_members(g);
	if (old->n == 1) {
		/* Frames inside the section may still use g and old: freed after it. */
		list_del_rcu(&g->node);
		kfree_rcu(old, rcu);
		kfree_rcu(g, rcu);
		atomic_dec(&bpfdev_live_groups);
	} else {
		/*
		 * Removing must not fail: without memory, shrink in place. A
		 * reader holding the array then sees one member moved down and
		 * the old last one twice; n is read once per frame and drops
		 * only after, so each frame still goes to one member of it.
		 */
		m = kzalloc(struct_size(m, d, old->n - 1), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		for (i = 0, j = 0; i < old->n; i++)
			if (old->d[i] != d) {
				if (m)
					m->d[j] = old->d[i];
				else
					WRITE_ONCE(old->d[j], old->d[i]);
				j++;
			}
		if (m) {
			m->n = j;
			rcu_assign_pointer(g->members, m);
			kfree_rcu(old, rcu);
		} else {
			WRITE_ONCE(old->n, j);
		}
	}
	d->fanout = NULL;
	bpfdev_fanout_show(d, 0, BPF_FANOUT_NONE);
	if (!to_dlist)
		return;
	synchronize_net();
	bpfdev_fanout_zero_counters(d);
	list_add_rcu(&d->bif_node, &d->bif->dlist);
}

/* BIOCSFANOUT: join a group on d's interface, or leave with BPF_FANOUT_NONE. */
int bpfdev_fanout_set(struct bpfdev_d *d, const struct bpf_fanout *req)
{
	unsigned int mode = BPF_FANOUT_MODE(req->bf_mode);
	int err = 0;

	if (req->bf_mode & ~(0xffffU | BPF_FANOUT_ROLLOVER) || mode > BPF_FANOUT_RR ||
	    (mode == BPF_FANOUT_NONE && req->bf_mode != BPF_FANOUT_NONE))
		return -EINVAL;
	rtnl_lock();
	if (!d->bif)
		err = -EINVAL;
	else if (mode == BPF_FANOUT_NONE)
		bpfdev_fanout_leave(d, true);
	else if (d->fanout)
		err = -EBUSY;
	else
		err = bpfdev_fanout_join(d, req);
	rtnl_unlock();
	return err;
}
