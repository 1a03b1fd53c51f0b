// SPDX-License-Identifier: GPL-2.0
/*
 * read() and poll(), as FreeBSD's bpfread() and bpf_ready(): read() takes a
 * buffer of exactly the descriptor's size and returns the hold buffer whole;
 * it waits for a full buffer, the read timeout, or (immediate mode) any
 * record. poll() arms the read timeout so a timed-out store becomes readable.
 */
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "bpfdev.h"

/*
 * Wake readers after a record was stored. With nobody asleep (the common
 * case in immediate mode) the wait-queue lock is not taken: the smp_mb() in
 * wq_has_sleeper() orders the store of the record (under d->lock) before
 * the look at the queue, and pairs with the barrier a waiter has between
 * joining the queue and testing its condition (set_current_state() in
 * wait_event*(); poll() tests under d->lock, after poll_wait()).
 */
void bpfdev_wakeup(struct bpfdev_d *d)
{
	if (wq_has_sleeper(&d->wait))
		wake_up_interruptible(&d->wait);
	if (d->fasync)
		kill_fasync(&d->fasync, SIGIO, POLL_IN);
}

/* Read-timeout timer armed by poll(): the store becomes readable when it fires. */
void bpfdev_timeout_fn(struct timer_list *t)
{
	struct bpfdev_d *d = from_timer(d, t, timer);
	bool wake = false;

	spin_lock_bh(&d->lock);
	if (d->state == BPFDEV_WAITING) {
		d->state = BPFDEV_TIMED_OUT;
		wake = bpfdev_slots_stored_locked(d);
	}
	spin_unlock_bh(&d->lock);
	if (wake)
		bpfdev_wakeup(d);
}

/* Lockless check for the wait loop; re-checked under the lock. */
static bool bpfdev_read_wake_cond(struct bpfdev_d *d)
{
	return bpfdev_slots_peek_readable(d, bpfdev_store_due(d)) || !READ_ONCE(d->bif);
}

/*
 * Wait for a hold buffer and take it (FreeBSD's bpfread loop). Returns 0
 * with the buffer in *h and d->lock released, a byte count of 0 for a read
 * timeout with nothing stored, or an errno.
 */
static int bpfdev_read_take(struct bpfdev_d *d, size_t count, bool nonblock,
			    struct bpfdev_hold *h)
{
	long timeo;
	bool timed_out;

	spin_lock_bh(&d->lock);
	if (d->state == BPFDEV_WAITING)
		del_timer(&d->timer);
	timed_out = d->state == BPFDEV_TIMED_OUT;
	d->state = BPFDEV_IDLE;
	timeo = d->rtout ? (long)d->rtout : MAX_SCHEDULE_TIMEOUT;

	for (;;) {
		bool can_rotate;

		/*
		 * The size may have changed while we slept (detached, BIOCSBLEN,
		 * BIOCSETIF again): check it each time round, under the lock.
		 */
		if (count != d->bufsize) {
			spin_unlock_bh(&d->lock);
			return -EINVAL;
		}
		if (bpfdev_slots_take_locked(d, h))
			break;
		/* Hand over what is stored when the caller will not wait, or cannot. */
		can_rotate = bpfdev_slots_can_rotate_locked(d);
		if (can_rotate &&
		    (bpfdev_store_due(d) || nonblock || timed_out || !d->bif || !timeo)) {
			bpfdev_slots_rotate_locked(d);
			continue;
		}
		if (!d->bif) {
			spin_unlock_bh(&d->lock);
			return -ENXIO;
		}
		if (nonblock) {
			spin_unlock_bh(&d->lock);
			return -EAGAIN;
		}
		if (!timeo) {
			/* Timed out with nothing stored. */
			spin_unlock_bh(&d->lock);
			return 0;
		}
		spin_unlock_bh(&d->lock);
		timeo = wait_event_interruptible_timeout(d->wait, bpfdev_read_wake_cond(d), timeo);
		if (timeo < 0)
			return -ERESTARTSYS;
		spin_lock_bh(&d->lock);
	}
	spin_unlock_bh(&d->lock);
	return 1;
}

ssize_t bpfdev_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	struct bpfdev_d *d = file->private_data;
	/*
	 * Read the mode once: BIOCSETBUFMODE may switch it (with no buffers)
	 * between this check and the take. Copying a zero-copy buffer out with
	 * copy mode's operation is then safe, if useless to that process.
	 */
	const struct bpfdev_bufops *ops = READ_ONCE(d->bufops);
	struct bpfdev_hold h;
	int err;

	/* Zero-copy mode has no read(). */
	if (!ops->copy_out)
		return -EOPNOTSUPP;
	err = bpfdev_read_take(d, count, file->f_flags & O_NONBLOCK, &h);
	if (err <= 0)
		return err;
	/* The hold buffer is ours until we give it back: copy without the lock. */
	err = ops->copy_out(h.buf, h.len, buf);
	bpfdev_slots_give_back(d, &h);
	return err ? err : h.len;
}

__poll_t bpfdev_poll(struct file *file, struct poll_table_struct *wait)
{
	struct bpfdev_d *d = file->private_data;
	__poll_t mask;

	poll_wait(file, &d->wait, wait);
	spin_lock_bh(&d->lock);
	if (!d->bif) {
		/* As FreeBSD: an unattached descriptor polls ready; read() says why. */
		mask = EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM;
		if (d->detached)
			mask |= EPOLLERR | EPOLLHUP;
		spin_unlock_bh(&d->lock);
		return mask;
	}
	mask = EPOLLOUT | EPOLLWRNORM;
	if (bpfdev_slots_readable_locked(d, bpfdev_store_due(d) || d->state == BPFDEV_TIMED_OUT)) {
		mask |= EPOLLIN | EPOLLRDNORM;
	} else if (d->rtout && d->state == BPFDEV_IDLE) {
		d->state = BPFDEV_WAITING;
		mod_timer(&d->timer, jiffies + d->rtout);
	}
	spin_unlock_bh(&d->lock);
	return mask;
}
