#!/bin/sh
# ctest: install the build into a scratch prefix, then build an outside
# project against it twice: with find_package(libtap) and with pkg-config.
# Usage: run-consumer.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libtap.so' | head -1)")
export LD_LIBRARY_PATH="$libdir"

cmake -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
g++ -o "$tmp/pc-consumer" "$src/main.cpp" $(pkg-config --cflags --libs libtap)
"$tmp/pc-consumer"
