#!/bin/bash
# Host-side checks of scripts/vm-run with --no-module (no kmod/ build needed):
# exit status, stdout/stderr separation, the dmesg gate, the time limit,
# environment pass-through. Prints ok/not ok lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/../../.." || exit 1
vm=scripts/vm-run
t=$(mktemp -d /tmp/vmrun-selftest.XXXXXX)
trap 'rm -rf "$t"' EXIT
fails=0
result() { if [ "$2" = 0 ]; then echo "ok - vmrun.$1"; else echo "not ok - vmrun.$1"; fails=$((fails + 1)); fi; }

$vm --no-module -- sh -c 'echo out; echo err >&2; exit 3' >"$t/out" 2>"$t/err" </dev/null
rc=$?
result exit-status "$([ $rc = 3 ]; echo $?)"
result stdout-separate "$([ "$(cat "$t/out")" = out ]; echo $?)"
result stderr-separate "$(grep -qx err "$t/err" && ! grep -q out "$t/err"; echo $?)"

$vm --no-module -- sh -c 'seq 1 100000; seq 1 50000 >&2' >"$t/out" 2>"$t/err" </dev/null
result large-output "$(seq 1 100000 | cmp -s - "$t/out" && seq 1 50000 | cmp -s - "$t/err"; echo $?)"

BPFDEV_SELFTEST=x\ y BUILD=build OTHER=z $vm --no-module -- sh -c 'echo "$BPFDEV_SELFTEST|$BUILD|${OTHER:-}|$HOME|$(pwd)"' >"$t/out" </dev/null
result environment "$([ "$(cat "$t/out")" = "x y|build||/root|$PWD" ]; echo $?)"

$vm --no-module -- sh -c 'echo "WARNING: vm-run selftest" >/dev/kmsg' >"$t/out" 2>"$t/err" </dev/null
rc=$?
result dmesg-gate "$([ $rc = 125 ] && grep -q 'WARNING: vm-run selftest' "$t/err"; echo $?)"

$vm --no-module --timeout 20 -- sleep 600 >"$t/out" 2>"$t/err" </dev/null
rc=$?
result timeout "$([ $rc = 124 ]; echo $?)"

$vm --no-module -- /nonexistent/command >/dev/null 2>&1 </dev/null
rc=$?
result missing-command "$([ $rc = 127 ]; echo $?)"

# A guest that crashes before the boot is over is booted again (twice at
# most); the crash is reported, and COMMAND runs once.
VMRUN_TEST_CRASH_BOOT=1 $vm --no-module -- sh -c 'echo ran' >"$t/out" 2>"$t/err" </dev/null
rc=$?
result boot-retry "$([ $rc = 0 ] && [ "$(cat "$t/out")" = ran ] && grep -q 'crashed while booting' "$t/err" &&
	grep -q 'sysrq triggered crash' "$t/err"; echo $?)"
VMRUN_TEST_CRASH_BOOT=3 $vm --no-module -- sh -c 'echo ran' >"$t/out" 2>"$t/err" </dev/null
rc=$?
result boot-retry-gives-up "$([ $rc = 125 ] && [ ! -s "$t/out" ] && [ "$(grep -c 'crashed while booting' "$t/err")" = 2 ] &&
	grep -q 'guest kernel panic' "$t/err"; echo $?)"
# A crash after the boot (here: in COMMAND) is the run's: no second boot.
$vm --no-module -- sh -c 'echo c >/proc/sysrq-trigger' >"$t/out" 2>"$t/err" </dev/null
rc=$?
result no-retry-after-boot "$([ $rc = 125 ] && ! grep -q 'crashed while booting' "$t/err" &&
	grep -q 'guest kernel panic' "$t/err"; echo $?)"

[ $fails = 0 ]
