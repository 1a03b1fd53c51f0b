// SPDX-License-Identifier: GPL-2.0
/*
 * A control module for the debug-kernel gate: loading it with bug=NAME does
 * one deliberate fault, and tests/host/vmrun/debug-gate-selftest.sh checks
 * that scripts/vm-run --kernel debug fails the run with the matching report.
 * Only ever loaded in the guest.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *bug = "none";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "kasan, ubsan, atomic-sleep, lockdep, kmemleak or none");

static DEFINE_SPINLOCK(buggy_spin);
static DEFINE_MUTEX(buggy_a);
static DEFINE_MUTEX(buggy_b);

static noinline void buggy_kasan(void)
{
	char *p = kmalloc(16, GFP_KERNEL);
	size_t i = 16;

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(i);
	pr_info("buggy: read past a 16-byte object: %d\n", READ_ONCE(p[i]));
	kfree(p);
}

static noinline void buggy_ubsan(void)
{
	unsigned int shift = 40;

	OPTIMIZER_HIDE_VAR(shift);
	pr_info("buggy: 1 << 40 in 32 bits: %d\n", 1 << shift);
}

static noinline void buggy_atomic_sleep(void)
{
	/* A GFP_KERNEL allocation may sleep: might_sleep() reports it. */
	spin_lock(&buggy_spin);
	kfree(kmalloc(64, GFP_KERNEL));
	spin_unlock(&buggy_spin);
}

static noinline void buggy_lockdep(void)
{
	mutex_lock(&buggy_a);
	mutex_lock(&buggy_b);
	mutex_unlock(&buggy_b);
	mutex_unlock(&buggy_a);
	mutex_lock(&buggy_b);
	mutex_lock(&buggy_a);
	mutex_unlock(&buggy_a);
	mutex_unlock(&buggy_b);
}

static noinline void buggy_kmemleak(void)
{
	void *p = kmalloc(1024, GFP_KERNEL);

	OPTIMIZER_HIDE_VAR(p);
	/* Not "leak": the gate would stop the run before kmemleak scans. */
	pr_info("buggy: dropped the only pointer to an object (%s)\n",
		p ? "allocated" : "none");
}

static int __init buggy_init(void)
{
	if (!strcmp(bug, "kasan"))
		buggy_kasan();
	else if (!strcmp(bug, "ubsan"))
		buggy_ubsan();
	else if (!strcmp(bug, "atomic-sleep"))
		buggy_atomic_sleep();
	else if (!strcmp(bug, "lockdep"))
		buggy_lockdep();
	else if (!strcmp(bug, "kmemleak"))
		buggy_kmemleak();
	return 0;
}

static void __exit buggy_exit(void)
{
}

module_init(buggy_init);
module_exit(buggy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("deliberately faulty control module for the debug-kernel gate");
