#!/bin/bash
# Host tests of tapdump's savefile rotation (-C, -G, -W, -z) on a pcap read
# with -r, which needs no module: file names as tcpdump gives them, and the
# rotated files' packets, concatenated, equal to one unrotated capture.
# With "dpdk", every capture is live on the DPDK backend instead: net_pcap
# replaying the same file (its stamps, so -G rotates at the same packets),
# and --workers 2 on a two-queue net_pcap, each worker rotating its own files.
# Usage: rotation.test.sh BUILD_DIR [dpdk]
set -u
tapdump=$1/utils/tapdump/tapdump
backend=${2:-file}
. "$(dirname "$0")/../lib.sh"

# 1000 frames of 100 bytes, 10 ms apart from 1700000000.5 s: 10 seconds.
python3 - "$tmp/in.pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
for i in range(1000):
    ns = 1700000000_500000000 + i * 10_000_000
    f = bytes.fromhex("020000000002020000000001" "88b5") + struct.pack("!I", i) + bytes(82)
    out.write(struct.pack("<IIII", ns // 10**9, ns % 10**9, len(f), len(f)) + f)
PY
if [ "$backend" = dpdk ]; then
	in=(-i "dpdk:net_pcap0,rx_pcap=$tmp/in.pcap" -c 1000)
else
	in=(-r "$tmp/in.pcap")
fi

# records FILE...: every record (header and bytes) of the files in order, one hex line each.
records() {
	python3 - "$@" <<'PY'
import struct, sys
for name in sys.argv[1:]:
    data = open(name, "rb").read()
    at = 24
    while at < len(data):
        caplen = struct.unpack_from("<I", data, at + 8)[0]
        print(data[at:at + 16 + caplen].hex())
        at += 16 + caplen
PY
}

"$tapdump" -r "$tmp/in.pcap" -w "$tmp/all.pcap" 2>/dev/null
records "$tmp/all.pcap" >"$tmp/all.txt"
check "unrotated capture has every packet" '[ $(wc -l <"$tmp/all.txt") = 1000 ]'
if [ "$backend" = dpdk ]; then
	"$tapdump" "${in[@]}" -w "$tmp/dpdk.pcap" 2>/dev/null
	check "dpdk: unrotated capture equals the file's, stamps and all" 'records "$tmp/dpdk.pcap" | cmp -s - "$tmp/all.txt"'
fi

# -C: a new file once the current one is larger than 10 KiB: out, out1, out2, ...
mkdir "$tmp/c" && "$tapdump" "${in[@]}" -w "$tmp/c/out" -C 10k 2>/dev/null
files=$(ls "$tmp/c" | sort -V | sed "s|^|$tmp/c/|")
echo "  # -C 10k: $(ls "$tmp/c" | sort -V | tr '\n' ' ')"
check "-C names the first file as given, then 1, 2, ..." '[ -e "$tmp/c/out" ] && [ -e "$tmp/c/out1" ] && [ -e "$tmp/c/out11" ] && [ ! -e "$tmp/c/out0" ]'
check "-C files are 10 KiB plus at most one packet" 'for f in $files; do [ $(stat -c %s "$f") -le $((10240 + 116)) ] || exit 1; done'
check "-C: concatenated files == one unrotated capture" 'records $files | cmp -s - "$tmp/all.txt"'

# -C -W 3: a ring of out0, out1, out2 holding the newest packets.
mkdir "$tmp/w" && "$tapdump" "${in[@]}" -w "$tmp/w/out" -C 10k -W 3 2>/dev/null
check "-C -W 3 keeps exactly out0 out1 out2" '[ "$(ls "$tmp/w" | tr "\n" " ")" = "out0 out1 out2 " ]'
# The newest file is the one with the last packet; the ring runs on from it.
last=$(for f in out0 out1 out2; do records "$tmp/w/$f" | tail -1 | grep -qx "$(tail -1 "$tmp/all.txt")" && echo $f; done)
case $last in out0) order="out1 out2 out0" ;; out1) order="out2 out0 out1" ;; *) order="out0 out1 out2" ;; esac
check "-C -W: the ring, oldest to newest, is the capture's tail" \
	'n=$(records $(for f in $order; do echo "$tmp/w/$f"; done) | tee "$tmp/ring.txt" | wc -l); tail -n $n "$tmp/all.txt" | cmp -s - "$tmp/ring.txt"'
mkdir "$tmp/w11" && "$tapdump" "${in[@]}" -w "$tmp/w11/out" -C 10k -W 11 2>/dev/null
check "-W 11 pads file numbers to two digits" '[ -e "$tmp/w11/out00" ] && [ -e "$tmp/w11/out10" ] && [ ! -e "$tmp/w11/out11" ]'

# -G 2 with a strftime name: one file per 2 s of packet time.
mkdir "$tmp/g" && "$tapdump" "${in[@]}" -w "$tmp/g/out-%s.pcap" -G 2 2>/dev/null
echo "  # -G 2: $(ls "$tmp/g" | tr '\n' ' ')"
check "-G 2 names files by strftime at each rotation" '[ "$(ls "$tmp/g" | tr "\n" " ")" = "out-1700000000.pcap out-1700000002.pcap out-1700000004.pcap out-1700000006.pcap out-1700000008.pcap out-1700000010.pcap " ]'
check "-G: concatenated files == one unrotated capture" 'records $(ls "$tmp/g"/* | sort) | cmp -s - "$tmp/all.txt"'
check "-G: each file holds 2 s of packets" '[ $(records "$tmp/g/out-1700000002.pcap" | wc -l) = 200 ]'

