// SPDX-License-Identifier: GPL-2.0
/*
 * write(): frames out of the attached interface, link-layer header
 * included. One frame per call, or (macOS's BIOCSBATCHWRITE) a sequence of
 * bpf_hdr-framed frames. Each frame, as FreeBSD's bpf_movein + bpfwrite:
 * the write filter sees the bytes as the caller wrote them; then the
 * source MAC is filled in unless header-complete is set; the BIOCSETVLANPCP
 * priority becomes skb->priority; and with BIOCFEEDBACK a copy is handed to
 * the interface's input once the frame is sent (bpf_feedback.c). Frames go
 * through the qdisc, so every tap that sees outgoing traffic captures them.
 *
 * write() runs under d->ioctl_lock: the settings it reads (header-complete,
 * batch, feedback, priority) stay as they were for the whole call, and two
 * writers on one descriptor take turns, as on xnu.
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/uaccess.h>

#include "bpfdev.h"

/* What one write() sends with: read once, under ioctl_lock. */
struct bpfdev_wctx {
	struct bpfdev_d *d;
	struct net_device *dev;
	unsigned int dlt;
	unsigned int linkhdr_len;
	bool hdrcmplt;
	bool feedback;
	bool hide;		/* feedback with BPF_D_INOUT: taps see only the input copy */
	unsigned int pcp;
};

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

/* BSD's write filter: a frame it returns 0 for is refused. */
static bool bpfdev_write_filter_passes(struct bpfdev_d *d, struct sk_buff *skb)
{
	struct bpfdev_filter *wf;
	unsigned int pass = 1;

	rcu_read_lock();
	wf = rcu_dereference(d->wfilter);
	if (wf)
		pass = bpf_prog_run_pin_on_cpu(wf->prog, skb);
	rcu_read_unlock();
	return pass;
}

/* Build, check and send one frame of len bytes at buf. */
static int bpfdev_send_one(const struct bpfdev_wctx *w, const char __user *buf, size_t len)
{
	struct net_device *dev = w->dev;
	struct sk_buff *skb, *copy = NULL;
	int reserve = LL_RESERVED_SPACE(dev);
	int err;

	if (len < w->linkhdr_len || len - w->linkhdr_len > dev->mtu + VLAN_HLEN)
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
	skb_set_network_header(skb, w->linkhdr_len);
	if (!bpfdev_frame_fits(skb, dev, w->linkhdr_len)) {
		err = -EMSGSIZE;
		goto drop;
	}
	/* bpf_movein: the filter sees what the caller wrote, before the source is filled in. */
	if (!bpfdev_write_filter_passes(w->d, skb)) {
		err = -EPERM;
		goto drop;
	}
	skb->dev = dev;
	skb->protocol = bpfdev_frame_protocol(skb, w->dlt);
	if (w->dlt == DLT_EN10MB && !w->hdrcmplt)
		ether_addr_copy(eth_hdr(skb)->h_source, dev->dev_addr);
	if (w->pcp)
		skb->priority = w->pcp;
	if (w->feedback) {
		/* As FreeBSD's m_dup(M_NOWAIT): without memory, no copy comes back. */
		copy = skb_copy(skb, GFP_KERNEL);
		if (w->hide) {
			err = bpfdev_feedback_hide(w->d, skb);
			if (err)
				goto drop;
		}
	}
	err = dev_queue_xmit(skb);
	if (err > 0)
		err = net_xmit_errno(err);
	if (copy) {
		if (!err)
			bpfdev_feedback_deliver(copy, dev, w->dlt);
		else
			kfree_skb(copy);
	}
	return err;
drop:
	kfree_skb(copy);
	kfree_skb(skb);
	return err;
}

/*
 * macOS's batch: each frame is a struct bpf_hdr (timestamp ignored,
 * bh_hdrlen at least SIZEOF_BPF_HDR, bh_caplen == bh_datalen), then
 * bh_caplen bytes of frame, then padding to BPF_WORDALIGN, the layout read()
 * returns. Frames of length 0 are skipped; trailing bytes too short for a
 * header are left unwritten (a short count), as on xnu.
 */
