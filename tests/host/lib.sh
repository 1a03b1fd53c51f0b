# Sourced by host test scripts (tests/host/**/*.test.sh): a scratch
# directory $tmp, removed at exit, and check NAME CONDITION, which prints
# "ok - NAME" or "not ok - NAME" and counts failures in $fails.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # name, command string
	if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi
}
