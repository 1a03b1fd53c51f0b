/* SPDX-License-Identifier: GPL-2.0 */
/* bpfdev internals: descriptors, interface taps, and the calls between files. */
#ifndef BPFDEV_H
#define BPFDEV_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <net/bpf.h>

struct bpf_prog;
struct bpfdev_fanout;
struct bpfdev_bufops;

/* One per tapped interface (BSD's bpf_if): one packet handler, many readers. */
struct bpfdev_if {
	struct list_head node;		/* on bpfdev_if_list, under RTNL */
	struct net_device *dev;
	struct packet_type pt;
	struct list_head dlist;		/* descriptors: RCU readers, RTNL writers */
	struct list_head groups;	/* fan-out groups (bpf_fanout.c): the same */
	unsigned int dlt;
	unsigned int linkhdr_len;	/* bytes of link header on the wire */
	unsigned int hdrlen;		/* bh_hdrlen: aligns the network header */
	bool loopback;
	unsigned int fildrop_users;	/* descriptors asking BIOCSFILDROP drops; RTNL */
	struct nf_hook_ops fildrop_ops;	/* ingress hook, registered while users > 0 */
	struct rcu_head rcu;
};

/* A filter as the tap sees it; replaced under RCU. */
struct bpfdev_filter {
	struct bpf_prog *prog;
	struct rcu_head rcu;
};

struct bpfdev_pcpu_stats {
	u64 recv;			/* offered after the direction check */
	u64 match;			/* accepted by the filter */
};

enum bpfdev_rstate { BPFDEV_IDLE, BPFDEV_WAITING, BPFDEV_TIMED_OUT };

/* OpenBSD's wait timeout: idle, counting from the first stored record, ran out. */
enum bpfdev_wstate { BPFDEV_WT_IDLE, BPFDEV_WT_WAIT, BPFDEV_WT_DONE };

/* One open descriptor (BSD's bpf_d). */
struct bpfdev_d {
	struct mutex ioctl_lock;	/* serialises ioctls and writes */
	spinlock_t lock;		/* buffers, state, bif; taken in softirq */

	struct bpfdev_if *bif;		/* NULL when not attached */
	struct list_head bif_node;	/* on bif->dlist unless in a fan-out group */
	struct bpfdev_fanout *fanout;	/* group joined, under RTNL */
	struct bpf_fanout fanout_show;	/* its id and mode, for /proc; under lock */
	struct net *net;		/* namespace of the opener */

	/* Store, hold, free: touched only by bpf_slots.c, under d->lock. */
	const struct bpfdev_bufops *bufops;	/* the buffer mode */
	struct bpfdev_buf *sbuf, *hbuf, *fbuf;
	unsigned int slen, hlen, bufsize;
	unsigned int scnt, hcnt;	/* records in store and hold */
	bool hbuf_in_use;		/* a read is copying the hold buffer out */
	bool headdrop;			/* macOS BIOCSHEADDROP: drop the oldest buffer */
	u64 drops;

	struct bpfdev_filter __rcu *rfilter;
	struct bpfdev_filter __rcu *wfilter;
	struct bpfdev_pcpu_stats __percpu *stats;
	struct bpfdev_pcpu_stats stats_base;	/* sums at the last reset, under lock */

	unsigned int direction;
	unsigned int tstamp;
	bool immediate, hdrcmplt, promisc, locked, detached;
	bool ever_attached;		/* was on a tap's list: free after a grace period */
	unsigned long unlink_gp;	/* RCU state when it left that list */

	unsigned long rtout;		/* read timeout in jiffies, 0: none */
	struct __kernel_old_timeval rtout_tv;
	enum bpfdev_rstate state;
	struct timer_list timer;	/* poll()'s read-timeout timer */

	/* OpenBSD's wait timeout (bpf_wtimeout.c); 0: none. Under d->lock. */
	unsigned long wtout;
	struct __kernel_old_timeval wtout_tv;
	enum bpfdev_wstate wstate;
	struct timer_list wtimer;

