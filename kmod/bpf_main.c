// SPDX-License-Identifier: GPL-2.0
/*
 * bpfdev: the BSD bpf(4) packet tap for Linux. Device nodes and descriptor
 * lifetime: the cloning /dev/bpf and the single-open /dev/bpfN (macOS style,
 * EBUSY when in use, the next node created when the highest one is opened).
 */
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "bpfdev.h"
#include "bpfdev_compat.h"

/*
 * Buffer sizes may be changed at run time, so each write is checked here:
 * a size below BPF_MINBUFSIZE leaves no room for a record header (a caplen
 * that underflows), and one above BPF_BUFSIZE_LIMIT is more than a
 * descriptor may pin. Readers take the value once with READ_ONCE().
 */
#define BPF_BUFSIZE_LIMIT BIT(30)

static int bpfdev_param_set_bufsize(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err)
		return err;
	if (n < BPF_MINBUFSIZE || n > BPF_BUFSIZE_LIMIT)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, n);
	return 0;
}

static const struct kernel_param_ops bpfdev_bufsize_ops = {
	.set = bpfdev_param_set_bufsize,
	.get = param_get_uint,
};

unsigned int bpfdev_max_bufsize = BPF_MAXBUFSIZE;
module_param_cb(max_bufsize, &bpfdev_bufsize_ops, &bpfdev_max_bufsize, 0644);
MODULE_PARM_DESC(max_bufsize,
		 "Largest buffer BIOCSBLEN grants, bytes, 32..2^30 (default 16 MiB)");

unsigned int bpfdev_default_bufsize = 32768;
module_param_cb(default_bufsize, &bpfdev_bufsize_ops, &bpfdev_default_bufsize, 0644);
MODULE_PARM_DESC(default_bufsize,
		 "Buffer size before BIOCSBLEN, bytes, 32..2^30, at most max_bufsize (default 32768)");

bool bpfdev_zerocopy_enable = true;
module_param_named(zerocopy_enable, bpfdev_zerocopy_enable, bool, 0644);
MODULE_PARM_DESC(zerocopy_enable,
		 "Offer zero-copy buffers, BIOCSETBUFMODE(BPF_BUFMODE_ZBUF) (FreeBSD's net.bpf.zerocopy_enable; default on)");

static unsigned int max_devices = 256;
module_param(max_devices, uint, 0444);
MODULE_PARM_DESC(max_devices, "Number of /dev/bpfN nodes that may be created (default 256)");

static dev_t bpfdev_devt;
static struct cdev bpfdev_cdev;
static struct class *bpfdev_class;
static DEFINE_MUTEX(bpfdev_units_lock);	/* node creation */
static unsigned int bpfdev_units_created;
static unsigned long *bpfdev_units_busy;

static struct bpfdev_d *bpfdev_d_alloc(int unit)
{
	struct bpfdev_d *d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);

	if (!d)
		return NULL;
	d->stats = alloc_percpu(struct bpfdev_pcpu_stats);
	if (!d->stats) {
		kfree(d);
		return NULL;
	}
	mutex_init(&d->ioctl_lock);
	spin_lock_init(&d->lock);
	INIT_LIST_HEAD(&d->bif_node);
	init_waitqueue_head(&d->wait);
	timer_setup(&d->timer, bpfdev_timeout_fn, 0);
	timer_setup(&d->wtimer, bpfdev_wtimeout_fn, 0);
	d->bufops = &bpfdev_copy_bufops;
	/* Both are >= BPF_MINBUFSIZE (the setter); default may exceed max. */
	d->bufsize = min(READ_ONCE(bpfdev_default_bufsize), READ_ONCE(bpfdev_max_bufsize));
	d->direction = BPF_D_INOUT;
	d->unit = unit;
	d->net = get_net(current->nsproxy->net_ns);
	return d;
}

static int bpfdev_open_common(struct file *file, int unit)
{
	struct bpfdev_d *d = bpfdev_d_alloc(unit);

	if (!d)
		return -ENOMEM;
	file->private_data = d;
	stream_open(file_inode(file), file);
	bpfdev_proc_add(d);
	return 0;
}

static int bpfdev_open_clone(struct inode *inode, struct file *file)
{
	return bpfdev_open_common(file, -1);
}

/* Opening the highest node creates the next, so an open loop never sees ENOENT. */
static void bpfdev_unit_grow(unsigned int unit)
{
	struct device *dev;

	mutex_lock(&bpfdev_units_lock);
	if (unit + 1 == bpfdev_units_created && bpfdev_units_created < max_devices) {
		dev = device_create(bpfdev_class, NULL, MKDEV(MAJOR(bpfdev_devt), unit + 1),
				    NULL, "bpf%u", unit + 1);
		if (!IS_ERR(dev))
			bpfdev_units_created++;
	}
	mutex_unlock(&bpfdev_units_lock);
}

static int bpfdev_open_unit(struct inode *inode, struct file *file)
{
	unsigned int unit = iminor(inode);
	int err;

	if (unit >= max_devices)
		return -ENXIO;
	if (test_and_set_bit(unit, bpfdev_units_busy))
		return -EBUSY;
	err = bpfdev_open_common(file, unit);
	if (err) {
		clear_bit(unit, bpfdev_units_busy);
		return err;
	}
	bpfdev_unit_grow(unit);
	return 0;
}

/* What a tap inside an RCU section may still touch: d, its filters, stats. */
static void bpfdev_d_free(struct bpfdev_d *d)
{
	bpfdev_filters_free(d);
	free_percpu(d->stats);
	put_net(d->net);
	kfree(d);
}

