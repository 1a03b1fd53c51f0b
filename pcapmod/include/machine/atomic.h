/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two functions of FreeBSD's <machine/atomic.h> that libpcap's
 * pcap-bpf.c uses for zero-copy buffers (HAVE_ZEROCOPY_BPF): an acquire
 * load of bzh_kernel_gen before the records are read, and a release store
 * of bzh_user_gen after they were. They pair with the module's
 * smp_store_release / smp_load_acquire (kmod/bpf_zerocopy.c).
 */
#ifndef BPFDEV_MACHINE_ATOMIC_H
#define BPFDEV_MACHINE_ATOMIC_H

static inline unsigned int atomic_load_acq_int(volatile unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void atomic_store_rel_int(volatile unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
