/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/*
 * <net/bpf.h> for bpfdev, the BSD packet tap on Linux.
 *
 * One header for the kernel module, userspace C and C++, and unmodified BSD
 * sources. Names, numbers and field names follow FreeBSD; ioctl numbers use
 * Linux _IO* encoding (source compatible with BSD, not binary compatible).
 * Defining _NET_BPF_H_ makes libpcap's <pcap/bpf.h> step aside; if that
 * header came first, its shared definitions are reused and only what it
 * lacks (or gets wrong for this device, BPF_ALIGNMENT) is defined here.
 */
#ifndef _NET_BPF_H_
#define _NET_BPF_H_

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/if.h>
#include <linux/time_types.h>
#define BPF_TIMEVAL_T struct __kernel_old_timeval
typedef __s64 bpf_int64;
typedef __u64 bpf_u_int64;
#else
#include <stdint.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <net/if.h>
#define BPF_TIMEVAL_T struct timeval
typedef int64_t bpf_int64;
typedef uint64_t bpf_u_int64;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Definitions libpcap's <pcap/bpf.h> also makes. Skipped when that header
 * was included first (it defines lib_pcap_bpf_h), so both orders compile.
 */
#ifndef lib_pcap_bpf_h
typedef int bpf_int32;
typedef unsigned int bpf_u_int32;

#define BPF_RELEASE 199606

#ifdef __KERNEL__
/*
 * The kernel's struct bpf_insn is the eBPF instruction; a classic one is a
 * struct sock_filter there, with the same 8-byte layout.
 */
struct sock_filter;
struct bpf_program {
	unsigned int bf_len;
	struct sock_filter __user *bf_insns;
};
#else
struct bpf_insn {
	unsigned short code;
	unsigned char jt;
	unsigned char jf;
	bpf_u_int32 k;
};

struct bpf_program {
	unsigned int bf_len;
	struct bpf_insn *bf_insns;
};
#endif

#define BPF_MEMWORDS 16
#endif /* !lib_pcap_bpf_h */

/*
 * Records are aligned to sizeof(long), as on FreeBSD: the kernel and every
 * reader must agree. libpcap's header says 4; this device says 8 on LP64.
 */
#undef BPF_ALIGNMENT
#undef BPF_WORDALIGN
#define BPF_ALIGNMENT sizeof(long)
#define BPF_WORDALIGN(x) (((x) + (BPF_ALIGNMENT - 1)) & ~(BPF_ALIGNMENT - 1))

#define BPF_MAJOR_VERSION 1
#define BPF_MINOR_VERSION 1

#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096
#endif
#define BPF_MAXBUFSIZE 0x1000000	/* default max_bufsize module parameter */
#define BPF_MINBUFSIZE 32

struct bpf_version {
	unsigned short bv_major;
	unsigned short bv_minor;
};

struct bpf_stat {
	unsigned int bs_recv;	/* packets offered to the descriptor */
	unsigned int bs_drop;	/* accepted by the filter, no buffer space */
};

/*
 * bpfdev extension, BIOCGSTATS64: the same counters in 64 bits, which do
 * not wrap at line rate (2^32 frames pass in under five minutes at 14.88
 * Mpps), plus the filter's accept count (NetBSD's bs_capt).
 */
struct bpf_stat64 {
	bpf_u_int64 bs_recv;	/* packets offered to the descriptor */
	bpf_u_int64 bs_drop;	/* accepted by the filter, no buffer space */
	bpf_u_int64 bs_capt;	/* accepted by the filter: stored or dropped */
};

/*
 * bpfdev extension, BIOCSFANOUT / BIOCGFANOUT: fan-out groups, as Linux's
 * PACKET_FANOUT. Descriptors on one interface that join the same group id
 * share its frames: each frame goes to exactly one member, chosen by
 * bf_mode, and then through that member's direction check and filter.
 */
