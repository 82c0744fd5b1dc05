#!/bin/bash
# alerts.sh - Skydive's alerts end to end (docs/API.md "Alerts"), as root, in network
# namespaces of our own (prefix skal<pid>): an analyzer in one, an agent in another
# with a veth to a third, webhook listeners (python3 http.server) on the analyzer's
# loopback. Checks:
#   - a graph-triggered alert on G.V().Has('Name', X, 'State', 'DOWN') fires when the
#     test sets the veth down: one POST to the webhook, the alert message of Skydive's
#     alert.Message (UUID, Timestamp, ReasonData = the query's result), and one Alert
#     message on a WebSocket subscriber; it does not fire again while the condition holds
#     (later topology changes evaluated, no second POST), as Skydive's evaluateAlert;
#   - a duration-triggered alert on a flow byte threshold
#     (G.Flows().Has('Metric.ABBytes', GT(N))) fires after pings whose bytes exceed N,
#     with the flow in ReasonData, and not before;
#   - alerts survive an analyzer restart (alerts.json), and the loaded alert is evaluated
#     again (the link is still down: it fires once more, as Skydive's registerAlert);
#   - 400 answers: a bad Gremlin query (with its Position), a JavaScript expression, a
#     bad trigger, a bad action URL, a local command while commands are disabled;
#   - skydive client alert create|list|get|delete and their --help; a failing webhook is
#     counted (Failed, after the retries) in /api/status and /metrics.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skal$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; exit $((fail > 0)); }

cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "alerts: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping python3; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

# ---- the lab: analyzer <-mgmt-> host1 <-alv0/alp0-> peer ----
AN=${P}an H1=${P}h1 PEER=${P}peer
for ns in $AN $H1 $PEER; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add alv0 netns "$H1" type veth peer name alp0 netns "$PEER"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip -n "$H1" addr add 10.81.1.1/24 dev alv0
ip -n "$PEER" addr add 10.81.1.2/24 dev alp0
ip -n "$AN" addr add 10.81.2.1/24 dev m1
ip -n "$H1" addr add 10.81.2.2/24 dev mgmt
for l in "$H1 alv0" "$PEER alp0" "$AN m1" "$H1 mgmt"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

