// libpcap's interpreter, the reference. <pcap/bpf.h> declares it, but steps
// aside when <net/bpf.h> came first, so declare it here for either order.
#pragma once

#include <net/bpf.h>

extern "C" unsigned int bpf_filter(const struct bpf_insn *, const unsigned char *, unsigned int,
				   unsigned int);
