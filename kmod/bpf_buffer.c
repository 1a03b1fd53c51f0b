// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer policy, as FreeBSD's catchpacket(): three slots, store (filled by
 * the tap), hold (full, waiting for read()) and free. A record that does not
 * fit rotates store to hold when the free slot is there; otherwise it is
 * dropped and counted. Records are never split; one larger than the buffer
 * is truncated to fit an empty buffer.
 */
#include <linux/mm.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>

#include "bpfdev.h"

int bpfdev_buffers_alloc(struct bpfdev_d *d)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	u8 *a, *b;

	a = kvzalloc(d->bufsize, gfp);
	b = kvzalloc(d->bufsize, gfp);
	if (!a || !b) {
		kvfree(a);
		kvfree(b);
		return -ENOBUFS;
	}
	spin_lock_bh(&d->lock);
	d->sbuf = a;
	d->fbuf = b;
	d->hbuf = NULL;
	d->slen = 0;
	d->hlen = 0;
	spin_unlock_bh(&d->lock);
	return 0;
}

/*
 * Free the buffers once no read() is copying out of them. Only BIOCSBLEN can
 * race with a reader; at close none can run and this never waits.
 */
int bpfdev_buffers_free(struct bpfdev_d *d)
{
	u8 *s, *h, *f;
	int err = bpfdev_wait_hold_idle(d);

	if (err)
		return err;
	s = d->sbuf;
	h = d->hbuf;
	f = d->fbuf;
	d->sbuf = NULL;
	d->hbuf = NULL;
	d->fbuf = NULL;
	d->slen = 0;
	d->hlen = 0;
	spin_unlock_bh(&d->lock);
	kvfree(s);
	kvfree(h);
	kvfree(f);
	return 0;
}

/*
 * Wait until no read() is copying the hold buffer out, and return with
 * d->lock held (BH off) so the caller can change the buffers.
 */
int bpfdev_wait_hold_idle(struct bpfdev_d *d)
{
	spin_lock_bh(&d->lock);
	while (d->hbuf_in_use) {
		spin_unlock_bh(&d->lock);
		if (wait_event_interruptible(d->wait, !READ_ONCE(d->hbuf_in_use)))
			return -EINTR;
		spin_lock_bh(&d->lock);
	}
	return 0;
}

/* Discard buffered records and zero the counters (FreeBSD reset_d). */
void bpfdev_reset_locked(struct bpfdev_d *d)
{
	if (d->hbuf) {
		d->fbuf = d->hbuf;
		d->hbuf = NULL;
		d->hlen = 0;
	}
	d->slen = 0;
	d->drops = 0;
	bpfdev_stats_zero(d);
}

void bpfdev_rotate_locked(struct bpfdev_d *d)
{
	d->hbuf = d->sbuf;
	d->hlen = d->slen;
	d->sbuf = d->fbuf;
	d->slen = 0;
	d->fbuf = NULL;
}

/* Sum the per-CPU counters the tap keeps for d. */
void bpfdev_stats_read(struct bpfdev_d *d, struct bpfdev_pcpu_stats *sum)
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

void bpfdev_stats_zero(struct bpfdev_d *d)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct bpfdev_pcpu_stats *s = per_cpu_ptr(d->stats, cpu);

		WRITE_ONCE(s->recv, 0);
		WRITE_ONCE(s->match, 0);
	}
}

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

static void bpfdev_write_header(struct bpfdev_d *d, u8 *at, const struct bpfdev_frame *f,
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

/*
 * Store one record. Called with d->lock held and d attached with buffers.
 * Returns true when readers should be woken.
 */
bool bpfdev_catch_locked(struct bpfdev_d *d, const struct bpfdev_frame *f,
			 unsigned int snaplen)
{
	unsigned int hdrlen = d->bif->hdrlen;
	unsigned int caplen = min(snaplen, f->len);
	unsigned int totlen = hdrlen + caplen;
	unsigned int curlen;
	bool wake = false;

	if (totlen > d->bufsize) {
		totlen = d->bufsize;
		caplen = totlen - hdrlen;
	}
	curlen = BPF_WORDALIGN(d->slen);
	if (curlen + totlen > d->bufsize) {
		if (!d->fbuf) {
			d->drops++;
			return false;
		}
		bpfdev_rotate_locked(d);
		wake = true;
		curlen = 0;
	} else if (d->immediate || d->state == BPFDEV_TIMED_OUT) {
		wake = true;
	}
	if (curlen > d->slen)
		memset(d->sbuf + d->slen, 0, curlen - d->slen);
	bpfdev_write_header(d, d->sbuf + curlen, f, caplen, hdrlen);
	bpfdev_frame_copy(f, d->sbuf + curlen + hdrlen, caplen);
	d->slen = curlen + totlen;
	bpfdev_wtimeout_stored_locked(d, curlen == 0);
	return wake;
}