PORT=8082 HPORT=8093
api() { ip netns exec "$AN" curl -s -m 5 "$@"; }
q() {
	api -XPOST "http://127.0.0.1:$PORT/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_true TIMEOUT_S CMD...: polls until CMD succeeds
wait_true() {
	local end=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -le "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
qtrue() { [ "$(q "$1" | jq -r "$2" 2>/dev/null)" = true ]; }
status() { api "http://127.0.0.1:$PORT/api/status" | jq -c ".Alerts$1"; }
client() { ip netns exec "$AN" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { for f in "$tmp"/*.log; do echo "[$(basename "$f")] $(tail -c 400 "$f" | tr '\n' ' ')"; done; }
hooks() { cat "$tmp/hook-$1.jsonl" 2>/dev/null | wc -l; }

# The webhook listener: every POST body (one line each) appended to hook-<path>.jsonl
cat >"$tmp/hook.py" <<'EOF'
import http.server, sys, os
d = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n).decode()
        ct = self.headers.get("Content-Type", "")
        with open(os.path.join(d, "hook-" + self.path.strip("/") + ".jsonl"), "a") as f:
            f.write(body.replace("\n", " ") + "\n")
        with open(os.path.join(d, "hook-ct.txt"), "a") as f:
            f.write(ct + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
ip netns exec "$AN" python3 "$tmp/hook.py" $HPORT "$tmp" >"$tmp/hook.log" 2>&1 &
pids+=($!)

mkdir -p "$tmp/data"
start_analyzer() {
	ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
		SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth SKYDIVE_ANALYZER_ALERT_ACTION_ATTEMPTS=2 \
		SKYDIVE_ANALYZER_ALERT_ALLOW_COMMANDS=${CMDS:-false} \
		"$SKYDIVE" analyzer --listen "0.0.0.0:$PORT" --host-id analyzer >>"$tmp/analyzer.log" 2>&1 &
	ANALYZER=$!
	pids+=($ANALYZER)
}
start_analyzer
ip netns exec "$H1" env SKYDIVE_FLOW_UPDATE=1 SKYDIVE_FLOW_EXPIRE=30 "$SKYDIVE" agent \
	--host-id host1 --analyzer "10.81.2.1:$PORT" --listen none --netns-run-path '' \
	>>"$tmp/agent.log" 2>&1 &
pids+=($!)
NODE="G.V().Has('Name','alv0')"
if wait_true 20 qtrue "$NODE" 'length == 1 and .[0].Metadata.State == "UP"'; then
	ok "topology (alv0 UP at the analyzer)"
else
	ko "topology" "$(logs)"
	finish
fi

# ---- 400s ------------------------------------------------------------------------
post() { api -XPOST "http://127.0.0.1:$PORT/api/alert" -H 'Content-Type: application/json' -d "$1" -w '\n%{http_code}'; }
expect400() { # NAME BODY JQ_FILTER_ON_ERROR
	local out code
	out=$(post "$2")
	code=$(echo "$out" | tail -n1)
	if [ "$code" = 400 ] && echo "$out" | head -n1 | jq -e "$3" >/dev/null 2>&1; then ok "$1"; else ko "$1" "$out"; fi
}
# "G.V().Has('Name', 'x'" ends at 21 characters: the parser wants ')' there
expect400 "400-gremlin-position" '{"Expression":"G.V().Has('"'"'Name'"'"', '"'"'x'"'"'"}' '.Position == 21 and (.Error | test("Expression"))'
expect400 "400-javascript" '{"Expression":"var n = 1; n > 0"}' '.Error | test("JavaScript expressions are not supported")'
expect400 "400-trigger" '{"Expression":"G.V()","Trigger":"duration:often"}' '.Error | test("Trigger .duration:often.")'
expect400 "400-trigger-kind" '{"Expression":"G.V()","Trigger":"cron"}' '.Error | test("expected .graph.")'
expect400 "400-action-url" '{"Expression":"G.V()","Action":"http:///nohost"}' '.Error | test("needs a host")'
expect400 "400-action-scheme" '{"Expression":"G.V()","Action":"mailto:x@y"}' '.Error | test("Action")'
expect400 "400-command-disabled" '{"Expression":"G.V()","Action":"file:///bin/true"}' '.Error | test("allow_commands")'
expect400 "400-no-expression" '{"Name":"x"}' '.Error | test("Expression is required")'
[ "$(api "http://127.0.0.1:$PORT/api/alert" | jq -c .)" = "{}" ] && ok "refused-not-kept (no alert)" || ko "refused-not-kept" "$(api "http://127.0.0.1:$PORT/api/alert")"

# ---- client --help -----------------------------------------------------------------
for c in create list get delete; do
	out=$(client alert $c --help 2>&1)
	if [ $? = 0 ] && echo "$out" | grep -q "alert $c"; then ok "client-help-$c"; else ko "client-help-$c" "$out"; fi
done
client alert create --help | grep -q -- '--expression' && client alert create --help | grep -q -- '--trigger' &&
	client alert create --help | grep -q -- '--action' && ok "client-help-create-flags" || ko "client-help-create-flags" "flags missing"

# ---- a graph alert: the link goes down ----------------------------------------------
ip netns exec "$AN" python3 "$root/tests/integration/ws_client.py" $PORT /ws/subscriber \
	--host-id alertsub --timeout 120 --hold 120 >"$tmp/ws.out" 2>"$tmp/ws.log" &
pids+=($!)
EXPR="G.V().Has('Name', 'alv0', 'State', 'DOWN')"
out=$(client alert create --name linkdown --description "alv0 down" --expression "$EXPR" \
	--trigger graph --action "http://127.0.0.1:$HPORT/down" 2>&1)
A1=$(echo "$out" | jq -r .UUID 2>/dev/null)
if [ -n "$A1" ] && [ "$A1" != null ] && echo "$out" | jq -e --arg e "$EXPR" \
	'.Expression == $e and .Trigger == "graph" and .Name == "linkdown" and (.CreateTime | test("Z$"))' >/dev/null; then
	ok "client-create (UUID $A1)"
else
	ko "client-create" "$out"
	finish
fi
wait_true 10 sh -c "[ \"\$(ip netns exec $AN curl -s http://127.0.0.1:$PORT/api/status | jq '.Alerts.Alerts[\"$A1\"].Evaluations')\" -ge 1 ]" &&
	[ "$(hooks down)" = 0 ] && ok "not-fired-while-up (evaluated, no POST)" || ko "not-fired-while-up" "$(status) hooks=$(hooks down)"
# the subscriber must be in before the alert fires
wait_true 10 grep -q SyncReply "$tmp/ws.out" || ko "ws-subscriber" "$(cat "$tmp/ws.log")"

ip -n "$H1" link set alv0 down
if wait_true 15 sh -c "[ \$(cat $tmp/hook-down.jsonl 2>/dev/null | wc -l) -ge 1 ]"; then
	ok "webhook-fired (link down)"
else
	ko "webhook-fired" "$(status) $(logs)"
fi
head -n1 "$tmp/hook-down.jsonl" 2>/dev/null | jq -e --arg u "$A1" \
	'.UUID == $u and (.Timestamp | test("^[0-9]{4}-")) and (.ReasonData | length == 1) and
	 .ReasonData[0].Metadata.Name == "alv0" and .ReasonData[0].Metadata.State == "DOWN"' >/dev/null &&
	ok "webhook-message (UUID, Timestamp, ReasonData = the DOWN node)" || ko "webhook-message" "$(head -c 400 "$tmp/hook-down.jsonl")"
grep -q '^application/json' "$tmp/hook-ct.txt" 2>/dev/null && ok "webhook-content-type" || ko "webhook-content-type" "$(cat "$tmp/hook-ct.txt" 2>/dev/null)"
wait_true 10 grep -q '"Namespace":"Alert"' "$tmp/ws.out" &&
	grep '"Namespace":"Alert"' "$tmp/ws.out" | head -n1 | jq -e --arg u "$A1" '.Type == "Alert" and .Obj.UUID == $u and .Obj.ReasonData[0].Metadata.State == "DOWN"' >/dev/null &&
	ok "websocket-alert (namespace Alert, type Alert)" || ko "websocket-alert" "$(grep -c . "$tmp/ws.out") lines: $(grep Alert "$tmp/ws.out" | head -c 300)"

# Once: more topology changes while it stays down are evaluated and do not fire again.
ev0=$(status ".Alerts[\"$A1\"].Evaluations")
ip -n "$H1" link add aldum type veth peer name aldum1
wait_true 15 qtrue "G.V().Has('Name','aldum')" 'length == 1' || ko "dummy-node" "no aldum"
ip -n "$H1" link del aldum
wait_true 15 qtrue "G.V().Has('Name','aldum')" 'length == 0' || ko "dummy-node-gone" "aldum still there"
wait_true 10 sh -c "[ \"\$(ip netns exec $AN curl -s http://127.0.0.1:$PORT/api/status | jq '.Alerts.Alerts[\"$A1\"].Evaluations')\" -gt $ev0 ]"
n=$(hooks down) fired=$(status ".Alerts[\"$A1\"].Fired")
[ "$n" = 1 ] && [ "$fired" = 1 ] && ok "fired-once (1 POST, Fired 1 after later evaluations)" || ko "fired-once" "posts=$n $(status ".Alerts[\"$A1\"]")"
[ "$(grep -c '"Namespace":"Alert"' "$tmp/ws.out")" = 1 ] && ok "websocket-once" || ko "websocket-once" "$(grep -c '"Namespace":"Alert"' "$tmp/ws.out")"

# ---- a duration alert on a flow byte threshold ----------------------------------------
# 5 echo requests of 500 bytes of data: 542 bytes each on the wire (14 + 20 + 8 + 500),
# 2710 per direction; threshold 2500 (4 of them: 2168)
FEXPR="G.Flows().Has('Network.A', '10.81.1.1', 'Metric.ABBytes', GT(2500))"
out=$(client alert create --name bytes --expression "$FEXPR" --trigger duration:1s \
	--action "http://127.0.0.1:$HPORT/bytes" 2>&1)
A2=$(echo "$out" | jq -r .UUID 2>/dev/null)
[ -n "$A2" ] && [ "$A2" != null ] && echo "$out" | jq -e '.Trigger == "duration:1s"' >/dev/null && ok "duration-create" || ko "duration-create" "$out"
cap=$(client capture create --gremlin "$NODE" --bpf icmp 2>&1)
CAP=$(echo "$cap" | jq -r .UUID 2>/dev/null)
ip -n "$H1" link set alv0 up
active="[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length == 1"
wait_true 20 qtrue "$NODE" "$active" || ko "capture-active" "$(q "$NODE" | head -c 300)"
wait_true 10 sh -c "[ \"\$(ip netns exec $AN curl -s http://127.0.0.1:$PORT/api/status | jq '.Alerts.Alerts[\"$A2\"].Evaluations')\" -ge 2 ]"
[ "$(hooks bytes)" = 0 ] && ok "duration-not-before (evaluated, no flow yet: no POST)" || ko "duration-not-before" "$(hooks bytes)"
ip netns exec "$H1" ping -c 5 -i 0.2 -s 500 -W 1 10.81.1.2 >"$tmp/ping.log" 2>&1 || ko "ping" "$(cat "$tmp/ping.log")"
if wait_true 20 sh -c "[ \$(cat $tmp/hook-bytes.jsonl 2>/dev/null | wc -l) -ge 1 ]"; then
	ok "duration-fired (flow above the threshold)"
else
	ko "duration-fired" "$(status) flows: $(q "G.Flows()" | head -c 300)"
fi
head -n1 "$tmp/hook-bytes.jsonl" 2>/dev/null | jq -e --arg u "$A2" \
	'.UUID == $u and (.ReasonData | length == 1) and .ReasonData[0].Metric.ABBytes == 2710 and
	 .ReasonData[0].Network.A == "10.81.1.1"' >/dev/null &&
	ok "duration-message (the flow, ABBytes 5 x 542)" || ko "duration-message" "$(head -c 600 "$tmp/hook-bytes.jsonl")"

# ---- a failing webhook is counted ---------------------------------------------------
A3=$(client alert create --name deadhook --expression "G.V().Has('Name', 'alv0')" \
	--action "http://127.0.0.1:1/nothing" 2>&1 | jq -r .UUID)
wait_true 20 sh -c "[ \"\$(ip netns exec $AN curl -s http://127.0.0.1:$PORT/api/status | jq '.Alerts.Alerts[\"$A3\"].Action.Failed')\" = 1 ]" &&
	[ "$(status ".Alerts[\"$A3\"].Action.Retries")" = 1 ] &&
	ok "webhook-failure-counted (Failed 1 after 2 attempts)" || ko "webhook-failure-counted" "$(status ".Alerts[\"$A3\"]")"
api "http://127.0.0.1:$PORT/metrics" | grep -q "^skydive_alert_action_failed_total{host=\"analyzer\",alert=\"$A3\",name=\"deadhook\"} 1$" &&
	ok "metrics-failed" || ko "metrics-failed" "$(api "http://127.0.0.1:$PORT/metrics" | grep skydive_alert | head -c 600)"
client alert delete "$A3" >/dev/null 2>&1 && ok "client-delete" || ko "client-delete" "$A3"
api "http://127.0.0.1:$PORT/api/alert/$A3" -o /dev/null -w '%{http_code}' | grep -q 404 && ok "deleted-404" || ko "deleted-404" "still there"

# ---- restart --------------------------------------------------------------------
ip -n "$H1" link set alv0 down
wait_true 15 qtrue "$NODE" '.[0].Metadata.State == "DOWN"'
wait_true 15 sh -c "[ \$(cat $tmp/hook-down.jsonl 2>/dev/null | wc -l) -ge 2 ]" || ko "refire-after-up-down" "$(hooks down)"
before=$(hooks down)
kill -TERM $ANALYZER
wait $ANALYZER 2>/dev/null
jq -e --arg a "$A1" --arg b "$A2" '.Resources | has($a) and has($b) and (length == 2)' "$tmp/data/alerts.json" >/dev/null &&
	ok "alerts-json (both kept on disk)" || ko "alerts-json" "$(head -c 400 "$tmp/data/alerts.json")"
# restarted with local commands allowed (analyzer.alert.allow_commands; docs/SECURITY.md)
CMDS=true start_analyzer
wait_true 15 sh -c "ip netns exec $AN curl -sf http://127.0.0.1:$PORT/api >/dev/null" || ko "restart" "$(logs)"
out=$(client alert get "$A1" 2>&1)
echo "$out" | jq -e --arg e "$EXPR" --arg u "$A1" '.UUID == $u and .Expression == $e and .Name == "linkdown" and .Action != null' >/dev/null &&
	ok "survives-restart (client alert get)" || ko "survives-restart" "$out"
[ "$(client alert list 2>/dev/null | jq 'length')" = 2 ] && ok "client-list (2 after restart)" || ko "client-list" "$(client alert list 2>&1 | head -c 300)"
# the agent resyncs; the still-down link fires the loaded alert again
wait_true 20 sh -c "[ \$(cat $tmp/hook-down.jsonl 2>/dev/null | wc -l) -gt $before ]" &&
	ok "evaluated-after-restart (fired again: the link is still down)" || ko "evaluated-after-restart" "$(hooks down) $(status)"

# ---- a local command (allowed now): the message on its input ----------------------------
printf '#!/bin/sh\ncat > %s/cmd.out\n' "$tmp" >"$tmp/cmd.sh"
chmod 755 "$tmp/cmd.sh"
A4=$(client alert create --name cmd --expression "$EXPR" --action "file://$tmp/cmd.sh" 2>&1 | jq -r .UUID)
wait_true 15 test -s "$tmp/cmd.out" && jq -e --arg u "$A4" '.UUID == $u and .ReasonData[0].Metadata.State == "DOWN"' "$tmp/cmd.out" >/dev/null &&
	ok "command-action (file://, the message on stdin)" || ko "command-action" "$A4 $(cat "$tmp/cmd.out" 2>/dev/null | head -c 300) $(status ".Alerts[\"$A4\"]")"
grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/*.log && ko "sanitizers" "$(grep -hE 'ERROR:|runtime error' "$tmp"/*.log | head -3)"
finish