static void bpfdev_d_free_rcu(struct rcu_head *head)
{
	bpfdev_d_free(container_of(head, struct bpfdev_d, rcu));
}

/*
 * close(). A descriptor that was never attached was never on a tap's list:
 * no RTNL and no grace period. One that was waits for taps still walking
 * the list it left through call_rcu(), so close() itself does not block.
 * d->bif can only go from set to NULL here (the notifier detaches; attach
 * needs this file's ioctl), and it becomes NULL after list_del_rcu().
 */
static int bpfdev_release(struct inode *inode, struct file *file)
{
	struct bpfdev_d *d = file->private_data;

	bpfdev_proc_del(d);
	if (READ_ONCE(d->bif)) {
		rtnl_lock();
		bpfdev_detach(d);
		rtnl_unlock();
	}
	del_timer_sync(&d->timer);
	del_timer_sync(&d->wtimer);
	bpfdev_feedback_release(d);
	/* The tap stores only while d->bif is set, checked under d->lock. */
	bpfdev_slots_free(d);	/* no read() can run: never waits */
	if (d->unit >= 0)
		clear_bit(d->unit, bpfdev_units_busy);
	if (d->ever_attached)
		call_rcu(&d->rcu, bpfdev_d_free_rcu);
	else
		bpfdev_d_free(d);
	return 0;
}

static int bpfdev_fasync(int fd, struct file *file, int on)
{
	struct bpfdev_d *d = file->private_data;

	return fasync_helper(fd, file, on, &d->fasync);
}

#define BPF_FOPS(openfn) {				\
	.owner = THIS_MODULE,				\
	.open = openfn,					\
	.release = bpfdev_release,				\
	.read = bpfdev_read,				\
	.write = bpfdev_write,				\
	.poll = bpfdev_poll,				\
	.unlocked_ioctl = bpfdev_ioctl,			\
	.fasync = bpfdev_fasync,				\
}

static const struct file_operations bpfdev_clone_fops = BPF_FOPS(bpfdev_open_clone);
static const struct file_operations bpfdev_unit_fops = BPF_FOPS(bpfdev_open_unit);

static struct miscdevice bpfdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bpf",
	.fops = &bpfdev_clone_fops,
	.mode = 0600,
};

static char *bpfdev_devnode(BPFDEV_DEVNODE_CONST struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return NULL;
}

static int __init bpfdev_units_init(void)
{
	struct device *dev;
	int err;

	if (!max_devices)
		return 0;
	bpfdev_units_busy = bitmap_zalloc(max_devices, GFP_KERNEL);
	if (!bpfdev_units_busy)
		return -ENOMEM;
	err = alloc_chrdev_region(&bpfdev_devt, 0, max_devices, "bpf");
	if (err)
		goto free_bitmap;
	cdev_init(&bpfdev_cdev, &bpfdev_unit_fops);
	bpfdev_cdev.owner = THIS_MODULE;
	err = cdev_add(&bpfdev_cdev, bpfdev_devt, max_devices);
	if (err)
		goto free_region;
	bpfdev_class = bpfdev_class_create("bpf");
	if (IS_ERR(bpfdev_class)) {
		err = PTR_ERR(bpfdev_class);
		goto del_cdev;
	}
	bpfdev_class->devnode = bpfdev_devnode;
	dev = device_create(bpfdev_class, NULL, bpfdev_devt, NULL, "bpf0");
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto destroy_class;
	}
	bpfdev_units_created = 1;
	return 0;

destroy_class:
	class_destroy(bpfdev_class);
del_cdev:
	cdev_del(&bpfdev_cdev);
free_region:
	unregister_chrdev_region(bpfdev_devt, max_devices);
free_bitmap:
	bitmap_free(bpfdev_units_busy);
	return err;
}

static void bpfdev_units_exit(void)
{
	unsigned int i;

	if (!max_devices)
		return;
	for (i = 0; i < bpfdev_units_created; i++)
		device_destroy(bpfdev_class, MKDEV(MAJOR(bpfdev_devt), i));
	class_destroy(bpfdev_class);
	cdev_del(&bpfdev_cdev);
	unregister_chrdev_region(bpfdev_devt, max_devices);
	bitmap_free(bpfdev_units_busy);
}

static int __init bpfdev_init(void)
{
	int err;

	bpfdev_fanout_init();
	err = bpfdev_feedback_init();
	if (err)
		return err;
	err = bpfdev_tap_init();
	if (err)
		goto feedback_exit;
	err = bpfdev_proc_init();
	if (err)
		goto tap_exit;
	err = misc_register(&bpfdev_misc);
	if (err)
		goto proc_exit;
	err = bpfdev_units_init();
	if (err)
		goto misc_exit;
	return 0;

misc_exit:
	misc_deregister(&bpfdev_misc);
proc_exit:
	bpfdev_proc_exit();
tap_exit:
	bpfdev_tap_exit();
feedback_exit:
	bpfdev_feedback_exit();
	return err;
}

static void __exit bpfdev_exit(void)
{
	bpfdev_units_exit();
	misc_deregister(&bpfdev_misc);
	bpfdev_proc_exit();
	bpfdev_tap_exit();
	bpfdev_feedback_exit();
}

module_init(bpfdev_init);
module_exit(bpfdev_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("BSD bpf(4) packet tap: /dev/bpf");
MODULE_AUTHOR("bpfdev developers");
