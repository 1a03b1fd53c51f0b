// SPDX-License-Identifier: GPL-2.0
/*
 * Store, hold, free: FreeBSD's buffer policy (catchpacket, ROTATE_BUFFERS,
 * reset_d, the hold-buffer hand-off in bpfread), the only code that moves
 * buffers between a descriptor's slots. A record that does not fit rotates
 * store to hold when the free slot is there; otherwise it is dropped and
 * counted. Records are never split; one larger than the buffer is truncated
 * to fit an empty buffer. The buffer mode (d->bufops) provides the memory
 * and, for zero-copy, the hand-over to the user (see bpfdev.h).
 *
 * Every function here runs with d->lock held (BH off, or in the tap's
 * softirq) unless it says otherwise.
 */
#include <linux/sched.h>
#include <linux/wait.h>

#include "bpfdev.h"

/* Give buf to the user (zero-copy); once, until it is reclaimed. */
static void bpfdev_slots_publish(struct bpfdev_d *d, struct bpfdev_buf *b, unsigned int len)
{
	if (d->bufops->publish && !b->published) {
		b->published = true;
		d->bufops->publish(b, len);
	}
}

/* Has the user handed the published hold buffer back by itself? */
static bool bpfdev_slots_acked(struct bpfdev_d *d)
{
	return d->hbuf && d->hbuf->published && d->bufops->acked &&
	       d->bufops->acked(d->hbuf);
}

/* Hold to free. */
static void bpfdev_slots_reclaim(struct bpfdev_d *d)
{
	d->fbuf = d->hbuf;
	d->hbuf = NULL;
	d->hlen = 0;
	d->hcnt = 0;
	d->fbuf->published = false;
}

/* Zero-copy: a hold buffer the user acknowledged becomes the free buffer. */
void bpfdev_slots_reclaim_acked_locked(struct bpfdev_d *d)
{
	if (!d->fbuf && !d->hbuf_in_use && bpfdev_slots_acked(d))
		bpfdev_slots_reclaim(d);
}

/* Set the three slots, all empty of records. */
static void bpfdev_slots_set(struct bpfdev_d *d, struct bpfdev_buf *s, struct bpfdev_buf *f)
{
	d->sbuf = s;
	d->fbuf = f;
	d->hbuf = NULL;
	d->slen = 0;
	d->hlen = 0;
	d->scnt = 0;
	d->hcnt = 0;
}

/* Install a mode's two new buffers as store and free. Takes d->lock. */
void bpfdev_slots_install(struct bpfdev_d *d, struct bpfdev_buf *bufs[2])
{
	spin_lock_bh(&d->lock);
	bpfdev_slots_set(d, bufs[0], bufs[1]);
	spin_unlock_bh(&d->lock);
}

/*
 * BIOCSETIF: give d its buffers if it has none. Process context, no lock,
 * under ioctl_lock (which also serialises bpfdev_slots_free()).
 */
int bpfdev_slots_alloc(struct bpfdev_d *d)
{
	struct bpfdev_buf *bufs[2];
	int err;

	if (READ_ONCE(d->sbuf))
		return 0;
	err = d->bufops->alloc(d, bufs);
	if (err)
		return err;
	bpfdev_slots_install(d, bufs);
	return 0;
}

/*
 * Take d->lock once no read() is copying the hold buffer out (FreeBSD's
 * reset_d waits on bd_hbuf_in_use the same way). Returns 0 with the lock
 * held, or -ERESTARTSYS on a signal (killable: on a fatal one) without it.
 * Process context.
 */
int bpfdev_slots_lock_idle(struct bpfdev_d *d, bool killable)
{
	spin_lock_bh(&d->lock);
	while (d->hbuf_in_use) {
		int err;

		spin_unlock_bh(&d->lock);
		if (killable)
			err = wait_event_killable(d->wait, !READ_ONCE(d->hbuf_in_use));
		else
			err = wait_event_interruptible(d->wait, !READ_ONCE(d->hbuf_in_use));
		if (err)
			return -ERESTARTSYS;
		spin_lock_bh(&d->lock);
	}
	return 0;
}

