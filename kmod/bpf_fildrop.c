// SPDX-License-Identifier: GPL-2.0
/*
 * OpenBSD's BIOCSFILDROP: what happens to a received frame the read filter
 * accepts. PASS (capture; the stack gets it), CAPTURE (capture, and the
 * stack does not), DROP (neither). A packet handler cannot take a frame
 * away from the stack, so an interface with such a descriptor gets a
 * netfilter ingress hook (NF_NETDEV_INGRESS, first priority). It runs after
 * the taps, on the same skb, runs the filters of those descriptors again and
 * drops the frame if one accepts it. The hook exists only while a descriptor
 * on that interface asks for it: everyone else pays nothing (the ingress
 * path is behind static keys). Transmitted frames are never dropped, as on
 * OpenBSD, where only the input path acts on the verdict; DROP descriptors
 * capture nothing in either direction.
 *
 * bif->fildrop_users and the hook's registration change under RTNL (attach,
 * detach, the netdevice notifier, BIOCSFILDROP). The hook reads d->fildrop
 * locklessly: a change between the tap and the hook decides one frame
 * either way. bif outlives its hook: nf_unregister_net_hook() waits for
 * running hooks before bpfdev_if_put() frees bif.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_netdev.h>
#include <linux/rtnetlink.h>

#include "bpfdev.h"

static unsigned int bpfdev_fildrop_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	return bpfdev_tap_fildrop(priv, skb) ? NF_DROP : NF_ACCEPT;
}

static int bpfdev_fildrop_get(struct bpfdev_if *bif)
{
	int err;

	ASSERT_RTNL();
	if (bif->fildrop_users++)
		return 0;
	bif->fildrop_ops = (struct nf_hook_ops){
		.hook = bpfdev_fildrop_hook,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		.priority = INT_MIN,
		.dev = bif->dev,
		.priv = bif,
	};
	err = nf_register_net_hook(dev_net(bif->dev), &bif->fildrop_ops);
	if (err)
		bif->fildrop_users--;
	return err;
}

static void bpfdev_fildrop_put(struct bpfdev_if *bif)
{
	ASSERT_RTNL();
	if (--bif->fildrop_users)
		return;
	nf_unregister_net_hook(dev_net(bif->dev), &bif->fildrop_ops);
}

/* d is attached to bif (RTNL): hook the interface if d asks for drops. */
int bpfdev_fildrop_join(struct bpfdev_d *d, struct bpfdev_if *bif)
{
	int err;

	if (d->fildrop == BPF_FILDROP_PASS || d->fildrop_joined)
		return 0;
	err = bpfdev_fildrop_get(bif);
	d->fildrop_joined = !err;
	return err;
}

void bpfdev_fildrop_leave(struct bpfdev_d *d, struct bpfdev_if *bif)
{
	if (!d->fildrop_joined)
		return;
	d->fildrop_joined = false;
	bpfdev_fildrop_put(bif);
}

/* BIOCSFILDROP; called with d->ioctl_lock held. */
int bpfdev_fildrop_set(struct bpfdev_d *d, unsigned int action)
{
	unsigned int old;
	int err = 0;

	if (action > BPF_FILDROP_DROP)
		return -EINVAL;
	rtnl_lock();
	old = d->fildrop;
	WRITE_ONCE(d->fildrop, action);
	if (d->bif && action != BPF_FILDROP_PASS)
		err = bpfdev_fildrop_join(d, d->bif);
	else if (d->bif)
		bpfdev_fildrop_leave(d, d->bif);
	if (err)
		WRITE_ONCE(d->fildrop, old);
	rtnl_unlock();
	return err;
}
