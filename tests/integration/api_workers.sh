#!/bin/bash
# api_workers.sh - queries off the event loop (issue 10, docs/API.md "Limits"): while a
# heavy Gremlin query runs on a worker, /api/status and a light query answer (the light
# answer arrives first), topology updates are taken in and applied once the query lets go,
# and a query sent after them sees them;
# beyond the query queue a 503 with a reason and Retry-After; a client that leaves
# mid-query has its answer dropped and counted, and the analyzer lives; a filtered
# subscriber's re-evaluation runs on a worker. Order and counters
# are asserted, never timings. Binds 127.0.0.1 only. Also meant for the ASan build:
# SKYDIVE=build-asan/skydive (the analyzer's log is checked for sanitizer reports).
set -u
. "$(dirname "$0")/lib/harness.sh"
WS="$PYTHON $root/tests/integration/ws_client.py"
export SKYDIVE_ANALYZER_ALLOW_ROOT=true # the suite runs as root; the analyzer refuses it otherwise
export TMPDIR=$tmp/t
mkdir -p "$TMPDIR"

PORT=$(free_port)
A=127.0.0.1:$PORT
# 2 workers, 1 query waiting at most; a heavy query runs until the 6 s bound stops it
SKYDIVE_ANALYZER_DATA_DIR=$tmp/data SKYDIVE_ANALYZER_QUERY_WORKERS=2 \
	SKYDIVE_ANALYZER_QUERY_QUEUE=1 SKYDIVE_ANALYZER_GREMLIN_TIMEOUT=6 \
	"$SKYDIVE" analyzer --listen "$A" 2>"$tmp/analyzer.log" &
MAIN=$!
pids+=("$MAIN")
if ! wait_api "$PORT"; then
	ko start "the analyzer did not answer: $(head -c 400 "$tmp/analyzer.log")"
	finish
fi
ok start
alive() { curl -sf "http://$A/api" >/dev/null; }
status() { curl -s "http://$A/api/status"; }
# body QUERY: the POST /api/topology body of a Gremlin query
body() { printf '{"GremlinQuery":"%s"}' "$1"; }
HEAVY="G.V().Has('Type','device').ShortestPathTo(Metadata('Name','nowhere')).Count()"
# heavy NAME: the heavy query in the background; its status code, then "NAME" appended
# to $tmp/order when its answer is in
heavy() {
	(curl -s -o "$tmp/$1.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d "$(body "$HEAVY")" "http://$A/api/topology" >"$tmp/$1.code"
	echo "$1" >>"$tmp/order") &
}
# until_status EXPR: polls /api/status until the Python expression over j holds (20 s)
until_status() {
	for _ in $(seq 1 200); do
		status | jtest "$1" && return 0
		sleep 0.1
	done
	return 1
}

# A 20,000-node chain: a shortest path from each node to a missing one walks the whole
# chain, so the query runs until analyzer.gremlin.timeout stops it (small memory).
"$PYTHON" - "$tmp/chain.json" <<'EOF'
import json, sys
n = 20000
nodes = [{"ID": f"c{i}", "Metadata": {"Name": f"c{i}", "Type": "device"}} for i in range(n)]
edges = [{"ID": f"e{i}", "Parent": f"c{i}", "Child": f"c{i+1}", "Metadata": {"RelationType": "layer2"}} for i in range(n - 1)]
json.dump({"Nodes": nodes, "Edges": edges}, open(sys.argv[1], "w"))
EOF
"$SKYDIVE" client --analyzer "$A" topology import --file "$tmp/chain.json" >/dev/null 2>"$tmp/e" ||
	ko chain_import "$(cat "$tmp/e")"
check chain_applied "the chain did not arrive" \
	until_status "j['Topology']['Nodes'] == 20000 and j['GraphWriter']['Queued'] == 0"
check status_keys "no Queries/GraphWriter in /api/status" \
	until_status "j['Queries']['Workers'] == 2 and j['Queries']['QueueMax'] == 1"

# ---- 1. a heavy query runs: status, a light query and updates go on ---------------
: >"$tmp/order"
heavy heavy1
check heavy_running "the heavy query never ran" until_status "j['Queries']['Running'] == 1"
# the light query, on the second worker, while the heavy one still runs
curl -s -X POST -H 'Content-Type: application/json' -d "$(body "G.V().Has('Name','c42').Count()")" \
	"http://$A/api/topology" >"$tmp/light.out"
