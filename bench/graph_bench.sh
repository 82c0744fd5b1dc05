#!/bin/bash
# Graph and Gremlin micro-benchmark (not part of the test suite):
#   bench/graph_bench.sh [nodes]   (default 100000 nodes, twice as many edges)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s UI=0 "$BUILD/libskydive.a"
# the libraries the Makefile links with (LDLIBS): libskydive.a needs libpcap, zstd... too
LIBS=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
	make -s --no-print-directory -f Makefile -f - print-ldlibs BUILD="$BUILD")
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/graph_bench" \
	bench/graph_bench.c "$BUILD/libskydive.a" $LIBS -lpthread -lm
"$BUILD/graph_bench" "$@"
