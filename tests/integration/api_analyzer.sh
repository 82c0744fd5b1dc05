#!/bin/bash
# api_analyzer.sh - the analyzer as a user meets it: REST and WebSocket API,
# `skydive client`, configuration files and environment, clean shutdown.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
# Binds 127.0.0.1 only. SKYDIVE selects the binary (e.g. an ASan build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
WS="$PYTHON $root/tests/integration/ws_client.py"
DATA=$root/tests/integration/data
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
# check NAME REASON CMD...: ok when CMD succeeds.
check() {
	local name=$1 why=$2; shift 2
	if "$@"; then ok "$name"; else ko "$name" "$why"; fi
}
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# jtest EXPR < json: true when the Python expression over j holds.
jtest() {
	"$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" 2>/dev/null
}
# start_analyzer LOG ARGS...: starts it, sets $apid; returns when $3's port answers.
wait_api() {
	local port=$1
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$port/api" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
start_analyzer() {
	local log=$1; shift
	"$SKYDIVE" analyzer "$@" 2>"$log" &
	apid=$!
	pids+=("$apid")
}
# stop PID: SIGTERM, then its exit status (124 if it did not stop within 10 s).
stop() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	return 124
}

PORT=$(free_port)
A=127.0.0.1:$PORT
URL=http://$A
start_analyzer "$tmp/analyzer.log" --listen "$A"
MAIN=$apid
if ! wait_api "$PORT"; then
	ko start "the analyzer did not answer on $A: $(head -c 500 "$tmp/analyzer.log")"
	echo "$pass passed, $((fail + 1)) failed"
	exit 1
fi
ok start
check listening-log "no 'analyzer listening on $A' on stderr" grep -q "analyzer listening on $A" "$tmp/analyzer.log"

# ---- /api ------------------------------------------------------------------
curl -s "$URL/api" >"$tmp/o"
check api "GET /api: $(cat "$tmp/o")" jtest 'j["Service"]=="analyzer" and j["Version"] and "Host" in j' <"$tmp/o"

# ---- import a topology through /ws/publisher --------------------------------
"$SKYDIVE" client --analyzer "$A" topology import --file "$DATA/topology.json" >"$tmp/o" 2>"$tmp/e"
rc=$?
check import "exit $rc: $(cat "$tmp/e")" test $rc = 0
curl -s "$URL/api/topology" >"$tmp/o"
check topology-count "GET /api/topology: $(head -c 300 "$tmp/o")" jtest 'len(j["Nodes"])==8 and len(j["Edges"])==11' <"$tmp/o"
check topology-origin "imported nodes keep their Host" jtest 'all(n["Host"]=="host1" and n["Origin"].startswith("cli.") for n in j["Nodes"])' <"$tmp/o"

# ---- Gremlin over REST -------------------------------------------------------
q() { curl -s -H 'Content-Type: application/json' -d "$(printf '{"GremlinQuery": "%s"}' "$1")" "$URL/api/topology"; }
q "G.V().Has('Name', 'br0')" >"$tmp/o"
check query-has "$(head -c 300 "$tmp/o")" jtest 'len(j)==1 and j[0]["ID"]=="intf-br0" and j[0]["Metadata"]["Type"]=="bridge"' <"$tmp/o"
q "G.V().Count()" >"$tmp/o"
check query-count "$(cat "$tmp/o")" jtest 'j==8' <"$tmp/o"
q "G.V().Has('Name', 'br0').Out().Values('Name')" >"$tmp/o"
check query-out "$(cat "$tmp/o")" jtest 'sorted(j)==["vetha","vethb"]' <"$tmp/o"
q "G.V().Has('Name', 'vetha').In().Values('Name')" >"$tmp/o"
check query-in "$(cat "$tmp/o")" jtest 'sorted(j)==["br0","host1"]' <"$tmp/o"
q "G.V().Has('Type', 'netns').Values('Name')" >"$tmp/o"
check query-values "$(cat "$tmp/o")" jtest 'sorted(j)==["ns1","ns2"]' <"$tmp/o"
q "G.V().Has('Type', 'netns').Out().Has('Name', 'eth0').Count()" >"$tmp/o"
check query-chain "$(cat "$tmp/o")" jtest 'j==2' <"$tmp/o"

curl -s -H 'Content-Type: application/json' -H 'Accept: text/vnd.graphviz' -d "{\"GremlinQuery\": \"G.V().Has('Name', 'br0').Out()\"}" \
	-D "$tmp/h" "$URL/api/topology" >"$tmp/o"
check query-dot "$(head -c 200 "$tmp/o")" grep -q 'digraph' "$tmp/o"
check query-dot-type "content type: $(grep -i content-type "$tmp/h")" grep -qi 'content-type: text/vnd.graphviz' "$tmp/h"

