#!/bin/bash
# Guest: libpcap's own testprogs/, built from the same Debian source with the
# BSD backend (scripts/build-libpcap), run against /dev/bpf, each bounded in
# time. (1.10.3 has no activatetest; the nosuchdevice check is in
# tcpdump.test.sh.)
GROUP=libpcap.testprogs
. "$(dirname "$0")/lib.sh"
TP=$ROOT/$BUILD/libpcap-bpf/bsd/testprogs
net_up
trap net_down EXIT

# threadsignaltest: a capture thread blocks in pcap_dispatch (5-minute
# timeout, a filter nothing matches); after its fixed 60 s the main thread
# calls pcap_breakloop and sends the thread SIGUSR1, whose handler has no
# SA_RESTART: the blocked read() must end with EINTR so the loop sees the
# break. Started first, checked last, so it overlaps the other tests.
stdbuf -oL "$TP/threadsignaltest" -i pc0 'ether proto 0x88b6' >"$T/threadsignal.out" 2>&1 &
ts=$!

# run NAME SECS CMD...: output in $T/NAME.out, exit status in $rc
run() { local n=$1 s=$2; shift 2; timeout "$s" "$@" >"$T/$n.out" 2>&1; rc=$?; head -8 "$T/$n.out" | note; }

run opentest 20 "$TP/opentest" -i pc0
ok opentest "[ $rc = 0 ] && grep -q 'pc0 opened successfully' $T/opentest.out"
run opentest-B-s 20 "$TP/opentest" -i pc0 -B 256 -s 96
ok opentest-bufsize-snaplen "[ $rc = 0 ] && grep -q 'opened successfully' $T/opentest-B-s.out"
run reactivatetest 20 "$TP/reactivatetest"
ok reactivatetest "[ $rc = 0 ]"
run findalldevstest 30 "$TP/findalldevstest"
ok findalldevstest "[ $rc = 0 ] && grep -q '^pc0' $T/findalldevstest.out"

# capturetest: blocking reads with a 500 ms timeout; its SIGINT handler (-s)
# calls pcap_breakloop (-b), which must end a blocked read().
start capturetest stdbuf -oL "$TP/capturetest" -b -s -i pc0 -t 500 'ether proto 0x88b5'
peer_send flood 5 >/dev/null
sleep 2
stop capturetest
head -8 "$T/capturetest.out" | note
ok capturetest "grep -q 'packets seen' $T/capturetest.out && grep -q 'Broken out of loop from SIGINT' $T/capturetest.out"

# selpolltest: select() and poll() on the bpf descriptor, blocking and with a
# timeout, in both buffer modes.
#  - Copy mode (zerocopy_enable=0): libpcap sets its 1 s read timeout with
#    BIOCSRTIMEOUT; poll() arms it, so a few frames make the descriptor
#    readable when it fires.
#  - Zero-copy mode: libpcap 1.10.3 sets no kernel read timeout there (it
#    "just uses the timeout in select()" inside pcap_dispatch), so, as on
#    FreeBSD, an untimed select()/poll() reports readable only once a buffer
#    is handed over: when the store (512 KiB) fills and rotates. The flood
#    fills it; then pcap_dispatch finds the buffer without a system call.
#    With -t (1 ms timeouts) pcap_dispatch's own select() with libpcap's
#    timeout, then BIOCROTZBUF, hands over a part-filled store.
selpoll() { # MODE ZC
	local mode=$1 zc=$2 tag=selpolltest-$1 frames=5
	[ "$zc" = 1 ] && tag=$tag-zbuf frames=3000
	echo "$zc" >/sys/module/bpfdev/parameters/zerocopy_enable
	start sp$mode$zc stdbuf -oL "$TP/selpolltest" -$mode -i pc0 'ether proto 0x88b5'
	peer_send flood $frames >/dev/null
	sleep 2
	stopsig TERM sp$mode$zc
	head -6 "$T/sp$mode$zc.out" | note
	ok "$tag" "grep -q 'readable' $T/sp$mode$zc.out && grep -q 'packets seen' $T/sp$mode$zc.out && ! grep -qi 'error' $T/sp$mode$zc.out"
	start spt$mode$zc stdbuf -oL "$TP/selpolltest" -$mode -t -i pc0 'ether proto 0x88b5'
	sleep 2.5
	peer_send flood 3 >/dev/null
	sleep 2
	stopsig TERM spt$mode$zc
	head -6 "$T/spt$mode$zc.out" | note
	ok "$tag-timeout" "grep -q 'timed out' $T/spt$mode$zc.out && grep -q 'packets seen' $T/spt$mode$zc.out"
}
for mode in s p; do
	selpoll $mode 0
	selpoll $mode 1
done
echo 1 >/sys/module/bpfdev/parameters/zerocopy_enable

# nonblocktest: non-blocking get/set, then pcap_loop + pcap_breakloop; its
# last step (pcap_setnonblock must fail once the file table is full, because
# pcap-linux.c needs an eventfd) does not apply to pcap-bpf.c, which needs
# no descriptor for it, so that one message is expected.
# Without a timeout or immediate mode a BSD read() returns only when the
# store buffer (512 KiB) is full, so send enough frames to fill it.
timeout 60 "$TP/nonblocktest" -i pc0 >"$T/nonblocktest.out" 2>&1 &
nb=$!
sleep 2
peer_send flood 3000 >/dev/null
for _ in $(seq 1 100); do kill -0 $nb 2>/dev/null || break; sleep 0.2; done
kill $nb 2>/dev/null
wait $nb
head -6 "$T/nonblocktest.out" | note
ok nonblocktest "grep -q 'using pcap_breakloop' $T/nonblocktest.out && grep -q 'succeeded even though file table is full' $T/nonblocktest.out && ! grep -v -e 'succeeded even though file table is full' -e 'WARNING: using pcap_breakloop' $T/nonblocktest.out | grep -q ."

# writecaptest: capture to a savefile.
start writecaptest stdbuf -oL "$TP/writecaptest" -i pc0 -w "$T/wc.pcap" 'ether proto 0x88b5'
peer_send flood 4 >/dev/null
sleep 2
stop writecaptest
n=$($TOOL count "$T/wc.pcap")
note "$T/writecaptest.out"
say "writecaptest wrote $n frames"
ok writecaptest "[ '$n' = 4 ] && grep -q 'Broken out of loop' $T/writecaptest.out"

for _ in $(seq 1 450); do kill -0 $ts 2>/dev/null || break; sleep 0.2; done
kill $ts 2>/dev/null
wait $ts
rc=$?
note "$T/threadsignal.out"
ok threadsignaltest "[ $rc = 0 ] && grep -q 'Sending SIGUSR1' $T/threadsignal.out && grep -q 'Got SIGUSR1' $T/threadsignal.out && grep -q 'Loop got broken' $T/threadsignal.out"
