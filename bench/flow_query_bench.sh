#!/bin/bash
# flow_query_bench.sh - Gremlin flow queries over the store (bench/flow_query_bench.c)
# with this tree's build and a baseline's, in the same run, and their ratios.
#
#   bench/flow_query_bench.sh                 200,000 flows, baseline = merge-base with main
#   FLOWS=1000000 BASE=<commit> bench/flow_query_bench.sh
# Knobs: FLOWS (200000), RUNS (7), BASE (the baseline commit; default
#   `git merge-base HEAD main`), BASEDIR (/tmp/flow-query-base: its tree and build, kept
#   so a second run does not rebuild), CORE (1, or 0 on a 1-CPU machine; none = no pinning).
# Exit 0, or 1 if a bench failed, 2 on a setup error.
set -u
cd "$(dirname "$0")/.."
FLOWS=${FLOWS:-200000}
RUNS=${RUNS:-7}
BASE=${BASE:-$(git merge-base HEAD main 2>/dev/null)}
BASEDIR=${BASEDIR:-/tmp/flow-query-base}
if [ -z "${CORE:-}" ]; then
	if [ "$(nproc)" -gt 1 ]; then CORE=1; else CORE=0; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi
[ -n "$BASE" ] || { echo "flow_query_bench.sh: no baseline commit (BASE)" >&2; exit 2; }
DIR=$(mktemp -d /tmp/flow-query-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

# build: tree dir, output binary
build() {
	local tree=$1 out=$2
	(cd "$tree" && make -s -j2 UI=0 build/libskydive.a) || return 1
	local libs
	libs=$(cd "$tree" && echo 'print-ldlibs: ; @echo $(LDLIBS)' |
		make -s --no-print-directory -f Makefile -f - print-ldlibs UI=0)
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -I"$tree/src" -I"$tree/build/gen" -o "$out" \
		bench/flow_query_bench.c "$tree/build/libskydive.a" $libs -lpthread -lm
}

if [ ! -f "$BASEDIR/.base-$BASE" ]; then
	rm -rf "$BASEDIR" && mkdir -p "$BASEDIR" &&
		git archive "$BASE" | tar -x -C "$BASEDIR" && touch "$BASEDIR/.base-$BASE" ||
		{ echo "flow_query_bench.sh: cannot extract $BASE" >&2; exit 2; }
fi
build "$BASEDIR" "$DIR/bench-base" || { echo "flow_query_bench.sh: baseline build failed" >&2; exit 2; }
build . "$DIR/bench-new" || { echo "flow_query_bench.sh: build failed" >&2; exit 2; }

echo "# flow_query_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), core ${CORE}, baseline $(git rev-parse --short "$BASE"), this $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +changes)"
mkdir -p "$DIR/b" "$DIR/n"
base=$("${PIN[@]}" "$DIR/bench-base" -n "$FLOWS" -r "$RUNS" -d "$DIR/b" 2>/dev/null) ||
	{ echo "flow_query_bench.sh: the baseline bench failed" >&2; exit 1; }
new=$("${PIN[@]}" "$DIR/bench-new" -n "$FLOWS" -r "$RUNS" -d "$DIR/n" 2>/dev/null) ||
	{ echo "flow_query_bench.sh: the bench failed" >&2; exit 1; }
printf '%-34s %12s %12s %8s\n' key baseline new ratio
join <(echo "$base" | sort) <(echo "$new" | sort) | while read -r k b n; do
	if [[ $k == *_ms ]]; then
		r=$(awk -v b="$b" -v n="$n" 'BEGIN {printf (n > 0 ? "%.1fx" : "-"), b / n}')
	else
		r=$([ "$b" = "$n" ] && echo same || echo DIFF)
	fi
	printf '%-34s %12s %12s %8s\n' "$k" "$b" "$n" "$r"
done
exit 0
