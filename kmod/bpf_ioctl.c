// SPDX-License-Identifier: GPL-2.0
/*
 * The BIOC* ioctls with FreeBSD's semantics and errnos. Unknown commands get
 * EINVAL, as on BSD. After BIOCLOCK only FreeBSD's allow-list is accepted.
 */
#include <linux/ioctl.h>
#include <linux/jiffies.h>
#include <asm/ioctls.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/uaccess.h>

#include "bpfdev.h"
#include "bpfdev_compat.h"

static bool bpfdev_lock_allows(unsigned int cmd)
{
	switch (cmd) {
	case BIOCGBLEN:
	case BIOCFLUSH:
	case BIOCGDLT:
	case BIOCGDLTLIST:
	case BIOCGETIF:
	case BIOCGRTIMEOUT:
	case BIOCGSTATS:
	case BIOCGSTATS64:
	case BIOCGFANOUT:
	case BIOCVERSION:
	case BIOCGRSIG:
	case BIOCGHDRCMPLT:
	case BIOCSTSTAMP:
	case FIONREAD:
	case BIOCLOCK:
	case BIOCSRTIMEOUT:
	case BIOCIMMEDIATE:
	case BIOCGDIRECTION:
	case BIOCGTSTAMP:
	case BIOCGHEADDROP:
	case BIOCFEEDBACK:	/* FreeBSD's list */
	case BIOCGFEEDBACK:
	case BIOCSWTIMEOUT:	/* OpenBSD's list */
	case BIOCGWTIMEOUT:
	case BIOCDWTIMEOUT:
	case BIOCGBATCHWRITE:	/* read-only, as the other getters */
	case BIOCGETBUFMODE:
	case BIOCGETZMAX:
	case BIOCROTZBUF:
		return true;
	/* BIOCSFILDROP and BIOCGFILDROP: not on OpenBSD's list, so EPERM as there. */
	default:
		return false;
	}
}

static int bpfdev_get_uint(unsigned long arg, unsigned int *val)
{
	return get_user(*val, (unsigned int __user *)arg) ? -EFAULT : 0;
}

static int bpfdev_put_uint(unsigned long arg, unsigned int val)
{
	return put_user(val, (unsigned int __user *)arg) ? -EFAULT : 0;
}

static int bpfdev_ioc_sblen(struct bpfdev_d *d, unsigned long arg)
{
	unsigned int size;
	int err;

	/* FreeBSD: zero-copy mode has no BIOCSBLEN, attached or not. */
	if (!d->bufops->sblen)
		return -EOPNOTSUPP;
	if (bpfdev_get_uint(arg, &size))
		return -EFAULT;
	if (READ_ONCE(d->bif))
		return -EINVAL;
	err = d->bufops->sblen(d, &size);
	if (err)
		return err;
	return bpfdev_put_uint(arg, size);
}

static int bpfdev_ioc_setif(struct bpfdev_d *d, unsigned long arg)
{
	struct ifreq ifr;
	int err;

	if (copy_from_user(&ifr, (void __user *)arg, sizeof(ifr)))
		return -EFAULT;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	err = bpfdev_slots_alloc(d);
	if (err)
		return err;
	return bpfdev_attach(d, ifr.ifr_name);
}

static int bpfdev_ioc_getif(struct bpfdev_d *d, unsigned long arg)
{
	struct ifreq ifr = {};
	int err = 0;

	rtnl_lock();
	if (d->bif)
		strscpy(ifr.ifr_name, d->bif->dev->name, IFNAMSIZ);
	else
		err = -EINVAL;
	rtnl_unlock();
	if (err)
		return err;
	return copy_to_user((void __user *)arg, &ifr, sizeof(ifr)) ? -EFAULT : 0;
}

static int bpfdev_ioc_dlt(struct bpfdev_d *d, unsigned int *dlt)
{
	int err = 0;

	spin_lock_bh(&d->lock);
	if (d->bif)
		*dlt = d->bif->dlt;
	else
		err = -EINVAL;
	spin_unlock_bh(&d->lock);
	return err;
}

/* Each interface offers exactly one link type: only it can be selected. */
static int bpfdev_ioc_sdlt(struct bpfdev_d *d, unsigned int want)
{
	unsigned int dlt;
	int err = bpfdev_ioc_dlt(d, &dlt);

	if (err)
		return err;
	return want == dlt ? 0 : -EINVAL;
}

