#!/bin/bash
# bench/api_workers.sh [SKYDIVE] - what the event loop does while a heavy Gremlin query
# runs: the latency of GET /api/status and of a light query, and how long a publisher
# takes to have N topology updates taken in, and when they are applied. Run it with the
# build before and after queries moved to workers to compare:
#   bench/api_workers.sh /path/to/old/skydive; bench/api_workers.sh build/skydive
# The heavy query walks a 20,000-node chain from every node until analyzer.gremlin.timeout
# (5 s here) stops it. Binds 127.0.0.1 only.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
SKYDIVE=${1:-$root/build/skydive}
N=${N:-2000}
tmp=$(mktemp -d)
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$tmp"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
A=127.0.0.1:$PORT
SKYDIVE_ANALYZER_ALLOW_ROOT=true SKYDIVE_ANALYZER_DATA_DIR=$tmp/data SKYDIVE_ANALYZER_GREMLIN_TIMEOUT=5 \
	"$SKYDIVE" analyzer --listen "$A" 2>"$tmp/log" &
P=$!
for _ in $(seq 100); do curl -sf "http://$A/api" >/dev/null && break; sleep 0.1; done
python3 - "$tmp" "$N" <<'EOF'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
nodes = [{"ID": f"c{i}", "Metadata": {"Name": f"c{i}", "Type": "device"}} for i in range(20000)]
edges = [{"ID": f"e{i}", "Parent": f"c{i}", "Child": f"c{i+1}", "Metadata": {"RelationType": "layer2"}} for i in range(19999)]
json.dump({"Nodes": nodes, "Edges": edges}, open(f"{d}/chain.json", "w"))
with open(f"{d}/upd.txt", "w") as f:
    for i in range(n):
        f.write(json.dumps({"Namespace": "Graph", "Type": "NodeAdded",
                            "Obj": {"ID": f"u{i}", "Metadata": {"Name": "upd", "Type": "device"}}}) + "\n")
EOF
"$SKYDIVE" client --analyzer "$A" topology import --file "$tmp/chain.json" >/dev/null
sleep 1
q() { curl -s -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/json' -d "{\"GremlinQuery\":\"$1\"}" "http://$A/api/topology"; }
HEAVY="G.V().Has('Type','device').ShortestPathTo(Metadata('Name','nowhere')).Count()"
t0=$(date +%s.%N)
(q "$HEAVY" >"$tmp/heavy"; date +%s.%N >"$tmp/heavy_end") &
H=$!
sleep 0.3
st=$(curl -s -o /dev/null -w '%{time_total}' "http://$A/api/status")
light=$(q "G.V().Has('Name','c42').Count()")
s0=$(date +%s.%N)
python3 "$root/tests/integration/ws_client.py" "$PORT" /ws/publisher --host-id bench --send "$tmp/upd.txt" --hold 0.01 >/dev/null 2>&1
s1=$(date +%s.%N)
st2=$(curl -s -o /dev/null -w '%{time_total}' "http://$A/api/status")
until curl -s -X POST -H 'Content-Type: application/json' -d "{\"GremlinQuery\":\"G.V().Has('Name','upd').Count()\"}" "http://$A/api/topology" | grep -qx "$N"; do sleep 0.05; done
s2=$(date +%s.%N)
wait $H
python3 - "$t0" "$(cat "$tmp/heavy_end")" "$st" "$light" "$s0" "$s1" "$st2" "$s2" "$N" "$(cat "$tmp/heavy")" <<'EOF'
import sys
t0, he, st, light, s0, s1, st2, s2, n, hv = sys.argv[1:]
t0, he, s0, s1, s2 = map(float, (t0, he, s0, s1, s2))
print(f"heavy query: {he - t0:.2f} s (its own time {float(hv):.2f} s)")
print(f"GET /api/status during it: {float(st) * 1000:.1f} ms; again after {n} updates: {float(st2) * 1000:.1f} ms")
print(f"light query during it: {float(light) * 1000:.1f} ms")
print(f"{n} updates taken in (publisher done): {s1 - s0:.2f} s; all applied and visible: {s2 - s0:.2f} s "
      f"(heavy query ended {he - s0:.2f} s after the first update)")
EOF
