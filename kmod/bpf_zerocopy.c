// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy mode (BPF_BUFMODE_ZBUF, FreeBSD's bpf_zerocopy.c): the process
 * donates two buffers with BIOCSETZBUF; the tap writes records straight into
 * them and hands each one over by bumping the generation in its shared
 * header (struct bpf_zbuf_header). The process reads the records in place
 * and hands the buffer back by storing that generation into bzh_user_gen.
 * The slot policy (which buffer is store, hold, free) is bpf_slots.c's, as
 * in copy mode; this file is the memory and the hand-over.
 *
 * Memory. The donated pages are pinned once, at BIOCSETZBUF, with a
 * long-term pin (FOLL_LONGTERM: they are never migrated while pinned),
 * counted in the process's mm->pinned_vm (VmPin in /proc/PID/status) and
 * held to its RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK, as io_uring and
 * RDMA charge the pages they pin, and mapped contiguously into the kernel
 * with vmap(). The tap only ever writes through that kernel mapping, so what the
 * process later does to its own address space cannot reach the kernel:
 *  - munmap() or mmap(MAP_FIXED) over a buffer: the user mapping goes, the
 *    pages stay pinned (our reference) and the vmap stays valid; the tap
 *    keeps writing into pages only the kernel can still see. Freed at close.
 *  - fork(): the pages are pinned, so fork copies them for the child
 *    (page_needs_cow_for_dma) and the parent keeps the pinned originals;
 *    the child's copies are its own and never written by the kernel. A
 *    child that inherits the descriptor shares it with the parent, as with
 *    any descriptor; the pages are the parent's.
 *  - exit (also while blocked in poll()): the descriptor is released after
 *    the address space is gone; bpfdev_release() detaches, waits for the
 *    tap (synchronize_net), then frees here: unmap, unpin, uncharge the mm,
 *    which we hold with mmgrab() so the charge goes back to the right one.
 *  - detach (the interface goes, BIOCSETIF elsewhere): the tap stops
 *    storing under d->lock before the slots change; the buffers stay the
 *    descriptor's, with whatever ownership they had, until close.
 *  - another thread of the process writes the header while the tap runs:
 *    the tap and the hand-over write only through the vmap, under d->lock;
 *    the one word read back (bzh_user_gen, an aligned u32, never torn) is
 *    compared with the kernel's own generation, and only for a buffer the
 *    kernel published, so an early or bogus "ack" of the store changes
 *    nothing (bpf_slots.c asks acked() only of a published hold buffer).
 * The kernel never reads anything from the shared memory but bzh_user_gen,
 * and trusts nothing it reads: a bad value only keeps the buffer the
 * process's (packets are then dropped and counted). Lengths and the
 * generation the kernel acts on are its own copies (struct bpfdev_zbuf).
 *
 * Only anonymous and tmpfs/shmem memory is accepted: pinning page cache of
 * a regular file writable for a long time is what file systems cannot cope
 * with (EINVAL, where FreeBSD would wire any memory).
 */
#include <linux/highmem.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "bpfdev.h"

/* FreeBSD's BPF_MAX_PAGES: the largest buffer is 512 pages. */
#define BPFDEV_ZBUF_MAX_PAGES	512

atomic_long_t bpfdev_zbuf_pinned = ATOMIC_LONG_INIT(0);

struct bpfdev_zbuf {
	struct bpfdev_buf buf;		/* buf.data: just after the header */
	struct bpf_zbuf_header *hdr;	/* kernel mapping of the shared header */
	struct page **pages;
	unsigned int npages;
	unsigned long uaddr;		/* where the process put it, for BIOCROTZBUF */
	unsigned int gen;		/* the kernel's copy of bzh_kernel_gen */
	struct mm_struct *mm;		/* charged for the pinned pages */
};

static struct bpfdev_zbuf *to_zbuf(struct bpfdev_buf *b)
{
	return container_of(b, struct bpfdev_zbuf, buf);
}

/*
 * Charge npages to mm's pinned_vm, within RLIMIT_MEMLOCK. The add and the
 * check are one atomic step, so two descriptors pinning at once cannot both
 * pass the limit; the one that went over takes its pages back out.
 */