static int bpfdev_ioc_gdltlist(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_dltlist __user *ulist = (void __user *)arg;
	struct bpf_dltlist list;
	unsigned int dlt;
	int err;

	if (copy_from_user(&list, ulist, sizeof(list)))
		return -EFAULT;
	err = bpfdev_ioc_dlt(d, &dlt);
	if (err)
		return err;
	/* Each interface offers exactly one link type. */
	if (list.bfl_list) {
		if (list.bfl_len < 1)
			return -ENOMEM;
		if (put_user(dlt, list.bfl_list))
			return -EFAULT;
	}
	return put_user(1U, &ulist->bfl_len) ? -EFAULT : 0;
}

static int bpfdev_ioc_srtimeout(struct bpfdev_d *d, unsigned long arg)
{
	struct __kernel_old_timeval tv;
	struct timespec64 ts;
	unsigned long j;

	if (copy_from_user(&tv, (void __user *)arg, sizeof(tv)))
		return -EFAULT;
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= USEC_PER_SEC)
		return -EINVAL;
	ts.tv_sec = tv.tv_sec;
	ts.tv_nsec = tv.tv_usec * NSEC_PER_USEC;
	j = timespec64_to_jiffies(&ts);
	if (!j && (tv.tv_sec || tv.tv_usec))
		j = 1;
	spin_lock_bh(&d->lock);
	d->rtout = j;
	d->rtout_tv = tv;
	spin_unlock_bh(&d->lock);
	return 0;
}

static void bpfdev_stats64(struct bpfdev_d *d, struct bpf_stat64 *st)
{
	struct bpfdev_pcpu_stats sum;

	spin_lock_bh(&d->lock);
	st->bs_drop = d->drops;
	spin_unlock_bh(&d->lock);
	bpfdev_stats_read(d, &sum);
	st->bs_recv = sum.recv;
	st->bs_capt = sum.match;
}

/* BSD's 32-bit counters wrap, as they do on the BSDs; BIOCGSTATS64 does not. */
static int bpfdev_ioc_stats(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_stat64 st64;
	struct bpf_stat st;

	bpfdev_stats64(d, &st64);
	st.bs_recv = (unsigned int)st64.bs_recv;
	st.bs_drop = (unsigned int)st64.bs_drop;
	return copy_to_user((void __user *)arg, &st, sizeof(st)) ? -EFAULT : 0;
}

static int bpfdev_ioc_stats64(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_stat64 st;

	bpfdev_stats64(d, &st);
	return copy_to_user((void __user *)arg, &st, sizeof(st)) ? -EFAULT : 0;
}

static int bpfdev_ioc_promisc(struct bpfdev_d *d)
{
	int err = 0;

	rtnl_lock();
	if (!d->bif) {
		err = -EINVAL;
	} else if (!d->promisc) {
		err = dev_set_promiscuity(d->bif->dev, 1);
		if (!err)
			d->promisc = true;
	}
	rtnl_unlock();
	return err;
}

static int bpfdev_ioc_flush(struct bpfdev_d *d)
{
	int err = bpfdev_slots_lock_idle(d, false);

	if (err)
		return err;
	bpfdev_reset_locked(d);
	spin_unlock_bh(&d->lock);
	return 0;
}

static int bpfdev_ioc_nread(struct bpfdev_d *d, unsigned long arg)
{
	int n;

	spin_lock_bh(&d->lock);
	n = bpfdev_slots_pending_locked(d);
	spin_unlock_bh(&d->lock);
	return put_user(n, (int __user *)arg) ? -EFAULT : 0;
}

static int bpfdev_ioc_swtimeout(struct bpfdev_d *d, unsigned long arg)
{
	struct __kernel_old_timeval tv;

	if (copy_from_user(&tv, (void __user *)arg, sizeof(tv)))
		return -EFAULT;
	return bpfdev_wtimeout_set(d, &tv);
}

static int bpfdev_ioc_gwtimeout(struct bpfdev_d *d, unsigned long arg)
{
	struct __kernel_old_timeval tv;
	int err = bpfdev_wtimeout_get(d, &tv);

	if (err)
		return err;
	return copy_to_user((void __user *)arg, &tv, sizeof(tv)) ? -EFAULT : 0;
}

