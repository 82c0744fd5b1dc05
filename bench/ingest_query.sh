#!/bin/bash
# bench/ingest_query.sh [SKYDIVE [BASE_SKYDIVE]] - flow ingest while heavy queries run:
# an agent's flow link (bench/flow_ws_send.c) sends RATE flow updates/s to /ws/agent/flow
# for SECS seconds, persistence on (the analyzer's defaults: the segment log in its
# data_dir, fsync every 1 s), while heavy Gremlin queries run one after another (a graph
# walk over a 20,000-node chain and a Flows() scan with an unindexed predicate). Reports
# the rate the sender kept, how far it fell behind (the analyzer not taking bytes in), the
# frames the analyzer dropped (Flows.IngestQueue.Dropped; "n/a" on a build without the
# queue), and the ingest rate (flow states stored / time to the last one stored).
# With BASE_SKYDIVE the same is run against that build too, for the ratio:
#   bench/ingest_query.sh build/skydive /tmp/ingest-base/build/skydive
# Knobs: RATE (200000), SECS (10), FLOWS (100000 distinct flows, 2 states each, cycled),
#   BUILD (build). Binds 127.0.0.1 only. Exit 0, 1 if a run failed, 2 on a setup error.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
SKYDIVE=${1:-$root/$BUILD/skydive}
BASE=${2:-}
RATE=${RATE:-200000}
SECS=${SECS:-10}
FLOWS=${FLOWS:-100000}
tmp=$(mktemp -d /tmp/ingest-query.XXXXXX)
P=
trap '[ -n "$P" ] && kill $P 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

make -s UI=0 "$BUILD/libskydive.a" || { echo "ingest_query.sh: make failed" >&2; exit 2; }
LIBS=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
	make -s --no-print-directory -f Makefile -f - print-ldlibs UI=0 BUILD="$BUILD")
for b in ingest_bench flow_ws_send; do
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/$b" bench/$b.c \
		"$BUILD/libskydive.a" $LIBS -lpthread -lm ||
		{ echo "ingest_query.sh: cannot build $b" >&2; exit 2; }
done
"$BUILD/ingest_bench" -f "$FLOWS" -r 2 -o "$tmp/frames.bin" >/dev/null ||
	{ echo "ingest_query.sh: cannot encode the frames" >&2; exit 2; }
python3 - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
nodes = [{"ID": f"c{i}", "Metadata": {"Name": f"c{i}", "Type": "device"}} for i in range(20000)]
edges = [{"ID": f"e{i}", "Parent": f"c{i}", "Child": f"c{i+1}", "Metadata": {"RelationType": "layer2"}} for i in range(19999)]
json.dump({"Nodes": nodes, "Edges": edges}, open(f"{d}/chain.json", "w"))
EOF

cat >"$tmp/report.py" <<'EOF'
import json, sys
s = json.load(sys.stdin)
l, t0, t1, sent = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
h = s.get("FlowStats", {}).get("bench-agent", {})
q = s.get("Flows", {}).get("IngestQueue")
st = s.get("Flows", {}).get("Storage", {})
m, f, rj = h.get("Messages", 0), h.get("Flows", 0), h.get("FlowsRejected", 0)
print(f"{l}_frames_received {m}")
print(f"{l}_flows_stored {f} (of {sent} sent)")
print(f"{l}_ingest_dropped_frames {q.get('Dropped') if q else 'n/a'}")
print(f"{l}_flows_rejected {rj}")
print(f"{l}_ingest_updates_per_s {f / (t1 - t0):.0f}")
print(f"{l}_drain_s {t1 - t0:.2f}")
print(f"{l}_persistent {st.get('Persistent')}")
EOF

