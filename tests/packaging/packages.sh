#!/bin/bash
# make check group "packages" (scripts/check): build the Debian packages from a
# clean copy of the tree, install them on the host, test them in the guest
# (tests/packaging/guest.sh), purge them and check that nothing is left.
# Prints "ok - pkg.NAME" / "not ok - pkg.NAME". Needs root. Leaves the host
# as it found it, also on failure: the packages are purged, the test user
# removed, the access_bpf group removed if this run created it.
#
# The build reuses nothing built in build/: only the pristine Debian libpcap
# source that scripts/build-libpcap fetched there (LIBPCAP_SRCDIR), if any.
set -u
cd "$(dirname "$0")/../.."
REPO=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
T=pkg
ok() { if eval "$2"; then echo "ok - $T.$1"; else echo "not ok - $T.$1"; return 1; fi; }
PKGS="bpfdev-dkms libtap0 libtap-dev bpfdev-tools"
MEMBER=bpfdev-pkgtest
VER=$(sed -n 's/^project(bpfdev VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

if [ "$(id -u)" != 0 ]; then echo "not ok - $T.needs-root"; exit 1; fi
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		echo "not ok - $T.host-has-no-bpfdev-packages ($p is installed; this test would replace it)"
		exit 1
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bpfdev-pkg.XXXXXX")
chmod 755 "$work"	# the test user runs the consumers from here
group_existed=0
getent group access_bpf >/dev/null && group_existed=1
# DKMS makes its module-signing key on its first build on a machine; it is
# DKMS's (kept for every module, not removed with ours): removed at the end
# only if this run made it.
mok_existed=0
[ -e /var/lib/dkms/mok.key ] && mok_existed=1
cleanup() {
	local p installed=
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' && installed="$installed $p"
	done
	if [ -n "$installed" ]; then
		echo "  # cleanup: purging$installed"
		dpkg --purge $installed >"$work/cleanup-purge.log" 2>&1 || cat "$work/cleanup-purge.log"
	fi
	getent passwd "$MEMBER" >/dev/null && userdel "$MEMBER"
	[ $group_existed = 0 ] && getent group access_bpf >/dev/null && groupdel access_bpf
	[ $mok_existed = 0 ] && rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	rm -rf "$work"
}
trap cleanup EXIT

# Every path that installing/purging could touch (merged /usr: /lib is /usr/lib).
snapshot() {
	find /etc /usr /var/lib/dkms /opt -xdev \( -path /usr/lib/python3 -o -name __pycache__ \) -prune \
		-o -print 2>/dev/null | LC_ALL=C sort
}
snapshot >"$work/before.list"

# 1. Build from a copy of the tree (tracked and new files, nothing ignored).
mkdir "$work/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar -c --null -T - | tar -x -C "$work/src"
src=$(ls -d "$BUILD"/libpcap-src/libpcap-*/ 2>/dev/null | head -1)
start=$SECONDS
(
	cd "$work/src" &&
	${src:+env LIBPCAP_SRCDIR="$BUILD/libpcap-src"} \
		DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1
)
rc=$?
echo "  # dpkg-buildpackage: $((SECONDS - start)) s"
ok build '[ $rc = 0 ]'
[ $rc = 0 ] || tail -40 "$work/build.log" | sed 's/^/  # /'
debs=()
for p in $PKGS; do
	d=$(ls "$work"/${p}_*.deb 2>/dev/null | head -1)
	[ -n "$d" ] && debs+=("$d")
done
ok four-packages '[ ${#debs[@]} = 4 ]'
[ ${#debs[@]} = 4 ] || exit 1

# 2. What the packages hold.
contents() { dpkg-deb -c "$work/${1}_"*.deb | awk '{print $6}' | sed 's|^\./|/|'; }
# Every source Kbuild names (and its header, the ABI header, dkms.conf).
dkms_source_complete() {
	local f have
	have=$(contents bpfdev-dkms)
	for f in dkms.conf kmod/Kbuild $(grep -oE '[A-Za-z0-9_/-]+\.o' kmod/Kbuild | sed 's/\.o$/.c/') \
		$(cd kmod && ls *.h | sed 's|^|kmod/|') include/net/bpf.h; do
		case $f in *.c) [ -f "kmod/$f" ] || continue; f=kmod/$f ;; esac
		grep -qx "/usr/src/bpfdev-$VER/$f" <<<"$have" || { echo "  # missing $f"; return 1; }
	done
}
ok dkms-source-has-every-kbuild-file dkms_source_complete
ok dkms-conf-versioned 'dpkg-deb --fsys-tarfile "$work"/bpfdev-dkms_*.deb | tar -xO ./usr/src/bpfdev-$VER/dkms.conf |
	grep -qx "PACKAGE_VERSION=\"$VER\""'
ok dev-bpf-h-in-project-dir 'contents libtap-dev | grep -qx "/usr/include/bpfdev/net/bpf.h" &&
	! contents libtap-dev | grep -q "^/usr/include/net/"'
ok libtap0-soname 'contents libtap0 | grep -qE "^/usr/lib/[^/]+/libtap\.so\.0$"'
ok tools-private-libpcap 'contents bpfdev-tools | grep -qE "^/usr/lib/[^/]+/bpfdev/bsd/libpcap\.so\.0\.8$" &&
	contents bpfdev-tools | grep -qE "^/usr/lib/[^/]+/bpfdev/mod/libpcap\.so\.0\.8$"'

# 3. Lintian: no error or warning (overrides in debian/*.lintian-overrides).
lintian --fail-on error,warning "$work"/*.changes >"$work/lintian.log" 2>&1
rc=$?
sed 's/^/  # lintian: /' "$work/lintian.log"
ok lintian-clean '[ $rc = 0 ]'

# 4. Install. bpfdev-dkms's postinst builds the module for the kernels here.
dpkg -i "${debs[@]}" >"$work/install.log" 2>&1
rc=$?
sed -n '/Building\|Done\|rror/s/^/  # /p' "$work/install.log"
ok install '[ $rc = 0 ]'
[ $rc = 0 ] || { tail -40 "$work/install.log" | sed 's/^/  # /'; exit 1; }
for b in /lib/modules/*/build; do
	k=$(basename "$(dirname "$b")")
	ok "dkms-installed-$k" 'ls /lib/modules/$k/updates/dkms/bpfdev.ko* >/dev/null 2>&1 && dkms status -m bpfdev -v "$VER" -k "$k" | grep -q installed'
done
# (DKMS compresses the module as the kernel does: bpfdev.ko.xz on 6.12.)
# A kernel upgrade: the kernel's postinst hook (what installing a
# linux-image runs) rebuilds the module through AUTOINSTALL.
k=$(scripts/kernel-version)
dkms unbuild -m bpfdev -v "$VER" -k "$k" >"$work/unbuild.log" 2>&1
ok kernel-hook-rebuilds '! ls /lib/modules/$k/updates/dkms/bpfdev.ko* >/dev/null 2>&1 &&
	/etc/kernel/postinst.d/dkms "$k" >"$work/hook.log" 2>&1 &&
	ls /lib/modules/$k/updates/dkms/bpfdev.ko* >/dev/null 2>&1 && dkms status -m bpfdev -v "$VER" -k "$k" | grep -q installed' ||
	cat "$work/unbuild.log" "$work/hook.log" | tail -20 | sed 's/^/  # /'
ok group-created 'getent group access_bpf >/dev/null'
ok udev-rule-installed '[ -f /usr/lib/udev/rules.d/60-bpfdev.rules ]'

# 5. Outside programs built against the installed libtap-dev.
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group -G access_bpf "$MEMBER"
cp -r tests/packaging/consumer "$work/consumer"
ok consumer-pkgconfig-builds 'g++ -O2 -o "$work/capture-pc" "$work/consumer/capture.cpp" $(pkg-config --cflags --libs libtap) 2>"$work/pc.log"' ||
	sed 's/^/  # /' "$work/pc.log"
ok consumer-cmake-builds 'cmake -S "$work/consumer" -B "$work/cmake" >"$work/cm.log" 2>&1 && cmake --build "$work/cmake" >>"$work/cm.log" 2>&1' ||
	tail -20 "$work/cm.log" | sed 's/^/  # /'

# 6. In the guest.
(cd "$work" && timeout 900 "$REPO/scripts/vm-run" --no-module --timeout 600 -- \
	"$REPO/tests/packaging/guest.sh" "$MEMBER" "$work/capture-pc" "$work/cmake/capture") >"$work/guest.log" 2>&1
rc=$?
sed -E '/^(ok|not ok) - |^  # /!s/^/  # /' "$work/guest.log"
ok guest-run '[ $rc = 0 ]'

# 7. Purge: no file of the packages, no DKMS state, nothing else left.
userdel "$MEMBER"
dpkg --purge $PKGS >"$work/purge.log" 2>&1
rc=$?
ok purge '[ $rc = 0 ]'
[ $rc = 0 ] || tail -20 "$work/purge.log" | sed 's/^/  # /'
ok dkms-tree-clean '[ ! -e /var/lib/dkms/bpfdev ] && [ -z "$(dkms status -m bpfdev)" ] &&
	[ -z "$(ls /lib/modules/*/updates/dkms/bpfdev.ko* 2>/dev/null)" ]'
[ $group_existed = 0 ] && groupdel access_bpf
snapshot >"$work/after.list"
# Files that appeared and belong to no package (another apt-get on this
# machine meanwhile adds only owned files).
usr_merged() { sed -E 's#^/(lib|lib64|bin|sbin)(/|$)#/usr/\1\2#'; }
cat /var/lib/dpkg/info/*.list | usr_merged | LC_ALL=C sort -u >"$work/owned.list"
LC_ALL=C comm -13 "$work/before.list" "$work/after.list" | LC_ALL=C comm -23 - "$work/owned.list" |
	grep -vxE '/var/lib/dkms/mok\.(key|pub)' >"$work/left.list"
sed 's/^/  # left behind: /' "$work/left.list"
ok purge-leaves-nothing '[ ! -s "$work/left.list" ]'
ok host-as-before '! getent passwd "$MEMBER" >/dev/null && { [ $group_existed = 1 ] || ! getent group access_bpf >/dev/null; }'
