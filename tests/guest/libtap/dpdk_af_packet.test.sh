#!/bin/bash
# Guest: the DPDK backend on a veth (net_af_packet PMD) captures the same
# frames, byte for byte and in order, as the kernel backend (/dev/bpf) on
# that veth, both through tapdump. Skipped (ok) when libtap has no DPDK.
T=libtap.dpdk_af_packet
. "$(dirname "$0")/../lib.sh"

if ! "$BUILD/utils/tapdump/tapdump" -D 2>/dev/null | grep -q 'dpdk:net_af_packet0'; then
	echo "ok - $T.skipped-no-dpdk-af-packet # SKIP libtap built without DPDK or the af_packet PMD"
	exit 0
fi
veth_netns lda0 lda1 lda
ip addr add 10.96.0.1/24 dev lda0
ip -n lda addr add 10.96.0.2/24 dev lda1
sleep 0.5

"$BUILD/utils/tapdump/tapdump" -i lda0 --immediate -w "$tmp/bpf.pcap" 2>"$tmp/bpf.err" &
bpf=$!
"$BUILD/utils/tapdump/tapdump" -i dpdk:net_af_packet0,iface=lda0 --immediate -w "$tmp/dpdk.pcap" 2>"$tmp/dpdk.err" &
dpdk=$!
for _ in $(seq 300); do
	grep -q listening "$tmp/bpf.err" && grep -q listening "$tmp/dpdk.err" && break
	sleep 0.1
done
sleep 1
ping -c 5 -i 0.2 -s 300 -W 2 10.96.0.2 >/dev/null
ping -c 2 -i 0.2 -s 1400 -W 2 10.96.0.2 >/dev/null
sleep 1
kill -INT $bpf $dpdk
wait $bpf; bpf_rc=$?
wait $dpdk; dpdk_rc=$?
sed 's/^/  # /' "$tmp/bpf.err" "$tmp/dpdk.err"

tcpdump -r "$tmp/bpf.pcap" -nn -t -xx 2>/dev/null >"$tmp/bpf.txt"
tcpdump -r "$tmp/dpdk.pcap" -nn -t -xx 2>/dev/null >"$tmp/dpdk.txt"
n_bpf=$(tcpdump -r "$tmp/bpf.pcap" -nn 2>/dev/null | wc -l)
n_dpdk=$(tcpdump -r "$tmp/dpdk.pcap" -nn 2>/dev/null | wc -l)
echo "  # /dev/bpf $n_bpf frames, dpdk:net_af_packet0 $n_dpdk frames"
diff "$tmp/bpf.txt" "$tmp/dpdk.txt" | head -20 | sed 's/^/  # /'
ok both-exit-zero '[ "$bpf_rc" = 0 ] && [ "$dpdk_rc" = 0 ]'
ok captured-the-pings '[ "$n_dpdk" -ge 14 ]'
ok same-frame-count '[ "$n_bpf" = "$n_dpdk" ]'
ok same-bytes-same-order 'cmp -s "$tmp/bpf.txt" "$tmp/dpdk.txt"'
