/* SPDX-License-Identifier: GPL-2.0 */
/* bpfdev internals: descriptors, interface taps, and the calls between files. */
#ifndef BPFDEV_H
#define BPFDEV_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <net/bpf.h>

struct bpf_prog;

/* One per tapped interface (BSD's bpf_if): one packet handler, many readers. */
struct bpfdev_if {
	struct list_head node;		/* on bpfdev_if_list, under RTNL */
	struct net_device *dev;
	struct packet_type pt;
	struct list_head dlist;		/* descriptors: RCU readers, RTNL writers */
	unsigned int dlt;
	unsigned int linkhdr_len;	/* bytes of link header on the wire */
	unsigned int hdrlen;		/* bh_hdrlen: aligns the network header */
	bool loopback;
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
	struct list_head bif_node;
	struct net *net;		/* namespace of the opener */

	/* store, hold, free (bpf_buffer.c) */
	u8 *sbuf, *hbuf, *fbuf;
	unsigned int slen, hlen, bufsize;
	bool hbuf_in_use;		/* a read is copying the hold buffer out */
	u64 drops;

	struct bpfdev_filter __rcu *rfilter;
	struct bpfdev_filter __rcu *wfilter;
	struct bpfdev_pcpu_stats __percpu *stats;

	unsigned int direction;
	unsigned int tstamp;
	bool immediate, hdrcmplt, promisc, locked, detached;

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

	wait_queue_head_t wait;
	struct fasync_struct *fasync;
	int unit;			/* /dev/bpfN number, -1 for /dev/bpf */
	struct pid *owner;		/* process that opened it */
	struct list_head all_node;	/* on /proc/net/bpfdev's list */
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

/* bpf_main.c */
extern unsigned int bpfdev_max_bufsize;
extern unsigned int bpfdev_default_bufsize;

/* bpf_buffer.c: FreeBSD's store/hold/free policy. */
struct bpfdev_frame;
int bpfdev_buffers_alloc(struct bpfdev_d *d);
int bpfdev_buffers_free(struct bpfdev_d *d);
void bpfdev_reset_locked(struct bpfdev_d *d);
void bpfdev_rotate_locked(struct bpfdev_d *d);
bool bpfdev_catch_locked(struct bpfdev_d *d, const struct bpfdev_frame *f,
			 unsigned int snaplen);
int bpfdev_wait_hold_idle(struct bpfdev_d *d);
void bpfdev_stats_read(struct bpfdev_d *d, struct bpfdev_pcpu_stats *sum);
void bpfdev_stats_zero(struct bpfdev_d *d);

/* bpf_read.c */
ssize_t bpfdev_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
__poll_t bpfdev_poll(struct file *file, struct poll_table_struct *wait);
void bpfdev_wakeup(struct bpfdev_d *d);
void bpfdev_timeout_fn(struct timer_list *t);

/* bpf_tap.c */
int bpfdev_attach(struct bpfdev_d *d, const char *ifname);
void bpfdev_detach(struct bpfdev_d *d);
int bpfdev_tap_init(void);
void bpfdev_tap_exit(void);

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
void bpfdev_proc_add(struct bpfdev_d *d);
void bpfdev_proc_del(struct bpfdev_d *d);
int bpfdev_proc_init(void);
void bpfdev_proc_exit(void);

/* bpf_ioctl.c */
long bpfdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* BPFDEV_H */
