#!/bin/bash
# Guest: the bpf: capture module (pcapmod/) in a normal Linux libpcap
# (bpfcap --mod): -i bpf:IFACE captures through /dev/bpf, -i IFACE through
# Linux packet sockets, in one library and one process.
GROUP=libpcap.bpfmodule
. "$(dirname "$0")/lib.sh"
net_up
trap net_down EXIT

bpfcap --mod tcpdump --version >"$T/ver.out" 2>&1
head -2 "$T/ver.out" | note
ok linux-libpcap-kept "grep -q 'with TPACKET_V3' $T/ver.out"
timeout 30 bpfcap --mod tcpdump -D >"$T/D.out" 2>&1
grep -E '(^|\.)(bpf:)?pc0' "$T/D.out" | note
ok tcpdump-D-lists-bpf-devices "grep -q '^[0-9]*\.bpf:pc0 ' $T/D.out && grep -q '^[0-9]*\.pc0 ' $T/D.out && grep -q '^[0-9]*\.any ' $T/D.out"

start linux tcpdump -n -i pc0 -w "$T/linux.pcap"
start mbpf bpfcap --mod tcpdump -n -i bpf:pc0 -w "$T/mbpf.pcap"
start mlin bpfcap --mod tcpdump -n -i pc0 -w "$T/mlin.pcap"
start micmp bpfcap --mod tcpdump -n -i bpf:pc0 -w "$T/micmp.pcap" icmp
start ms64 bpfcap --mod tcpdump -n -s 64 -i bpf:pc0 -w "$T/ms64.pcap"
peer_send mix >/dev/null
sleep 2.5
stop linux mbpf mlin micmp ms64
ok bpf-prefix-same-frames "$TOOL cmp $T/linux.pcap $T/mbpf.pcap >$T/cmp.txt"
note "$T/cmp.txt"
ok plain-name-same-frames "$TOOL cmp $T/linux.pcap $T/mlin.pcap >/dev/null"
tcpdump -r "$T/linux.pcap" -w "$T/icmp.ref" icmp 2>/dev/null
ok bpf-prefix-filter-icmp "$TOOL cmp $T/icmp.ref $T/micmp.pcap >/dev/null"
ok bpf-prefix-snaplen-64 "$TOOL cmp $T/linux.pcap $T/ms64.pcap 64 >/dev/null"

# One process: bpf:pc0 is a /dev/bpf descriptor, pc0 a packet socket.
bpfcap --mod $TOOL both pc0 >"$T/both.out" 2>&1
note "$T/both.out"
ok one-process-both-backends "grep -q 'bpf:pc0=/dev/bpf' $T/both.out && grep -q ' pc0=socket:' $T/both.out"

timeout 20 bpfcap --mod tcpdump -n -i bpf:nosuchif -c 1 >"$T/nsi.out" 2>&1
rc=$?
note "$T/nsi.out"
ok no-such-device "[ $rc = 1 ] && grep -q 'No such device exists' $T/nsi.out"
