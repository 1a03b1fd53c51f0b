#!/bin/bash
# Guest: tapdump --workers 2 -w: two fan-out members, each writing its own
# file; together they hold every frame once, as one tcpdump capture does;
# the summary gives each worker's counts and the totals. Then -C rotation
# under two workers: the rotated files still hold every frame once.
T=libtap.tapdump_workers
. "$(dirname "$0")/../lib.sh"

veth_netns ltw0 ltw1 ltw
ip addr add 10.97.0.1/24 dev ltw0
ip -n ltw addr add 10.97.0.2/24 dev ltw1
ping -c 1 -W 2 10.97.0.2 >/dev/null # resolve ARP first
tapdump=$BUILD/utils/tapdump/tapdump

# count FILE...: records in the files; lines FILE...: their packets without
# timestamps, sorted (each datagram has a source port of its own).
count() { for f in "$@"; do tcpdump -r "$f" 2>/dev/null; done | wc -l; }
lines() { for f in "$@"; do tcpdump -ntr "$f" 2>/dev/null; done | sort; }

run_capture() { # OUT [tapdump options]
	local out=$1
	shift
	timeout 120 "$tapdump" -i ltw0 --workers 2 --immediate -w "$out" "$@" udp 2>"$tmp/err" &
	pid=$!
	tcpdump -i ltw0 -n -w "$tmp/ref.pcap" udp 2>/dev/null &
	ref=$!
	for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.1; done
	sleep 1 # tcpdump attached too
	# 80 datagrams, each from a socket (a source port) of its own: 80 flows,
	# which the flow hash spreads over both workers.
	for i in $(seq 80); do echo "datagram $i" >/dev/udp/10.97.0.2/9; done
	sleep 1
	kill -INT $pid $ref
	wait $pid; rc=$?
	wait $ref
	sed 's/^/  # /' "$tmp/err"
}

run_capture "$tmp/w.pcap"
ok exits-zero '[ $rc = 0 ]'
ok one-file-per-worker '[ -s "$tmp/w-0.pcap" ] && [ -s "$tmp/w-1.pcap" ]'
ok both-workers-got-frames '[ $(count "$tmp/w-0.pcap") -gt 0 ] && [ $(count "$tmp/w-1.pcap") -gt 0 ]'
ok union-equals-one-capture '[ "$(lines "$tmp/w-0.pcap" "$tmp/w-1.pcap")" = "$(lines "$tmp/ref.pcap")" ] && [ $(count "$tmp/ref.pcap") = 80 ]'
ok summary-per-worker 'grep -q "^worker 0: [0-9]* captured, [0-9]* received by filter, 0 dropped by kernel" "$tmp/err" && grep -q "^worker 1: " "$tmp/err"'
ok summary-total 'grep -q "^80 packets captured" "$tmp/err"'

mkdir "$tmp/rot"
run_capture "$tmp/rot/r.pcap" -C 1k
files=$(ls "$tmp"/rot/*)
echo "  # $(ls "$tmp/rot" | tr '\n' ' ')"
ok rotates-per-worker '[ -e "$tmp/rot/r-0.pcap1" ] && [ -e "$tmp/rot/r-1.pcap1" ]'
ok rotated-union-equals-one-capture '[ "$(lines $files)" = "$(lines "$tmp/ref.pcap")" ]'
