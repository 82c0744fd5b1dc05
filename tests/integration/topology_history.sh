#!/bin/bash
# topology_history.sh - the topology history on disk: a publisher adds a host, two
# interfaces and a link through /ws/publisher, then removes one interface; the analyzer
# (analyzer.data_dir in $tmp) is killed with SIGKILL and restarted: G.At(a time before the
# removal) still finds the removed interface, the live graph is empty (no agent synced
# again), and G.At('-2d') answers. Then a torn record is appended to the newest log file:
# the next start cuts it with a log line naming the file and offset, and keeps the rest.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
# Binds 127.0.0.1 only. SKYDIVE selects the binary (e.g. an ASan build).
set -u
. "$(dirname "$0")/lib/harness.sh"
WS="$PYTHON $root/tests/integration/ws_client.py"
DATA=$tmp/data
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
P=th$$
now_ms() { date +%s%3N; }
q() { curl -s -H 'Content-Type: application/json' -d "$(printf '{"GremlinQuery": "%s"}' "$1")" "$URL/api/topology"; }
pub() {
	printf '%s\n' "$@" >"$tmp/pub.in"
	$WS "$PORT" /ws/publisher --host-id pub1 --send "$tmp/pub.in" --no-read --hold 0.3 \
		>/dev/null 2>&1
}
# start LOG: the analyzer on $PORT with the data directory; $apid.
start() {
	SKYDIVE_ANALYZER_DATA_DIR=$DATA "$SKYDIVE" analyzer --listen "127.0.0.1:$PORT" \
		2>"$1" &
	apid=$!
	pids+=("$apid")
	wait_api "$PORT"
}
# kill9: SIGKILL, as a crash.
kill9() {
	kill -KILL "$apid" 2>/dev/null
	wait "$apid" 2>/dev/null
}

if ! start "$tmp/a1.log"; then
	ko start "no analyzer: $(head -c 300 "$tmp/a1.log")"
	finish
fi
ok start
check data-dir "no $DATA/topology: $(ls -la "$DATA" 2>&1)" test -d "$DATA/topology"
pub '{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"'$P'-host","Host":"pub1","Metadata":{"Name":"'$P'-host","Type":"host"}}}' \
	'{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"'$P'-a","Host":"pub1","Metadata":{"Name":"'$P'-a","Type":"veth","MAC":"02:00:00:00:00:0a"}}}' \
	'{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"'$P'-b","Host":"pub1","Metadata":{"Name":"'$P'-b","Type":"veth"}}}' \
	'{"Namespace":"Graph","Type":"EdgeAdded","Obj":{"ID":"'$P'-e","Parent":"'$P'-host","Child":"'$P'-a","Metadata":{"RelationType":"ownership"}}}'
q "G.V().Has('Name', '$P-a').Count()" >"$tmp/o"
check published "$(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"
sleep 0.3
T1=$(now_ms)
sleep 0.3
pub '{"Namespace":"Graph","Type":"NodeDeleted","Obj":{"ID":"'$P'-a"}}'
q "G.V().Has('Name', '$P-a').Count()" >"$tmp/o"
check removed "$(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
q "G.At($T1).V().Has('Name', '$P-a').Count()" >"$tmp/o"
check at-before-restart "$(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"
# past the 1 s sync window, then a crash
sleep 1.5
TK=$(now_ms)
kill9

if ! start "$tmp/a2.log"; then
	ko restart "no analyzer: $(head -c 300 "$tmp/a2.log")"
	finish
fi
check replay-logged "$(cat "$tmp/a2.log")" grep -q "topology history: .* revisions restored" "$tmp/a2.log"
q "G.At($T1).V().Has('Name', '$P-a')" >"$tmp/o"
check at-after-crash "$(head -c 300 "$tmp/o")" \
	jtest 'len(j)==1 and j[0]["ID"]=="'$P'-a" and j[0]["Metadata"]["MAC"]=="02:00:00:00:00:0a" and j[0]["Host"]=="pub1"' <"$tmp/o"
q "G.At($T1).V().Has('Name', '$P-host').Out().Values('Name')" >"$tmp/o"
check at-after-crash-edge "$(cat "$tmp/o")" jtest 'j==["'$P'-a"]' <"$tmp/o"
curl -s "$URL/api/status" |
	"$PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("TopologyHistory")))' >"$tmp/o"
# Start, 3 nodes and an edge added, the edge and a node deleted: 7 records
check status "$(cat "$tmp/o")" \
	jtest 'j["Persisted"] and j["Replayed"]==7 and j["Skipped"]==0 and j["Dir"]=="'$DATA/topology'" and j["Files"]==2' <"$tmp/o"
q "G.V().Count()" >"$tmp/o"
check live-empty "$(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
q "G.At('-2d').V().Count()" >"$tmp/o"
check at-2d "$(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
q "G.At($TK).V().Has('Name', '$P-b').Count()" >"$tmp/o"
check at-until-restart "b was there when the analyzer died: $(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"

# a torn write at the end of the newest file
sleep 1.5
kill9
newest=$(ls "$DATA/topology"/topology-*.log | sort | tail -1)
size=$(stat -c %s "$newest")
printf 'STR1\000\000\001\000abcd{"Op":"NodeAdd' >>"$newest"
if ! start "$tmp/a3.log"; then
	ko restart-torn "no analyzer: $(head -c 300 "$tmp/a3.log")"
	finish
fi
check torn-cut-logged "$(cat "$tmp/a3.log")" \
	grep -q "$newest: torn tail at offset $size cut" "$tmp/a3.log"
check torn-cut-size "$(stat -c %s "$newest") != $size" test "$(stat -c %s "$newest")" = "$size"
q "G.At($T1).V().Has('Name', '$P-a').Count()" >"$tmp/o"
check at-after-torn "$(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"

kill -TERM "$apid"
wait "$apid"
rc=$?
check clean-exit "exit $rc" test $rc = 0
finish
