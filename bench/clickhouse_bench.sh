#!/bin/bash
# clickhouse_bench.sh - the ClickHouse flow backend against the embedded log, in the same
# run (bench/store_bench.c -c): states/s until ClickHouse holds them all, the analyzer's CPU
# per state, and G.At()'s Has('Network', IP) answered by ClickHouse over every state. Starts
# its own ClickHouse (tests/integration/lib/clickhouse.sh) on loopback, removed after.
#
#   bench/clickhouse_bench.sh                 200,000 flows x 5 states = 1 M flow states
#   FLOWS=2000000 ROUNDS=5 bench/clickhouse_bench.sh
#   STORED=100000000 bench/clickhouse_bench.sh   100 M flows written to ClickHouse only
#       (no embedded-log comparison: it would hold them all in memory), their Start spread
#       over SPREAD seconds (36000), then G.At(t, 3600).Flows().Has('Network', IP) over
#       them; about 7 GB of ClickHouse data and 10 minutes here
# Knobs: FLOWS (200000), ROUNDS (5), CORE (the core the analyzer side is pinned to: 1, or
#   none), BUILD. ClickHouse runs unpinned: on a 2-core machine it shares the other core.
# Prints the bench's "key value" lines (informational: exit 0; 1 if the bench failed, 2 on
# a setup error).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
FLOWS=${FLOWS:-200000}
ROUNDS=${ROUNDS:-5}
if [ -z "${CORE:-}" ]; then
	if [ "$(nproc)" -gt 1 ]; then CORE=1; else CORE=none; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi
command -v clickhouse-server >/dev/null || { echo "clickhouse_bench.sh: clickhouse-server missing (scripts/install-deps.sh)" >&2; exit 2; }
DIR=$(mktemp -d /tmp/ch-bench.XXXXXX)
CH_PID=
trap '[ -n "$CH_PID" ] && kill -9 "$CH_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
. tests/integration/lib/clickhouse.sh
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(port)
ch_start "$DIR/ch" "$HTTP" "$(port)" >&2 || exit 2

make -s UI=0 BUILD="$BUILD" "$BUILD/libskydive.a" || exit 2
libs=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' | make -s --no-print-directory -f Makefile -f - print-ldlibs UI=0 BUILD="$BUILD")
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/store_bench" bench/store_bench.c \
	"$BUILD/libskydive.a" $libs -lpthread -lm || exit 2

echo "# clickhouse_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), analyzer side on core ${CORE}, ClickHouse $(curl -s "http://127.0.0.1:$HTTP/" --data-binary 'SELECT version()')"
mkdir -p "$DIR/store"
if [ -n "${STORED:-}" ]; then
	ARGS=(-f "$STORED" -r 1 -C -s "${SPREAD:-36000}")
else
	ARGS=(-f "$FLOWS" -r "$ROUNDS")
fi
"${PIN[@]}" "$BUILD/store_bench" -d "$DIR/store" "${ARGS[@]}" -c "http://127.0.0.1:$HTTP" 2>&1 ||
	{ echo "clickhouse_bench.sh: the bench failed" >&2; exit 1; }
echo "clickhouse_rows $(curl -s "http://127.0.0.1:$HTTP/" --data-binary 'SELECT count() FROM skbench.flows')"
echo "clickhouse_bytes_on_disk $(curl -s "http://127.0.0.1:$HTTP/" --data-binary "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'skbench' AND active")"
exit 0
