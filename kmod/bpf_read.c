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

void bpfdev_wakeup(struct bpfdev_d *d)
{
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
		wake = d->slen != 0;
	}
	spin_unlock_bh(&d->lock);
	if (wake)
		bpfdev_wakeup(d);
}

static bool bpfdev_hold_ready(struct bpfdev_d *d)
{
	return d->hbuf && !d->hbuf_in_use;
}

/* Lockless check for the wait loop; re-checked under the lock. */
static bool bpfdev_read_wake_cond(struct bpfdev_d *d)
{
	return (READ_ONCE(d->hbuf) && !READ_ONCE(d->hbuf_in_use)) ||
	       !READ_ONCE(d->bif) ||
	       (bpfdev_store_due(d) && READ_ONCE(d->slen));
}

ssize_t bpfdev_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	struct bpfdev_d *d = file->private_data;
	bool nonblock = file->f_flags & O_NONBLOCK;
	long timeo;
	bool timed_out;
	unsigned int len;
	u8 *hold;
	int err = 0;

	spin_lock_bh(&d->lock);
	if (count != d->bufsize) {
		spin_unlock_bh(&d->lock);
		return -EINVAL;
	}
	if (d->state == BPFDEV_WAITING)
		del_timer(&d->timer);
	timed_out = d->state == BPFDEV_TIMED_OUT;
	d->state = BPFDEV_IDLE;
	timeo = d->rtout ? (long)d->rtout : MAX_SCHEDULE_TIMEOUT;

	while (!bpfdev_hold_ready(d)) {
		bool can_rotate = !d->hbuf && d->slen;

		/* Hand over what is stored when the caller will not wait, or cannot. */
		if (can_rotate && (bpfdev_store_due(d) || nonblock || timed_out || !d->bif)) {
			bpfdev_rotate_locked(d);
			break;
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
			/* Timed out: return what is stored, or nothing. */
			if (can_rotate) {
				bpfdev_rotate_locked(d);
				break;
			}
			spin_unlock_bh(&d->lock);
			return 0;
		}
		spin_unlock_bh(&d->lock);
		timeo = wait_event_interruptible_timeout(d->wait,
							 bpfdev_read_wake_cond(d), timeo);
		if (timeo < 0)
			return -ERESTARTSYS;
		spin_lock_bh(&d->lock);
	}

	/* Copy the hold buffer out without the lock; the tap cannot touch it. */
	d->hbuf_in_use = true;
	hold = d->hbuf;
	len = d->hlen;
	spin_unlock_bh(&d->lock);

	if (copy_to_user(buf, hold, len))
		err = -EFAULT;

	spin_lock_bh(&d->lock);
	d->fbuf = d->hbuf;
	d->hbuf = NULL;
	d->hlen = 0;
	d->hbuf_in_use = false;
	spin_unlock_bh(&d->lock);
	wake_up_interruptible(&d->wait);
	return err ? err : len;
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
	if ((d->hlen && !d->hbuf_in_use) ||
	    ((bpfdev_store_due(d) || d->state == BPFDEV_TIMED_OUT) && d->slen)) {
		mask |= EPOLLIN | EPOLLRDNORM;
	} else if (d->rtout && d->state == BPFDEV_IDLE) {
		d->state = BPFDEV_WAITING;
		mod_timer(&d->timer, jiffies + d->rtout);
	}
	spin_unlock_bh(&d->lock);
	return mask;
}