# ---- errors -----------------------------------------------------------------
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d "{\"GremlinQuery\": \"G.V().Has('Name'\"}" "$URL/api/topology")
check query-syntax-400 "status $code: $(cat "$tmp/o")" test "$code" = 400
check query-syntax-position "$(cat "$tmp/o")" jtest 'isinstance(j["Position"], int) and j["Position"]>=9 and j["Error"]' <"$tmp/o"
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d '{"GremlinQuery": ' "$URL/api/topology")
check bad-json-400 "status $code: $(cat "$tmp/o")" test "$code" = 400
check bad-json-position "$(cat "$tmp/o")" jtest '"line 1" in j["Error"] and "column" in j["Error"]' <"$tmp/o"
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d '{"GremlinQuery": ""}' "$URL/api/topology")
check empty-query-204 "status $code" test "$code" = 204
code=$(curl -s -o "$tmp/o" -w '%{http_code}' "$URL/api/nosuchthing")
check unknown-path-404 "status $code" test "$code" = 404
check unknown-path-json "$(cat "$tmp/o")" jtest '"Error" in j' <"$tmp/o"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -X DELETE "$URL/api/topology")
check wrong-method-405 "status $code" test "$code" = 405

# ---- skydive client ---------------------------------------------------------
"$SKYDIVE" client --analyzer "$A" query "G.V().Count()" >"$tmp/o" 2>"$tmp/e"
check client-query "out $(cat "$tmp/o") err $(cat "$tmp/e")" grep -qx 8 "$tmp/o"
"$SKYDIVE" client --analyzer "$A" query "G.V().Has('Name', 'br0')" >"$tmp/o" 2>"$tmp/e"
check client-query-tabs "JSON not indented with tabs: $(head -c 200 "$tmp/o")" grep -qP '^\t\t"ID": "intf-br0",$' "$tmp/o"
"$SKYDIVE" client --analyzer "$A" topology query --gremlin "G.V().Has('Type', 'bridge')" --format dot >"$tmp/o" 2>"$tmp/e"
check client-topology-query-dot "$(cat "$tmp/o" "$tmp/e")" grep -q 'digraph' "$tmp/o"
"$SKYDIVE" client --analyzer "$A" query "G.V().Has('Name'" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-query-error "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "position" "$tmp/e" && grep -q "\^" "$tmp/e"'
"$SKYDIVE" client --analyzer "$A" topology export >"$tmp/o" 2>"$tmp/e"
check client-export "$(head -c 200 "$tmp/o")" jtest 'len(j["Nodes"])==8' <"$tmp/o"
SKYDIVE_ANALYZER=$A "$SKYDIVE" client status >"$tmp/o" 2>"$tmp/e"
check client-env-analyzer "SKYDIVE_ANALYZER not used: $(cat "$tmp/e")" jtest 'j["Topology"]["Nodes"]==8' <"$tmp/o"
SKYDIVE_ANALYZER= SKYDIVE_ANALYZERS="$A 127.0.0.1:1" "$SKYDIVE" client query "G.V().Count()" >"$tmp/o" 2>"$tmp/e"
check client-env-analyzers "first of SKYDIVE_ANALYZERS not used: $(cat "$tmp/e")" grep -qx 8 "$tmp/o"
DEAD=$(free_port)
SKYDIVE_ANALYZER=127.0.0.1:$DEAD "$SKYDIVE" client status >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-unreachable "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "cannot reach the analyzer at 127.0.0.1:$DEAD" "$tmp/e" && grep -q "SKYDIVE_ANALYZER" "$tmp/e"'
"$SKYDIVE" client --analyzer 127.0.0.1:$DEAD topology import --file "$DATA/topology.json" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-import-unreachable "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "cannot reach the analyzer" "$tmp/e"'
for c in "client --help" "client query --help" "client topology --help" "client topology import --help" \
	"client topology query --help" "client topology export --help" "client status --help" "analyzer --help"; do
	"$SKYDIVE" $c >"$tmp/o" 2>&1
	rc=$?
	check "help: $c" "exit $rc or no Usage" eval '[ $rc = 0 ] && grep -q Usage "$tmp/o"'
done
"$SKYDIVE" client query --file x "G.V()" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-bad-flag "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 2 ] && grep -q "unknown flag --file" "$tmp/e"'