struct bpf_fanout {
	unsigned int bf_group;	/* group id on the interface, any value */
	unsigned int bf_mode;	/* BPF_FANOUT_* mode, ORed with BPF_FANOUT_ROLLOVER */
};
#define BPF_FANOUT_NONE		0	/* BIOCSFANOUT: leave the group */
#define BPF_FANOUT_HASH		1	/* symmetric flow hash: both directions together */
#define BPF_FANOUT_CPU		2	/* the CPU the frame arrived on */
#define BPF_FANOUT_RR		3	/* round robin */
#define BPF_FANOUT_ROLLOVER	0x10000	/* skip a member whose buffer is full */
#define BPF_FANOUT_MODE(m)	((m) & 0xffff)
#define BPF_FANOUT_MAX_MEMBERS	256

struct bpf_dltlist {
	unsigned int bfl_len;
	unsigned int *bfl_list;
};

/* Record header for BPF_T_MICROTIME (the default). */
struct bpf_hdr {
	BPF_TIMEVAL_T bh_tstamp;
	bpf_u_int32 bh_caplen;	/* bytes present in the buffer */
	bpf_u_int32 bh_datalen;	/* length of the frame on the wire */
	unsigned short bh_hdrlen; /* this header plus alignment padding */
};

/* Record header for the other BIOCSTSTAMP formats. */
struct bpf_ts {
	bpf_int64 bt_sec;
	bpf_u_int64 bt_frac;	/* us, ns or 2^-64 s, by format */
};

struct bpf_xhdr {
	struct bpf_ts bh_tstamp;
	bpf_u_int32 bh_caplen;
	bpf_u_int32 bh_datalen;
	unsigned short bh_hdrlen;
};

/* Bytes of a header up to and including bh_hdrlen (26 on LP64). */
#define SIZEOF_BPF_HDR(type) \
	(__builtin_offsetof(type, bh_hdrlen) + sizeof(unsigned short))

/* Timestamp format and clock, for BIOCSTSTAMP (FreeBSD values). */
#define BPF_T_MICROTIME		0x0000
#define BPF_T_NANOTIME		0x0001
#define BPF_T_BINTIME		0x0002
#define BPF_T_NONE		0x0003
#define BPF_T_FORMAT_MASK	0x0003
#define BPF_T_NORMAL		0x0000
#define BPF_T_FAST		0x0100
#define BPF_T_MONOTONIC		0x0200
#define BPF_T_MONOTONIC_FAST	(BPF_T_FAST | BPF_T_MONOTONIC)
#define BPF_T_FLAG_MASK		0x0300
#define BPF_T_FORMAT(t)		((t) & BPF_T_FORMAT_MASK)
#define BPF_T_FLAG(t)		((t) & BPF_T_FLAG_MASK)
#define BPF_T_VALID(t)						\
	((t) == BPF_T_NONE || (BPF_T_FORMAT(t) != BPF_T_NONE &&	\
	 ((t) & ~(BPF_T_FORMAT_MASK | BPF_T_FLAG_MASK)) == 0))

/* Buffer modes (BIOCSETBUFMODE), FreeBSD's. */
#define BPF_BUFMODE_BUFFER	1	/* kernel buffers copied out by read() */
#define BPF_BUFMODE_ZBUF	2	/* zero-copy: two buffers the process donates */

/*
 * BIOCSETZBUF: the two buffers, each page-aligned, bz_buflen bytes (a
 * multiple of the page size, at most BIOCGETZMAX). BIOCROTZBUF writes back
 * the buffer it handed over (bz_bufa, bz_buflen = bytes of records) or zeros.
 */
struct bpf_zbuf {
	void *bz_bufa;
	void *bz_bufb;
	size_t bz_buflen;
};

/*
 * The first 32 bytes of each donated buffer; records follow it. The buffer
 * is the process's while bzh_kernel_gen != bzh_user_gen: read bzh_kernel_gen
 * with acquire ordering, then bzh_kernel_len bytes of records, then hand it
 * back by storing bzh_kernel_gen into bzh_user_gen with release ordering.
 */
