// SPDX-License-Identifier: GPL-2.0
/*
 * One capture record: the bpf_hdr or bpf_xhdr with its timestamp in the
 * descriptor's format, then the first caplen bytes of the frame as it was
 * on the wire, a VLAN tag the stack moved into metadata put back.
 */
#include <linux/if_ether.h>
#include <linux/skbuff.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>

#include "bpfdev.h"

/* Copy the first len bytes of the wire frame, VLAN tag in place. */
static void bpfdev_frame_copy(const struct bpfdev_frame *f, u8 *dst, unsigned int len)
{
	const unsigned int macs = 2 * ETH_ALEN;
	const u8 *tag = (const u8 *)f->tag;
	unsigned int n;

	if (f->flat) {
		memcpy(dst, f->flat, len);
		return;
	}
	if (!f->has_tag) {
		if (skb_copy_bits(f->skb, 0, dst, len))
			memset(dst, 0, len);
		return;
	}
	n = min(len, macs);
	if (skb_copy_bits(f->skb, 0, dst, n))
		memset(dst, 0, n);
	if (len <= macs)
		return;
	n = min(len - macs, (unsigned int)sizeof(f->tag));
	memcpy(dst + macs, tag, n);
	if (len <= macs + n)
		return;
	if (skb_copy_bits(f->skb, macs, dst + macs + n, len - macs - n))
		memset(dst + macs + n, 0, len - macs - n);
}

static void bpfdev_write_header(const struct bpfdev_d *d, u8 *at, const struct bpfdev_frame *f,
				unsigned int caplen, unsigned int hdrlen)
{
	unsigned int fmt = BPF_T_FORMAT(d->tstamp);
	u64 ns = f->real_ns;

	if (d->tstamp & BPF_T_MONOTONIC)
		ns = ktime_get_ns();
	if (fmt == BPF_T_MICROTIME || fmt == BPF_T_NONE) {
		struct bpf_hdr h = {};

		if (fmt == BPF_T_MICROTIME) {
			u32 rem;

			h.bh_tstamp.tv_sec = div_u64_rem(ns, NSEC_PER_SEC, &rem);
			h.bh_tstamp.tv_usec = rem / NSEC_PER_USEC;
		}
		h.bh_caplen = caplen;
		h.bh_datalen = f->len;
		h.bh_hdrlen = hdrlen;
		memcpy(at, &h, SIZEOF_BPF_HDR(struct bpf_hdr));
	} else {
		struct bpf_xhdr h = {};
		u32 rem;

		h.bh_tstamp.bt_sec = div_u64_rem(ns, NSEC_PER_SEC, &rem);
		if (fmt == BPF_T_NANOTIME)
			h.bh_tstamp.bt_frac = rem;
		else	/* BPF_T_BINTIME: 2^-64 s units */
			h.bh_tstamp.bt_frac = (u64)rem * 18446744073ULL;
		h.bh_caplen = caplen;
		h.bh_datalen = f->len;
		h.bh_hdrlen = hdrlen;
		memcpy(at, &h, SIZEOF_BPF_HDR(struct bpf_xhdr));
	}
	memset(at + SIZEOF_BPF_HDR(struct bpf_hdr), 0,
	       hdrlen - SIZEOF_BPF_HDR(struct bpf_hdr));
}

/* Write one record of hdrlen + caplen bytes at `at`. Called with d->lock held. */
void bpfdev_record_write(const struct bpfdev_d *d, u8 *at, const struct bpfdev_frame *f,
			 unsigned int caplen, unsigned int hdrlen)
{
	bpfdev_write_header(d, at, f, caplen, hdrlen);
	bpfdev_frame_copy(f, at + hdrlen, caplen);
}