# ---- WebSocket: agents --------------------------------------------------------
cat >"$tmp/agent.msgs" <<'EOF'
{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"agent-node-1","Metadata":{"Name":"agenteth","Type":"device"},"Host":"ignored"}}
{"Namespace":"Graph","Type":"EdgeAdded","Obj":{"ID":"agent-edge-1","Parent":"host-host1","Child":"agent-node-1","Metadata":{"RelationType":"ownership"}}}
{"Namespace":"Graph","Type":"NodePartiallyUpdated","Obj":{"ID":"agent-node-1","Ops":[{"Type":1,"Key":"MTU","Value":1400}]}}
EOF
$WS "$PORT" /ws/agent/topology --host-id agent1 --client-type agent --send "$tmp/agent.msgs" --hold 30 >"$tmp/agent.out" 2>"$tmp/agent.err" &
AG=$!
pids+=("$AG")
seen=0
for _ in $(seq 1 50); do
	curl -s "$URL/api/status" >"$tmp/o"
	if jtest '"agent1" in j["Agents"]' <"$tmp/o"; then seen=1; break; fi
	sleep 0.1
done
check agent-status "agent1 not in Agents: $(head -c 300 "$tmp/o") $(cat "$tmp/agent.err")" test $seen = 1
check agent-connstatus "ConnStatus fields" jtest 'j["Agents"]["agent1"]["IsConnected"] and j["Agents"]["agent1"]["RemoteServiceType"]=="agent"' <"$tmp/o"
sleep 0.3
q "G.V().Has('Name', 'agenteth')" >"$tmp/o"
check agent-node "$(cat "$tmp/o")" jtest 'len(j)==1 and j[0]["Host"]=="agent1" and j[0]["Origin"]=="agent.agent1" and j[0]["Metadata"]["MTU"]==1400' <"$tmp/o"
kill "$AG" 2>/dev/null
wait "$AG" 2>/dev/null
gone=0
for _ in $(seq 1 50); do
	q "G.V().Has('Name', 'agenteth').Count()" >"$tmp/o"
	if jtest 'j==0' <"$tmp/o"; then gone=1; break; fi
	sleep 0.1
done
check agent-disconnect-deletes "its node is still there" test $gone = 1
q "G.V().Count()" >"$tmp/o"
check agent-disconnect-keeps-others "$(cat "$tmp/o")" jtest 'j==8' <"$tmp/o"
$WS "$PORT" /ws/agent/topology --client-type agent --hold 1 >/dev/null 2>"$tmp/e"
rc=$?
check ws-no-host-id-refused "exit $rc: $(cat "$tmp/e")" test $rc = 3

# ---- WebSocket: subscribers -------------------------------------------------
$WS "$PORT" /ws/subscriber --host-id sub1 --count 3 --timeout 20 >"$tmp/sub.out" 2>"$tmp/sub.err" &
SUB=$!
pids+=("$SUB")
for _ in $(seq 1 50); do
	[ -s "$tmp/sub.out" ] && break
	sleep 0.1
done
head -1 "$tmp/sub.out" >"$tmp/o"
check subscriber-syncreply "$(head -c 300 "$tmp/o") $(cat "$tmp/sub.err")" jtest 'j["Namespace"]=="Graph" and j["Type"]=="SyncReply" and len(j["Obj"]["Nodes"])==8' <"$tmp/o"
curl -s "$URL/api/status" >"$tmp/o"
check subscriber-status "sub1 not in Subscribers" jtest '"sub1" in j["Subscribers"]' <"$tmp/o"
"$SKYDIVE" client --analyzer "$A" topology import --file "$DATA/extra.json" >/dev/null 2>"$tmp/e"
wait "$SUB"
rc=$?
check subscriber-stream "exit $rc: $(cat "$tmp/sub.out" "$tmp/sub.err" | head -c 400)" test $rc = 0
sed -n 2p "$tmp/sub.out" >"$tmp/o"
check subscriber-nodeadded "$(cat "$tmp/o")" jtest 'j["Type"]=="NodeAdded" and j["Obj"]["ID"]=="intf-extra" and j["Obj"]["Metadata"]["Name"]=="extra0"' <"$tmp/o"
sed -n 3p "$tmp/sub.out" >"$tmp/o"
check subscriber-edgeadded "$(cat "$tmp/o")" jtest 'j["Type"]=="EdgeAdded" and j["Obj"]["Parent"]=="host-host1"' <"$tmp/o"

# ---- shutdown --------------------------------------------------------------
stop "$MAIN"
rc=$?
check sigterm-exit-0 "exit $rc: $(tail -5 "$tmp/analyzer.log")" test $rc = 0

# ---- configuration ----------------------------------------------------------
P2=$(free_port)
printf 'analyzer:\n  listen: 127.0.0.1:%s\nhost_id: conf-host\n' "$P2" >"$tmp/a.yml"
start_analyzer "$tmp/a2.log" -c "$tmp/a.yml"
if wait_api "$P2"; then
	curl -s "http://127.0.0.1:$P2/api" >"$tmp/o"
	check config-file "$(cat "$tmp/o")" jtest 'j["Host"]=="conf-host"' <"$tmp/o"
