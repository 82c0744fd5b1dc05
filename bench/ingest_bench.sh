#!/bin/bash
# ingest_bench.sh - the analyzer's flow ingest rate on one core: protobuf flow.Message
# frames (100 flows each, made by a flow table and flow_pb as an agent makes them)
# through flow_ingest_frame() into the flow store; see bench/ingest_bench.c.
#
#   bench/ingest_bench.sh                 2,000,000 updates over 200,000 UUIDs
#   UPDATES=5000000 FLOWS=500000 bench/ingest_bench.sh
# Knobs: UPDATES (2000000), FLOWS (200000), ROUNDS (2: distinct states per UUID encoded),
#   CORE (1, or 0 on a 1-CPU machine; none = no pinning), BUILD (build dir, default build),
#   DIR (the ingest phase's store persistent there: a new directory, removed after;
#   DISK=0: memory only), PERF=1 also records `perf record -g` of the run and prints the top symbols.
# Prints the bench's "key value" lines, then the target check
# ">= 200k flow updates/s on one core" (informational: exit 0 either way; 1 if the bench
# failed, 2 on a setup error).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
UPDATES=${UPDATES:-2000000}
FLOWS=${FLOWS:-200000}
ROUNDS=${ROUNDS:-2}
PERF=${PERF:-0}
if [ -z "${CORE:-}" ]; then
	if [ "$(nproc)" -gt 1 ]; then CORE=1; else CORE=0; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi

make -s UI=0 "$BUILD/libskydive.a" || { echo "ingest_bench.sh: make failed" >&2; exit 2; }
# the libraries the Makefile links with (LDLIBS)
LIBS=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
	make -s --no-print-directory -f Makefile -f - print-ldlibs UI=0 BUILD="$BUILD")
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/ingest_bench" \
	bench/ingest_bench.c "$BUILD/libskydive.a" $LIBS -lpthread -lm ||
	{ echo "ingest_bench.sh: cannot build ingest_bench" >&2; exit 2; }

DISK=${DISK:-1}
DARGS=()
if [ "$DISK" = 1 ]; then
	DIR=${DIR:-$(mktemp -d /tmp/ingest-bench.XXXXXX)}
	trap 'rm -rf "$DIR"' EXIT
	DARGS=(-d "$DIR")
fi
echo "# ingest_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), core ${CORE}"
out=$("${PIN[@]}" "$BUILD/ingest_bench" -u "$UPDATES" -f "$FLOWS" -r "$ROUNDS" "${DARGS[@]}") ||
	{ echo "$out"; echo "ingest_bench.sh: the bench failed" >&2; exit 1; }
echo "$out"
rate=$(echo "$out" | awk '$1 == "ingest_updates_per_s" {print $2}')
echo
if [ "${rate:-0}" -ge 200000 ]; then v=PASS; else v=MISS; fi
echo "# target: >= 200k flow updates/s on one core: ${rate:-?} updates/s: $v"
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
	perf record -q -g -o "$BUILD/ingest_bench.perf" -- "${PIN[@]}" "$BUILD/ingest_bench" \
		-u "$UPDATES" -f "$FLOWS" -r "$ROUNDS" >/dev/null 2>&1
	perf report -i "$BUILD/ingest_bench.perf" --no-children --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -25
fi
exit 0
