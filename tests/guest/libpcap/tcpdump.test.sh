#!/bin/bash
# Guest: Debian's /usr/bin/tcpdump on the BSD-flavoured libpcap (utils/bpfcap)
# captures through /dev/bpf exactly what tcpdump over Linux packet sockets
# captures; filters, snap length, buffer size, errors, immediate mode,
# injection and statistics.
GROUP=libpcap.tcpdump
. "$(dirname "$0")/lib.sh"
net_up
trap net_down EXIT

# One round of mixed traffic, many captures at once.
declare -A F=(
	[f_tcp80]='tcp port 80'
	[f_icmp]='icmp'
	[f_vlan]='vlan 10'
	[f_ether]='ether host 02:00:00:00:00:99'
	[f_syn]='tcp[13] & 2 != 0'
)
start linux tcpdump -n -i pc0 -w "$T/linux.pcap"
start bsd bpfcap tcpdump -n -i pc0 -w "$T/bsd.pcap"
for k in "${!F[@]}"; do start "$k" bpfcap tcpdump -n -i pc0 -w "$T/$k.pcap" "${F[$k]}"; done
start s64 bpfcap tcpdump -n -s 64 -i pc0 -w "$T/s64.pcap"
start bsmall bpfcap tcpdump -n -B 64 -i pc0 -w "$T/bsmall.pcap"
start bhuge bpfcap tcpdump -n -B 100000 -i pc0 -w "$T/bhuge.pcap"
start qin bpfcap tcpdump -n -Q in -i pc0 -w "$T/qin.pcap"
start qout bpfcap tcpdump -n -Q out -i pc0 -w "$T/qout.pcap"
start nano bpfcap tcpdump -n --time-stamp-precision=nano -i pc0 -w "$T/nano.pcap"
peer_send mix >/dev/null
sleep 2.5
stop linux bsd "${!F[@]}" s64 bsmall bhuge qin qout nano

ok linux-reference-captured '[ "$($TOOL count $T/linux.pcap)" -ge 13 ]'
ok same-frames-as-packet-socket "$TOOL cmp $T/linux.pcap $T/bsd.pcap >$T/cmp.txt"
note "$T/cmp.txt"
read -r nin nout < <($TOOL dirs "$T/bsd.pcap" "$MAC0")
say "to pc0: $nin, from pc0: $nout"
ok both-directions '[ "$nin" -ge 9 ] && [ "$nout" -ge 4 ]'
for k in f_tcp80 f_icmp f_vlan f_ether f_syn; do
	# reference: the packet-socket capture filtered by libpcap in userland
	tcpdump -r "$T/linux.pcap" -w "$T/$k.ref" "${F[$k]}" 2>/dev/null
	n=$($TOOL count "$T/$k.ref")
	say "'${F[$k]}': $n frames expected, $($TOOL count $T/$k.pcap) captured"
	ok "filter-${k#f_}" "[ $n -gt 0 ] && $TOOL cmp $T/$k.ref $T/$k.pcap >/dev/null"
done
ok snaplen-64-truncates "$TOOL cmp $T/linux.pcap $T/s64.pcap 64 >$T/cmp.txt"
note "$T/cmp.txt"
ok buffer-64k "$TOOL cmp $T/linux.pcap $T/bsmall.pcap >/dev/null"
note "$T/bhuge.err"
ok buffer-100m-clamped "$TOOL cmp $T/linux.pcap $T/bhuge.pcap >/dev/null"
# -Q in / -Q out (BIOCSDIRECTION): frames to pc0 / frames from pc0
tcpdump -r "$T/linux.pcap" -w "$T/in.ref" "ether dst $MAC0" 2>/dev/null
tcpdump -r "$T/linux.pcap" -w "$T/out.ref" "ether src $MAC0" 2>/dev/null
ok direction-in "$TOOL cmp $T/in.ref $T/qin.pcap >/dev/null"
ok direction-out "$TOOL cmp $T/out.ref $T/qout.pcap >/dev/null"
# nanosecond savefile (BIOCSTSTAMP BPF_T_BINTIME, struct bpf_xhdr)
ok nanosecond-precision "$TOOL cmp $T/linux.pcap $T/nano.pcap >/dev/null && [ \"\$(head -c4 $T/nano.pcap | od -An -tx4 | tr -d ' ')\" = a1b23c4d ]"

# The filters above ran in the kernel: BIOCSETF (0x42, 0x67) accepted both
# the snap-length program and the compiled expression (no userland fallback).
timeout -k 2 6 strace -f -e trace=ioctl -o "$T/setf.strace" bpfcap tcpdump -n -i pc0 -w /dev/null 'tcp[13] & 2 != 0 or vlan 10' >/dev/null 2>&1
grep '0x42, 0x67' "$T/setf.strace" | head -3 | note
ok filter-set-in-kernel "[ \$(grep -c '0x42, 0x67.* = 0\$' $T/setf.strace) -ge 2 ] && ! grep -q '0x42, 0x67.*= -1' $T/setf.strace"

