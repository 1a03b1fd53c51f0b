// SPDX-License-Identifier: GPL-2.0
/*
 * Copy mode (BPF_BUFMODE_BUFFER, FreeBSD's bpf_buffer.c): two buffers of
 * kernel memory, BIOCSBLEN bytes each, that read() copies out whole. The
 * policy that moves them between slots is bpf_slots.c.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bpfdev.h"

static struct bpfdev_buf *bpfdev_copy_buf_new(unsigned int size)
{
	struct bpfdev_buf *b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);

	if (!b)
		return NULL;
	b->data = kvzalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!b->data) {
		kfree(b);
		return NULL;
	}
	return b;
}

static void bpfdev_copy_free(struct bpfdev_buf *b)
{
	kvfree(b->data);
	kfree(b);
}

static int bpfdev_copy_alloc(struct bpfdev_d *d, struct bpfdev_buf *bufs[2])
{
	bufs[0] = bpfdev_copy_buf_new(d->bufsize);
	bufs[1] = bufs[0] ? bpfdev_copy_buf_new(d->bufsize) : NULL;
	if (!bufs[1]) {
		if (bufs[0])
			bpfdev_copy_free(bufs[0]);
		return -ENOBUFS;
	}
	return 0;
}

/*
 * BIOCSBLEN: buffers from an earlier attachment are the wrong size now. In
 * head-drop mode twice max_bufsize, as macOS: a reader that may fall behind
 * keeps a longer window of the newest traffic.
 */
static int bpfdev_copy_sblen(struct bpfdev_d *d, unsigned int *size)
{
	unsigned int max = READ_ONCE(bpfdev_max_bufsize);
	int err;

	if (READ_ONCE(d->headdrop))
		max *= 2;
	*size = clamp(*size, (unsigned int)BPF_MINBUFSIZE, max);
	err = bpfdev_slots_free(d);
	if (err)
		return err;
	WRITE_ONCE(d->bufsize, *size);
	return 0;
}

static int bpfdev_copy_out(struct bpfdev_buf *b, unsigned int len, char __user *to)
{
	return copy_to_user(to, b->data, len) ? -EFAULT : 0;
}

const struct bpfdev_bufops bpfdev_copy_bufops = {
	.mode = BPF_BUFMODE_BUFFER,
	.alloc = bpfdev_copy_alloc,
	.free = bpfdev_copy_free,
	.sblen = bpfdev_copy_sblen,
	.copy_out = bpfdev_copy_out,
};