	/* write side (bpf_write.c, bpf_feedback.c); set under ioctl_lock */
	bool feedback;			/* BIOCFEEDBACK: written frames come back as input */
	bool batch_write;		/* BIOCSBATCHWRITE: bpf_hdr-framed frames */
	unsigned int pcp;		/* BIOCSETVLANPCP priority, 0: none */
	struct sock *wsk;		/* owns written frames the taps must not see */
	unsigned int fildrop;		/* BIOCSFILDROP action (bpf_fildrop.c) */
	bool fildrop_joined;		/* counted in bif->fildrop_users; RTNL */

	wait_queue_head_t wait;
	struct fasync_struct *fasync;
	int unit;			/* /dev/bpfN number, -1 for /dev/bpf */
	struct pid *owner;		/* process that opened it */
	struct list_head all_node;	/* on /proc/net/bpfdev's list */
	struct rcu_head rcu;
};

/*
 * A frame as it was on the wire: the skb from its link-layer header, plus a
 * VLAN tag the stack moved into metadata, to be put back after the MACs.
 */
struct bpfdev_frame {
	const struct sk_buff *skb;
	const u8 *flat;			/* whole frame with the tag, if linearised */
	unsigned int len;		/* wire length, tag included */
	bool has_tag;
	__be16 tag[2];			/* TPID, TCI */
	u64 real_ns;			/* CLOCK_REALTIME at capture */
};

/* The store buffer is due to the reader: immediate mode, or the wait timeout ran out. */
static inline bool bpfdev_store_due(const struct bpfdev_d *d)
{
	return READ_ONCE(d->immediate) || READ_ONCE(d->wstate) == BPFDEV_WT_DONE;
}

/* One frame on its way through the tap to the descriptors that see it. */
struct bpfdev_tap_ctx {
	struct bpfdev_frame f;
	struct sk_buff *filter_skb;	/* the frame as filters see it */
	bool scratch_tried;		/* filter_skb built, or tried, for a tag */
	bool outgoing;
	bool drop;			/* a BIOCSFILDROP descriptor took it: not for the stack */
};

/* bpf_main.c */
extern unsigned int bpfdev_max_bufsize;
extern unsigned int bpfdev_default_bufsize;
extern bool bpfdev_zerocopy_enable;

/*
 * Buffer operations (FreeBSD's bpf_buffer_* / bpf_zerocopy_* hooks).
 *
 * A descriptor has three slots, as FreeBSD's bpf_d: store (the tap appends
 * records), hold (full, waiting for the reader) and free. bpf_slots.c is the
 * only code that moves buffers between slots (bpfdev_slots_*); read(), the
 * tap and the ioctls call it and never touch d->sbuf/hbuf/fbuf. What differs
 * between buffer modes is behind struct bpfdev_bufops: copy mode
 * (bpf_buffer.c, kernel memory copied out by read()) and zero-copy mode
 * (FreeBSD's BIOCSETZBUF: two buffers the user donates, pinned, handed back
 * and forth by generation numbers in a header the user shares).
 *
 * A buffer mode guarantees:
 *  - alloc(d, bufs): process context, no lock held, may sleep. Two buffers
 *    of d->bufsize writable bytes each, or an errno (zero-copy: EINVAL, its
 *    buffers come from BIOCSETZBUF through bpfdev_slots_install()).
 *  - free(buf): process context, no lock held. Called only once no slot
 *    holds buf, no read() copies out of it and no tap can reach it.
 *  - sblen(d, size): BIOCSBLEN, under ioctl_lock with d detached; clamps
 *    *size and sets d->bufsize (through bpfdev_slots_free() first, if the
 *    old buffers are the wrong size). NULL: BIOCSBLEN gives EOPNOTSUPP.
 *  - copy_out(buf, len, to): read(), process context, no lock; buf is the
 *    hold buffer, marked in use so nothing else moves or frees it. Returns
 *    0 or -EFAULT. NULL: the mode has no read() (zero-copy), EOPNOTSUPP.
 *  - publish(buf, len): under d->lock, any context, must not sleep. buf now
 *    belongs to the user with len bytes of records (it became the hold
 *    buffer, or it is the store and full with nowhere to rotate). Once
 *    published, the tap writes no more into buf until it is reclaimed.
 *    Zero-copy writes len and bumps its generation with release order, so
 *    the user sees the records first. NULL in copy mode.
 *  - acked(buf): under d->lock, must not sleep. Has the user handed the
 *    published buf back (zero-copy: user generation == kernel generation,
 *    read with acquire)? Then the slots reclaim it to the free slot.
 *    NULL in copy mode, where only read() hands a buffer back.
 *
 * The slots guarantee, with d->lock held for every change:
 *  - Records are written into buf->data (bufsize bytes, contiguous in the
 *    kernel's address space) by the tap only, and only into the store.
 *  - hbuf_in_use: read() took the hold buffer (bpfdev_slots_take_locked)
 *    and copies it without the lock. Until it hands that same buffer back
 *    (bpfdev_slots_give_back), nothing rotates, resets or frees the slots:
 *    those wait in bpfdev_slots_lock_idle() first (FreeBSD's reset_d).
 *  - The hold and free slots are never both occupied; with buffers, the
 *    store always is.
 */