/* The settings of the BSD surface beyond FreeBSD's core: feedback, priority, batch, wait, drops. */
static long bpfdev_ioctl_extra(struct bpfdev_d *d, unsigned int cmd, unsigned long arg)
{
	unsigned int val;

	switch (cmd) {
	case BIOCFEEDBACK:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		d->feedback = !!val;
		return 0;
	case BIOCGFEEDBACK:
		return bpfdev_put_uint(arg, d->feedback);
	case BIOCSETVLANPCP:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		if (val > BPF_PRIO_MAX)
			return -EINVAL;
		d->pcp = val;
		return 0;
	case BIOCGBATCHWRITE:
		return bpfdev_put_uint(arg, d->batch_write);
	case BIOCSBATCHWRITE:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		return bpfdev_batch_write_set(d, val != 0);
	case BIOCSWTIMEOUT:
		return bpfdev_ioc_swtimeout(d, arg);
	case BIOCGWTIMEOUT:
		return bpfdev_ioc_gwtimeout(d, arg);
	case BIOCDWTIMEOUT:
		bpfdev_wtimeout_clear(d);
		return 0;
	case BIOCGFILDROP:
		return bpfdev_put_uint(arg, READ_ONCE(d->fildrop));
	case BIOCSFILDROP:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		return bpfdev_fildrop_set(d, val);
	default:
		return -EINVAL;
	}
}

/* BIOCSFANOUT is not on the BIOCLOCK list: leaving a group sees more frames. */
static int bpfdev_ioc_sfanout(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_fanout req;

	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	return bpfdev_fanout_set(d, &req);
}

static int bpfdev_ioc_gfanout(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_fanout cur;

	spin_lock_bh(&d->lock);
	cur = d->fanout_show;
	spin_unlock_bh(&d->lock);
	return copy_to_user((void __user *)arg, &cur, sizeof(cur)) ? -EFAULT : 0;
}

/*
 * FreeBSD's BIOCSETBUFMODE: only while the descriptor has no buffers and
 * no interface (EBUSY). Nothing but ioctls (serialised by ioctl_lock) looks
 * at d->bufops while there are none: the tap needs an attachment, read()
 * and poll() find no buffer to hand to the operations.
 */
static int bpfdev_ioc_setbufmode(struct bpfdev_d *d, unsigned long arg)
{
	const struct bpfdev_bufops *ops;
	unsigned int val;

	if (bpfdev_get_uint(arg, &val))
		return -EFAULT;
	if (val == BPF_BUFMODE_BUFFER)
		ops = &bpfdev_copy_bufops;
	else if (val == BPF_BUFMODE_ZBUF && READ_ONCE(bpfdev_zerocopy_enable))
		ops = &bpfdev_zbuf_bufops;
	else
		return -EINVAL;
	if (READ_ONCE(d->sbuf) || READ_ONCE(d->bif))
		return -EBUSY;
	WRITE_ONCE(d->bufops, ops);
	return 0;
}

