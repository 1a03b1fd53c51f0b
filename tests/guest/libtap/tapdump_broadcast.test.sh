#!/bin/bash
# Guest: tapdump compiles with the live interface's netmask (pcap_lookupnet,
# as tcpdump), so "ip broadcast" works and means this subnet's broadcast:
# pings to 10.97.0.255 are captured, unicast pings are not; without an
# IPv4 address the netmask is 0 and the expression still compiles.
T=libtap.tapdump_broadcast
. "$(dirname "$0")/../lib.sh"

veth_netns lbc0 lbc1 lbc
ip addr add 10.97.0.1/24 dev lbc0
ip -n lbc addr add 10.97.0.2/24 dev lbc1

timeout 60 "$BUILD/utils/tapdump/tapdump" -i lbc0 -Q in --immediate -c 3 -w "$tmp/out.pcap" \
	ip broadcast 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.1; done
ip netns exec lbc ping -c 3 -i 0.2 -W 1 10.97.0.1 >/dev/null
ip netns exec lbc ping -b -c 3 -i 0.2 -W 1 10.97.0.255 >/dev/null 2>&1
wait $pid; rc=$?
sed 's/^/  # /' "$tmp/err"
"$BUILD/utils/tapdump/tapdump" -r "$tmp/out.pcap" 2>/dev/null >"$tmp/txt"
sed 's/^/  # /' "$tmp/txt"
ok compiles-and-exits-after-count '[ $rc = 0 ] && ! grep -q netmask "$tmp/err"'
ok three-broadcasts '[ $(grep -c "10.97.0.2 > 10.97.0.255: ICMP echo request" "$tmp/txt") = 3 ]'
ok no-unicast '! grep -q "> 10.97.0.1:" "$tmp/txt"'

# No IPv4 address: netmask 0, as tcpdump; the expression still compiles.
ip link add lbcd type dummy && guest_cleanup+=("ip link del lbcd 2>/dev/null")
ip link set lbcd up
timeout -s INT 3 "$BUILD/utils/tapdump/tapdump" -i lbcd ip broadcast >/dev/null 2>"$tmp/err2"
sed 's/^/  # /' "$tmp/err2"
ok no-address-compiles 'grep -q "listening on lbcd" "$tmp/err2" && ! grep -q netmask "$tmp/err2"'
