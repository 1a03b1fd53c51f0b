/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel lines bpfdev builds on (Debian 12's 6.1,
 * Debian 13's and bookworm-backports' 6.12), keyed on LINUX_VERSION_CODE,
 * so the rest of the module reads like code for one kernel.
 *
 * Not here because it needs no shim: no_llseek (removed in 6.12). The file
 * operations leave .llseek NULL instead, which makes do_dentry_open() clear
 * FMODE_LSEEK, so lseek() fails with ESPIPE on every line, as no_llseek did.
 */
#ifndef BPFDEV_COMPAT_H
#define BPFDEV_COMPAT_H

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/version.h>

/* True on kernel line major.minor and later; the only version test in kmod/. */
#define BPFDEV_SINCE(major, minor) (KERNEL_VERSION(major, minor, 0) <= LINUX_VERSION_CODE)

/* 6.4 dropped class_create()'s owner argument (the class core sets it). */
#if BPFDEV_SINCE(6, 4)
#define bpfdev_class_create(name) class_create(name)
#else
#define bpfdev_class_create(name) class_create(THIS_MODULE, name)
#endif

/* 6.2 made struct class's devnode() take a const struct device. */
#if BPFDEV_SINCE(6, 2)
#define BPFDEV_DEVNODE_CONST const
#else
#define BPFDEV_DEVNODE_CONST
#endif

/*
 * The signal of a file's async owner (F_SETSIG's, BIOCSRSIG's). 6.12 made
 * file->f_owner a pointer, allocated on first use and never replaced while
 * the file lives; 0 means the default, SIGIO.
 */
#if BPFDEV_SINCE(6, 12)
static inline int bpfdev_file_signum(const struct file *file)
{
	struct fown_struct *fown = file_f_owner(file);

	return fown ? READ_ONCE(fown->signum) : 0;
}

static inline int bpfdev_set_file_signum(struct file *file, int signum)
{
	int err = file_f_owner_allocate(file);

	if (err)
		return err;
	WRITE_ONCE(file_f_owner(file)->signum, signum);
	return 0;
}
#else
static inline int bpfdev_file_signum(const struct file *file)
{
	return READ_ONCE(file->f_owner.signum);
}

static inline int bpfdev_set_file_signum(struct file *file, int signum)
{
	WRITE_ONCE(file->f_owner.signum, signum);
	return 0;
}
#endif

#endif /* BPFDEV_COMPAT_H */
