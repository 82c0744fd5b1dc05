#!/bin/bash
# Graph and Gremlin micro-benchmark (not part of the test suite):
#   bench/graph_bench.sh [nodes]   (default 100000 nodes, twice as many edges)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s "$BUILD/libskydive.a"
LIBS=$(pkg-config --libs jansson libxxhash 2>/dev/null || echo -ljansson -lxxhash)
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -o "$BUILD/graph_bench" bench/graph_bench.c \
	"$BUILD/libskydive.a" $LIBS -lpthread -lm
"$BUILD/graph_bench" "$@"
