#!/bin/sh
# ctest wrapper: a short bounded libFuzzer run over a corpus kept in the
# build tree. Usage: run-fuzz.sh FUZZER CORPUS_DIR SECONDS
set -e
mkdir -p "$2"
exec "$1" -max_total_time="$3" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "$2"
