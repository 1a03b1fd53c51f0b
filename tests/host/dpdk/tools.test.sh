#!/bin/bash
# tapdump and tapinject on dpdk: device strings (net_pcap, net_ring): the
# tools' own tests (tools.test.sh, guest libtap/*.test.sh) on virtual devices.
# Usage: tools.test.sh BUILD_DIR
set -u
build=$1
tapdump=$build/utils/tapdump/tapdump
tapinject=$build/utils/tapinject/tapinject
. "$(dirname "$0")/../lib.sh"

# 25 frames: UDP, TCP SYN, ICMP echo, and raw 0x88b5 ones, 60..1514 bytes.
python3 - "$tmp/in.pcap" <<'PY'
import random, struct, sys
random.seed(7)
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
def ip(i, proto, l4):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i, 0, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + l4
for i in range(25):
    eth = bytes.fromhex("020000000002" "020000000001")
    k = i % 4
    if k == 0: f = eth + b"\x08\x00" + ip(i, 17, struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd")
    elif k == 1: f = eth + b"\x08\x00" + ip(i, 6, struct.pack("!HHIIBBHHH", 40000, 80, 1000 + i, 0, 0x50, 0x02, 64240, 0, 0))
    elif k == 2: f = eth + b"\x08\x00" + ip(i, 1, struct.pack("!BBHHH", 8, 0, 0, 7, i) + b"ping" * 4)
    else: f = eth + b"\x88\xb5" + bytes(random.getrandbits(8) for _ in range([60, 300, 1000, 1514][i % 4] - 14))
    f = f + bytes(max(0, 60 - len(f)))
    out.write(struct.pack("<IIII", 1700000000 + i, 123456 + i, len(f), len(f)) + f)
PY

dev="dpdk:net_pcap0,rx_pcap=$tmp/in.pcap"
"$tapdump" -i "$dev" -c 25 -w "$tmp/all.pcap" 2>"$tmp/all.err"
sed 's/^/  # /' "$tmp/all.err"
check "tapdump -w on a dpdk: vdev keeps every frame, byte for byte" \
	'[ "$(tcpdump -r "$tmp/all.pcap" --nano -tt -nn -xx 2>/dev/null)" = "$(tcpdump -r "$tmp/in.pcap" --nano -tt -nn -xx 2>/dev/null)" ]'
check "tapdump -w writes a nanosecond pcap" '[ "$(od -An -tx4 -N4 "$tmp/all.pcap" | tr -d " ")" = a1b23c4d ]'
check "tapdump summary counts what the backend received" \
	'grep -q "^25 packets captured" "$tmp/all.err" && grep -q "^25 packets received by filter" "$tmp/all.err" && grep -q "^0 packets dropped" "$tmp/all.err"'

"$tapdump" -i "$dev" -c 7 -w "$tmp/tcp.pcap" tcp or icmp 2>/dev/null
check "tapdump filter on dpdk: selects what tcpdump selects" \
	'[ "$(tcpdump -r "$tmp/tcp.pcap" -tt -nn -xx 2>/dev/null)" = "$(tcpdump -r "$tmp/in.pcap" -tt -nn -xx "tcp or icmp" -c 7 2>/dev/null)" ] && [ -s "$tmp/tcp.pcap" ]'
"$tapdump" -i "$dev" -c 25 -s 64 -w "$tmp/snap.pcap" 2>/dev/null
caplens() { # "COUNT MAX" of a pcap file's captured lengths
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(); o = 24; m = n = 0
while o < len(d):
    c = struct.unpack("<I", d[o + 8:o + 12])[0]; m = max(m, c); n += 1; o += 16 + c
print(n, m)' "$1"; }
check "tapdump -s on dpdk: cuts each frame to the snap length" \
	'[ "$(caplens "$tmp/snap.pcap")" = "25 64" ]'
# Writes are gathered for up to 1 ms under load: 1000 frames come in
# back-to-back batches, the last ones within 1 ms of a write. Once the
# queue is idle the file must hold them all while tapdump still runs.
python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[:24] + d[24:] * 40)' "$tmp/in.pcap" "$tmp/big.pcap"
"$tapdump" -i "dpdk:net_pcap0,rx_pcap=$tmp/big.pcap" -w "$tmp/live.pcap" 2>"$tmp/live.err" &
live=$!
for _ in $(seq 1 100); do
	[ "$(caplens "$tmp/live.pcap" 2>/dev/null)" = "1000 1514" ] && break
	sleep 0.1
done
live_caps=$(caplens "$tmp/live.pcap" 2>/dev/null)
echo "  # while running: $live_caps (frames, largest)"
check "tapdump -w on dpdk: an idle queue leaves nothing unwritten while it runs" \
	'[ "$live_caps" = "1000 1514" ] && kill -0 $live'
kill -INT $live
wait $live
"$tapdump" -i "$dev" -c 3 -n icmp >"$tmp/print.out" 2>/dev/null
sed 's/^/  # /' "$tmp/print.out"
check "tapdump prints dpdk: packets" '[ "$(grep -c "ICMP echo request, id 7" "$tmp/print.out")" = 3 ]'
"$tapdump" -D >"$tmp/list.out" 2>&1
sed 's/^/  # /' "$tmp/list.out"
check "tapdump -D lists kernel interfaces and DPDK devices" \
	'grep -q "lo" "$tmp/list.out" && grep -q "dpdk:net_pcap0,rx_pcap=" "$tmp/list.out" && grep -q "dpdk:net_ring0" "$tmp/list.out"'
check "tapdump names a missing PMD with EAL's message" \
	'! "$tapdump" -i dpdk:net_nosuch0 2>"$tmp/e" && grep -q "failed to parse device" "$tmp/e"'

"$tapinject" -i "dpdk:net_pcap1,tx_pcap=$tmp/sent.pcap" "$tmp/in.pcap" >"$tmp/inject.out" 2>&1
inject_rc=$?
sed 's/^/  # /' "$tmp/inject.out"
check "tapinject on dpdk: exits zero" '[ "$inject_rc" = 0 ]'
check "tapinject on dpdk: says 25 sent" 'grep -q "sent 25 frames" "$tmp/inject.out" && grep -q "failed 0" "$tmp/inject.out"'
check "tapinject on dpdk: frames leave byte for byte" \
	'[ "$(tcpdump -r "$tmp/sent.pcap" -nn -t -xx 2>/dev/null)" = "$(tcpdump -r "$tmp/in.pcap" -nn -t -xx 2>/dev/null)" ]'
"$tapinject" -i dpdk:net_ring0 --loop 0 --count 10 --pps 50 "$tmp/in.pcap" >"$tmp/paced.out" 2>&1
sed 's/^/  # /' "$tmp/paced.out"
check "tapinject --count --pps on dpdk:" 'grep -q "sent 10 frames" "$tmp/paced.out" && awk "/sent/ { exit !(\$(NF-1) >= 0.17) }" "$tmp/paced.out"'
[ $fails = 0 ]
