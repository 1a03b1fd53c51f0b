// SPDX-License-Identifier: GPL-2.0
/*
 * OpenBSD's wait timeout (BIOCSWTIMEOUT, BIOCGWTIMEOUT, BIOCDWTIMEOUT): once
 * a record lands in an empty store buffer, the buffer becomes readable after
 * at most this long, without the reader's own read timeout and without
 * poll() arming one (what TPACKET_V3's block timeout does). A timeout of 0
 * is immediate mode and none is waiting for the buffer to fill, so, as on
 * OpenBSD, BIOCIMMEDIATE and the wait timeout are one setting.
 *
 * State under d->lock: wtout (0: none), wstate. The tap arms the timer for
 * the first record of a store buffer (IDLE or a new buffer -> WAIT); the
 * timer turns WAIT into DONE and wakes the reader; read() and poll() treat
 * DONE with records stored as immediate mode does. A rotation needs no
 * hook: the next buffer's first record re-arms, and DONE without records
 * stored makes nothing readable. A timer left over from an older buffer
 * finds the state re-armed or IDLE: mod_timer() moved its expiry on re-arm.
 */
#include <linux/jiffies.h>
#include <linux/time64.h>

#include "bpfdev.h"

#define BPF_WTIMEOUT_MAX_SEC 300	/* OpenBSD's limit */

void bpfdev_wtimeout_fn(struct timer_list *t)
{
	struct bpfdev_d *d = from_timer(d, t, wtimer);
	bool wake = false;

	spin_lock_bh(&d->lock);
	if (d->wstate == BPFDEV_WT_WAIT) {
		WRITE_ONCE(d->wstate, BPFDEV_WT_DONE);
		wake = bpfdev_slots_stored_locked(d);
		bpfdev_read_due_locked(d);	/* zero-copy: hand it over */
	}
	spin_unlock_bh(&d->lock);
	if (wake)
		bpfdev_wakeup(d);
}

/* A record was stored; first: it is the first in the store buffer. */
void bpfdev_wtimeout_stored_locked(struct bpfdev_d *d, bool first)
{
	if (!d->wtout || (!first && d->wstate != BPFDEV_WT_IDLE))
		return;
	WRITE_ONCE(d->wstate, BPFDEV_WT_WAIT);
	mod_timer(&d->wtimer, jiffies + d->wtout);
}

static void bpfdev_wtimeout_store(struct bpfdev_d *d, bool immediate, unsigned long wtout,
				  const struct __kernel_old_timeval *tv)
{
	spin_lock_bh(&d->lock);
	WRITE_ONCE(d->immediate, immediate);
	d->wtout = wtout;
	d->wtout_tv = *tv;
	/* A changed timeout counts from the next first record. */
	WRITE_ONCE(d->wstate, BPFDEV_WT_IDLE);
	spin_unlock_bh(&d->lock);
}

int bpfdev_wtimeout_set(struct bpfdev_d *d, const struct __kernel_old_timeval *tv)
{
	struct timespec64 ts;
	unsigned long j;

	if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= USEC_PER_SEC ||
	    tv->tv_sec > BPF_WTIMEOUT_MAX_SEC ||
	    (tv->tv_sec == BPF_WTIMEOUT_MAX_SEC && tv->tv_usec))
		return -EINVAL;
	if (!tv->tv_sec && !tv->tv_usec) {
		bpfdev_wtimeout_store(d, true, 0, tv);
		return 0;
	}
	ts.tv_sec = tv->tv_sec;
	ts.tv_nsec = tv->tv_usec * NSEC_PER_USEC;
	j = max(timespec64_to_jiffies(&ts), 1UL);
	bpfdev_wtimeout_store(d, false, j, tv);
	return 0;
}

/* OpenBSD: ENXIO when there is none (the buffer is read when full). */
int bpfdev_wtimeout_get(struct bpfdev_d *d, struct __kernel_old_timeval *tv)
{
	int err = 0;

	spin_lock_bh(&d->lock);
	if (d->immediate)
		*tv = (struct __kernel_old_timeval){};
	else if (d->wtout)
		*tv = d->wtout_tv;
	else
		err = -ENXIO;
	spin_unlock_bh(&d->lock);
	return err;
}

void bpfdev_wtimeout_clear(struct bpfdev_d *d)
{
	bpfdev_wtimeout_store(d, false, 0, &(struct __kernel_old_timeval){});
}

/* BIOCIMMEDIATE: the wait timeout becomes 0 or none, as on OpenBSD. */
void bpfdev_immediate_set(struct bpfdev_d *d, bool on)
{
	bpfdev_wtimeout_store(d, on, 0, &(struct __kernel_old_timeval){});
}
