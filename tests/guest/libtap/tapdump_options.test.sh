#!/bin/bash
# Guest: tapdump's -Q, -s, -B and -p act on the capture: only outgoing echo
# requests, each cut to 64 bytes with its wire length kept.
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
T=libtap.tapdump_options
ok() { if eval "$2"; then echo "ok - $T.$1"; else echo "not ok - $T.$1"; fi; }
tmp=$(mktemp -d)
cleanup() { ip link del lto0 2>/dev/null; ip netns del lto 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

ip netns add lto
ip link add lto0 type veth peer name lto1
ip link set lto1 netns lto
sysctl -qw net.ipv6.conf.lto0.disable_ipv6=1
ip netns exec lto sysctl -qw net.ipv6.conf.lto1.disable_ipv6=1
ip addr add 10.96.0.1/24 dev lto0 && ip link set lto0 up
ip -n lto addr add 10.96.0.2/24 dev lto1 && ip -n lto link set lto1 up
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
