// SPDX-License-Identifier: GPL-2.0
/*
 * FreeBSD's BIOCFEEDBACK: a frame written and sent successfully is also
 * handed to the interface's input, as if it had been received (FreeBSD's
 * m_dup + if_input). Here the copy goes through netif_rx() with pkt_type
 * from its destination (eth_type_trans), so the stack, AF_PACKET and every
 * tap see an ordinary received frame.
 *
 * When the writer's direction is BPF_D_INOUT, FreeBSD marks the outgoing
 * frame M_PROMISC and bpf_mtap() skips it for every listener on the
 * interface, so each sees the frame once, as input. Linux has the same
 * mechanism for packet sockets: dev_queue_xmit_nit() does not hand a frame
 * to a packet handler whose id_match() claims the frame's owning socket.
 * Such frames are owned (skb_set_owner_w) by a small kernel socket of the
 * writing descriptor, allocated on first use, and the tap's id_match()
 * claims every socket of bpfdev_hide_proto. AF_PACKET listeners still see
 * the outgoing frame, as FreeBSD's non-bpf consumers do; no mark, priority
 * or other field a qdisc or netfilter reads is touched.
 *
 * The socket lives as long as the frames it owns: sk_free() at close
 * leaves it to the last sock_wfree(). Its proto pins the module while any
 * exists (sk_prot_alloc takes a module reference), so no destructor runs in
 * an unloaded module. It is a kernel socket (no namespace reference): the
 * descriptor holds the namespace while open, and a namespace going away
 * frees the devices, and with them the frames in their queues.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "bpfdev.h"

static struct proto bpfdev_hide_proto = {
	.name = "BPFDEV",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct sock),
};

bool bpfdev_feedback_id_match(struct packet_type *pt, struct sock *sk)
{
	return sk->sk_prot_creator == &bpfdev_hide_proto;
}

/*
 * Make skb invisible to every bpfdev tap. Called from write() under
 * d->ioctl_lock, which also serialises the lazy allocation.
 */
int bpfdev_feedback_hide(struct bpfdev_d *d, struct sk_buff *skb)
{
	if (!d->wsk) {
		struct sock *sk = sk_alloc(d->net, PF_UNSPEC, GFP_KERNEL, &bpfdev_hide_proto, 1);

		if (!sk)
			return -ENOBUFS;
		sock_init_data(NULL, sk);
		d->wsk = sk;
	}
	skb_set_owner_w(skb, d->wsk);
	return 0;
}

/* Hand a copy of a sent frame to dev's input, as FreeBSD's if_input(). */
void bpfdev_feedback_deliver(struct sk_buff *copy, struct net_device *dev, unsigned int dlt)
{
	copy->dev = dev;
	skb_reset_mac_header(copy);
	if (dlt == DLT_EN10MB)
		copy->protocol = eth_type_trans(copy, dev);
	else
		copy->pkt_type = PACKET_HOST;	/* protocol: from the IP version, as sent */
	skb_reset_network_header(copy);
	netif_rx(copy);
}

void bpfdev_feedback_release(struct bpfdev_d *d)
{
	if (d->wsk)
		sk_free(d->wsk);
	d->wsk = NULL;
}

int bpfdev_feedback_init(void)
{
	return proto_register(&bpfdev_hide_proto, 0);
}

void bpfdev_feedback_exit(void)
{
	proto_unregister(&bpfdev_hide_proto);
}
