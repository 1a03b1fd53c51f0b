#!/bin/bash
# Guest: tapdump -w on a veth captures exactly the frames tcpdump (AF_PACKET)
# captures of the same traffic: same count, same bytes, same order.
T=libtap.tapdump_vs_tcpdump
. "$(dirname "$0")/../lib.sh"

veth_netns ltd0 ltd1 ltd
ip addr add 10.97.0.1/24 dev ltd0
ip -n ltd addr add 10.97.0.2/24 dev ltd1
sleep 0.5

# Only ICMP: neighbour discovery may send ARP at any moment, also between the
# two SIGINTs below, and a slow (debug) guest makes that race real.
"$BUILD/utils/tapdump/tapdump" -i ltd0 --immediate -w "$tmp/tap.pcap" icmp 2>"$tmp/tap.err" &
tap=$!
tcpdump -i ltd0 -U -w "$tmp/tcpdump.pcap" icmp 2>"$tmp/tcpdump.err" &
tcpd=$!
# Both listening before any traffic (TCG is slow).
for _ in $(seq 100); do
	grep -q listening "$tmp/tap.err" && grep -q listening "$tmp/tcpdump.err" && break
	sleep 0.1
done
sleep 0.5
ping -c 5 -i 0.2 -s 300 -W 2 10.97.0.2 >/dev/null
ping -c 2 -i 0.2 -s 1400 -W 2 10.97.0.2 >/dev/null
sleep 1
kill -INT $tap $tcpd
wait $tap; tap_rc=$?
wait $tcpd
sed 's/^/  # /' "$tmp/tap.err"

# Same tcpdump prints both files: any difference is in the bytes or order.
tcpdump -r "$tmp/tap.pcap" -nn -t -xx 2>/dev/null >"$tmp/tap.txt"
tcpdump -r "$tmp/tcpdump.pcap" -nn -t -xx 2>/dev/null >"$tmp/tcpdump.txt"
n_tap=$(tcpdump -r "$tmp/tap.pcap" -nn 2>/dev/null | wc -l)
n_tcpd=$(tcpdump -r "$tmp/tcpdump.pcap" -nn 2>/dev/null | wc -l)
echo "  # tapdump $n_tap frames, tcpdump $n_tcpd frames"
diff "$tmp/tcpdump.txt" "$tmp/tap.txt" | head -20 | sed 's/^/  # /'

ok exits-zero-on-sigint '[ "$tap_rc" = 0 ]'
ok captured-the-pings '[ "$n_tap" = 14 ]'
ok same-frame-count '[ "$n_tap" = "$n_tcpd" ]'
ok same-bytes-same-order 'cmp -s "$tmp/tap.txt" "$tmp/tcpdump.txt"'
ok nanosecond-pcap '[ "$(od -An -tx4 -N4 "$tmp/tap.pcap" | tr -d " ")" = a1b23c4d ]'
ok summary-lines 'grep -q "packets captured" "$tmp/tap.err" && grep -q "received by filter" "$tmp/tap.err" && grep -q "0 packets dropped by kernel" "$tmp/tap.err"'
