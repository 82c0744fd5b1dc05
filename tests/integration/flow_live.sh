#!/bin/bash
# flow_live.sh - G.Flows()'s live view against history (docs/FLOWS.md "Live view and
# history"), with a real analyzer and agent in network namespaces this test creates.
#
# As in Skydive (gremlin/traversal/flows.go: without a time context Flows() asks the
# agents' flow tables; flow/table.go drops a flow when it expires or its table stops):
#   - a flow of a running capture is in G.Flows();
#   - once its agent expires it (flow.expire, 3 s here: FinishType TIMEOUT) it leaves
#     G.Flows() and stays in G.At('-0s', 3600).Flows() (history);
#   - a flow leaves G.Flows() when its capture is deleted, and when its agent goes
#     away (killed: its nodes leave the graph); both stay in history, also through
#     G.Context('-0s', 3600) (Skydive's other name of At).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skfl$$
cleanup() {
	stop_all
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "flow_live: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

# ---- the lab: analyzer <-mgmt-> host1 <-flv0-> peer ----
AN=${P}an H1=${P}h1 PEER=${P}peer
for ns in $AN $H1 $PEER; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add flv0 netns "$H1" type veth peer name flv0 netns "$PEER"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip -n "$H1" addr add 10.79.1.1/24 dev flv0
ip -n "$PEER" addr add 10.79.1.2/24 dev flv0
ip -n "$AN" addr add 10.79.2.1/24 dev m1
ip -n "$H1" addr add 10.79.2.2/24 dev mgmt
for l in "$H1 flv0" "$PEER flv0" "$AN m1" "$H1 mgmt"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

PORT=8082
q() {
	ip netns exec "$AN" curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_jq TIMEOUT_S QUERY FILTER: polls until the jq filter is true on the answer (at
# least once; TIMEOUT_S 0: only once). An attempt whose request failed (curl's error,
# or no 200) is not an answer: it is tried again for up to 10 s, so a slow moment of the
# analyzer under a sanitizer does not fail a check meant for "now". LAST has the last
# answer, or what went wrong with the request.
LAST=
wait_jq() {
	local end=$(($(date +%s) + $1)) tend=$(($(date +%s) + 10)) code
	while :; do
		code=$(ip netns exec "$AN" curl -s -m 5 -o "$tmp/answer" -w '%{http_code}' -XPOST \
			"http://127.0.0.1:$PORT/api/topology" -H 'Content-Type: application/json' \
			-d "$(jq -cn --arg q "$2" '{GremlinQuery:$q}')")
		local rc=$?
		if [ "$rc" = 0 ] && [ "$code" = 200 ]; then
			LAST=$(head -c 300 "$tmp/answer")
			[ "$(jq -r "$3" <"$tmp/answer" 2>/dev/null)" = true ] && return 0
			[ "$(date +%s)" -lt "$end" ] || return 1
		else
			LAST="request failed (curl exit $rc, HTTP $code): $(head -c 200 "$tmp/answer" 2>/dev/null)"
			[ "$(date +%s)" -lt "$tend" ] || return 1
		fi
		sleep 0.3
	done
}
client() { ip netns exec "$AN" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { for f in "$tmp"/*.log; do echo "[$(basename "$f")] $(tail -c 300 "$f" | tr '\n' ' ')"; done; }

mkdir -p "$tmp/data"
ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
	SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer --listen "0.0.0.0:$PORT" \
	--host-id analyzer >"$tmp/analyzer.log" 2>&1 &
pids+=($!)
start_agent() {
	# flows reported every second (flow.update), expired after 3 idle seconds (flow.expire)
	ip netns exec "$H1" env SKYDIVE_FLOW_UPDATE=1 SKYDIVE_FLOW_EXPIRE=3 "$SKYDIVE" agent \
		--host-id host1 --analyzer "10.79.2.1:$PORT" --listen none --netns-run-path '' \
		>>"$tmp/agent.log" 2>&1 &
	AGENT=$!
	pids+=($AGENT)
}
start_agent
NODE="G.V().Has('Name','flv0')"
# expect NAME WAIT_S QUERY JQ_FILTER: ok when the filter holds on the query's answer
# within WAIT_S seconds (0: now); the answer is the reason otherwise
expect() {
	if wait_jq "$2" "$3" "$4"; then ok "$1"; else ko "$1" "$LAST"; fi
}
active() { echo "[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$1\" and .State == \"active\")] | length == 1"; }
expect "topology (flv0 of host1 at the analyzer)" 20 "$NODE" 'length == 1'
[ "$fail" = 0 ] || { logs; finish; }

# capture: creates an ICMP capture on flv0 (its UUID in CAP), waits until it is active
capture() {
	local out
	out=$(client capture create --gremlin "G.V().Has('Name', 'flv0')" --bpf icmp 2>&1)
	CAP=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	[ -n "$CAP" ] && [ "$CAP" != null ] || { ko "capture-create" "$(echo "$out" | head -c 300)"; finish; }
	wait_jq 15 "$NODE" "$(active "$CAP")" || { ko "capture-active" "$(q "$NODE" | head -c 300)"; finish; }
}
ping1() { ip netns exec "$H1" ping -c 1 -W 2 -p "$1" 10.79.1.2 >/dev/null 2>&1 || ko "ping" "no reply"; }
LIVE() { echo "G.Flows().Has('CaptureID', '$1', 'Application', 'ICMPv4')"; }
HIST() { echo "G.At('-0s', 3600).Flows().Has('CaptureID', '$1', 'Application', 'ICMPv4')"; }
has() { echo "[.[] | select(.UUID == \"$1\"${2:-})] | length == 1"; } # UUID [MORE_JQ_TEST]

# ---- 1. live while running, then expired by the agent ----
capture
C1=$CAP
ping1 aa
expect "live-running (the ping's flow in G.Flows() while its capture runs)" 15 "$(LIVE "$C1")" \
	'length == 1 and .[0].Metric.ABPackets == 1 and .[0].Metric.BAPackets == 1'
U1=$(q "$(LIVE "$C1")" | jq -r '.[0].UUID')
# idle 3 s: the agent expires it (FinishType TIMEOUT) and it leaves the live view
expect "live-expired (gone from G.Flows() once the agent expired it)" 20 "$(LIVE "$C1")" 'length == 0'
expect "history-expired (still in G.At('-0s', 3600), FinishType TIMEOUT)" 0 "$(HIST "$C1")" \
	"$(has "$U1" ' and .FinishType == "TIMEOUT"')"

# ---- 2. capture deleted ----
ping1 bb
expect "live-second-flow (a new ping: a new flow in G.Flows())" 15 "$(LIVE "$C1")" 'length == 1'
U2=$(q "$(LIVE "$C1")" | jq -r '.[0].UUID')
client capture delete "$C1" >"$tmp/del.out" 2>&1 || ko "capture-delete" "$(head -c 200 "$tmp/del.out")"
expect "live-capture-deleted (gone from G.Flows() as soon as its capture is deleted)" 0 \
	"$(LIVE "$C1")" 'length == 0'
expect "history-capture-deleted (both flows still in G.At('-0s', 3600))" 0 "$(HIST "$C1")" \
	"[.[].UUID] | sort == ([\"$U1\", \"$U2\"] | sort)"
expect "history-context (G.Context('-0s', 3600) gives the same 2 flows)" 0 \
	"G.Context('-0s', 3600).Flows().Has('CaptureID', '$C1', 'Application', 'ICMPv4').Count()" '. == 2'

# ---- 3. the agent goes away ----
capture
C2=$CAP
ping1 cc
expect "live-new-capture (the flow of a new capture in G.Flows())" 15 "$(LIVE "$C2")" 'length == 1'
U3=$(q "$(LIVE "$C2")" | jq -r '.[0].UUID')
kill -KILL "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
expect "live-agent-gone (gone from G.Flows() once its agent went away)" 15 "$(LIVE "$C2")" 'length == 0'
expect "history-agent-gone (still in G.At('-0s', 3600))" 0 "$(HIST "$C2")" "$(has "$U3")"
# the agent back: the capture starts again on its node; the former flow stays out (the
# agent's table is a new one) until a packet makes a flow again
start_agent
expect "agent-back (capture active again)" 20 "$NODE" "$(active "$C2")"
expect "live-agent-back-stale (the flow of its former run stays out of G.Flows())" 0 \
	"$(LIVE "$C2")" "[.[] | select(.UUID == \"$U3\")] | length == 0"
ping1 dd
expect "live-agent-back-new (a new ping: its flow in G.Flows())" 15 "$(LIVE "$C2")" 'length == 1'
finish
