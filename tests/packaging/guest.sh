#!/bin/bash
# Runs in the guest (scripts/vm-run --no-module), after tests/packaging/
# packages.sh installed the packages on the host (the guest's / is the
# host's). Prints "ok - pkg.guest.NAME" / "not ok - ..." lines.
#   guest.sh MEMBER CAPTURE_PKGCONFIG CAPTURE_CMAKE
# MEMBER is a non-root user in group access_bpf; the two programs were built
# against the installed libtap-dev.
set -u
member=$1 cap_pc=$2 cap_cmake=$3
T=pkg.guest
ok() { if eval "$2"; then echo "ok - $T.$1"; else echo "not ok - $T.$1"; fi; }
kver=$(uname -r)
log=$(mktemp -d)
chmod 1777 "$log"   # the member writes its captures here
as_member() { setpriv --reuid="$member" --regid="$member" --init-groups -- "$@"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
udevd_pid= ping_pid=
cleanup() {
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null
	[ -n "$udevd_pid" ] && kill "$udevd_pid" 2>/dev/null
	wait 2>/dev/null
	rmmod bpfdev 2>/dev/null
	rm -rf "$log"
}
trap cleanup EXIT

# The DKMS-built module, from updates/ (which depmod ranks above the kernel's tree).
ok modprobe 'modprobe bpfdev'
path=$(modinfo -n bpfdev 2>/dev/null)
echo "  # modinfo -n bpfdev: $path"
ok module-from-updates '[[ $path == /lib/modules/$kver/updates/* ]] && [ -d /sys/module/bpfdev ]'
# No udev running: the module's own default.
ok default-mode-0600-root '[ "$(stat -c "%a %U %G" /dev/bpf0 /dev/bpf | sort -u)" = "600 root root" ]'
rmmod bpfdev

# With udev: the rule's group and mode on the next load.
/lib/systemd/systemd-udevd >"$log/udevd.log" 2>&1 &
udevd_pid=$!
for _ in $(seq 50); do udevadm control --ping 2>/dev/null && break; sleep 0.2; done
modprobe bpfdev
udevadm settle --timeout=30
ok rule-mode-0660-access_bpf '[ "$(stat -c "%a %U %G" /dev/bpf0 /dev/bpf | sort -u)" = "660 root access_bpf" ]'
stat -c '  # %n %A %U:%G' /dev/bpf /dev/bpf0

# Traffic on lo (every frame recorded once there).
ping -q -i 0.05 127.0.0.1 >/dev/null 2>&1 &
ping_pid=$!

# A member of the group captures without root; others get EACCES.
ok member-tapdump 'cd / && as_member timeout 30 tapdump -i lo -c 5 -w "$log/m.pcap" >"$log/td.log" 2>&1 &&
	[ "$(tcpdump -r "$log/m.pcap" 2>/dev/null | wc -l)" = 5 ]'
sed 's/^/  # /' "$log/td.log"
ok nonmember-refused 'cd / && ! as_nobody timeout 30 tapdump -i lo -c 1 >"$log/nb.log" 2>&1 &&
	grep -q "capture group" "$log/nb.log"'
sed 's/^/  # /' "$log/nb.log"

# Outside programs built against the installed libtap-dev.
ok consumer-pkgconfig-captures 'as_member "$cap_pc" lo 5'
ok consumer-cmake-captures 'as_member "$cap_cmake" lo 5'

# bpfcap from the package, outside any build tree: Debian's tcpdump on the
# private BSD libpcap, as the member.
ok bpfcap-tcpdump 'cd / && as_member timeout 30 bpfcap tcpdump -i lo -c 5 -w "$log/b.pcap" >"$log/bc.log" 2>&1 &&
	[ "$(tcpdump -r "$log/b.pcap" 2>/dev/null | wc -l)" = 5 ] &&
	as_member bpfcap tcpdump --version 2>&1 | grep -q "libpcap version 1.10"'
sed 's/^/  # /' "$log/bc.log"
ok bpfcap-mod-lists-bpf-devices 'as_member bpfcap --mod tcpdump -D 2>/dev/null | grep -q "bpf:lo"'