struct bpf_zbuf_header {
	volatile unsigned int bzh_kernel_gen;	/* bumped when handed to the process */
	volatile unsigned int bzh_kernel_len;	/* bytes of records */
	volatile unsigned int bzh_user_gen;	/* = bzh_kernel_gen: handed back */
	unsigned int _bzh_pad[5];
};

/*
 * BIOCSFILDROP: what happens to a received frame the read filter accepts
 * (OpenBSD's values). Transmitted frames are never dropped.
 */
#define BPF_FILDROP_PASS	0	/* capture, and the stack gets it */
#define BPF_FILDROP_CAPTURE	1	/* capture, and drop it from the stack */
#define BPF_FILDROP_DROP	2	/* drop it from the stack, no capture */

/* Highest priority BIOCSETVLANPCP takes (FreeBSD's). */
#define BPF_PRIO_MAX		7

/* Direction filter values (FreeBSD's; BIOCSSEESENT 0/1 map onto IN/INOUT). */
enum bpf_direction {
	BPF_D_IN,	/* packets received by the interface */
	BPF_D_INOUT,	/* received and sent */
	BPF_D_OUT	/* sent */
};

/* ioctls: FreeBSD's names and numbers, Linux encoding. */
#define BIOCGBLEN	_IOR('B', 102, unsigned int)
#define BIOCSBLEN	_IOWR('B', 102, unsigned int)
#define BIOCSETF	_IOW('B', 103, struct bpf_program)
#define BIOCFLUSH	_IO('B', 104)
#define BIOCPROMISC	_IO('B', 105)
#define BIOCGDLT	_IOR('B', 106, unsigned int)
#define BIOCGETIF	_IOR('B', 107, struct ifreq)
#define BIOCSETIF	_IOW('B', 108, struct ifreq)
#define BIOCSRTIMEOUT	_IOW('B', 109, BPF_TIMEVAL_T)
#define BIOCGRTIMEOUT	_IOR('B', 110, BPF_TIMEVAL_T)
#define BIOCGSTATS	_IOR('B', 111, struct bpf_stat)
#define BIOCIMMEDIATE	_IOW('B', 112, unsigned int)
#define BIOCVERSION	_IOR('B', 113, struct bpf_version)
#define BIOCGRSIG	_IOR('B', 114, unsigned int)
#define BIOCSRSIG	_IOW('B', 115, unsigned int)
#define BIOCGHDRCMPLT	_IOR('B', 116, unsigned int)
#define BIOCSHDRCMPLT	_IOW('B', 117, unsigned int)
#define BIOCGDIRECTION	_IOR('B', 118, unsigned int)
#define BIOCSDIRECTION	_IOW('B', 119, unsigned int)
#define BIOCSDLT	_IOW('B', 120, unsigned int)
#define BIOCGDLTLIST	_IOWR('B', 121, struct bpf_dltlist)
#define BIOCLOCK	_IO('B', 122)
#define BIOCSETWF	_IOW('B', 123, struct bpf_program)
#define BIOCGETBUFMODE	_IOR('B', 125, unsigned int)
#define BIOCSETBUFMODE	_IOW('B', 126, unsigned int)
#define BIOCGETZMAX	_IOR('B', 127, size_t)
#define BIOCSETZBUF	_IOW('B', 128, struct bpf_zbuf)
#define BIOCROTZBUF	_IOR('B', 129, struct bpf_zbuf)
#define BIOCSETFNR	_IOW('B', 130, struct bpf_program)
#define BIOCGTSTAMP	_IOR('B', 131, unsigned int)
#define BIOCSTSTAMP	_IOW('B', 132, unsigned int)
/*
 * macOS's head drop: a full buffer with the reader behind drops the oldest
 * buffer, not the newest packet. macOS's numbers; FreeBSD's 128 is
 * BIOCSETZBUF, which the Linux encoding tells apart by its argument size.
 */
