// SPDX-License-Identifier: GPL-2.0
/*
 * write(): one frame per call, link-layer header included, out of the
 * attached interface. The source MAC is filled in unless header-complete is
 * set; frames are sent through the qdisc, so every tap (this descriptor's
 * included, if it sees outgoing traffic) captures them.
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/uaccess.h>

#include "bpfdev.h"

static __be16 bpfdev_frame_protocol(const struct sk_buff *skb, unsigned int dlt)
{
	if (dlt == DLT_EN10MB) {
		__be16 proto = eth_hdr(skb)->h_proto;

		return eth_proto_is_802_3(proto) ? proto : htons(ETH_P_802_2);
	}
	switch (skb->data[0] >> 4) {
	case 4:
		return htons(ETH_P_IP);
	case 6:
		return htons(ETH_P_IPV6);
	default:
		return 0;
	}
}

/* Frame fits the MTU; a VLAN-tagged Ethernet frame may carry its 4-byte tag on top. */
static bool bpfdev_frame_fits(const struct sk_buff *skb, const struct net_device *dev,
			      unsigned int linkhdr_len)
{
	unsigned int payload = skb->len - linkhdr_len;

	if (payload <= dev->mtu)
		return true;
	return linkhdr_len == ETH_HLEN && eth_type_vlan(eth_hdr(skb)->h_proto) &&
	       payload - VLAN_HLEN <= dev->mtu;
}

static int bpfdev_send(struct bpfdev_d *d, struct net_device *dev, unsigned int dlt,
		       unsigned int linkhdr_len, const char __user *buf, size_t len)
{
	struct bpfdev_filter *wf;
	struct sk_buff *skb;
	unsigned int pass = 1;
	int reserve = LL_RESERVED_SPACE(dev);
	int err;

	if (len < linkhdr_len || len - linkhdr_len > dev->mtu + VLAN_HLEN)
		return -EMSGSIZE;
	skb = alloc_skb(reserve + len + dev->needed_tailroom, GFP_KERNEL);
	if (!skb)
		return -ENOBUFS;
	skb_reserve(skb, reserve);
	if (copy_from_user(skb_put(skb, len), buf, len)) {
		err = -EFAULT;
		goto drop;
	}
	skb_reset_mac_header(skb);
	skb_set_network_header(skb, linkhdr_len);
	if (!bpfdev_frame_fits(skb, dev, linkhdr_len)) {
		err = -EMSGSIZE;
		goto drop;
	}
	skb->dev = dev;
	skb->protocol = bpfdev_frame_protocol(skb, dlt);
	if (dlt == DLT_EN10MB && !d->hdrcmplt)
		ether_addr_copy(eth_hdr(skb)->h_source, dev->dev_addr);

	rcu_read_lock();
	wf = rcu_dereference(d->wfilter);
	if (wf)
		pass = bpf_prog_run_pin_on_cpu(wf->prog, skb);
	rcu_read_unlock();
	if (!pass) {
		err = -EPERM;
		goto drop;
	}
	err = dev_queue_xmit(skb);
	if (err > 0)
		err = net_xmit_errno(err);
	return err < 0 ? err : (ssize_t)len;
drop:
	kfree_skb(skb);
	return err;
}

ssize_t bpfdev_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	struct bpfdev_d *d = file->private_data;
	struct net_device *dev = NULL;
	unsigned int dlt = 0, linkhdr_len = 0;
	ssize_t ret;

	spin_lock_bh(&d->lock);
	if (d->bif) {
		dev = d->bif->dev;
		dlt = d->bif->dlt;
		linkhdr_len = d->bif->linkhdr_len;
		dev_hold(dev);
	}
	spin_unlock_bh(&d->lock);
	if (!dev)
		return -ENXIO;
	if (!(dev->flags & IFF_UP))
		ret = -ENETDOWN;
	else if (!len)
		ret = 0;
	else
		ret = bpfdev_send(d, dev, dlt, linkhdr_len, buf, len);
	dev_put(dev);
	return ret;
}