/*
 * Release the buffers (close, BIOCSBLEN): process context, no lock. Waits
 * for a read() copying out; at close none can run and this never waits.
 * The caller guarantees no tap stores into d (d is detached: the tap checks
 * d->bif under d->lock before it stores).
 */
int bpfdev_slots_free(struct bpfdev_d *d)
{
	struct bpfdev_buf *bufs[3];
	int i, err = bpfdev_slots_lock_idle(d, false);

	if (err)
		return err;
	bufs[0] = d->sbuf;
	bufs[1] = d->hbuf;
	bufs[2] = d->fbuf;
	bpfdev_slots_set(d, NULL, NULL);
	spin_unlock_bh(&d->lock);
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		if (bufs[i])
			d->bufops->free(bufs[i]);
	return 0;
}

/*
 * Discard buffered records and zero the counters (FreeBSD reset_d). The
 * caller holds d->lock from bpfdev_slots_lock_idle(): no read() is copying
 * out. A zero-copy buffer the user still holds stays where it is.
 */
void bpfdev_reset_locked(struct bpfdev_d *d)
{
	if (d->hbuf && (!d->hbuf->published || bpfdev_slots_acked(d)))
		bpfdev_slots_reclaim(d);
	if (d->sbuf && !d->sbuf->published) {
		d->slen = 0;
		d->scnt = 0;
	}
	d->drops = 0;
	bpfdev_stats_zero(d);
}

/*
 * Zero-copy: hand the store over to the user now if it has records and the
 * hold slot is free (the user acknowledged the last buffer): what
 * BIOCROTZBUF does, done by the module when the store is due (bpf_read.c
 * says when and why). Returns true if it handed a buffer over. Copy mode
 * (no publish) never rotates here: read() takes the store itself.
 */
bool bpfdev_slots_hand_over_locked(struct bpfdev_d *d)
{
	if (!d->bufops->publish || !d->sbuf)
		return false;
	bpfdev_slots_reclaim_acked_locked(d);
	if (!bpfdev_slots_can_rotate_locked(d))
		return false;
	bpfdev_slots_rotate_locked(d);
	return true;
}

/* Store has records, and hold is empty so it can take them. */
bool bpfdev_slots_can_rotate_locked(const struct bpfdev_d *d)
{
	return d->slen && !d->hbuf && d->fbuf;
}

/* Store to hold, free to store (ROTATE_BUFFERS). Needs can_rotate. */
void bpfdev_slots_rotate_locked(struct bpfdev_d *d)
{
	d->hbuf = d->sbuf;
	d->hlen = d->slen;
	d->hcnt = d->scnt;
	d->sbuf = d->fbuf;
	d->slen = 0;
	d->scnt = 0;
	d->fbuf = NULL;
	bpfdev_slots_publish(d, d->hbuf, d->hlen);
}

/*
 * Head drop (macOS): the reader is behind, so the oldest records go, not
 * the newest. Only a hold buffer nobody is reading and the user does not
 * own can go; its records count as dropped.
 */
static bool bpfdev_slots_drop_hold(struct bpfdev_d *d)
{
	if (!d->headdrop || !d->hbuf || d->hbuf_in_use || d->hbuf->published)
		return false;
	d->drops += d->hcnt;
	bpfdev_slots_reclaim(d);
	return true;
}

/*
 * Store one record (catchpacket). Called by the tap with d->lock held and
 * d attached. Returns true when readers should be woken.
 */
