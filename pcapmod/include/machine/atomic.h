/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The part of FreeBSD's <machine/atomic.h> that libpcap's pcap-bpf.c uses
 * for zero-copy buffers (HAVE_ZEROCOPY_BPF; scripts/build-libpcap defines
 * it and includes this header first, -include): an acquire load of
 * bzh_kernel_gen before the records are read, and a release store of
 * bzh_user_gen after they were, pairing with the module's
 * smp_store_release / smp_load_acquire (kmod/bpf_zerocopy.c).
 *
 * Included before anything else, it is also where FreeBSD's meaning of
 * mmap(MAP_ANON) without MAP_PRIVATE/MAP_SHARED (a private mapping) is
 * given to Linux, whose mmap() refuses such flags; <sys/mman.h> is
 * include-guarded, so the definition stays. Only pcap-bpf.c uses MAP_ANON.
 */
#ifndef BPFDEV_MACHINE_ATOMIC_H
#define BPFDEV_MACHINE_ATOMIC_H

#include <sys/mman.h>

static inline unsigned int atomic_load_acq_int(volatile unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void atomic_store_rel_int(volatile unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#undef MAP_ANON
#define MAP_ANON (MAP_ANONYMOUS | MAP_PRIVATE)

/*
 * libpcap 1.10.3's zero-copy branch is dead code upstream (its #define sits
 * in the AIX block) and has not followed one change: it still calls
 * bpf_bind() with the old (fd, name, ifnamsiz, errbuf) arguments. Route
 * that one call to the current three-argument function, by arity; every
 * other use, the definition included, is unchanged.
 */
#define BPFDEV_BIND_PICK(_1, _2, _3, _4, name, ...) name
#define bpf_bind(...) BPFDEV_BIND_PICK(__VA_ARGS__, bpfdev_bind_old, bpf_bind, x)(__VA_ARGS__)
#define bpfdev_bind_old(fd, name, size, errbuf) bpf_bind(fd, name, errbuf)
#define ifnamsiz 0

#endif