static long bpfdev_ioctl_locked(struct file *file, struct bpfdev_d *d, unsigned int cmd,
				unsigned long arg)
{
	struct bpf_version version = { BPF_MAJOR_VERSION, BPF_MINOR_VERSION };
	unsigned int val;
	int err;

	switch (cmd) {
	case BIOCGBLEN:
		return bpfdev_put_uint(arg, READ_ONCE(d->bufsize));
	case BIOCSBLEN:
		return bpfdev_ioc_sblen(d, arg);
	case BIOCSETF:
		return bpfdev_filter_set(d, (void __user *)arg, false, true);
	case BIOCSETFNR:
		return bpfdev_filter_set(d, (void __user *)arg, false, false);
	case BIOCSETWF:
		return bpfdev_filter_set(d, (void __user *)arg, true, false);
	case BIOCFLUSH:
		return bpfdev_ioc_flush(d);
	case BIOCPROMISC:
		return bpfdev_ioc_promisc(d);
	case BIOCGDLT:
		err = bpfdev_ioc_dlt(d, &val);
		return err ? err : bpfdev_put_uint(arg, val);
	case BIOCSDLT:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		return bpfdev_ioc_sdlt(d, val);
	case BIOCGDLTLIST:
		return bpfdev_ioc_gdltlist(d, arg);
	case BIOCGETIF:
		return bpfdev_ioc_getif(d, arg);
	case BIOCSETIF:
		return bpfdev_ioc_setif(d, arg);
	case BIOCSRTIMEOUT:
		return bpfdev_ioc_srtimeout(d, arg);
	case BIOCGRTIMEOUT:
		return copy_to_user((void __user *)arg, &d->rtout_tv,
				    sizeof(d->rtout_tv)) ? -EFAULT : 0;
	case BIOCGSTATS:
		return bpfdev_ioc_stats(d, arg);
	case BIOCGSTATS64:
		return bpfdev_ioc_stats64(d, arg);
	case BIOCSFANOUT:
		return bpfdev_ioc_sfanout(d, arg);
	case BIOCGFANOUT:
		return bpfdev_ioc_gfanout(d, arg);
	case BIOCIMMEDIATE:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		bpfdev_immediate_set(d, val);
		return 0;
	case BIOCVERSION:
		return copy_to_user((void __user *)arg, &version, sizeof(version)) ?
		       -EFAULT : 0;
	case BIOCGRSIG:
		return bpfdev_put_uint(arg, bpfdev_file_signum(file) ?: SIGIO);
	case BIOCSRSIG:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		if (!val || val > _NSIG)	/* signals are 1.._NSIG */
			return -EINVAL;
		/* Async wakeups send the file owner's signal: F_SETSIG's. */
		return bpfdev_set_file_signum(file, val);
	case BIOCGHDRCMPLT:
		return bpfdev_put_uint(arg, d->hdrcmplt);
	case BIOCSHDRCMPLT:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		return bpfdev_hdrcmplt_set(d, val != 0);
	case BIOCGDIRECTION:
		return bpfdev_put_uint(arg, READ_ONCE(d->direction));
	case BIOCSDIRECTION:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		if (val > BPF_D_OUT)
			return -EINVAL;
		WRITE_ONCE(d->direction, val);
		return 0;
	case BIOCGTSTAMP:
		return bpfdev_put_uint(arg, d->tstamp);
	case BIOCSTSTAMP:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		if (!BPF_T_VALID(val))
			return -EINVAL;
		spin_lock_bh(&d->lock);
		d->tstamp = val;
		spin_unlock_bh(&d->lock);
		return 0;
	case BIOCSHEADDROP:
		if (bpfdev_get_uint(arg, &val))
			return -EFAULT;
		spin_lock_bh(&d->lock);
		d->headdrop = !!val;
		spin_unlock_bh(&d->lock);
		return 0;
	case BIOCGHEADDROP:
		return bpfdev_put_uint(arg, READ_ONCE(d->headdrop));
	case BIOCLOCK:
		d->locked = true;
		return 0;
	case BIOCGETBUFMODE:
		return bpfdev_put_uint(arg, d->bufops->mode);
	case BIOCSETBUFMODE:
		return bpfdev_ioc_setbufmode(d, arg);
	case BIOCGETZMAX:
	case BIOCSETZBUF:
	case BIOCROTZBUF:
		return bpfdev_zbuf_ioctl(d, cmd, arg);
	case FIONREAD:
		return bpfdev_ioc_nread(d, arg);
	default:
		return bpfdev_ioctl_extra(d, cmd, arg);
	}
}

long bpfdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct bpfdev_d *d = file->private_data;
	long ret;

	/* ERESTARTSYS: restarted under SA_RESTART, EINTR otherwise, as BSD's PCATCH. */
	if (mutex_lock_interruptible(&d->ioctl_lock))
		return -ERESTARTSYS;
	if (d->locked && !bpfdev_lock_allows(cmd)) {
		ret = -EPERM;
		goto out;
	}
	/* As FreeBSD: any ioctl cancels a pending poll() read timeout. */
	spin_lock_bh(&d->lock);
	if (d->state == BPFDEV_WAITING)
		del_timer(&d->timer);
	d->state = BPFDEV_IDLE;
	spin_unlock_bh(&d->lock);
	ret = bpfdev_ioctl_locked(file, d, cmd, arg);
out:
	mutex_unlock(&d->ioctl_lock);
	return ret;
}