static int bpfdev_zbuf_charge(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(npages, &mm->pinned_vm);

	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Give the charge back to the mm it was taken from: we hold it with mmgrab(),
 * so even after the process exited (the descriptor outlived it in a child or
 * an SCM_RIGHTS message) the counter is still there to subtract from.
 */
static void bpfdev_zbuf_uncharge(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
}

static void bpfdev_zbuf_free(struct bpfdev_buf *b)
{
	struct bpfdev_zbuf *zb = to_zbuf(b);

	/* No slot, reader or tap can reach zb (bufops contract). */
	vunmap(zb->hdr);
	/* The kernel wrote into them: let the mm know they are dirty. */
	unpin_user_pages_dirty_lock(zb->pages, zb->npages, true);
	bpfdev_zbuf_uncharge(zb->mm, zb->npages);
	mmdrop(zb->mm);
	atomic_long_sub(zb->npages, &bpfdev_zbuf_pinned);
	kvfree(zb->pages);
	kfree(zb);
}

/*
 * Every page of [start, start + len) is mapped (else EFAULT) and anonymous
 * or tmpfs memory (else EINVAL). Only a first check: the mapping may change
 * before the pin, which then pins whatever is there or fails with EFAULT.
 */
static int bpfdev_zbuf_memory_check(unsigned long start, unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = start + len, at = start;
	struct vm_area_struct *vma;
	int err = 0;

	mmap_read_lock(mm);
	while (!err && at < end) {
		vma = find_vma(mm, at);
		if (!vma || vma->vm_start > at)
			err = -EFAULT;
		else if (vma->vm_file && file_inode(vma->vm_file)->i_sb->s_magic != TMPFS_MAGIC)
			err = -EINVAL;
		else
			at = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return err;
}

/* Pin, charge and map one donated buffer (FreeBSD's zbuf_setup). */
static int bpfdev_zbuf_setup(unsigned long uaddr, size_t len, struct bpfdev_zbuf **out)
{
	unsigned int npages = len >> PAGE_SHIFT;
	struct bpfdev_zbuf *zb;
	int pinned, err;

	err = bpfdev_zbuf_memory_check(uaddr, len);
	if (err)
		return err;
	zb = kzalloc(sizeof(*zb), GFP_KERNEL_ACCOUNT);
	if (!zb)
		return -ENOMEM;
	zb->pages = kvcalloc(npages, sizeof(*zb->pages), GFP_KERNEL_ACCOUNT);
	if (!zb->pages) {
		err = -ENOMEM;
		goto free_zb;
	}
	zb->mm = current->mm;
	mmgrab(zb->mm);
	err = bpfdev_zbuf_charge(zb->mm, npages);
	if (err)
		goto drop_mm;
	pinned = pin_user_pages_fast(uaddr, npages, FOLL_WRITE | FOLL_LONGTERM, zb->pages);
	if (pinned != npages) {
		if (pinned > 0)
			unpin_user_pages(zb->pages, pinned);
		/* Unmapped, read-only or unpinnable memory: FreeBSD's EFAULT. */
		err = pinned == -ENOMEM ? -ENOMEM : -EFAULT;
		goto uncharge;
	}
	zb->hdr = vmap(zb->pages, npages, VM_MAP, PAGE_KERNEL);
	if (!zb->hdr) {
		unpin_user_pages(zb->pages, npages);
		err = -ENOMEM;
		goto uncharge;
	}
	zb->npages = npages;
	zb->uaddr = uaddr;
	zb->buf.data = (u8 *)zb->hdr + sizeof(*zb->hdr);
	/* Kernel-owned: both generations zero, as FreeBSD zeroes the header. */
	memset(zb->hdr, 0, sizeof(*zb->hdr));
	atomic_long_add(npages, &bpfdev_zbuf_pinned);
	*out = zb;
	return 0;

uncharge:
	bpfdev_zbuf_uncharge(zb->mm, npages);
drop_mm:
	mmdrop(zb->mm);
	kvfree(zb->pages);
free_zb:
	kfree(zb);
	return err;
}

/* BIOCSETIF before BIOCSETZBUF: FreeBSD's EINVAL. */
static int bpfdev_zbuf_alloc(struct bpfdev_d *d, struct bpfdev_buf *bufs[2])
{
	return -EINVAL;
}

/*
 * Hand buf to the process (FreeBSD's bufheld / buffull). Under d->lock: the
 * tap wrote the records through the kernel mapping before this, so the
 * release store of the generation orders them (and the length) before it;
 * a process that reads bzh_kernel_gen with acquire then sees them all.
 */
static void bpfdev_zbuf_publish(struct bpfdev_buf *b, unsigned int len)
{
	struct bpfdev_zbuf *zb = to_zbuf(b);

	WRITE_ONCE(zb->hdr->bzh_kernel_len, len);
	zb->gen++;
	/* Release: records and length before the generation (user: acquire). */
	smp_store_release(&zb->hdr->bzh_kernel_gen, zb->gen);
}

/*
 * Has the process handed buf back (FreeBSD's canfreebuf)? The acquire load
 * pairs with the process's release store of bzh_user_gen: everything it
 * read from the buffer happened before the tap writes into it again.
 */
static bool bpfdev_zbuf_acked(struct bpfdev_buf *b)
{
	struct bpfdev_zbuf *zb = to_zbuf(b);

	/* Acquire: pairs with the process's release store of bzh_user_gen. */
	return smp_load_acquire(&zb->hdr->bzh_user_gen) == zb->gen;
}

const struct bpfdev_bufops bpfdev_zbuf_bufops = {
	.mode = BPF_BUFMODE_ZBUF,
	.alloc = bpfdev_zbuf_alloc,
	.free = bpfdev_zbuf_free,
	.publish = bpfdev_zbuf_publish,
	.acked = bpfdev_zbuf_acked,
};

/* Pages a descriptor has pinned, for /proc/net/bpfdev. Under d->lock. */
unsigned long bpfdev_zbuf_pages_locked(const struct bpfdev_d *d)
{
	struct bpfdev_buf *bufs[3] = { d->sbuf, d->hbuf, d->fbuf };
	unsigned long n = 0;
	int i;

	if (d->bufops != &bpfdev_zbuf_bufops)
		return 0;
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		if (bufs[i])
			n += to_zbuf(bufs[i])->npages;
	return n;
}

/* Do [a, a + len) and [b, b + len) share a byte? */
static bool bpfdev_zbuf_overlap(unsigned long a, unsigned long b, size_t len)
{
	return a < b + len && b < a + len;
}

/* BIOCSETZBUF (FreeBSD's bpf_zerocopy_ioctl_setzbuf); under ioctl_lock. */
static int bpfdev_zbuf_set(struct bpfdev_d *d, unsigned long arg)
{
	struct bpfdev_zbuf *za, *zb;
	struct bpfdev_buf *bufs[2];
	struct bpf_zbuf bz;
	unsigned long a, b;
	int err;

	if (copy_from_user(&bz, (void __user *)arg, sizeof(bz)))
		return -EFAULT;
	a = (unsigned long)bz.bz_bufa;
	b = (unsigned long)bz.bz_bufb;
	if (!a || !b || !bz.bz_buflen)
		return -EINVAL;
	if (!PAGE_ALIGNED(a) || !PAGE_ALIGNED(b) || !PAGE_ALIGNED(bz.bz_buflen) ||
	    bz.bz_buflen > BPFDEV_ZBUF_MAX_PAGES * PAGE_SIZE)
		return -EINVAL;
	/* FreeBSD wires overlapping buffers and then corrupts records: refuse. */
	if (bpfdev_zbuf_overlap(a, b, bz.bz_buflen))
		return -EINVAL;
	if (!access_ok((void __user *)a, bz.bz_buflen) ||
	    !access_ok((void __user *)b, bz.bz_buflen))
		return -EFAULT;
	/* Only once, only before attach; ioctl_lock keeps both from changing. */
	if (READ_ONCE(d->sbuf) || READ_ONCE(d->bif))
		return -EINVAL;
	err = bpfdev_zbuf_setup(a, bz.bz_buflen, &za);
	if (err)
		return err;
	err = bpfdev_zbuf_setup(b, bz.bz_buflen, &zb);
	if (err) {
		bpfdev_zbuf_free(&za->buf);
		return err;
	}
	/* Records go after the header (FreeBSD's bd_bufsize); store is a first. */
	WRITE_ONCE(d->bufsize, bz.bz_buflen - sizeof(struct bpf_zbuf_header));
	bufs[0] = &za->buf;
	bufs[1] = &zb->buf;
	bpfdev_slots_install(d, bufs);
	return 0;
}

/*
 * BIOCROTZBUF: hand over a partly filled store now (the process's read
 * timeout). Unlike FreeBSD, a hold buffer the process already handed back
 * is reclaimed first, so the rotation is not refused for a stale hold.
 */
static int bpfdev_zbuf_rotate(struct bpfdev_d *d, unsigned long arg)
{
	struct bpf_zbuf bz = {};

	spin_lock_bh(&d->lock);
	if (bpfdev_slots_hand_over_locked(d)) {
		bz.bz_bufa = (void *)to_zbuf(d->hbuf)->uaddr;
		bz.bz_buflen = d->hlen;
	}
	spin_unlock_bh(&d->lock);
	return copy_to_user((void __user *)arg, &bz, sizeof(bz)) ? -EFAULT : 0;
}

/* The zero-copy ioctls; any of them in copy mode is FreeBSD's EOPNOTSUPP. */
int bpfdev_zbuf_ioctl(struct bpfdev_d *d, unsigned int cmd, unsigned long arg)
{
	size_t zmax = BPFDEV_ZBUF_MAX_PAGES * PAGE_SIZE;

	if (d->bufops != &bpfdev_zbuf_bufops)
		return -EOPNOTSUPP;
	switch (cmd) {
	case BIOCGETZMAX:
		return copy_to_user((void __user *)arg, &zmax, sizeof(zmax)) ? -EFAULT : 0;
	case BIOCSETZBUF:
		return bpfdev_zbuf_set(d, arg);
	case BIOCROTZBUF:
		return bpfdev_zbuf_rotate(d, arg);
	default:
		return -EINVAL;
	}
}
