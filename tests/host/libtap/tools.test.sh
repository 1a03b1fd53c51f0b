#!/bin/bash
# Host tests of tapdump and tapinject that need no device: options, help,
# messages, and tapdump -r/-w over pcap files (compared with tcpdump -r).
# Usage: tools.test.sh BUILD_DIR
set -u
build=$1
tapdump=$build/utils/tapdump/tapdump
tapinject=$build/utils/tapinject/tapinject
. "$(dirname "$0")/../lib.sh"

python3 - "$tmp/in.pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
def frame(i, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return bytes.fromhex("020000000002" "020000000001" "0800") + ip + l4
frames = [
    frame(1, 17, struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd"),
    frame(2, 6, struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, 0x50, 0x02, 64240, 0, 0)),
    frame(3, 1, struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping" * 4),
    frame(4, 6, struct.pack("!HHIIBBHHH", 40000, 443, 5, 9, 0x50, 0x18, 100, 0, 0) + b"x" * 10)[:40],  # cut
]
for i, f in enumerate(frames):
    wire = len(f) if i < 3 else 64
    out.write(struct.pack("<IIII", 1700000000 + i, 123456789, len(f), wire) + f)
PY

check "tapdump --help exits 0" '"$tapdump" --help | grep -q "Usage: tapdump"'
check "tapdump without -i or -r is an error" '! "$tapdump" 2>"$tmp/e" && grep -q "no interface" "$tmp/e"'
check "tapdump -Q rejects a bad direction" '! "$tapdump" -i lo -Q sideways 2>"$tmp/e" && grep -q "invalid direction" "$tmp/e"'
check "tapdump -c rejects a non-number" '! "$tapdump" -i lo -c ten 2>"$tmp/e" && grep -q "invalid count" "$tmp/e"'
if [ ! -e /dev/bpf ] && [ ! -e /dev/bpf0 ]; then
	check "tapdump names the missing module" '! "$tapdump" -i lo 2>"$tmp/e" && grep -q "is the bpfdev module loaded" "$tmp/e"'
fi
"$tapdump" -r "$tmp/in.pcap" >"$tmp/r.out" 2>"$tmp/r.err"
sed 's/^/  # /' "$tmp/r.out"
check "tapdump -r prints one line per packet" '[ $(wc -l <"$tmp/r.out") = 4 ]'
check "tapdump -r prints nanoseconds" 'grep -q "\.123456789 IP" "$tmp/r.out"'
check "tapdump -r summarises UDP" 'grep -q "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 4" "$tmp/r.out"'
check "tapdump -r summarises TCP flags" 'grep -q "10.0.0.1.40000 > 10.0.0.2.80: Flags \[S\], seq 1000" "$tmp/r.out"'
check "tapdump -r summarises ICMP" 'grep -q "ICMP echo request, id 7, seq 1, length 24" "$tmp/r.out"'
check "tapdump -r survives a cut frame" 'grep -q "\[|tcp\]" "$tmp/r.out"'
check "tapdump -r -e prints MACs" '"$tapdump" -r "$tmp/in.pcap" -e -c 1 2>/dev/null | grep -q "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800)"'
check "tapdump -r -x prints hex" '"$tapdump" -r "$tmp/in.pcap" -x -c 1 2>/dev/null | grep -q "0x0000:  0200 0000 0002"'
check "tapdump -r applies the filter" '[ "$("$tapdump" -r "$tmp/in.pcap" tcp 2>/dev/null | wc -l)" = 2 ]'
# A file has no netmask: compiled with 0 as tcpdump -r does, "ip broadcast" works.
check "tapdump -r compiles ip broadcast (netmask 0)" \
	'[ "$("$tapdump" -r "$tmp/in.pcap" "ip broadcast or tcp" 2>"$tmp/e" | wc -l)" = 2 ] && ! grep -q netmask "$tmp/e"'
check "tapdump -r bad filter gives libpcap's message" '! "$tapdump" -r "$tmp/in.pcap" tcp portt 2>"$tmp/e" && grep -q "syntax error" "$tmp/e"'
"$tapdump" -r "$tmp/in.pcap" -w "$tmp/out.pcap" udp or icmp 2>/dev/null
check "tapdump -r -w keeps bytes and nanoseconds" \
	'[ "$(tcpdump -r "$tmp/out.pcap" --nano -tt -nn -xx 2>/dev/null)" = "$(tcpdump -r "$tmp/in.pcap" --nano -tt -nn -xx "udp or icmp" 2>/dev/null)" ]'
check "tapinject --help exits 0" '"$tapinject" --help | grep -q "Usage: tapinject"'
check "tapinject needs a file" '! "$tapinject" -i lo 2>/dev/null'
check "tapinject names a missing file" '! "$tapinject" -i lo "$tmp/nope.pcap" 2>"$tmp/e" && grep -q "nope.pcap" "$tmp/e"'
check "tapinject rejects --pps 0" '! "$tapinject" -i lo --pps 0 "$tmp/in.pcap" 2>"$tmp/e" && grep -q "pps" "$tmp/e"'
[ $fails = 0 ]