# -G 2 -W 3: three files, then tapdump stops.
mkdir "$tmp/gw" && "$tapdump" "${in[@]}" -w "$tmp/gw/out-%s" -G 2 -W 3 2>/dev/null
check "-G -W 3 stops after three files" '[ $(ls "$tmp/gw" | wc -l) = 3 ]'
check "-G -W: they hold the first 6 s" 'records $(ls "$tmp/gw"/* | sort) | cmp -s - <(head -n 550 "$tmp/all.txt")'

# -G with -C: the strftime name, numbered within each interval.
mkdir "$tmp/gc" && "$tapdump" "${in[@]}" -w "$tmp/gc/out-%s-" -G 4 -C 10k 2>/dev/null
check "-G -C numbers files within each interval" '[ -e "$tmp/gc/out-1700000000-" ] && [ -e "$tmp/gc/out-1700000000-1" ] && [ -e "$tmp/gc/out-1700000004-" ]'
check "-G -C: concatenated files == one unrotated capture" 'records $(ls "$tmp/gc"/* | sort -V) | cmp -s - "$tmp/all.txt"'

# Records larger than tapdump's 256 KiB write buffer (262144-byte frames,
# the largest snap length) between small ones, and enough of them to fill
# the buffer several times: written whole and in order.
python3 - "$tmp/big.pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
for i, size in enumerate([100, 262144, 60, 262144, 262144, 1514] + [1514] * 600):
    f = bytes.fromhex("020000000002020000000001" "88b5") + struct.pack("!I", i)
    f += bytes((i + k) & 0xff for k in range(size - len(f)))
    out.write(struct.pack("<IIII", 1700000000 + i, 999999999 - i, len(f), len(f)) + f)
PY
"$tapdump" -r "$tmp/big.pcap" -w "$tmp/big-out.pcap" 2>/dev/null
check "records above the write buffer's size come out whole" 'cmp -s <(records "$tmp/big.pcap") <(records "$tmp/big-out.pcap")'
check "and the file ends with the last record" '[ $(stat -c %s "$tmp/big-out.pcap") = $(stat -c %s "$tmp/big.pcap") ]'

# -z: the command runs with each finished file, the last one included.
printf '#!/bin/sh\necho "$1" >>%s\n' "$tmp/z.log" >"$tmp/post" && chmod +x "$tmp/post"
mkdir "$tmp/z" && "$tapdump" "${in[@]}" -w "$tmp/z/out" -C 30k -z "$tmp/post" 2>/dev/null
check "-z runs once for every file" '[ "$(sort "$tmp/z.log")" = "$(ls "$tmp/z"/* | sort)" ]'

if [ "$backend" = dpdk ]; then
	# Two queues, one per file (ids 0..999 and 1000..1999), a worker each.
	python3 - "$tmp/in.pcap" "$tmp/in2.pcap" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = 24
while at < len(data):
    struct.pack_into("!I", data, at + 16 + 14, struct.unpack_from("!I", data, at + 16 + 14)[0] + 1000)
    at += 16 + struct.unpack_from("<I", data, at + 8)[0]
open(sys.argv[2], "wb").write(data)
PY
	records "$tmp/in2.pcap" >"$tmp/in2.txt"
	mkdir "$tmp/k" && "$tapdump" -i "dpdk:net_pcap1,rx_pcap=$tmp/in.pcap,rx_pcap=$tmp/in2.pcap" -c 2000 \
		--workers 2 -w "$tmp/k/out.pcap" -C 10k 2>"$tmp/k.err"
	echo "  # --workers 2 -C 10k: $(ls "$tmp/k" | sort -V | tr '\n' ' ')"
	check "dpdk --workers 2 -C: each worker rotates its own files" '[ -e "$tmp/k/out-0.pcap" ] && [ -e "$tmp/k/out-0.pcap11" ] && [ -e "$tmp/k/out-1.pcap11" ]'
	check "dpdk --workers 2 -C: worker 0's files, concatenated == queue 0's capture" \
		'records $(ls "$tmp/k"/out-0.pcap* | sort -V) | cmp -s - "$tmp/all.txt"'
	check "dpdk --workers 2 -C: worker 1's files, concatenated == queue 1's capture" \
		'records $(ls "$tmp/k"/out-1.pcap* | sort -V) | cmp -s - "$tmp/in2.txt"'
	check "dpdk --workers 2: the totals count both queues" 'grep -q "^2000 packets captured" "$tmp/k.err"'
fi

check "-C without -w is an error" '! "$tapdump" -r "$tmp/in.pcap" -C 1 2>"$tmp/e" && grep -q "need -w" "$tmp/e"'
check "-C 0 is an error" '! "$tapdump" "${in[@]}" -w "$tmp/x" -C 0 2>"$tmp/e" && grep -q "invalid file size" "$tmp/e"'
check "--workers without -w is an error" '! "$tapdump" -i lo --workers 2 2>"$tmp/e" && grep -q "needs -w" "$tmp/e"'
[ $fails = 0 ]
