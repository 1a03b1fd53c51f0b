#!/bin/sh
# ctest: install libtap's components (runtime, development: what libtap0 and
# libtap-dev hold) into a scratch prefix, then build an outside project
# against it twice: with find_package(libtap) and with pkg-config.
# Usage: run-consumer.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
for c in runtime development; do
	cmake --install "$build" --prefix "$prefix" --component $c >/dev/null
done
libdir=$(dirname "$(find "$prefix" -name 'libtap.so' | head -1)")
export LD_LIBRARY_PATH="$libdir"
# <net/bpf.h> only in the project include directory, never the global one.
[ -f "$prefix/include/bpfdev/net/bpf.h" ] && [ ! -e "$prefix/include/net" ]

cmake -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
g++ -o "$tmp/pc-consumer" "$src/main.cpp" $(pkg-config --cflags --libs libtap)
"$tmp/pc-consumer"
