// SPDX-License-Identifier: GPL-2.0
/*
 * Filters run in the kernel's classic-BPF machinery: loaded with the loader
 * behind SO_ATTACH_FILTER (validated as Linux always has, then JIT-compiled),
 * swapped under RCU. The return value is the snap length; 0 drops.
 */
#include <linux/filter.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bpfdev.h"

/*
 * Linux gives loads at offsets with the sign bit set a special meaning
 * (ancillary data, SKF_NET_OFF, SKF_LL_OFF). In BSD such a load is simply
 * out of bounds, which ends the program with 0: say exactly that.
 */
static int bpfdev_bsd_loads(struct sock_filter *insns, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		struct sock_filter *in = &insns[i];
		u16 class = BPF_CLASS(in->code), mode = BPF_MODE(in->code);
		bool packet_load = (class == BPF_LD && (mode == BPF_ABS || mode == BPF_IND)) ||
				   (class == BPF_LDX && mode == BPF_MSH);

		if (packet_load && (s32)in->k < 0) {
			in->code = BPF_RET | BPF_K;
			in->jt = 0;
			in->jf = 0;
			in->k = 0;
		}
	}
	return 0;
}

static void bpfdev_filter_free_rcu(struct rcu_head *head)
{
	struct bpfdev_filter *f = container_of(head, struct bpfdev_filter, rcu);

	bpf_prog_destroy(f->prog);
	kfree(f);
	atomic_dec(&bpfdev_live_filters);
}

static struct bpfdev_filter *bpfdev_filter_load(const struct bpf_program *p)
{
	struct sock_fprog fprog = {
		.len = p->bf_len,
		.filter = p->bf_insns,
	};
	struct bpfdev_filter *f;
	int err;

	BUILD_BUG_ON(sizeof(struct sock_filter) != 8);
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return ERR_PTR(-ENOMEM);
	err = bpf_prog_create_from_user(&f->prog, &fprog, bpfdev_bsd_loads, false);
	if (err) {
		kfree(f);
		return ERR_PTR(err == -EFAULT || err == -ENOMEM ? err : -EINVAL);
	}
	atomic_inc(&bpfdev_live_filters);
	return f;
}

/*
 * BIOCSETF, BIOCSETFNR, BIOCSETWF. A zero-length program removes the filter
 * (accept everything). Called with d->ioctl_lock held.
 */
int bpfdev_filter_set(struct bpfdev_d *d, const struct bpf_program __user *uprog,
		      bool write_filter, bool flush)
{
	struct bpfdev_filter __rcu **slot = write_filter ? &d->wfilter : &d->rfilter;
	struct bpfdev_filter *new = NULL, *old;
	struct bpf_program p;
	int err;

	if (copy_from_user(&p, uprog, sizeof(p)))
		return -EFAULT;
	if (p.bf_len > BPF_MAXINSNS || (p.bf_len && !p.bf_insns))
		return -EINVAL;
	if (p.bf_len) {
		new = bpfdev_filter_load(&p);
		if (IS_ERR(new))
			return PTR_ERR(new);
	}
	if (flush) {
		err = bpfdev_slots_lock_idle(d, false);
		if (err) {
			if (new)
				bpfdev_filter_free_rcu(&new->rcu);
			return err;
		}
	} else {
		spin_lock_bh(&d->lock);
	}
	old = rcu_replace_pointer(*slot, new, lockdep_is_held(&d->ioctl_lock));
	if (flush)
		bpfdev_reset_locked(d);
	spin_unlock_bh(&d->lock);
	if (old)
		call_rcu(&old->rcu, bpfdev_filter_free_rcu);
	return 0;
}

/* At close, after a grace period: no tap can see d any more. */
void bpfdev_filters_free(struct bpfdev_d *d)
{
	struct bpfdev_filter *f;

	f = rcu_dereference_protected(d->rfilter, 1);
	if (f)
		bpfdev_filter_free_rcu(&f->rcu);
	f = rcu_dereference_protected(d->wfilter, 1);
	if (f)
		bpfdev_filter_free_rcu(&f->rcu);
	RCU_INIT_POINTER(d->rfilter, NULL);
	RCU_INIT_POINTER(d->wfilter, NULL);
}
