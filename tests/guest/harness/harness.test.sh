#!/bin/bash
# Guest self-test of scripts/vm-run: the environment every guest test relies on.
# Run inside the guest by tests/guest/run-all (cwd = the repository).
set -u
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
check() { # name, shell condition
	if eval "$2" >/dev/null 2>&1; then echo "ok - harness.$1"; else echo "not ok - harness.$1"; fi
}

check in-guest '[ "$(cat /proc/sys/kernel/hostname)" = vm-run ] && [ "${VM_RUN:-}" = 1 ]'
check running-as-root '[ "$(id -u)" = 0 ]'
check cwd-is-repo '[ "$(pwd -P)" = "$repo" ]' # run-all cds to the repo
check home-is-root '[ "$HOME" = /root ]'
check stdin-not-a-terminal-or-tty '[ -t 0 ] || [ "$(readlink /proc/self/fd/0)" = /dev/null ]'
check module-loaded 'grep -q "^bpfdev " /proc/modules && lsmod | grep -q "^bpfdev "'
check dev-bpf-exists '[ -c /dev/bpf ]'
check tmp-is-tmpfs '[ "$(stat -f -c %T /tmp)" = tmpfs ]'
check run-is-tmpfs '[ "$(stat -f -c %T /run)" = tmpfs ]'
check dev-is-devtmpfs 'grep -q "^devtmpfs /dev devtmpfs" /proc/mounts'
check devpts-mounted 'grep -q " /dev/pts devpts" /proc/mounts'
check proc-sys-mounted 'grep -q " /proc proc" /proc/mounts && grep -q " /sys sysfs" /proc/mounts'
check lo-is-up 'ip -o link show lo | grep -q "[<,]UP[,>]"'
check no-other-netdev '[ "$(ls /sys/class/net)" = lo ]'
check root-is-host-9p 'grep -q "^vmroot / 9p" /proc/mounts && [ -x /bin/bash ]'
check tmp-write 'echo x >/tmp/harness.$$ && [ "$(cat /tmp/harness.$$)" = x ] && rm /tmp/harness.$$'
check modprobe-veth 'modprobe veth && grep -q "^veth " /proc/modules'

ns=vmh$$
veth_in_netns() {
	ip netns add $ns || return 1
	ip -n $ns link add va type veth peer name vb || return 1
	ip -n $ns link set va up && ip -n $ns link set vb up || return 1
	ip -n $ns addr add 10.99.0.1/24 dev va || return 1
	ip -n $ns link show vb >/dev/null || return 1
	! ip link show va >/dev/null 2>&1 || return 1 # not in the initial namespace
	ip -n $ns link del va || return 1
	! ip -n $ns link show vb >/dev/null 2>&1 || return 1 # peer went with it
	ip netns del $ns
}
check veth-pair-in-netns veth_in_netns
ip netns del $ns 2>/dev/null
exit 0