# The captures above went through zero-copy buffers: libpcap's pcap-bpf.c
# donates two (BIOCSETBUFMODE, BIOCSETZBUF = 0x42, 0x80) and never read()s
# the descriptor; it waits in select() and rotates with BIOCROTZBUF (0x42, 0x81).
# -c 9: the nine frames the peer sends (the stack's replies to them vary by
# kernel: ICMP rate limits), so tcpdump ends by itself and flushes its file.
start zs timeout -k 2 8 strace -f -e trace=openat,ioctl,read,select,pselect6 -o "$T/zbuf.strace" \
	bpfcap tcpdump -n -i pc0 -c 9 -w "$T/zs.pcap"
sleep 1.5
peer_send mix >/dev/null
wait "$PID_zs"
bfd=$(sed -n 's|.*openat(AT_FDCWD, "/dev/bpf", O_RDWR) = \([0-9]*\)$|\1|p' "$T/zbuf.strace" | head -1)
grep -E '0x42, 0x(7e|80|81)|read\('"${bfd:-x}"',' "$T/zbuf.strace" | sort | uniq -c | sort -rn | head -5 | note
ok zero-copy-buffers-donated "[ -n '$bfd' ] && grep -q 'ioctl($bfd, _IOC(_IOC_WRITE, 0x42, 0x80, 0x18), .*= 0\$' $T/zbuf.strace"
# (fd $bfd was the dynamic loader's before /dev/bpf was opened: count from there
# on, and only the process that opened it: strace -f also follows others)
awk -v fd="$bfd" '/openat\(AT_FDCWD, "\/dev\/bpf"/ { on = 1; pid = $1 }
	on && $1 == pid && index($0, "read(" fd ",")' "$T/zbuf.strace" >"$T/bpfreads.txt"
head -3 "$T/bpfreads.txt" | note
say "$($TOOL count $T/zs.pcap) frames captured"
ok zero-copy-no-read "[ -n '$bfd' ] && [ ! -s $T/bpfreads.txt ] && [ \$($TOOL count $T/zs.pcap) -ge 9 ]"

# With zero-copy switched off (FreeBSD's net.bpf.zerocopy_enable=0) libpcap
# falls back to read(): the same frames again.
echo 0 >/sys/module/bpfdev/parameters/zerocopy_enable
start linux2 tcpdump -n -i pc0 -w "$T/linux2.pcap"
start copy bpfcap tcpdump -n -i pc0 -w "$T/copy.pcap"
sleep 1.5
peer_send mix >/dev/null
sleep 2
stop linux2 copy
echo 1 >/sys/module/bpfdev/parameters/zerocopy_enable
ok copy-mode-same-frames "$TOOL cmp $T/linux2.pcap $T/copy.pcap >$T/cmp.txt"
note "$T/cmp.txt"

# No such interface: libpcap's usual error, from BIOCSETIF's ENXIO.
timeout 20 bpfcap tcpdump -n -i nosuchif -c 1 >"$T/nsi.out" 2>&1
rc=$?
note "$T/nsi.out"
ok no-such-device "[ $rc = 1 ] && grep -q 'nosuchif: No such device exists' $T/nsi.out"

# Immediate mode: one frame is delivered and -c 1 ends the capture.
start imm timeout 20 bpfcap tcpdump -n --immediate-mode -i pc0 -c 1 -w "$T/imm.pcap" 'ether proto 0x88b5'
t0=$(date +%s%N)
peer_send flood 1 >/dev/null
wait "$PID_imm"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "immediate mode: exit $rc after ${ms} ms"
ok immediate-mode-single-packet "[ $rc = 0 ] && [ \$($TOOL count $T/imm.pcap) = 1 ]"

# Injection: pcap_inject and pcap_sendpacket (write() on /dev/bpf) reach the peer.
start peer ip netns exec pcpeer timeout 30 tcpdump -n -i pc1 -c 2 -w "$T/inj.pcap" 'ether proto 0x88b6'
PEER_MAC=$MAC1 bpfcap $TOOL inject pc0 >"$T/inj.out" 2>&1
injrc=$?
note "$T/inj.out"
for _ in $(seq 1 50); do kill -0 "$PID_peer" 2>/dev/null || break; sleep 0.1; done
stop peer
ok inject-reaches-peer "[ $injrc = 0 ] && [ \$($TOOL count $T/inj.pcap 2>/dev/null) = 2 ] && grep -q pcap_inject $T/inj.pcap && grep -q pcap_sendpacket $T/inj.pcap"

# Statistics with a stalled reader: 4 KiB buffers, the reader stopped while
# 200 frames arrive; tcpdump's counts come from BIOCGSTATS.
start st bpfcap tcpdump -n -B 4 -i pc0 -w "$T/st.pcap" 'ether proto 0x88b5'
kill -STOP "$PID_st"
peer_send flood 200 >/dev/null
sleep 0.5
kill -CONT "$PID_st"
sleep 2
stop st
note "$T/st.err"
cap=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$T/st.err")
rcv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter.*/\1/p' "$T/st.err")
drp=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$T/st.err")
inf=$($TOOL count "$T/st.pcap")
say "captured $cap (file $inf), received $rcv, dropped $drp"
ok stats-received-counts-every-frame '[ "$rcv" = 200 ]'
ok stats-drops-when-stalled '[ -n "$drp" ] && [ "$drp" -gt 0 ]'
ok stats-captured-plus-dropped '[ -n "$cap" ] && [ $((cap + drp)) = "$rcv" ] && [ "$inf" = "$cap" ]'
