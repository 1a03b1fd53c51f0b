#!/bin/bash
# Guest: frames tapinject replays out of one veth end are captured on the
# peer (tapdump inside another namespace) byte for byte, in order.
T=libtap.tapinject_replay
. "$(dirname "$0")/../lib.sh"

veth_netns lti0 lti1 lti

# 25 frames to a MAC nobody has (no replies), from a made-up source,
# sizes 60..1514, distinct payloads; a pcap written with the stdlib.
python3 - "$tmp/in.pcap" <<'PY'
import random, struct, sys
random.seed(7)
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i in range(25):
    n = [60, 61, 64, 100, 128, 300, 1000, 1514][i % 8]
    frame = bytes.fromhex("020000000099" "0200000000aa" "88b5") + bytes([i]) + \
            bytes(random.getrandbits(8) for _ in range(n - 15))
    out.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)
PY

ip netns exec lti "$BUILD/utils/tapdump/tapdump" -i lti1 -Q in --immediate -c 25 \
	-w "$tmp/got.pcap" ether src 02:00:00:00:00:aa 2>"$tmp/dump.err" &
dump=$!
for _ in $(seq 100); do grep -q listening "$tmp/dump.err" && break; sleep 0.1; done
"$BUILD/utils/tapinject/tapinject" -i lti0 "$tmp/in.pcap" >"$tmp/inject.out" 2>&1
inject_rc=$?
for _ in $(seq 100); do kill -0 $dump 2>/dev/null || break; sleep 0.1; done
kill -INT $dump 2>/dev/null
wait $dump
sed 's/^/  # /' "$tmp/inject.out" "$tmp/dump.err"

tcpdump -r "$tmp/in.pcap" -nn -t -xx 2>/dev/null >"$tmp/in.txt"
tcpdump -r "$tmp/got.pcap" -nn -t -xx 2>/dev/null >"$tmp/got.txt"
diff "$tmp/in.txt" "$tmp/got.txt" | head -10 | sed 's/^/  # /'
ok tapinject-exits-zero '[ "$inject_rc" = 0 ]'
ok summary-says-25-sent 'grep -q "sent 25 frames" "$tmp/inject.out" && grep -q "failed 0" "$tmp/inject.out"'
ok peer-captured-25 '[ "$(tcpdump -r "$tmp/got.pcap" -nn -tt 2>/dev/null | grep -c "^[0-9]")" = 25 ]'
ok byte-for-byte 'cmp -s "$tmp/in.txt" "$tmp/got.txt"'

# --count and --pps: 10 frames at 50 pps take about 0.2 s or more.
"$BUILD/utils/tapinject/tapinject" -i lti0 --loop 0 --count 10 --pps 50 "$tmp/in.pcap" >"$tmp/paced.out" 2>&1
sed 's/^/  # /' "$tmp/paced.out"
ok count-and-pps 'grep -q "sent 10 frames" "$tmp/paced.out" && awk "/sent/ { exit !(\$(NF-1) >= 0.17) }" "$tmp/paced.out"'
out=$("$BUILD/utils/tapinject/tapinject" -i nosuch0 "$tmp/in.pcap" 2>&1); rc=$?
echo "  # $out"
ok missing-interface-is-clear '[ $rc = 1 ] && echo "$out" | grep -q "no interface \"nosuch0\""'