echo light >>"$tmp/order"
check light_answer "$(head -c 200 "$tmp/light.out")" jtest "j == 1" <"$tmp/light.out"
status >"$tmp/st1"
check status_during_heavy "$(head -c 300 "$tmp/st1")" jtest "j['Queries']['Running'] == 1" <"$tmp/st1"
# topology updates while the heavy query holds the graph's reader side: taken in by the loop
cat >"$tmp/upd.txt" <<'EOF'
{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"during-1","Metadata":{"Name":"during","Type":"device"}}}
{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"during-2","Metadata":{"Name":"during","Type":"device"}}}
EOF
$WS "$PORT" /ws/publisher --host-id updater --send "$tmp/upd.txt" --hold 0.5 >/dev/null 2>"$tmp/e"
check updates_taken_in "publisher: $(head -c 300 "$tmp/e")" test $? = 0
status >"$tmp/st2"
check updates_queued_during_heavy "$(head -c 400 "$tmp/st2")" \
	jtest "j['Queries']['Running'] == 1 and j['GraphWriter']['Queued'] >= 1" <"$tmp/st2"
# a query that comes after the updates sees them: it waits for the writer, which waits
# for the heavy query (the loop goes on meanwhile)
(curl -s -X POST -H 'Content-Type: application/json' -d "$(body "G.V().Has('Name','during').Count()")" \
	"http://$A/api/topology" >"$tmp/ryw.out") &
RYW=$!
check ryw_waits "the query after the updates did not wait for them" \
	until_status "j['GraphWriter']['QueriesWaiting'] == 1 and j['Queries']['Running'] == 2"
check light_before_heavy "order: $(tr '\n' ' ' <"$tmp/order")" \
	sh -c "head -1 '$tmp/order' | grep -qx light"
wait_heavy() { for _ in $(seq 1 300); do grep -qx "$1" "$tmp/order" && return 0; sleep 0.1; done; return 1; }
check heavy_done "the heavy query never answered" wait_heavy heavy1
check heavy_bounded "$(cat "$tmp/heavy1.code" 2>/dev/null) $(head -c 300 "$tmp/heavy1.out")" \
	sh -c "test \"\$(cat '$tmp/heavy1.code')\" = 400 && grep -q 'analyzer.gremlin.timeout' '$tmp/heavy1.out'"
check heavy_after_light "order: $(tr '\n' ' ' <"$tmp/order")" \
	sh -c "test \"\$(tr '\n' ' ' <'$tmp/order')\" = 'light heavy1 '"
wait $RYW
check ryw_sees_updates "$(head -c 200 "$tmp/ryw.out")" jtest "j == 2" <"$tmp/ryw.out"
# once the query let go, the updates are applied
check updates_applied "the updates were not applied" \
	until_status "j['Topology']['Nodes'] == 20002 and j['GraphWriter']['Queued'] == 0"
curl -s -X POST -H 'Content-Type: application/json' -d "$(body "G.V().Has('Name','during').Count()")" \
	"http://$A/api/topology" >"$tmp/r"
check updates_visible "$(head -c 200 "$tmp/r")" jtest "j == 2" <"$tmp/r"

