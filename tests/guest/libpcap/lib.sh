# Shared by tests/guest/libpcap/*.test.sh (sourced, runs in the guest).
# A veth pair: pc0 in the guest's namespace (captured), pc1 in namespace
# "pcpeer" (sends). IPv6 off and static neighbours, so the only frames on
# the wire are the ones a test sends and the kernel's answers to them.
cd "$(dirname "$0")/../../.."
ROOT=$PWD
BUILD=${BUILD:-build}
export BUILD
PATH="$ROOT/utils:$PATH"
PY=/usr/bin/python3
TOOL="$PY $ROOT/tests/guest/libpcap/pcaptool.py"
T=$(mktemp -d /tmp/pcaptest.XXXXXX)
GROUP=${GROUP:-libpcap}
# Diagnostics (note, say) are kept and shown only when the next check fails,
# or always with BPFDEV_VERBOSE=1, so a passing run stays quiet.
ok() {
	if eval "$2"; then
		echo "ok - $GROUP.$1"
		[ "${BPFDEV_VERBOSE:-0}" = 1 ] && cat "$T/notes" 2>/dev/null
	else
		echo "not ok - $GROUP.$1"
		cat "$T/notes" 2>/dev/null
	fi
	: >"$T/notes"
}
note() { sed 's/^/  # /' "$@" >>"$T/notes"; }
say() { echo "  # $*" >>"$T/notes"; }

net_up() {
	ip netns add pcpeer
	ip link add pc0 type veth peer name pc1
	ip link set pc1 netns pcpeer
	sysctl -qw net.ipv6.conf.pc0.disable_ipv6=1
	ip netns exec pcpeer sysctl -qw net.ipv6.conf.pc1.disable_ipv6=1
	ip addr add 10.97.0.1/24 dev pc0
	ip -n pcpeer addr add 10.97.0.2/24 dev pc1
	MAC0=$(cat /sys/class/net/pc0/address)
	MAC1=$(ip netns exec pcpeer cat /sys/class/net/pc1/address)
	ip neigh replace 10.97.0.2 lladdr "$MAC1" dev pc0 nud permanent
	ip -n pcpeer neigh replace 10.97.0.1 lladdr "$MAC0" dev pc1 nud permanent
	ip link set pc0 up
	ip -n pcpeer link set pc1 up
	sleep 0.5
}
net_down() {
	ip link del pc0 2>/dev/null
	ip netns del pcpeer 2>/dev/null
}
# frames from the peer to pc0
peer_send() { ip netns exec pcpeer env PEER_MAC="$MAC0" $TOOL send pc1 "$@"; }

# start NAME CMD...: run a capture in the background, stderr in $T/NAME.err;
# waits until it says it is listening (or dies).
PIDS=""
start() {
	local name=$1; shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	eval "PID_$name=$!"
	PIDS="$PIDS $!"
	local i
	for i in $(seq 1 100); do
		grep -qi 'listening on' "$T/$name.err" "$T/$name.out" 2>/dev/null && return 0
		kill -0 $! 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# stop NAME...: SIGINT and wait (bounded)
stop() { stopsig INT "$@"; }
# stopsig SIG NAME...: the same with another signal. A background job of a
# non-interactive shell starts with SIGINT ignored, so a program that sets
# no SIGINT handler of its own (selpolltest) needs TERM, or each stop waits
# out its bound.
stopsig() {
	local sig=$1 n p
	shift
	for n in "$@"; do eval "p=\$PID_$n"; kill -"$sig" "$p" 2>/dev/null; done
	for n in "$@"; do
		eval "p=\$PID_$n"
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
