# Sourced by guest test scripts (tests/guest/**/*.test.sh) after they set T,
# the prefix of their test names. Gives: the repo as cwd, $BUILD, a scratch
# directory $tmp, ok NAME CONDITION (prints "ok - $T.NAME" or "not ok"),
# and veth_netns HERE THERE NS: a veth pair with THERE in a new namespace NS,
# both ends up, no IPv6 chatter, removed at exit with the namespace.
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
guest_cleanup=("rm -rf '$tmp'")
trap 'for c in "${guest_cleanup[@]}"; do eval "$c"; done' EXIT

ok() { if eval "$2"; then echo "ok - $T.$1"; else echo "not ok - $T.$1"; fi; }

veth_netns() {
	local here=$1 there=$2 ns=$3
	guest_cleanup+=("ip link del $here 2>/dev/null; ip netns del $ns 2>/dev/null")
	ip netns add "$ns"
	ip link add "$here" type veth peer name "$there"
	ip link set "$there" netns "$ns"
	sysctl -qw "net.ipv6.conf.$here.disable_ipv6=1"
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$there.disable_ipv6=1"
	ip link set "$here" up && ip -n "$ns" link set "$there" up
}
