#!/bin/bash
# Guest: tapdump's -Q, -s, -B and -p act on the capture: only outgoing echo
# requests, each cut to 64 bytes with its wire length kept.
T=libtap.tapdump_options
. "$(dirname "$0")/../lib.sh"

veth_netns lto0 lto1 lto
ip addr add 10.96.0.1/24 dev lto0
ip -n lto addr add 10.96.0.2/24 dev lto1
ping -c 1 -W 2 10.96.0.2 >/dev/null # resolve ARP first

timeout 60 "$BUILD/utils/tapdump/tapdump" -i lto0 -Q out -s 64 -B 64 -p --immediate -c 4 \
	-w "$tmp/out.pcap" icmp 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.1; done
ping -c 4 -i 0.2 -s 200 -W 2 10.96.0.2 >/dev/null
wait $pid; rc=$?
sed 's/^/  # /' "$tmp/err"
"$BUILD/utils/tapdump/tapdump" -r "$tmp/out.pcap" -e 2>/dev/null >"$tmp/txt"
sed 's/^/  # /' "$tmp/txt"
# caplen and len of every record (nanosecond pcap, little-endian).
python3 - "$tmp/out.pcap" >"$tmp/lens" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 24
while off < len(d):
    _, _, cap, wire = struct.unpack_from("<IIII", d, off)
    print(cap, wire)
    off += 16 + cap
PY
ok exits-zero-after-count '[ $rc = 0 ]'
ok four-records '[ $(wc -l <"$tmp/lens") = 4 ]'
ok only-outgoing-requests '[ $(grep -c "10.96.0.1 > 10.96.0.2: ICMP echo request" "$tmp/txt") = 4 ]'
ok cut-to-64-wire-kept '[ "$(sort -u "$tmp/lens")" = "64 242" ]'
ok link-header-printed 'grep -q "$(cat /sys/class/net/lto0/address) > " "$tmp/txt"'
