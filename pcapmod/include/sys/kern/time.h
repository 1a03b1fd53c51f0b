/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Debian's libpcap source (debian/patches/kfreebsd.diff) makes pcap-bpf.c
 * include <sys/kern/time.h>, GNU/kFreeBSD's home of struct bintime. On
 * Linux, bpfdev's <net/bpf.h> provides struct bintime and its conversions,
 * so this header only has to exist.
 */
#ifndef BPFDEV_SYS_KERN_TIME_H
#define BPFDEV_SYS_KERN_TIME_H
#include <time.h>
#endif