#define BIOCSHEADDROP	_IOW('B', 128, int)
#define BIOCGHEADDROP	_IOR('B', 128, int)
#define BIOCFEEDBACK	_IOW('B', 124, unsigned int)
#define BIOCSETVLANPCP	_IOW('B', 133, unsigned int)
/* NetBSD's names for feedback: the setter is FreeBSD's, the getter NetBSD's number. */
#define BIOCSFEEDBACK	BIOCFEEDBACK
#define BIOCGFEEDBACK	_IOR('B', 124, unsigned int)
/* macOS's batch write: one write() carries several bpf_hdr-framed frames. */
#define BIOCGBATCHWRITE	_IOR('B', 142, int)
#define BIOCSBATCHWRITE	_IOW('B', 143, int)
/* bpfdev's own, numbered clear of the BSDs' */
#define BIOCGSTATS64	_IOR('B', 200, struct bpf_stat64)
/*
 * OpenBSD's, renumbered clear of the BSDs': OpenBSD's 120, 121 and 126 are
 * FreeBSD's BIOCSDLT, BIOCGDLTLIST and BIOCSETBUFMODE here.
 */
#define BIOCGFILDROP	_IOR('B', 201, unsigned int)
#define BIOCSFILDROP	_IOW('B', 202, unsigned int)
#define BIOCSWTIMEOUT	_IOW('B', 203, BPF_TIMEVAL_T)
#define BIOCGWTIMEOUT	_IOR('B', 203, BPF_TIMEVAL_T)
#define BIOCDWTIMEOUT	_IO('B', 203)
#define BIOCSFANOUT	_IOW('B', 210, struct bpf_fanout)
#define BIOCGFANOUT	_IOR('B', 211, struct bpf_fanout)
#define BIOCGSEESENT	BIOCGDIRECTION
#define BIOCSSEESENT	BIOCSDIRECTION

/*
 * Instruction encodings. Guarded one by one: <linux/filter.h> defines the
 * same values, and either header may come first.
 */
#ifndef BPF_CLASS
#define BPF_CLASS(code) ((code) & 0x07)
#endif
#ifndef BPF_LD
#define BPF_LD		0x00
#endif
#ifndef BPF_LDX
#define BPF_LDX		0x01
#endif
#ifndef BPF_ST
#define BPF_ST		0x02
#endif
#ifndef BPF_STX
#define BPF_STX		0x03
#endif
#ifndef BPF_ALU
#define BPF_ALU		0x04
#endif
#ifndef BPF_JMP
#define BPF_JMP		0x05
#endif
#ifndef BPF_RET
#define BPF_RET		0x06
#endif
#ifndef BPF_MISC
#define BPF_MISC	0x07
#endif
#ifndef BPF_SIZE
#define BPF_SIZE(code)	((code) & 0x18)
#endif
#ifndef BPF_W
#define BPF_W		0x00
#endif
#ifndef BPF_H
#define BPF_H		0x08
#endif
#ifndef BPF_B
#define BPF_B		0x10
#endif
#ifndef BPF_MODE
#define BPF_MODE(code)	((code) & 0xe0)
#endif
#ifndef BPF_IMM
#define BPF_IMM		0x00
#endif
#ifndef BPF_ABS
#define BPF_ABS		0x20
#endif
#ifndef BPF_IND
#define BPF_IND		0x40
#endif
#ifndef BPF_MEM
#define BPF_MEM		0x60
#endif
#ifndef BPF_LEN
#define BPF_LEN		0x80
#endif
#ifndef BPF_MSH
#define BPF_MSH		0xa0
#endif
#ifndef BPF_OP
#define BPF_OP(code)	((code) & 0xf0)
#endif
#ifndef BPF_ADD
#define BPF_ADD		0x00
#endif
#ifndef BPF_SUB
#define BPF_SUB		0x10
#endif
#ifndef BPF_MUL
#define BPF_MUL		0x20
#endif
#ifndef BPF_DIV
#define BPF_DIV		0x30
#endif
#ifndef BPF_OR
#define BPF_OR		0x40
#endif
#ifndef BPF_AND
#define BPF_AND		0x50
#endif
#ifndef BPF_LSH
#define BPF_LSH		0x60
#endif
#ifndef BPF_RSH
#define BPF_RSH		0x70
#endif
#ifndef BPF_NEG
#define BPF_NEG		0x80
#endif
#ifndef BPF_MOD
#define BPF_MOD		0x90
#endif
#ifndef BPF_XOR
#define BPF_XOR		0xa0
#endif
#ifndef BPF_JA
#define BPF_JA		0x00
#endif
#ifndef BPF_JEQ
#define BPF_JEQ		0x10
#endif
#ifndef BPF_JGT
#define BPF_JGT		0x20
#endif
#ifndef BPF_JGE
#define BPF_JGE		0x30
#endif
#ifndef BPF_JSET
#define BPF_JSET	0x40
#endif
#ifndef BPF_SRC
#define BPF_SRC(code)	((code) & 0x08)
#endif
#ifndef BPF_K
#define BPF_K		0x00
#endif
#ifndef BPF_X
#define BPF_X		0x08
#endif
#ifndef BPF_RVAL
#define BPF_RVAL(code)	((code) & 0x18)
#endif
#ifndef BPF_A
#define BPF_A		0x10
#endif
#ifndef BPF_MISCOP
#define BPF_MISCOP(code) ((code) & 0xf8)
#endif
#ifndef BPF_TAX
#define BPF_TAX		0x00
#endif
#ifndef BPF_TXA
#define BPF_TXA		0x80
#endif
#ifndef BPF_STMT
#define BPF_STMT(code, k) { (unsigned short)(code), 0, 0, k }
#endif
#ifndef BPF_JUMP
#define BPF_JUMP(code, k, jt, jf) { (unsigned short)(code), jt, jf, k }
#endif

