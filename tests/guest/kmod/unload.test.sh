#!/bin/bash
# Guest: the module unloads cleanly once nothing is open, leaves no node or
# class behind, and loads again (scripts/vm-run's dmesg gate checks the log).
ko=${BPFDEV_KO:?set by scripts/vm-run: the module it loaded}
check() { if eval "$2"; then echo "ok - kmod.unload.$1"; else echo "not ok - kmod.unload.$1"; fi; }
ip link add bu0 type veth peer name bu1 && ip link set bu0 up && ip link set bu1 up
# Every descriptor the earlier tests opened is closed: nothing of ours is left.
for i in 1 2 3 4 5 6 7 8 9 10; do
	head -1 /proc/net/bpfdev | grep -q '^descriptors 0 interfaces 0 filters 0 groups 0 pinned 0$' && break
	sleep 0.2
done
echo "  # $(head -1 /proc/net/bpfdev)"
check no-descriptor-interface-or-filter-left "head -1 /proc/net/bpfdev | grep -q '^descriptors 0 interfaces 0 filters 0 groups 0 pinned 0$'"
check rmmod-succeeds-when-idle 'rmmod bpfdev'
check no-nodes-left '! ls /dev/bpf* >/dev/null 2>&1'
check no-proc-file-left '! [ -e /proc/net/bpfdev ]'
check no-class-left '! [ -e /sys/class/bpf ]'
check no-module-left '! grep -q "^bpfdev " /proc/modules'
check interface-survives 'ip link show bu0 >/dev/null'
check reload "insmod $ko && [ -c /dev/bpf ] && [ -c /dev/bpf0 ]"
ip link del bu0
