#!/bin/bash
# store_bench.sh - the flow store on disk against the in-memory path, in the same run:
# ingest rate, bytes on disk per flow update, an indexed query, an unindexed scan and
# the restart time; see bench/store_bench.c.
#
#   bench/store_bench.sh                    200,000 flows x 5 states = 1 M flow updates
#   FLOWS=2000000 ROUNDS=5 bench/store_bench.sh
#   BASE=/tmp/base bench/store_bench.sh    also runs the same bench against the tree in
#                                           /tmp/base (e.g. `git archive <commit> | tar -x
#                                           -C /tmp/base`), built there, and prints ratios
# Knobs: FLOWS (200000), ROUNDS (5), DIR (the data directory, default a new one under
#   /tmp, removed after), CORE (1, or 0 on a 1-CPU machine; none = no pinning), BUILD.
# Prints the bench's "key value" lines, then the targets of issue 10 (informational:
# exit 0 either way; 1 if the bench failed, 2 on a setup error).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FLOWS=${FLOWS:-200000}
ROUNDS=${ROUNDS:-5}
if [ -z "${CORE:-}" ]; then
	if [ "$(nproc)" -gt 1 ]; then CORE=1; else CORE=0; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi
own_dir=0
if [ -z "${DIR:-}" ]; then DIR=$(mktemp -d /tmp/store-bench.XXXXXX); own_dir=1; fi
trap '[ "$own_dir" = 1 ] && rm -rf "$DIR"' EXIT

# build_bench TREE BUILD OUT: the library of TREE and this bench linked with it
build_bench() {
	make -s -C "$1" UI=0 BUILD="$2" "$2/libskydive.a" ||
		{ echo "store_bench.sh: make failed in $1" >&2; exit 2; }
	local libs
	libs=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
		make -s --no-print-directory -C "$1" -f Makefile -f - print-ldlibs UI=0 BUILD="$2")
	(cd "$1" && cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$2/gen" -o "$3" \
		"$OLDPWD/bench/store_bench.c" "$2/libskydive.a" $libs -lpthread -lm) ||
		{ echo "store_bench.sh: cannot build store_bench in $1" >&2; exit 2; }
}
build_bench . "$BUILD" "$PWD/$BUILD/store_bench"
if [ -n "${BASE:-}" ]; then build_bench "$BASE" build "$PWD/$BUILD/store_bench.base"; fi

echo "# store_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), core ${CORE}, $(df -T "$DIR" | awk 'NR==2 {print $2}') in $DIR"
# each bench in its own subdirectory of DIR
run() { mkdir -p "$DIR/$2" && "${PIN[@]}" "$1" -d "$DIR/$2" -f "$FLOWS" -r "$ROUNDS" 2>/dev/null; }
out=$(run "$BUILD/store_bench" new) ||
	{ echo "$out"; echo "store_bench.sh: the bench failed" >&2; exit 1; }
echo "$out"
v() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
if [ -n "${BASE:-}" ]; then
	base=$(run "$BUILD/store_bench.base" base) ||
		{ echo "$base"; echo "store_bench.sh: the baseline bench failed" >&2; exit 1; }
	echo
	echo "# baseline: $BASE, the same bench, the same run"
	echo "$base" | sed 's/^/base_/'
	b() { echo "$base" | awk -v k="$1" '$1 == k {print $2}'; }
	echo
	for k in memory_updates_per_s disk_updates_per_s; do
		awk -v k="$k" -v n="$(v $k)" -v o="$(b $k)" 'BEGIN {printf "ratio_%s %.2f (%s / %s)\n", k, n / o, n, o}'
	done
fi
echo
t() { if awk "BEGIN {exit !($2)}"; then r=PASS; else r=MISS; fi; echo "# target: $1: $r"; }
t ">= 1 M flow updates/s with persistence on one core ($(v disk_updates_per_s))" "$(v disk_updates_per_s) >= 1000000"
t "<= 64 B on disk per flow update ($(v disk_bytes_per_flow_update))" "$(v disk_bytes_per_flow_update) <= 64"
t "indexed query < 50 ms over $(v disk_flow_states) updates ($(v indexed_query_ms_median) ms)" "$(v indexed_query_ms_median) < 50"
t "unindexed scan >= 20 M flows/s per core ($(v scan_records_per_cpu_s))" "$(v scan_records_per_cpu_s) >= 20000000"
t "restart answering < 5 s ($(v restart_first_answer_s) s)" "$(v restart_first_answer_s) < 5"
exit 0
