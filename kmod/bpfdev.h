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
struct bpfdev_fanout;

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

/* One open descriptor (BSD's bpf_d). */
struct bpfdev_d {
	struct mutex ioctl_lock;	/* serialises ioctls and writes */
	spinlock_t lock;		/* buffers, state, bif; taken in softirq */

	struct bpfdev_if *bif;		/* NULL when not attached */
	struct list_head bif_node;	/* on bif->dlist unless in a fan-out group */
	struct bpfdev_fanout *fanout;	/* group joined, under RTNL */
	struct bpf_fanout fanout_show;	/* its id and mode, for /proc; under lock */
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

/* One frame on its way through the tap to the descriptors that see it. */
struct bpfdev_tap_ctx {
	struct bpfdev_frame f;
	struct sk_buff *filter_skb;	/* the frame as filters see it */
	bool scratch_tried;		/* filter_skb built, or tried, for a tag */
	bool outgoing;
};

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
bool bpfdev_has_room(struct bpfdev_d *d, const struct bpfdev_frame *f);
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

/* bpf_filter.c */
int bpfdev_filter_set(struct bpfdev_d *d, const struct bpf_program __user *uprog,
		      bool write_filter, bool flush);
void bpfdev_filters_free(struct bpfdev_d *d);

/* bpf_write.c */
ssize_t bpfdev_write(struct file *file, const char __user *buf, size_t len, loff_t *pos);

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
