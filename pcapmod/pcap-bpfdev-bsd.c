/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libpcap's own BSD backend, pcap-bpf.c, compiled a second time inside a
 * Linux-flavoured libpcap with its three public entry points renamed, so
 * that pcap-bpfdev.c can hand it the "bpf:" devices. pcap-bpf.c itself is
 * not modified: this file only includes it (it is found through the
 * libpcap source directory, <net/bpf.h> through bpfdev's include/).
 */
#define pcap_create_interface	bpfdev_bsd_create_interface
#define pcap_platform_finddevs	bpfdev_bsd_platform_finddevs
#define pcap_lib_version	bpfdev_bsd_lib_version
#include "pcap-bpf.c"
