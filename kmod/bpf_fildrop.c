// SPDX-License-Identifier: GPL-2.0
/*
 * OpenBSD's BIOCSFILDROP: what happens to a received frame a descriptor's
 * read filter accepts. PASS (the default): captured, and the stack gets it.
 * CAPTURE: captured, and the stack does not get it. DROP: neither. As on
 * OpenBSD, where only the input path acts on bpf_mtap()'s verdict (Ethernet
 * drivers ignore it on output), transmitted frames are never dropped; a
 * DROP descriptor captures nothing in either direction.
 *
 * A packet handler gets the skb shared and cannot take it from the stack,
 * so an interface with at least one such descriptor gets a netfilter
 * NF_NETDEV_INGRESS hook, first priority. __netif_receive_skb_core() runs
 * the ETH_P_ALL handlers (our tap among them) and then, on the same CPU
 * with BH off, the ingress hooks (only a frame received nested in tc's
 * ingress can come between them, see below). So the verdict is made once,
 * by the tap, during the one delivery that counts and captures the frame
 * (fan-out groups included), and left in a per-CPU mark naming the skb and
 * the interface. The hook only reads the mark: no filter runs twice, no
 * frame is counted or stored twice, and the hook walks no descriptor list.
 *
 * The mark is never dereferenced, only compared. It also holds this CPU's
 * softnet_data.processed, which __netif_receive_skb_core() bumps for each
 * frame (and each another_round) before the taps: a mark matches only in
 * the same pass over the same skb, so a stale mark (its frame dropped by tc
 * before our hook, say) cannot match a later skb at the same address, even
 * one that skipped the taps (pfmemalloc). A frame received nested between
 * the tap and the hook of another one (a tc ingress action handing a copy to
 * a tapped interface's input) bumps the count too: the outer frame then
 * reaches the stack, captured once all the same. So does a frame a tc
 * ingress action replaced with a copy.
 *
 * Interleavings, with RTNL serialising every change of bif->fildrop_users,
 * d->fildrop_joined and the hook's registration (BIOCSFILDROP, BIOCSETIF,
 * close, the netdevice notifier on interface deletion):
 *  - BIOCSFILDROP vs the tap on another CPU: d->fildrop is read once per
 *    frame by the tap (READ_ONCE); a frame racing the change is handled by
 *    the old or the new setting, never half of each. The hook is registered
 *    before a non-PASS value is published and unregistered after PASS is:
 *    until then the mark is simply not consumed (the frame passes).
 *  - The hook vs unregistration and bif's end: nf_unregister_net_hook()
 *    does not wait for hooks in flight (the old hook array goes after an
 *    RCU grace period). The hook dereferences nothing (priv is compared
 *    with the mark), and bif itself is freed with call_rcu() after the
 *    unregistration in any case (bpfdev_if_put).
 *  - Interface deletion: NETDEV_UNREGISTER detaches every descriptor
 *    through bpfdev_unlink(), whose bpfdev_fildrop_leave() unregisters the
 *    hook while the device and its namespace are still those it was
 *    registered on (a namespace move unregisters first, too).
 *  - Module unload: no descriptor is open, so no hook is registered; hooks
 *    still running from the old arrays finish within a grace period, and
 *    bpfdev_tap_exit()'s rcu_barrier() waits for the call_rcu() queued after
 *    the last unregistration, so the hook's code outlives them.
 *
 * The first attempt (filters run again inside the hook, the hook registered
 * and unregistered with every change) soft-locked the guest under the fuzz:
 * see bpfdev_fildrop_hold_keys() for what it was and why it cannot recur.
 */
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>

#include "bpfdev.h"

struct bpfdev_fildrop_mark {
	const struct sk_buff *skb;	/* compared, never dereferenced */
	const struct bpfdev_if *bif;
	unsigned int pass;		/* softnet_data.processed when tapped */
};

static DEFINE_PER_CPU(struct bpfdev_fildrop_mark, bpfdev_fildrop_marks);

/*
 * The tap saw a received frame on bif (BH off, in __netif_receive_skb_core)
 * that a descriptor there wants dropped. Other frames leave no mark: the
 * last one names its own pass (softnet_data.processed grows by one each
 * pass on this CPU), so the hook can only match it during that pass.
 */
void bpfdev_fildrop_mark(const struct bpfdev_if *bif, const struct sk_buff *skb)
{
	struct bpfdev_fildrop_mark *m = this_cpu_ptr(&bpfdev_fildrop_marks);

	m->skb = skb;
	m->bif = bif;
	m->pass = __this_cpu_read(softnet_data.processed);
}

#if IS_ENABLED(CONFIG_NETFILTER_INGRESS)

static unsigned int bpfdev_fildrop_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct bpfdev_fildrop_mark *m = this_cpu_ptr(&bpfdev_fildrop_marks);

	if (m->skb != skb || m->bif != priv ||
	    m->pass != __this_cpu_read(softnet_data.processed))
		return NF_ACCEPT;
	m->skb = NULL;
	return NF_DROP;
}

void bpfdev_fildrop_init_if(struct bpfdev_if *bif)
{
	bif->fildrop_ops = (struct nf_hook_ops){
		.hook = bpfdev_fildrop_hook,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		.priority = INT_MIN,
		.dev = bif->dev,
		.priv = bif,
	};
}

