// SPDX-License-Identifier: GPL-2.0
/*
 * read() and poll(), as FreeBSD's bpfread() and bpf_ready(): read() takes a
 * buffer of exactly the descriptor's size and returns the hold buffer whole;
 * it waits for a full buffer, the read timeout, or (immediate mode) any
 * record. poll() arms the read timeout so a timed-out store becomes readable.
 * In zero-copy mode (no read()) a due store is handed over by the module
 * itself: bpfdev_read_due_locked().
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

/*
 * Zero-copy: the store is due to the reader (the read timeout ran out,
 * immediate mode with a record stored, the wait timeout ran out): hand it
 * over now, as BIOCROTZBUF would, if the user acknowledged the other buffer.
 * A hand-over ends the timed-out state as read() does in copy mode; the next
 * poll() arms the timeout again. Copy mode: does nothing (read() rotates).
 *
 * This deviates from FreeBSD, where bpf(4) leaves a part-filled store to
 * the process: poll() says readable and the process must call BIOCROTZBUF
 * (two system calls per buffer whenever the timeout, not a full store,
 * ends it). Here the process finds the buffer in shared memory as soon as
 * poll(), select() or epoll_wait() returns or SIGIO arrives. That is safe
 * for any correct FreeBSD program: the kernel may hand a buffer over at any
 * time (FreeBSD's does when the store fills), so such a program looks at
 * both headers before and after it sleeps; BIOCROTZBUF still hands over
 * what is stored and, with nothing stored since, returns bz_buflen 0.
 *
 * Called under d->lock from four places, which that lock serialises:
 *  - the read-timeout timer (softirq, any CPU): covers poll, select, epoll
 *    and SIGIO at once, as the wake-up follows the hand-over;
 *  - poll() (process context): a timeout or wait timeout that ran out while
 *    the user still held the other buffer, now acknowledged; and immediate
 *    mode's records stored while the user held it;
 *  - the tap (softirq), only when it wakes the reader for a record anyway
 *    (immediate mode, or stored after the timeout ran out with an empty
 *    store), so the packet path does no more than copy mode otherwise;
 *  - the wait-timeout timer (bpf_wtimeout.c).
 * Interleavings:
 *  - timer vs the tap on another CPU: whichever takes d->lock first; the
 *    timer hands over every record stored before it, later ones go to the
 *    new store. Nothing is lost or handed over twice (publish() once per
 *    buffer, until reclaimed).
 *  - timer vs BIOCROTZBUF: the ioctl first cancels the timeout (state IDLE
 *    under d->lock, del_timer); a timer already spinning on the lock then
 *    finds IDLE and does nothing. Timer first: the ioctl finds nothing
 *    stored and returns 0, or what the tap stored since.
 *  - the process acking (a plain release store to bzh_user_gen, any time):
 *    the acquire load in acked() sees the ack or not. Not: the hold stays
 *    the user's, nothing is handed over, the store keeps its records (and
 *    gets more, or drops and counts them when full), the state stays
 *    TIMED_OUT; poll(), which the process calls after acking, then hands it
 *    over, or the tap does with the next record. Seen: the acked buffer
 *    becomes the new store only after that load, so the tap's writes
 *    into it follow the process's reads.
 *  - detach, BIOCSETIF: the slots stay (reset_d keeps what the user owns);
 *    a hand-over after detach gives the user what was stored before, as a
 *    copy-mode read() would. The ioctl's own entry cancels the timeout.
 *  - close: no poll() can run; bpfdev_release() detaches (no tap stores),
 *    then del_timer_sync() waits for a timer in flight, which may still
 *    hand over through the vmap, before the buffers are freed.
 *  - read() in copy mode: never here (no publish), so hbuf_in_use, which
 *    only read() sets, is never true when this rotates.
 */
bool bpfdev_read_due_locked(struct bpfdev_d *d)
{
	if (!bpfdev_slots_hand_over_locked(d))
		return false;
	d->state = BPFDEV_IDLE;
	return true;
}

/*
 * Read-timeout timer armed by poll(): the store becomes readable when it
 * fires; zero-copy hands it over too.
 */
void bpfdev_timeout_fn(struct timer_list *t)
{
	struct bpfdev_d *d = from_timer(d, t, timer);
	bool wake = false;

	spin_lock_bh(&d->lock);
	if (d->state == BPFDEV_WAITING) {
		d->state = BPFDEV_TIMED_OUT;
		wake = bpfdev_slots_stored_locked(d);
		bpfdev_read_due_locked(d);
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
	bool due;

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
	due = bpfdev_store_due(d) || d->state == BPFDEV_TIMED_OUT;
	if (due)
		bpfdev_read_due_locked(d);
	if (bpfdev_slots_readable_locked(d, due)) {
		mask |= EPOLLIN | EPOLLRDNORM;
	} else if (d->rtout && d->state == BPFDEV_IDLE) {
		d->state = BPFDEV_WAITING;
		mod_timer(&d->timer, jiffies + d->rtout);
	}
	spin_unlock_bh(&d->lock);
	return mask;
}