# run LABEL SKYDIVE: prints "LABEL_key value" lines
run() {
	local label=$1 bin=$2 port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	local A=127.0.0.1:$port
	rm -rf "$tmp/data"
	SKYDIVE_ANALYZER_ALLOW_ROOT=true SKYDIVE_ANALYZER_DATA_DIR=$tmp/data \
		SKYDIVE_ANALYZER_GREMLIN_TIMEOUT=5 "$bin" analyzer --listen "$A" >"$tmp/log.$label" 2>&1 &
	P=$!
	for _ in $(seq 100); do curl -sf "http://$A/api" >/dev/null && break; sleep 0.1; done
	"$bin" client --analyzer "$A" topology import --file "$tmp/chain.json" >/dev/null 2>&1 ||
		{ echo "ingest_query.sh: $label: topology import failed" >&2; kill $P; wait $P; P=; return 1; }
	q() { curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' -d "{\"GremlinQuery\":\"$1\"}" "http://$A/api/topology"; }
	rm -f "$tmp/stop" "$tmp/heavy"
	(while [ ! -e "$tmp/stop" ]; do
		echo "graph:$(q "G.V().Has('Type','device').ShortestPathTo(Metadata('Name','nowhere')).Count()")" >>"$tmp/heavy"
		echo "flows:$(q "G.Flows().Has('Metric.ABBytes', GT(1000000000)).Count()")" >>"$tmp/heavy"
	done) &
	local H=$!
	echo "# $label: analyzer $P, queries $H" >&2
	sleep 0.5
	local t0 out
	t0=$(date +%s.%N)
	out=$("$BUILD/flow_ws_send" 127.0.0.1 "$port" "$tmp/frames.bin" "$RATE" "$SECS" bench-agent) ||
		{ echo "ingest_query.sh: $label: the analyzer said: $(tail -3 "$tmp/log.$label")" >&2; false; } ||
		{ echo "ingest_query.sh: $label: the sender failed" >&2; touch "$tmp/stop"; wait $H; kill $P; wait $P; P=; return 1; }
	local sent frames
	sent=$(echo "$out" | awk '$1 == "updates_sent" {print $2}')
	frames=$(echo "$out" | awk '$1 == "frames_sent" {print $2}')
	# every frame taken in (stored or dropped): FlowStats Messages + IngestQueue.Dropped
	local st done_t
	for _ in $(seq 600); do
		st=$(curl -s "http://$A/api/status")
		if echo "$st" | python3 -c '
import json, sys
s = json.load(sys.stdin); n = int(sys.argv[1])
m = s.get("FlowStats", {}).get("bench-agent", {}).get("Messages", 0)
d = s.get("Flows", {}).get("IngestQueue", {}).get("Dropped", 0)
sys.exit(0 if m + d >= n else 1)' "$frames"; then break; fi
		sleep 0.1
	done
	done_t=$(date +%s.%N)
	touch "$tmp/stop"
	wait $H
	echo "$out" | sed "s/^/${label}_sender_/"
	echo "$st" | python3 "$tmp/report.py" "$label" "$t0" "$done_t" "$sent"
	echo "${label}_heavy_queries $(wc -l <"$tmp/heavy") ($(sort "$tmp/heavy" | uniq -c | awk '{printf "%s x%s ", $2, $1}'): HTTP codes; the graph walk ends at the 5 s timeout, a 4xx)"
	kill $P 2>/dev/null
	wait $P 2>/dev/null
	P=
}

echo "# ingest_query $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $RATE updates/s for $SECS s"
run new "$SKYDIVE" >"$tmp/new.out" || { cat "$tmp/new.out"; exit 1; }
out=$(cat "$tmp/new.out")
echo "$out"
if [ -n "$BASE" ]; then
	run base "$BASE" >"$tmp/base.out" || { cat "$tmp/base.out"; exit 1; }
	base=$(cat "$tmp/base.out")
	echo "$base"
	n=$(echo "$out" | awk '$1 == "new_ingest_updates_per_s" {print $2}')
	o=$(echo "$base" | awk '$1 == "base_ingest_updates_per_s" {print $2}')
	awk -v n="$n" -v o="$o" 'BEGIN {if (o > 0) printf "ratio_ingest_updates_per_s %.2f (%s / %s)\n", n / o, n, o}'
fi
d=$(echo "$out" | awk '$1 == "new_ingest_dropped_frames" {print $2}')
s=$(echo "$out" | awk '$1 == "new_sender_updates_per_s" {print $2}')
if [ "$d" = 0 ] && awk "BEGIN {exit !($s >= 0.95 * $RATE)}"; then v=PASS; else v=MISS; fi
echo "# target: a heavy query running while agents send $RATE updates/s: no ingest drop (dropped $d, sender kept $s/s): $v"
exit 0
