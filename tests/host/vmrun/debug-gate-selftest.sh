#!/bin/bash
# Proof that the debug kernel's gate works: for each deliberate fault of the
# control module buggy/ (built against the debug kernel), scripts/vm-run
# --kernel debug must fail the run (exit 125) and show the matching report;
# "none" must pass (so the boot's allowed lines are all that is allowed).
#   debug-gate-selftest.sh [BUG...]   (default: all)
# Prints ok/not ok lines; exits non-zero on failure. Each case boots the
# debug kernel once (about a minute on 2 cores).
set -u
cd "$(dirname "$0")/../../.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
declare -A expect=(
	[none]=''
	[kasan]='BUG: KASAN: slab-out-of-bounds in buggy_kasan'
	[ubsan]='UBSAN: shift-out-of-bounds in '
	[atomic-sleep]='BUG: sleeping function called from invalid context'
	[lockdep]='WARNING: possible circular locking dependency detected'
	[kmemleak]='vm-run: kmemleak: unreferenced object'
)
bugs=("$@")
[ ${#bugs[@]} -gt 0 ] || bugs=(none kasan ubsan atomic-sleep lockdep kmemleak)
fails=0
result() { if [ "$2" = 0 ]; then echo "ok - debug-gate.$1"; else echo "not ok - debug-gate.$1"; fails=$((fails + 1)); fi; }

dbg=$(scripts/build-debug-kernel) || { result builds 1; exit 1; }
out=$BUILD/debug-gate/$(cat "$dbg/release")
mkdir -p "$out"
cp tests/host/vmrun/buggy/Kbuild tests/host/vmrun/buggy/buggy.c "$out/"
make -C "$dbg/kdir" M="$out" modules >"$out/build.log" 2>&1 || { cat "$out/build.log"; result builds 1; exit 1; }
t=$(mktemp -d /tmp/debug-gate.XXXXXX)
trap 'rm -rf "$t"' EXIT
for b in "${bugs[@]}"; do
	[ -n "${expect[$b]+x}" ] || { echo "unknown bug $b" >&2; result "$b" 1; continue; }
	# sleep: kmemleak reports only objects older than 5 s.
	scripts/vm-run --kernel debug --no-module --timeout 600 -- \
		sh -c "insmod $out/buggy.ko bug=$b && sleep 6" >"$t/out" 2>"$t/err" </dev/null
	rc=$?
	if [ "$b" = none ]; then
		[ $rc = 0 ]
	else
		[ $rc = 125 ] && grep -qF -- "${expect[$b]}" "$t/err"
	fi
	ok=$?
	[ $ok = 0 ] || { echo "  # $b: vm-run exit $rc"; sed 's/^/  # /' "$t/err" | head -60; }
	result "$b" $ok
done
[ $fails = 0 ]