struct bpfdev_buf {
	u8 *data;			/* bufsize bytes of records */
	bool published;			/* given to the user, not yet reclaimed */
};

struct bpfdev_bufops {
	unsigned int mode;		/* BPF_BUFMODE_* */
	int (*alloc)(struct bpfdev_d *d, struct bpfdev_buf *bufs[2]);
	void (*free)(struct bpfdev_buf *buf);
	int (*sblen)(struct bpfdev_d *d, unsigned int *size);
	int (*copy_out)(struct bpfdev_buf *buf, unsigned int len, char __user *to);
	void (*publish)(struct bpfdev_buf *buf, unsigned int len);
	bool (*acked)(struct bpfdev_buf *buf);
};

/* A hold buffer that read() took and copies out without d->lock. */
struct bpfdev_hold {
	struct bpfdev_buf *buf;
	unsigned int len;
};

/* bpf_buffer.c: copy mode */
extern const struct bpfdev_bufops bpfdev_copy_bufops;

/* bpf_zerocopy.c: zero-copy mode and its ioctls */
extern const struct bpfdev_bufops bpfdev_zbuf_bufops;
extern atomic_long_t bpfdev_zbuf_pinned;	/* pages pinned by all descriptors */
int bpfdev_zbuf_ioctl(struct bpfdev_d *d, unsigned int cmd, unsigned long arg);
unsigned long bpfdev_zbuf_pages_locked(const struct bpfdev_d *d);

/* bpf_slots.c: the only code that changes slots */
int bpfdev_slots_alloc(struct bpfdev_d *d);
void bpfdev_slots_install(struct bpfdev_d *d, struct bpfdev_buf *bufs[2]);
int bpfdev_slots_free(struct bpfdev_d *d);
int bpfdev_slots_lock_idle(struct bpfdev_d *d, bool killable);
void bpfdev_reset_locked(struct bpfdev_d *d);
bool bpfdev_slots_catch_locked(struct bpfdev_d *d, const struct bpfdev_frame *f,
			       unsigned int snaplen);
bool bpfdev_slots_can_rotate_locked(const struct bpfdev_d *d);
bool bpfdev_slots_hand_over_locked(struct bpfdev_d *d);
void bpfdev_slots_rotate_locked(struct bpfdev_d *d);
void bpfdev_slots_reclaim_acked_locked(struct bpfdev_d *d);
bool bpfdev_slots_take_locked(struct bpfdev_d *d, struct bpfdev_hold *h);
void bpfdev_slots_give_back(struct bpfdev_d *d, const struct bpfdev_hold *h);
bool bpfdev_slots_readable_locked(struct bpfdev_d *d, bool store_too);
bool bpfdev_slots_peek_readable(const struct bpfdev_d *d, bool store_too);
unsigned int bpfdev_slots_pending_locked(const struct bpfdev_d *d);
bool bpfdev_slots_stored_locked(const struct bpfdev_d *d);

/* bpf_record.c: a record's header and bytes */
void bpfdev_record_write(const struct bpfdev_d *d, u8 *at, const struct bpfdev_frame *f,
			 unsigned int caplen, unsigned int hdrlen);

/* bpf_tap.c: counters the tap keeps per CPU */
bool bpfdev_slots_room_locked(const struct bpfdev_d *d, const struct bpfdev_frame *f);
void bpfdev_stats_read(struct bpfdev_d *d, struct bpfdev_pcpu_stats *sum);
void bpfdev_stats_zero(struct bpfdev_d *d);

