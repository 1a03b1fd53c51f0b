#!/bin/bash
# Guest: bpfpeek, a plain BSD-style reader, captures pings on /dev/bpfN with
# an EtherType filter; 2 echo requests + 2 replies = 4 IPv4 frames.
T=kmod.bpfpeek
. "$(dirname "$0")/../lib.sh"

veth_netns bp0 bp1 peek
ip addr add 10.98.0.1/24 dev bp0
ip -n peek addr add 10.98.0.2/24 dev bp1
timeout 30 "$BUILD/utils/bpfpeek/bpfpeek" -c 4 -t 0x0800 bp0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1
ping -c 2 -i 0.3 -W 2 10.98.0.2 >/dev/null
wait $pid
rc=$?
sed 's/^/  # /' "$tmp/out" "$tmp/err"
mac0=$(cat /sys/class/net/bp0/address)
ok exits-zero '[ $rc = 0 ]'
ok four-ipv4-frames '[ $(grep -c "type 0x0800" "$tmp/out") = 4 ]'
ok both-directions "grep -q '$mac0 >' '$tmp/out' && grep -q '> $mac0' '$tmp/out'"
ok used-a-numbered-node 'grep -q "/dev/bpf[0-9]" "$tmp/err"'
ok stats-line 'grep -q "4 shown, .* received by filter, 0 dropped" "$tmp/err"'
