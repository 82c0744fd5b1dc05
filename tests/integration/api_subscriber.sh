#!/bin/bash
# api_subscriber.sh - /ws/subscriber as Skydive's web UIs use it: handshakes without
# X-Host-ID, Gremlin filters (X-Gremlin-Filter, x-gremlin-filter, GremlinFilter in a
# SyncRequest), Time in a SyncRequest, x-update-policy=partial, bad filters.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
# Binds 127.0.0.1 only. SKYDIVE selects the binary (e.g. an ASan build).
set -u
. "$(dirname "$0")/lib/harness.sh"
WS="$PYTHON $root/tests/integration/ws_client.py"
DATA=$root/tests/integration/data
# mtest FILE FROM EXPR: the expression over L, the messages of FILE from line FROM (1-based)
# on, and ids(type), the IDs of those messages of that type.
mtest() {
	"$PYTHON" - "$@" <<'EOF' 2>/dev/null
import json, sys
L = [json.loads(x) for x in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1:] if x.strip()]
def ids(t):
    return [m["Obj"].get("ID") for m in L if m["Type"] == t]
def idx(t, i):
    return [n for n, m in enumerate(L) if m["Type"] == t and m["Obj"].get("ID") == i][0]
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
}
now_ms() { date +%s%3N; }
# wait_lines FILE N: until FILE has N lines (10 s at most).
wait_lines() {
	for _ in $(seq 1 100); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# pub MSG...: sends graph messages through /ws/publisher (persistent, host pub1).
pub() {
	printf '%s\n' "$@" >"$tmp/pub.in"
	$WS "$PORT" /ws/publisher --host-id pub1 --send "$tmp/pub.in" --no-read --hold 0.3 \
		>/dev/null 2>&1
}
# sub NAME PATH ARGS...: a subscriber in the background, messages in $tmp/NAME.out,
# lines written to $tmp/NAME.in sent to the analyzer.
sub() {
	local name=$1 path=$2; shift 2
	mkfifo "$tmp/$name.in"
	: >"$tmp/$name.out"
	$WS "$PORT" "$path" --input "$tmp/$name.in" --timeout 120 --hold 120 "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
}
say() { echo "$2" >"$tmp/$1.in"; }
lines() { wc -l <"$tmp/$1.out"; }

PORT=$(free_port)
A=127.0.0.1:$PORT
"$SKYDIVE" analyzer --listen "$A" 2>"$tmp/analyzer.log" &
MAIN=$!
pids+=("$MAIN")
for _ in $(seq 1 100); do
	curl -sf "http://$A/api" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! "$SKYDIVE" client --analyzer "$A" topology import --file "$DATA/topology.json" \
	>/dev/null 2>"$tmp/e"; then
	ko start "no analyzer or import failed: $(cat "$tmp/e") $(head -c 300 "$tmp/analyzer.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok start
sleep 0.3
T0=$(now_ms)
sleep 0.3

# ---- handshakes ---------------------------------------------------------------
# A browser: no X-Host-ID, no X-Client-Type header, the type as a URL argument.
$WS "$PORT" "/ws/subscriber?x-client-type=webui" --client-type '' --count 1 >"$tmp/o" 2>"$tmp/e"
rc=$?
check browser-syncreply "exit $rc: $(head -c 300 "$tmp/o") $(cat "$tmp/e")" \
	jtest 'j["Type"]=="SyncReply" and j["Status"]==200 and len(j["Obj"]["Nodes"])==8 and len(j["Obj"]["Edges"])==11' <"$tmp/o"
sub web "/ws/subscriber?x-client-type=webui" --client-type ''
wait_lines "$tmp/web.out" 1
curl -s "http://$A/api/status" >"$tmp/o"
check browser-status "$(head -c 400 "$tmp/o")" \
	jtest 'any(k.startswith("127.0.0.1:") and v["RemoteServiceType"]=="webui" for k, v in j["Subscribers"].items())' <"$tmp/o"
$WS "$PORT" /ws/publisher --hold 1 >/dev/null 2>"$tmp/e"
rc=$?
check publisher-needs-host-id "exit $rc: $(cat "$tmp/e")" test $rc = 3
$WS "$PORT" "/ws/subscriber?x-update-policy=sometimes" --count 1 >/dev/null 2>"$tmp/e"
rc=$?
check bad-update-policy-refused "exit $rc: $(cat "$tmp/e")" test $rc = 3

# ---- filters at the handshake -----------------------------------------------------
VETH="G.V().Has('Type','veth')"
$WS "$PORT" /ws/subscriber --header "X-Gremlin-Filter: $VETH" --count 1 >"$tmp/o" 2>"$tmp/e"
check header-filter "$(head -c 400 "$tmp/o")" \
	jtest 'j["Status"]==200 and sorted(n["ID"] for n in j["Obj"]["Nodes"])==["intf-ns1-eth0","intf-ns2-eth0","intf-vetha","intf-vethb"] and sorted(e["ID"] for e in j["Obj"]["Edges"])==["e-vetha-peer","e-vethb-peer"]' <"$tmp/o"
$WS "$PORT" "/ws/subscriber?x-gremlin-filter=G.V().Has(%27Type%27%2C%27netns%27).SubGraph()" \
	--count 1 >"$tmp/o" 2>"$tmp/e"
check url-filter "$(head -c 400 "$tmp/o")" \
	jtest 'j["Status"]==200 and sorted(n["ID"] for n in j["Obj"]["Nodes"])==["netns-ns1","netns-ns2"] and j["Obj"]["Edges"]==[]' <"$tmp/o"
$WS "$PORT" /ws/subscriber --header "X-Gremlin-Filter: G.E().Has('RelationType','layer2')" \
	--count 1 >"$tmp/o" 2>"$tmp/e"
check edge-filter "$(head -c 400 "$tmp/o")" \
	jtest 'j["Status"]==200 and len(j["Obj"]["Edges"])==4 and len(j["Obj"]["Nodes"])==5' <"$tmp/o"
# A bad filter: a 400 SyncReply with the position; no events until a SyncRequest works.
sub badh /ws/subscriber --header "X-Gremlin-Filter: G.V().Has('Type'"
wait_lines "$tmp/badh.out" 1
head -1 "$tmp/badh.out" >"$tmp/o"
check header-bad-filter "$(cat "$tmp/o")" \
	jtest 'j["Type"]=="SyncReply" and j["Status"]==400 and j["Obj"]["Position"]==16 and "position 16" in j["Obj"]["Error"]' <"$tmp/o"
$WS "$PORT" /ws/subscriber --header "X-Gremlin-Filter: G.V().Count()" --count 1 >"$tmp/o" 2>&1
check filter-not-a-graph "$(cat "$tmp/o")" grep -q '"Status":400.*nodes, edges or a graph' "$tmp/o"

# ---- GremlinFilter in a SyncRequest, then changes inside and outside ---------------
sub filt /ws/subscriber --host-id filt
sub part "/ws/subscriber?x-update-policy=partial" --client-type ''
sub full /ws/subscriber --host-id full
wait_lines "$tmp/filt.out" 1
wait_lines "$tmp/part.out" 1
wait_lines "$tmp/full.out" 1
say filt '{"Namespace":"Graph","Type":"SyncRequest","UUID":"req-1","Obj":{"GremlinFilter":"'"$VETH"'"}}'
wait_lines "$tmp/filt.out" 2
sed -n 2p "$tmp/filt.out" >"$tmp/o"
check syncrequest-filter "$(head -c 400 "$tmp/o")" \
	jtest 'j["Type"]=="SyncReply" and j["UUID"]=="req-1" and j["Status"]==200 and len(j["Obj"]["Nodes"])==4 and len(j["Obj"]["Edges"])==2' <"$tmp/o"
pub '{"Namespace":"Graph","Type":"NodeUpdated","Obj":{"ID":"intf-vetha","Metadata":{"Name":"vetha","Type":"veth","MAC":"02:00:00:00:00:0a","MTU":9000,"State":"UP","IfIndex":4,"PeerIfIndex":2}}}' \
	'{"Namespace":"Graph","Type":"NodeUpdated","Obj":{"ID":"intf-br0","Metadata":{"Name":"br0","Type":"bridge","MAC":"02:00:00:00:00:fe","MTU":9000,"IPV4":["10.0.0.254/24"],"State":"UP"}}}'
sleep 0.6
pub '{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"intf-vethc","Host":"host1","Metadata":{"Name":"vethc","Type":"veth","MTU":1500}}}' \
	'{"Namespace":"Graph","Type":"NodeUpdated","Obj":{"ID":"intf-vethb","Metadata":{"Name":"vethb","Type":"device","MAC":"02:00:00:00:00:0b","MTU":1500,"State":"UP","IfIndex":5,"PeerIfIndex":2}}}' \
	'{"Namespace":"Graph","Type":"NodeDeleted","Obj":{"ID":"intf-ns2-eth0"}}'
sleep 1
check filter-inside-arrives "$(tail -n +3 "$tmp/filt.out" | cut -c1-120)" \
	mtest "$tmp/filt.out" 3 '"intf-vetha" in ids("NodeUpdated") and [m for m in L if m["Type"]=="NodeUpdated" and m["Obj"]["ID"]=="intf-vetha"][0]["Obj"]["Metadata"]["MTU"]==9000'
check filter-outside-not-sent "$(tail -n +3 "$tmp/filt.out" | cut -c1-120)" \
	mtest "$tmp/filt.out" 3 'not any(m["Obj"].get("ID")=="intf-br0" for m in L)'
check filter-entering-is-added "$(tail -n +3 "$tmp/filt.out" | cut -c1-120)" \
	mtest "$tmp/filt.out" 3 'ids("NodeAdded")==["intf-vethc"]'
check filter-leaving-is-deleted "$(tail -n +3 "$tmp/filt.out" | cut -c1-120)" \
	mtest "$tmp/filt.out" 3 '"intf-vethb" in ids("NodeDeleted") and ids("EdgeDeleted")==["e-vethb-peer"] and idx("EdgeDeleted","e-vethb-peer") < idx("NodeDeleted","intf-vethb")'
check filter-deleted-passes "$(tail -n +3 "$tmp/filt.out" | cut -c1-120)" \
	mtest "$tmp/filt.out" 3 '"intf-ns2-eth0" in ids("NodeDeleted")'
check unfiltered-gets-all "$(tail -n +2 "$tmp/full.out" | cut -c1-120)" \
	mtest "$tmp/full.out" 2 '"intf-br0" in ids("NodeUpdated") and "intf-vethc" in ids("NodeAdded") and "intf-ns2-eth0" in ids("NodeDeleted")'
check badh-paused "$(tail -n +2 "$tmp/badh.out" | cut -c1-120)" test "$(lines badh)" = 1

# ---- x-update-policy=partial ------------------------------------------------------
check partial-ops "$(tail -n +2 "$tmp/part.out" | cut -c1-200)" \
	mtest "$tmp/part.out" 2 '[m["Obj"]["Ops"] for m in L if m["Type"]=="NodePartiallyUpdated" and m["Obj"]["ID"]=="intf-br0"]==[[{"Type":1,"Key":"MTU","Value":9000},{"Type":2,"Key":"IfIndex"}]]'
check partial-shape "$(tail -n +2 "$tmp/part.out" | cut -c1-200)" \
	mtest "$tmp/part.out" 2 'all(isinstance(m["Obj"]["Revision"], int) and m["Obj"]["Revision"]>=2 and isinstance(m["Obj"]["UpdatedAt"], int) and "Metadata" not in m["Obj"] for m in L if m["Type"]=="NodePartiallyUpdated") and ids("NodeUpdated")==[]'
check partial-added-full "$(tail -n +2 "$tmp/part.out" | cut -c1-200)" \
	mtest "$tmp/part.out" 2 '[m["Obj"]["Metadata"]["Name"] for m in L if m["Type"]=="NodeAdded"]==["vethc"]'
n=$(lines part)
pub '{"Namespace":"Graph","Type":"NodePartiallyUpdated","Obj":{"ID":"intf-vethc","Ops":[{"Type":1,"Key":"State","Value":"DOWN"}]}}'
wait_lines "$tmp/part.out" $((n + 1))
check partial-from-partial "$(tail -n +$((n + 1)) "$tmp/part.out" | cut -c1-200)" \
	mtest "$tmp/part.out" $((n + 1)) 'L[0]["Type"]=="NodePartiallyUpdated" and L[0]["Obj"]["Ops"]==[{"Type":1,"Key":"State","Value":"DOWN"}]'

# ---- bad filter in a SyncRequest: 400, the filter in place stays ------------------------
n=$(lines filt)
say filt '{"Namespace":"Graph","Type":"SyncRequest","UUID":"bad","Obj":{"GremlinFilter":"G.V().Has(\"Type\""}}'
wait_lines "$tmp/filt.out" $((n + 1))
check syncrequest-bad-filter "$(tail -n +$((n + 1)) "$tmp/filt.out")" \
	mtest "$tmp/filt.out" $((n + 1)) 'L[0]["Type"]=="SyncReply" and L[0]["UUID"]=="bad" and L[0]["Status"]==400 and L[0]["Obj"]["Position"]==16 and "position 16" in L[0]["Obj"]["Error"]'
say filt '{"Namespace":"Graph","Type":"SyncRequest","UUID":"again","Obj":{}}'
wait_lines "$tmp/filt.out" $((n + 2))
check filter-kept-after-error "$(tail -n +$((n + 2)) "$tmp/filt.out" | cut -c1-300)" \
	mtest "$tmp/filt.out" $((n + 2)) 'L[0]["UUID"]=="again" and sorted(x["ID"] for x in L[0]["Obj"]["Nodes"])==["intf-ns1-eth0","intf-vetha","intf-vethc"]'

# ---- Time in a SyncRequest -----------------------------------------------------------
n=$(lines full)
say full '{"Namespace":"Graph","Type":"SyncRequest","UUID":"past","Obj":{"Time":'"$T0"'}}'
wait_lines "$tmp/full.out" $((n + 1))
check time-past-graph "$(tail -n +$((n + 1)) "$tmp/full.out" | cut -c1-300)" \
	mtest "$tmp/full.out" $((n + 1)) 'L[0]["UUID"]=="past" and L[0]["Status"]==200 and "intf-ns2-eth0" in [x["ID"] for x in L[0]["Obj"]["Nodes"]] and "intf-vethc" not in [x["ID"] for x in L[0]["Obj"]["Nodes"]] and [x["Metadata"]["MTU"] for x in L[0]["Obj"]["Nodes"] if x["ID"]=="intf-br0"]==[1500]'
pub '{"Namespace":"Graph","Type":"NodeUpdated","Obj":{"ID":"intf-vetha","Metadata":{"Name":"vetha","Type":"veth","MTU":1400}}}'
sleep 0.5
check time-past-no-live-events "$(tail -n +$((n + 2)) "$tmp/full.out" | cut -c1-200)" test "$(lines full)" = $((n + 1))
say full '{"Namespace":"Graph","Type":"SyncRequest","UUID":"past-veth","Obj":{"Time":'"$T0"',"GremlinFilter":"'"$VETH"'"}}'
wait_lines "$tmp/full.out" $((n + 2))
check time-past-filtered "$(tail -n +$((n + 2)) "$tmp/full.out" | cut -c1-300)" \
	mtest "$tmp/full.out" $((n + 2)) 'L[0]["UUID"]=="past-veth" and sorted(x["ID"] for x in L[0]["Obj"]["Nodes"])==["intf-ns1-eth0","intf-ns2-eth0","intf-vetha","intf-vethb"]'
say full '{"Namespace":"Graph","Type":"SyncRequest","UUID":"live","Obj":{"GremlinFilter":""}}'
wait_lines "$tmp/full.out" $((n + 3))
check time-back-to-live "$(tail -n +$((n + 3)) "$tmp/full.out" | cut -c1-300)" \
	mtest "$tmp/full.out" $((n + 3)) 'L[0]["UUID"]=="live" and "intf-vethc" in [x["ID"] for x in L[0]["Obj"]["Nodes"]] and "intf-ns2-eth0" not in [x["ID"] for x in L[0]["Obj"]["Nodes"]] and [x["Metadata"]["MTU"] for x in L[0]["Obj"]["Nodes"] if x["ID"]=="intf-vetha"]==[1400]'
pub '{"Namespace":"Graph","Type":"NodeUpdated","Obj":{"ID":"intf-vetha","Metadata":{"Name":"vetha","Type":"veth","MTU":1450}}}'
wait_lines "$tmp/full.out" $((n + 4))
check time-live-events-again "$(tail -n +$((n + 4)) "$tmp/full.out" | cut -c1-200)" \
	mtest "$tmp/full.out" $((n + 4)) 'L[0]["Type"]=="NodeUpdated" and L[0]["Obj"]["Metadata"]["MTU"]==1450'
# The filtered subscriber saw that update (vetha is in its set), the paused one nothing.
check filter-live-update "$(tail -3 "$tmp/filt.out" | cut -c1-200)" \
	mtest "$tmp/filt.out" 1 'L[-1]["Type"]=="NodeUpdated" and L[-1]["Obj"]["Metadata"]["MTU"]==1450'
say badh '{"Namespace":"Graph","Type":"SyncRequest","Obj":{"GremlinFilter":""}}'
wait_lines "$tmp/badh.out" 2
check badh-resumed "$(sed -n 2p "$tmp/badh.out" | cut -c1-200)" \
	mtest "$tmp/badh.out" 2 'L[0]["Type"]=="SyncReply" and L[0]["Status"]==200 and len(L[0]["Obj"]["Nodes"])==8'

# ---- shutdown --------------------------------------------------------------------
kill -TERM "$MAIN"
rc=124
for _ in $(seq 1 100); do
	kill -0 "$MAIN" 2>/dev/null || { wait "$MAIN"; rc=$?; break; }
	sleep 0.1
done
check sigterm-exit-0 "exit $rc: $(tail -5 "$tmp/analyzer.log")" test $rc = 0
grep -E "runtime error|Sanitizer" "$tmp/analyzer.log" | head -5
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