/* bpf_read.c */
ssize_t bpfdev_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
__poll_t bpfdev_poll(struct file *file, struct poll_table_struct *wait);
void bpfdev_wakeup(struct bpfdev_d *d);
void bpfdev_timeout_fn(struct timer_list *t);
bool bpfdev_read_due_locked(struct bpfdev_d *d);

/* bpf_tap.c */
int bpfdev_attach(struct bpfdev_d *d, const char *ifname);
void bpfdev_detach(struct bpfdev_d *d);
void bpfdev_tap_deliver(struct bpfdev_d *d, struct bpfdev_if *bif, struct bpfdev_tap_ctx *c);

/* bpf_fanout.c: fan-out groups (BIOCSFANOUT) */
void bpfdev_fanout_deliver(struct bpfdev_if *bif, struct bpfdev_tap_ctx *c);
int bpfdev_fanout_set(struct bpfdev_d *d, const struct bpf_fanout *req);
void bpfdev_fanout_leave(struct bpfdev_d *d, bool to_dlist);
struct bpfdev_d *bpfdev_fanout_first(struct bpfdev_if *bif);
unsigned int bpfdev_fanout_members(struct bpfdev_if *bif);
void bpfdev_fanout_init(void);
int bpfdev_tap_init(void);
void bpfdev_tap_exit(void);

/* bpf_fildrop.c: OpenBSD's BIOCSFILDROP through a netdev ingress hook */
void bpfdev_fildrop_mark(const struct bpfdev_if *bif, const struct sk_buff *skb);
void bpfdev_fildrop_init_if(struct bpfdev_if *bif);
int bpfdev_fildrop_prepare(struct bpfdev_d *d, struct bpfdev_if *bif);
void bpfdev_fildrop_commit(struct bpfdev_d *d);
void bpfdev_fildrop_leave(struct bpfdev_d *d, struct bpfdev_if *bif);
int bpfdev_fildrop_set(struct bpfdev_d *d, unsigned int action);
void bpfdev_fildrop_exit(void);

/* bpf_wtimeout.c: OpenBSD's BIOCSWTIMEOUT */
void bpfdev_wtimeout_fn(struct timer_list *t);
void bpfdev_wtimeout_stored_locked(struct bpfdev_d *d, bool first);
int bpfdev_wtimeout_set(struct bpfdev_d *d, const struct __kernel_old_timeval *tv);
int bpfdev_wtimeout_get(struct bpfdev_d *d, struct __kernel_old_timeval *tv);
void bpfdev_wtimeout_clear(struct bpfdev_d *d);
void bpfdev_immediate_set(struct bpfdev_d *d, bool on);

/* bpf_feedback.c: frames fed back as input; outgoing copies hidden from the taps */
bool bpfdev_feedback_id_match(struct packet_type *pt, struct sock *sk);
int bpfdev_feedback_hide(struct bpfdev_d *d, struct sk_buff *skb);
void bpfdev_feedback_deliver(struct sk_buff *copy, struct net_device *dev, unsigned int dlt);
void bpfdev_feedback_release(struct bpfdev_d *d);
int bpfdev_feedback_init(void);
void bpfdev_feedback_exit(void);

/* bpf_filter.c */
int bpfdev_filter_set(struct bpfdev_d *d, const struct bpf_program __user *uprog,
		      bool write_filter, bool flush);
void bpfdev_filters_free(struct bpfdev_d *d);

/* bpf_write.c */
ssize_t bpfdev_write(struct file *file, const char __user *buf, size_t len, loff_t *pos);
int bpfdev_batch_write_set(struct bpfdev_d *d, int on);
int bpfdev_hdrcmplt_set(struct bpfdev_d *d, unsigned int on);

/* bpf_proc.c: /proc/net/bpfdev and counts of live objects */
extern atomic_t bpfdev_live_ifs;
extern atomic_t bpfdev_live_filters;
extern atomic_t bpfdev_live_groups;
void bpfdev_proc_add(struct bpfdev_d *d);
void bpfdev_proc_del(struct bpfdev_d *d);
int bpfdev_proc_init(void);
void bpfdev_proc_exit(void);

/* bpf_ioctl.c */
long bpfdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* BPFDEV_H */
