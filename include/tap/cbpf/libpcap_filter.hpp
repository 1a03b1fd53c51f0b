// libpcap's interpreter, the reference the engines are tested against (link
// -lpcap). <pcap/bpf.h> declares it too, but steps aside when <net/bpf.h>
// came first, so declare it here for either include order.
#pragma once

#include <net/bpf.h>

extern "C" unsigned int bpf_filter(const struct bpf_insn *, const unsigned char *, unsigned int,
				   unsigned int);