/*
 * The ingress path is behind two static keys (ingress_needed_key and
 * nf_hooks_needed[NETDEV][INGRESS]) that count registered hooks; the first
 * and the last of them patch __netif_receive_skb_core()'s text (jump labels
 * through int3 and IPIs). Registering and unregistering at the pace of
 * ioctls made that patching constant, and under QEMU's TCG (the test guests)
 * a CPU receiving frames was caught looping on the int3 of the
 * ingress_needed_key site after the patch was complete: the first attempt's
 * soft lockup (RIP at that NOP, asm_exc_int3 in between, on 6.1 with the
 * syscall fuzz). So the first hook also takes one count of each key, kept
 * until the module goes: from then on registering a hook only swaps
 * dev->nf_hooks_ingress under RCU, and every received frame pays two
 * pointer tests, as with any ingress qdisc or netdev chain. Under RTNL.
 */
static bool bpfdev_fildrop_keys_held;

static void bpfdev_fildrop_hold_keys(void)
{
	ASSERT_RTNL();
	if (bpfdev_fildrop_keys_held)
		return;
	bpfdev_fildrop_keys_held = true;
	net_inc_ingress_queue();
#ifdef CONFIG_JUMP_LABEL
	static_key_slow_inc(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_INGRESS]);
#endif
}

/* Module unload: no descriptor, so no hook, is left. */
void bpfdev_fildrop_exit(void)
{
	if (!bpfdev_fildrop_keys_held)
		return;
#ifdef CONFIG_JUMP_LABEL
	static_key_slow_dec(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_INGRESS]);
#endif
	net_dec_ingress_queue();
	bpfdev_fildrop_keys_held = false;
}

static int bpfdev_fildrop_get(struct bpfdev_if *bif)
{
	int err;

	ASSERT_RTNL();
	if (bif->fildrop_users++)
		return 0;
	bpfdev_fildrop_hold_keys();
	err = nf_register_net_hook(dev_net(bif->dev), &bif->fildrop_ops);
	if (err)
		bif->fildrop_users--;
	return err;
}

static void bpfdev_fildrop_put(struct bpfdev_if *bif)
{
	ASSERT_RTNL();
	if (--bif->fildrop_users)
		return;
	nf_unregister_net_hook(dev_net(bif->dev), &bif->fildrop_ops);
}

static bool bpfdev_fildrop_supported(void)
{
	return true;
}

#else /* !CONFIG_NETFILTER_INGRESS: PASS only */

void bpfdev_fildrop_init_if(struct bpfdev_if *bif)
{
}

void bpfdev_fildrop_exit(void)
{
}

static int bpfdev_fildrop_get(struct bpfdev_if *bif)
{
	return -EOPNOTSUPP;
}

static void bpfdev_fildrop_put(struct bpfdev_if *bif)
{
}

static bool bpfdev_fildrop_supported(void)
{
	return false;
}

#endif

/*
 * BIOCSETIF, under RTNL and d->ioctl_lock (d->fildrop cannot change): before
 * d is linked to bif, hook bif if d asks for drops. On failure d is left
 * where it was. bpfdev_fildrop_commit() follows once d is on bif.
 */
int bpfdev_fildrop_prepare(struct bpfdev_d *d, struct bpfdev_if *bif)
{
	ASSERT_RTNL();
	if (READ_ONCE(d->fildrop) == BPF_FILDROP_PASS)
		return 0;
	return bpfdev_fildrop_get(bif);
}

void bpfdev_fildrop_commit(struct bpfdev_d *d)
{
	ASSERT_RTNL();
	d->fildrop_joined = READ_ONCE(d->fildrop) != BPF_FILDROP_PASS;
}

/* d is leaving bif (under RTNL, d->bif still set): unhook if it was the last. */
void bpfdev_fildrop_leave(struct bpfdev_d *d, struct bpfdev_if *bif)
{
	ASSERT_RTNL();
	if (!d->fildrop_joined)
		return;
	d->fildrop_joined = false;
	bpfdev_fildrop_put(bif);
}

/* BIOCSFILDROP, under d->ioctl_lock. */
int bpfdev_fildrop_set(struct bpfdev_d *d, unsigned int action)
{
	int err = 0;

	if (action > BPF_FILDROP_DROP)
		return -EINVAL;
	if (action != BPF_FILDROP_PASS && !bpfdev_fildrop_supported())
		return -EOPNOTSUPP;
	rtnl_lock();
	if (action == BPF_FILDROP_PASS) {
		/* Published first: frames tapped from now on leave no drop mark. */
		WRITE_ONCE(d->fildrop, action);
		if (d->bif)
			bpfdev_fildrop_leave(d, d->bif);
	} else {
		/* Hook first: a mark the tap leaves is consumed from the start. */
		if (d->bif && !d->fildrop_joined) {
			err = bpfdev_fildrop_get(d->bif);
			d->fildrop_joined = !err;
		}
		if (!err)
			WRITE_ONCE(d->fildrop, action);
	}
	rtnl_unlock();
	return err;
}
