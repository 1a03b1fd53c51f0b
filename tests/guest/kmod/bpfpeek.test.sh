#!/bin/bash
# Guest: bpfpeek, a plain BSD-style reader, captures pings on /dev/bpfN with
# an EtherType filter; 2 echo requests + 2 replies = 4 IPv4 frames.
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
ok() { if eval "$2"; then echo "ok - kmod.bpfpeek.$1"; else echo "not ok - kmod.bpfpeek.$1"; fi; }
ip netns add peek
ip link add bp0 type veth peer name bp1
ip link set bp1 netns peek
ip addr add 10.98.0.1/24 dev bp0 && ip link set bp0 up
ip -n peek addr add 10.98.0.2/24 dev bp1 && ip -n peek link set bp1 up
timeout 30 "$BUILD/utils/bpfpeek/bpfpeek" -c 4 -t 0x0800 bp0 >/tmp/peek.out 2>/tmp/peek.err &
pid=$!
sleep 1
ping -c 2 -i 0.3 -W 2 10.98.0.2 >/dev/null
wait $pid
rc=$?
sed 's/^/  # /' /tmp/peek.out /tmp/peek.err
mac0=$(cat /sys/class/net/bp0/address)
ok exits-zero '[ $rc = 0 ]'
ok four-ipv4-frames '[ $(grep -c "type 0x0800" /tmp/peek.out) = 4 ]'
ok both-directions "grep -q '$mac0 >' /tmp/peek.out && grep -q '> $mac0' /tmp/peek.out"
ok used-a-numbered-node 'grep -q "/dev/bpf[0-9]" /tmp/peek.err'
ok stats-line 'grep -q "4 shown, .* received by filter, 0 dropped" /tmp/peek.err'
ip link del bp0
ip netns del peek
