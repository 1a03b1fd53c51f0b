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
static void bpfdev_bsd_loads(struct sock_filter *insns, unsigned int len)
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
}

static bool bpfdev_is_ind_load(const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_LD && BPF_MODE(in->code) == BPF_IND;
}

/*
 * An indexed load, ld [x + k], is out of bounds in BSD unless x + k + size
 * fits the packet, in unbounded arithmetic. Linux adds x and k in 32 bits
 * (x = 0xffffffff, k = 1 loads byte 0), and takes a sum with the sign bit
 * set as an ancillary, SKF_NET_OFF or SKF_LL_OFF offset. So each indexed
 * load gets a guard that ends the program with 0, as BSD does, when the sum
 * wraps or has the sign bit set (no packet is 2 GiB long); what is left is
 * a non-negative offset, which Linux bounds exactly as BSD does:
 *
 *	txa			A = x (the load overwrites A anyway)
 *	add #k			A = x + k, modulo 2^32
 *	jge #k, 0, 1		wrapped: to ret #0
 *	jge #0x80000000, 0, 1	sign bit: to ret #0
 *	ret #0
 *	ld [x + k]		the load itself
 */
#define BPFDEV_IND_GUARD 5

static void bpfdev_ind_guard(struct sock_filter *out, const struct sock_filter *in)
{
	out[0] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TXA, 0);
	out[1] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, in->k);
	out[2] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, in->k, 0, 1);
	out[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x80000000U, 0, 1);
	out[4] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	out[5] = *in;
}

/* New index of the jump target `to` (an old index), relative to `from`. */
static int bpfdev_relocate(const unsigned int *pos, unsigned int len, unsigned int from,
			   u64 to, u32 *off)
{
	if (to > len)	/* past the end: the loader says EINVAL */
		return -EINVAL;
	*off = pos[to] - (pos[from] + 1);
	return 0;
}

/*
 * Give the program BSD's semantics for Linux's loader: guard indexed loads
 * (growing the program and moving its jumps) and rewrite sign-bit offsets.
 * A program whose jumps no longer reach, or that grows past BPF_MAXINSNS,
 * gets EINVAL, and userland filters it itself (libpcap does): a different
 * verdict is never given. Returns the program to load, or an ERR_PTR.
 */
static struct sock_filter *bpfdev_bsd_program(struct sock_filter *insns, unsigned int *lenp)
{
	unsigned int len = *lenp, n = 0, i, newlen;
	struct sock_filter *out;
	unsigned int *pos;
	int err = 0;

	bpfdev_bsd_loads(insns, len);
	for (i = 0; i < len; i++)
		n += bpfdev_is_ind_load(&insns[i]);
	if (!n)
		return insns;
	newlen = len + n * BPFDEV_IND_GUARD;
	if (newlen > BPF_MAXINSNS)
		return ERR_PTR(-EINVAL);
	pos = kvmalloc_array(len + 1, sizeof(*pos), GFP_KERNEL);
	out = kvmalloc_array(newlen, sizeof(*out), GFP_KERNEL_ACCOUNT);
	if (!pos || !out) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0, n = 0; i < len; i++) {
		pos[i] = n;
		n += 1 + (bpfdev_is_ind_load(&insns[i]) ? BPFDEV_IND_GUARD : 0);
	}
	pos[len] = n;
	for (i = 0; i < len && !err; i++) {
		struct sock_filter in = insns[i];
		u32 t, f;

		if (bpfdev_is_ind_load(&in)) {
			bpfdev_ind_guard(&out[pos[i]], &in);
			continue;
		}
		/* A jump's offsets count from the instruction after it. */
		if (BPF_CLASS(in.code) == BPF_JMP && BPF_OP(in.code) == BPF_JA) {
			err = bpfdev_relocate(pos, len, i, (u64)i + 1 + in.k, &in.k);
		} else if (BPF_CLASS(in.code) == BPF_JMP) {
			err = bpfdev_relocate(pos, len, i, i + 1 + in.jt, &t) ?:
			      bpfdev_relocate(pos, len, i, i + 1 + in.jf, &f);
			if (!err && (t > U8_MAX || f > U8_MAX))
				err = -EINVAL;	/* too far for an 8-bit offset now */
			in.jt = t;
			in.jf = f;
		}
		out[pos[i]] = in;
	}
	if (err)
		goto fail;
	kvfree(pos);
	*lenp = newlen;
	return out;
fail:
	kvfree(pos);
	kvfree(out);
	return ERR_PTR(err);
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
	struct sock_fprog_kern fprog;
	struct sock_filter *insns, *prog;
	unsigned int len = p->bf_len;
	struct bpfdev_filter *f;
	int err;

	BUILD_BUG_ON(sizeof(struct sock_filter) != sizeof(struct bpf_insn));
	insns = vmemdup_user(p->bf_insns, array_size(p->bf_len, sizeof(*insns)));
	if (IS_ERR(insns))
		return ERR_CAST(insns);
	prog = bpfdev_bsd_program(insns, &len);
	if (IS_ERR(prog)) {
		kvfree(insns);
		return ERR_CAST(prog);
	}
	fprog.len = len;
	fprog.filter = prog;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	err = f ? bpf_prog_create(&f->prog, &fprog) : -ENOMEM;
	if (prog != insns)
		kvfree(prog);
	kvfree(insns);
	if (err) {
		kfree(f);
		return ERR_PTR(err == -ENOMEM ? err : -EINVAL);
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