# ---- 2. a full queue: 503 with a reason and Retry-After ----------------------------
: >"$tmp/order"
heavy h1
until_status "j['Queries']['Running'] == 1" || ko h1_running "not running"
heavy h2
check both_workers_busy "not 2 running" until_status "j['Queries']['Running'] == 2"
heavy h3
check one_queued "not 1 queued" until_status "j['Queries']['Queued'] == 1"
refused0=$(status | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Queries"]["Refused"])')
curl -s -D "$tmp/h" -o "$tmp/r" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d "$(body "G.V().Count()")" "http://$A/api/topology" >"$tmp/code"
check full_503 "got $(cat "$tmp/code") $(head -c 300 "$tmp/r")" test "$(cat "$tmp/code")" = 503
check full_reason "$(head -c 300 "$tmp/r")" \
	sh -c "grep -q 'too many queries waiting' '$tmp/r' && grep -q 'analyzer.query_queue' '$tmp/r'"
check full_json "$(head -c 300 "$tmp/r")" jtest "'Error' in j" <"$tmp/r"
check full_retry_after "$(cat "$tmp/h")" grep -qi '^retry-after: 1' "$tmp/h"
check full_counted "Refused did not grow from $refused0" \
	until_status "j['Queries']['Refused'] == $refused0 + 1"
# status and the version stay on the loop: they answer while the queue is full
check status_while_full "no status" sh -c "curl -sf http://$A/api/status >/dev/null"
wait_all() { for _ in $(seq 1 400); do test "$(wc -l <"$tmp/order")" -ge 3 && return 0; sleep 0.1; done; return 1; }
check queued_ran "order: $(tr '\n' ' ' <"$tmp/order")" wait_all
check queued_answered "h3: $(cat "$tmp/h3.code" 2>/dev/null)" test "$(cat "$tmp/h3.code")" = 400

# ---- 3. a client that disconnects mid-query ----------------------------------------
ab0=$(status | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Queries"]["Abandoned"])')
curl -s -o /dev/null --max-time 1 -X POST -H 'Content-Type: application/json' \
	-d "$(body "$HEAVY")" "http://$A/api/topology"
check gone_dropped "Abandoned did not grow from $ab0" \
	until_status "j['Queries']['Abandoned'] == $ab0 + 1 and j['Queries']['Running'] == 0"
check gone_alive "no answer after the dropped query" alive
# and a second one gone while still queued behind two running
: >"$tmp/order"
heavy g1
until_status "j['Queries']['Running'] == 1" || ko g1_running "not running"
heavy g2
check gone_queued_busy "not 2 running" until_status "j['Queries']['Running'] == 2"
curl -s -o /dev/null --max-time 1 -X POST -H 'Content-Type: application/json' \
	-d "$(body "$HEAVY")" "http://$A/api/topology"
check gone_queued_dropped "Abandoned did not grow to $ab0 + 2" \
	until_status "j['Queries']['Abandoned'] == $ab0 + 2 and j['Queries']['Running'] == 0 and j['Queries']['Queued'] == 0"
check gone_queued_others "order: $(tr '\n' ' ' <"$tmp/order")" \
	sh -c "test \"\$(wc -l <'$tmp/order')\" -eq 2"
check gone_queued_alive "no answer" alive

# ---- 4. filtered subscribers are re-evaluated on a worker --------------------------
sub0=$(status | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Queries"]["Submitted"])')
$WS "$PORT" /ws/subscriber --host-id fsub --header "X-Gremlin-Filter: G.V().Has('Name','filt')" \
	--count 2 --timeout 20 >"$tmp/fsub.out" 2>"$tmp/fsub.err" &
FSUB=$!
pids+=("$FSUB")
check filter_sub_connected "no subscriber" until_status "'fsub' in j['Subscribers']"
for _ in $(seq 1 50); do [ -s "$tmp/fsub.out" ] && break; sleep 0.1; done
echo '{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"filt-1","Metadata":{"Name":"filt","Type":"device"}}}' >"$tmp/filt.txt"
$WS "$PORT" /ws/publisher --host-id filtpub --send "$tmp/filt.txt" --hold 0.5 >/dev/null 2>"$tmp/e"
wait "$FSUB"
check filter_sub_added "exit $?: $(head -c 300 "$tmp/fsub.out") $(head -c 200 "$tmp/fsub.err")" \
	sh -c "sed -n 2p '$tmp/fsub.out' | $PYTHON -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j[\"Type\"]==\"NodeAdded\" and j[\"Obj\"][\"ID\"]==\"filt-1\" else 1)'"
check filter_on_worker "Queries.Submitted did not grow from $sub0" \
	until_status "j['Queries']['Submitted'] > $sub0"

# ---- 5. a clean exit, and nothing a sanitizer reported -----------------------------
stop_all
check clean_exit "exit:$bad_exit" test -z "$bad_exit"
check no_sanitizer_report "$(grep -m3 -E 'AddressSanitizer|runtime error|LeakSanitizer' "$tmp/analyzer.log")" \
	sh -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$tmp/analyzer.log'"
finish
