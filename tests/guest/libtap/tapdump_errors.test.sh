#!/bin/bash
# Guest: tapdump's messages for a missing interface and a bad filter, and
# that -c stops it after exactly COUNT packets.
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
T=libtap.tapdump_errors
ok() { if eval "$2"; then echo "ok - $T.$1"; else echo "not ok - $T.$1"; fi; }
out=$("$BUILD/utils/tapdump/tapdump" -i nosuch0 2>&1); rc=$?
echo "  # $out"
ok missing-interface '[ $rc = 1 ] && echo "$out" | grep -q "no interface \"nosuch0\""'
out=$("$BUILD/utils/tapdump/tapdump" -i lo tcp portt 80 2>&1); rc=$?
echo "  # $out"
ok bad-filter '[ $rc = 1 ] && echo "$out" | grep -q "syntax error"'
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BUILD/utils/tapdump/tapdump" -i lo 2>&1); rc=$?
echo "  # $out"
ok no-permission '[ $rc = 1 ] && echo "$out" | grep -q "need root or the capture group"'
timeout 60 "$BUILD/utils/tapdump/tapdump" -i lo --immediate -c 3 icmp >/tmp/ltc.out 2>/tmp/ltc.err &
pid=$!
sleep 1.5
ping -c 4 -i 0.2 127.0.0.1 >/dev/null
wait $pid; rc=$?
sed 's/^/  # /' /tmp/ltc.out /tmp/ltc.err
ok count-stops-after-3 '[ $rc = 0 ] && [ $(wc -l </tmp/ltc.out) = 3 ] && grep -q "^3 packets captured" /tmp/ltc.err'
ok prints-icmp-lines 'grep -q "IP 127.0.0.1 > 127.0.0.1: ICMP echo request" /tmp/ltc.out'
