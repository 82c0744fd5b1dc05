#!/bin/bash
# Graph and Gremlin micro-benchmark (not part of the test suite):
#   bench/graph_bench.sh [nodes]       default 100000 nodes, twice as many edges
#   BASE=<commit> bench/graph_bench.sh also builds the library of <commit> (git archive into
#                                      a temporary tree, built there), links this same bench
#                                      with it, runs both in this run, turn about, and
#                                      prints the ratios new / base
# Knobs: BUILD (build), RUNS (1: runs of each; the best figure of the runs is kept),
#   KEEP_BASE (1: the base tree is kept, in the printed directory).
# Exit 0, 1 if a bench failed, 2 on a setup error.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-1}

# build_bench TREE BUILD OUT: the library of TREE and this bench linked with it
build_bench() {
	make -s -C "$1" UI=0 BUILD="$2" "$2/libskydive.a" ||
		{ echo "graph_bench.sh: make failed in $1" >&2; exit 2; }
	# the libraries the Makefile links with (LDLIBS): libskydive.a needs libpcap, zstd...
	local libs
	libs=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
		make -s --no-print-directory -C "$1" -f Makefile -f - print-ldlibs UI=0 BUILD="$2")
	(cd "$1" && cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$2/gen" -o "$3" \
		"$OLDPWD/bench/graph_bench.c" "$2/libskydive.a" $libs -lpthread -lm) ||
		{ echo "graph_bench.sh: cannot build graph_bench in $1" >&2; exit 2; }
}
build_bench . "$BUILD" "$PWD/$BUILD/graph_bench"
base_dir=
if [ -n "${BASE:-}" ]; then
	rev=$(git rev-parse --verify "$BASE^{commit}") ||
		{ echo "graph_bench.sh: BASE=$BASE is not a commit" >&2; exit 2; }
	base_dir=$(mktemp -d /tmp/graph-bench-base.XXXXXX)
	[ "${KEEP_BASE:-0}" = 1 ] || trap 'rm -rf "$base_dir"' EXIT
	git archive "$rev" | tar -x -C "$base_dir" ||
		{ echo "graph_bench.sh: git archive $rev failed" >&2; exit 2; }
	build_bench "$base_dir" build "$PWD/$BUILD/graph_bench.base"
fi

echo "# graph_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)${BASE:+, base $BASE ($(git rev-parse --short "$BASE"))}"
new_all= base_all=
for r in $(seq "$RUNS"); do
	out=$("$BUILD/graph_bench" "$@" 2>/dev/null) ||
		{ echo "$out"; echo "graph_bench.sh: the bench failed" >&2; exit 1; }
	[ "$r" = 1 ] && echo "$out" | grep -v '^key '
	new_all+="$out"$'\n'
	if [ -n "$base_dir" ]; then
		base=$("$BUILD/graph_bench.base" "$@" 2>/dev/null) ||
			{ echo "$base"; echo "graph_bench.sh: the baseline bench failed" >&2; exit 1; }
		base_all+="$base"$'\n'
	fi
done
# best KEY ALL: the lowest figure of KEY over the runs
best() { echo "$2" | awk -v k="$1" '$1 == "key" && $2 == k && (m == "" || $3 < m) {m = $3} END {print m}'; }
keys=$(echo "$new_all" | awk '$1 == "key" {print $2}' | sort -u)
echo
echo "# best of $RUNS run(s)"
for k in $keys; do echo "$k $(best "$k" "$new_all")"; done
if [ -n "$base_dir" ]; then
	echo
	echo "# baseline: $BASE, the same bench, the same run; ratio = new / base (< 1: smaller or faster)"
	for k in $keys; do
		awk -v k="$k" -v n="$(best "$k" "$new_all")" -v o="$(best "$k" "$base_all")" \
			'BEGIN {printf "ratio_%s %.2f (%s / %s)\n", k, (o > 0 ? n / o : 0), n, o}'
	done
fi
exit 0