else
	ko config-file "no answer on $P2: $(head -c 300 "$tmp/a2.log")"
fi
stop "$apid"
rc=$?
check config-file-exit "exit $rc" test $rc = 0
P3=$(free_port)
SKYDIVE_ANALYZER_LISTEN=127.0.0.1:$P3 SKYDIVE_HOST_ID=env-host "$SKYDIVE" analyzer -c "$tmp/a.yml" 2>"$tmp/a3.log" &
apid=$!
pids+=("$apid")
if wait_api "$P3"; then
	curl -s "http://127.0.0.1:$P3/api" >"$tmp/o"
	check config-env-override "$(cat "$tmp/o")" jtest 'j["Host"]=="env-host"' <"$tmp/o"
else
	ko config-env-override "SKYDIVE_ANALYZER_LISTEN not used: $(head -c 300 "$tmp/a3.log")"
fi
stop "$apid"
rc=$?
check config-env-exit "exit $rc" test $rc = 0
printf 'analyzer:\n  listen: [oops\n' >"$tmp/bad.yml"
"$SKYDIVE" analyzer -c "$tmp/bad.yml" >"$tmp/o" 2>"$tmp/e"
rc=$?
check config-malformed "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -qE "bad.yml:[0-9]+:[0-9]+: " "$tmp/e"'
# A port in use: a clear error, exit 1.
start_analyzer "$tmp/a4.log" --listen "127.0.0.1:$P2"
wait_api "$P2"
"$SKYDIVE" analyzer --listen "127.0.0.1:$P2" >"$tmp/o" 2>"$tmp/e"
rc=$?
check port-in-use "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "cannot listen on 127.0.0.1:$P2" "$tmp/e"'
stop "$apid"
SKYDIVE_ANALYZER_LISTEN=127.0.0.1:$P2 "$SKYDIVE" analyzer >/dev/null 2>"$tmp/a5.log" &
apid=$!
pids+=("$apid")
wait_api "$P2"
kill -INT "$apid"
wait "$apid"
rc=$?
check sigint-exit-0 "exit $rc" test $rc = 0

# A subscriber that does not read is disconnected, and nobody waits for it.
P4=$(free_port)
SKYDIVE_HTTP_WS_QUEUE_SIZE=20 "$SKYDIVE" analyzer --listen "127.0.0.1:$P4" 2>"$tmp/a6.log" &
apid=$!
pids+=("$apid")
wait_api "$P4"
"$PYTHON" - "$tmp/big.json" <<'PY'
import json, sys
pad = "x" * 2000
nodes = [{"ID": "n%d" % i, "Metadata": {"Name": "n%d" % i, "Type": "device", "Pad": pad}} for i in range(3000)]
json.dump({"Nodes": nodes, "Edges": []}, open(sys.argv[1], "w"))
PY
$WS "$P4" /ws/subscriber --host-id slow --no-read --hold 20 >/dev/null 2>&1 &
SLOW=$!
pids+=("$SLOW")
for _ in $(seq 1 50); do
	curl -s "http://127.0.0.1:$P4/api/status" | jtest '"slow" in j["Subscribers"]' && break
	sleep 0.1
done
start=$(date +%s)
"$SKYDIVE" client --analyzer "127.0.0.1:$P4" topology import --file "$tmp/big.json" >/dev/null 2>"$tmp/e"
rc=$?
check slow-subscriber-import "exit $rc after $(($(date +%s) - start)) s: $(cat "$tmp/e")" test $rc = 0
dropped=0
for _ in $(seq 1 50); do
	curl -s "http://127.0.0.1:$P4/api/status" >"$tmp/o"
	if jtest 'j["WebSocket"]["SlowClientsDisconnected"]>=1 and "slow" not in j["Subscribers"]' <"$tmp/o"; then dropped=1; break; fi
	sleep 0.1
done
check slow-subscriber-dropped "$(head -c 400 "$tmp/o")" test $dropped = 1
q() { curl -s -H 'Content-Type: application/json' -d "$(printf '{"GremlinQuery": "%s"}' "$1")" "http://127.0.0.1:$P4/api/topology"; }
q "G.V().Count()" >"$tmp/o"
check slow-subscriber-graph "$(cat "$tmp/o")" jtest 'j==3000' <"$tmp/o"
stop "$apid"
rc=$?
check slow-subscriber-exit "exit $rc: $(tail -3 "$tmp/a6.log")" test $rc = 0
kill "$SLOW" 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