/*
 * Data-link types this device reports, with libpcap's values; the rest of
 * the registry is in <pcap/dlt.h>. Token-identical to libpcap's, so a later
 * #include of that header redefines nothing differently.
 */
#define DLT_NULL	0
#define DLT_EN10MB	1
#define DLT_EN3MB	2
#define DLT_AX25	3
#define DLT_PRONET	4
#define DLT_CHAOS	5
#define DLT_IEEE802	6
#define DLT_ARCNET	7
#define DLT_SLIP	8
#define DLT_PPP		9
#define DLT_FDDI	10
#define DLT_ATM_RFC1483	11
#define DLT_RAW		12
#define DLT_PPP_SERIAL	50
#define DLT_PPP_ETHER	51
#define DLT_C_HDLC	104
#define DLT_IEEE802_11	105
#define DLT_LOOP	108
#define DLT_LINUX_SLL	113
#define DLT_IEEE802_11_RADIO	127
#define DLT_DOCSIS	143
#define DLT_IPV4	228
#define DLT_IPV6	229
#define DLT_LINUX_SLL2	276

#ifndef __KERNEL__
/*
 * FreeBSD's struct bintime and its conversions, which BSD readers of
 * bpf_xhdr (libpcap among them) use for BPF_T_BINTIME stamps.
 */
#include <time.h>
struct bintime {
	time_t sec;
	uint64_t frac;
};

static inline void bintime2timespec(const struct bintime *bt, struct timespec *ts)
{
	ts->tv_sec = bt->sec;
	ts->tv_nsec = (long)(((uint64_t)1000000000 * (uint32_t)(bt->frac >> 32)) >> 32);
}

static inline void bintime2timeval(const struct bintime *bt, struct timeval *tv)
{
	tv->tv_sec = bt->sec;
	tv->tv_usec = (suseconds_t)(((uint64_t)1000000 * (uint32_t)(bt->frac >> 32)) >> 32);
}
#endif /* !__KERNEL__ */

#ifdef __cplusplus
}
#endif

#endif /* _NET_BPF_H_ */