static int bpfdev_batch_record(const char __user *buf, size_t len, size_t off,
			       unsigned int *hdrlen, unsigned int *caplen)
{
	const size_t hmin = SIZEOF_BPF_HDR(struct bpf_hdr);
	struct bpf_hdr h;

	if (copy_from_user(&h, buf + off, hmin))
		return -EFAULT;
	if (h.bh_hdrlen < hmin || h.bh_caplen != h.bh_datalen || h.bh_hdrlen > len - off ||
	    h.bh_caplen > len - off - h.bh_hdrlen)
		return -EINVAL;
	*hdrlen = h.bh_hdrlen;
	*caplen = h.bh_caplen;
	return 0;
}

static size_t bpfdev_batch_next(size_t len, size_t off, unsigned int hdrlen, unsigned int caplen)
{
	size_t step = BPF_WORDALIGN((size_t)hdrlen + caplen);

	return step > len - off ? len : off + step;
}

/*
 * Every header is checked before the first frame is sent (as xnu's
 * bpf_movein_batch), so a malformed batch sends nothing. A frame that then
 * fails ends the batch: write() returns the bytes of the records before it,
 * or its errno if it is the first, so a caller can count what went out.
 */
static ssize_t bpfdev_write_batch(const struct bpfdev_wctx *w, const char __user *buf,
				  size_t len)
{
	const size_t hmin = SIZEOF_BPF_HDR(struct bpf_hdr);
	unsigned int hdrlen, caplen;
	size_t off, end = 0;
	int err;

	while (len - end >= hmin) {
		err = bpfdev_batch_record(buf, len, end, &hdrlen, &caplen);
		if (err)
			return err;
		end = bpfdev_batch_next(len, end, hdrlen, caplen);
	}
	for (off = 0; off < end; off = bpfdev_batch_next(end, off, hdrlen, caplen)) {
		if (off && signal_pending(current))
			return off;
		/* Read again: the caller's memory may have changed since. */
		err = bpfdev_batch_record(buf, end, off, &hdrlen, &caplen);
		if (!err && caplen)
			err = bpfdev_send_one(w, buf + off + hdrlen, caplen);
		if (err)
			return off ? (ssize_t)off : err;
		cond_resched();
	}
	return end;
}

ssize_t bpfdev_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	struct bpfdev_d *d = file->private_data;
	struct bpfdev_wctx w = { .d = d };
	ssize_t ret;

	if (mutex_lock_interruptible(&d->ioctl_lock))
		return -ERESTARTSYS;
	spin_lock_bh(&d->lock);
	if (d->bif) {
		w.dev = d->bif->dev;
		w.dlt = d->bif->dlt;
		w.linkhdr_len = d->bif->linkhdr_len;
		dev_hold(w.dev);
	}
	spin_unlock_bh(&d->lock);
	w.hdrcmplt = d->hdrcmplt;
	w.feedback = d->feedback;
	w.hide = d->feedback && READ_ONCE(d->direction) == BPF_D_INOUT;
	w.pcp = d->pcp;
	if (!w.dev)
		ret = -ENXIO;
	else if (!(w.dev->flags & IFF_UP))
		ret = -ENETDOWN;
	else if (!len)
		ret = 0;
	else if (d->batch_write)
		ret = bpfdev_write_batch(&w, buf, len);
	else
		ret = bpfdev_send_one(&w, buf, len) ?: (ssize_t)len;
	if (w.dev)
		dev_put(w.dev);
	mutex_unlock(&d->ioctl_lock);
	return ret;
}

/* BIOCSBATCHWRITE: as xnu, only with header-complete set. Under ioctl_lock. */
int bpfdev_batch_write_set(struct bpfdev_d *d, int on)
{
	if (on && !d->hdrcmplt)
		return -EINVAL;
	d->batch_write = on;
	return 0;
}

/* BIOCSHDRCMPLT: a batch cannot carry source addresses to fill in (xnu). */
int bpfdev_hdrcmplt_set(struct bpfdev_d *d, unsigned int on)
{
	if (!on && d->batch_write)
		return -EINVAL;
	d->hdrcmplt = on;
	return 0;
}