bool bpfdev_slots_catch_locked(struct bpfdev_d *d, const struct bpfdev_frame *f,
			       unsigned int snaplen)
{
	unsigned int hdrlen = d->bif->hdrlen;
	unsigned int caplen = min(snaplen, f->len);
	unsigned int totlen = hdrlen + caplen;
	unsigned int curlen;
	bool wake = false, due = false;

	if (!d->sbuf)
		return false;
	bpfdev_slots_reclaim_acked_locked(d);
	if (totlen > d->bufsize) {
		totlen = d->bufsize;
		caplen = totlen - hdrlen;
	}
	curlen = BPF_WORDALIGN(d->slen);
	if (curlen + totlen > d->bufsize || d->sbuf->published) {
		if (!d->fbuf && !bpfdev_slots_drop_hold(d)) {
			/* No room and no free buffer: zero-copy hands the store over. */
			bpfdev_slots_publish(d, d->sbuf, d->slen);
			d->drops++;
			return false;
		}
		bpfdev_slots_rotate_locked(d);
		wake = true;
		curlen = 0;
	} else if (d->immediate || d->state == BPFDEV_TIMED_OUT) {
		wake = true;
		due = true;
	}
	if (curlen > d->slen)
		memset(d->sbuf->data + d->slen, 0, curlen - d->slen);
	bpfdev_record_write(d, d->sbuf->data + curlen, f, caplen, hdrlen);
	d->slen = curlen + totlen;
	d->scnt++;
	bpfdev_wtimeout_stored_locked(d, curlen == 0);
	/*
	 * The reader is woken for this record (immediate mode, or the read
	 * timeout ran out before it): zero-copy hands the store over with it,
	 * so the woken process finds it in shared memory (bpf_read.c). Only
	 * on a wake-up, so no more work per record than copy mode otherwise.
	 */
	if (due)
		bpfdev_read_due_locked(d);
	return wake;
}

/*
 * Would catch store f, whole, without a drop: it fits the store, or the free
 * buffer is there to rotate to? Fan-out rollover asks before choosing a
 * member; the filter's snap length is not known yet, so the whole frame.
 */
bool bpfdev_slots_room_locked(const struct bpfdev_d *d, const struct bpfdev_frame *f)
{
	unsigned int totlen;

	if (!d->sbuf || !d->bif)
		return false;
	if (d->fbuf)
		return true;
	totlen = min(d->bif->hdrlen + f->len, d->bufsize);
	return !d->sbuf->published && BPF_WORDALIGN(d->slen) + totlen <= d->bufsize;
}

/*
 * read(): take the hold buffer to copy it out without d->lock. From now
 * until bpfdev_slots_give_back() nothing moves or frees the slots.
 */
bool bpfdev_slots_take_locked(struct bpfdev_d *d, struct bpfdev_hold *h)
{
	if (!d->hbuf || d->hbuf_in_use)
		return false;
	d->hbuf_in_use = true;
	h->buf = d->hbuf;
	h->len = d->hlen;
	return true;
}

/*
 * read(): hand back the buffer it took; it becomes the free buffer. Takes
 * d->lock. While it was in use nothing could move it, so it is still the
 * hold buffer; the check makes that visible on a debug kernel.
 */
void bpfdev_slots_give_back(struct bpfdev_d *d, const struct bpfdev_hold *h)
{
	spin_lock_bh(&d->lock);
	if (!WARN_ON_ONCE(d->hbuf != h->buf || !d->hbuf_in_use || d->fbuf))
		bpfdev_slots_reclaim(d);
	d->hbuf_in_use = false;
	spin_unlock_bh(&d->lock);
	/* Both read()ers and bpfdev_slots_lock_idle() (killable) wait on it. */
	wake_up(&d->wait);
}

/* Something for read(): a hold buffer, or (store_too) a non-empty store. */
bool bpfdev_slots_readable_locked(struct bpfdev_d *d, bool store_too)
{
	bpfdev_slots_reclaim_acked_locked(d);
	return (d->hbuf && !d->hbuf_in_use) || (store_too && d->slen);
}

/* The same, without the lock, for a wait condition (re-checked under it). */
bool bpfdev_slots_peek_readable(const struct bpfdev_d *d, bool store_too)
{
	return (READ_ONCE(d->hbuf) && !READ_ONCE(d->hbuf_in_use)) ||
	       (store_too && READ_ONCE(d->slen));
}

/* FIONREAD: bytes a read() could return now. */
unsigned int bpfdev_slots_pending_locked(const struct bpfdev_d *d)
{
	return d->slen + (d->hbuf_in_use ? 0 : d->hlen);
}

/* The store holds records. */
bool bpfdev_slots_stored_locked(const struct bpfdev_d *d)
{
	return d->slen != 0;
}
