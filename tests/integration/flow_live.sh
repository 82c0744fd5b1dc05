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
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skfl$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
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
wait_jq() { # TIMEOUT_S QUERY FILTER: polls until the jq filter is true
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
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
if wait_jq 20 "$NODE" 'length == 1'; then
	ok "topology (flv0 of host1 at the analyzer)"
else
	ko "topology" "$(q "$NODE" | head -c 200); $(logs)"
	echo "$pass passed, $fail failed"
	exit 1
fi

# capture CAPTURE_VAR: creates an ICMP capture on flv0, waits until it is active
capture() {
	local out id
	out=$(client capture create --gremlin "G.V().Has('Name', 'flv0')" --bpf icmp 2>&1)
	id=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$id" ] || [ "$id" = null ]; then
		ko "capture-create" "$(echo "$out" | head -c 300)"
		return 1
	fi
	wait_jq 15 "$NODE" "[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$id\" and .State == \"active\")] | length == 1" ||
		{ ko "capture-active" "$(q "$NODE" | jq -c '.[].Metadata.Captures' | head -c 300)"; return 1; }
	CAP=$id
}
ping1() { ip netns exec "$H1" ping -c 1 -W 2 -p "$1" 10.79.1.2 >/dev/null 2>&1 || ko "ping" "no reply"; }
LIVE() { echo "G.Flows().Has('CaptureID', '$1', 'Application', 'ICMPv4')"; }
HIST() { echo "G.At('-0s', 3600).Flows().Has('CaptureID', '$1', 'Application', 'ICMPv4')"; }

# ---- 1. live while running, then expired by the agent ----
capture || { echo "$pass passed, $fail failed"; exit 1; }
C1=$CAP
ping1 aa
if wait_jq 15 "$(LIVE "$C1")" 'length == 1 and .[0].Metric.ABPackets == 1 and .[0].Metric.BAPackets == 1'; then
	ok "live-running (the ping's flow in G.Flows() while its capture runs)"
else
	ko "live-running" "$(q "$(LIVE "$C1")" | head -c 300); $(logs)"
fi
U1=$(q "$(LIVE "$C1")" | jq -r '.[0].UUID')
# idle 3 s: the agent expires it (FinishType TIMEOUT) and it leaves the live view
if wait_jq 20 "$(LIVE "$C1")" 'length == 0'; then
	ok "live-expired (gone from G.Flows() once the agent expired it)"
else
	ko "live-expired" "$(q "$(LIVE "$C1")" | head -c 300)"
fi
if [ "$(q "$(HIST "$C1")" | jq -r --arg u "$U1" '[.[] | select(.UUID == $u and .FinishType == "TIMEOUT")] | length == 1')" = true ]; then
	ok "history-expired (still in G.At('-0s', 3600), FinishType TIMEOUT)"
else
	ko "history-expired" "$(q "$(HIST "$C1")" | head -c 300)"
fi

# ---- 2. capture deleted ----
ping1 bb
if wait_jq 15 "$(LIVE "$C1")" 'length == 1'; then
	ok "live-second-flow (a new ping: a new flow in G.Flows())"
else
	ko "live-second-flow" "$(q "$(LIVE "$C1")" | head -c 300)"
fi
U2=$(q "$(LIVE "$C1")" | jq -r '.[0].UUID')
client capture delete "$C1" >"$tmp/del.out" 2>&1 || ko "capture-delete" "$(head -c 200 "$tmp/del.out")"
if [ "$(q "$(LIVE "$C1")" | jq -r 'length == 0')" = true ]; then
	ok "live-capture-deleted (gone from G.Flows() as soon as its capture is deleted)"
else
	ko "live-capture-deleted" "$(q "$(LIVE "$C1")" | head -c 300)"
fi
if [ "$(q "$(HIST "$C1")" | jq -r --arg a "$U1" --arg b "$U2" '[.[].UUID] | sort == ([$a, $b] | sort)')" = true ]; then
	ok "history-capture-deleted (both flows still in G.At('-0s', 3600))"
else
	ko "history-capture-deleted" "$U1 $U2: $(q "$(HIST "$C1")" | head -c 300)"
fi
CTX="G.Context('-0s', 3600).Flows().Has('CaptureID', '$C1', 'Application', 'ICMPv4').Count()"
if [ "$(q "$CTX")" = 2 ]; then
	ok "history-context (G.Context('-0s', 3600) gives the same 2 flows)"
else
	ko "history-context" "$(q "$CTX" | head -c 300)"
fi

# ---- 3. the agent goes away ----
capture || { echo "$pass passed, $fail failed"; exit 1; }
C2=$CAP
ping1 cc
if wait_jq 15 "$(LIVE "$C2")" 'length == 1'; then
	ok "live-new-capture (the flow of a new capture in G.Flows())"
else
	ko "live-new-capture" "$(q "$(LIVE "$C2")" | head -c 300)"
fi
U3=$(q "$(LIVE "$C2")" | jq -r '.[0].UUID')
kill -KILL "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
if wait_jq 15 "$(LIVE "$C2")" 'length == 0'; then
	ok "live-agent-gone (gone from G.Flows() once its agent went away)"
else
	ko "live-agent-gone" "$(q "$(LIVE "$C2")" | head -c 300)"
fi
if [ "$(q "$(HIST "$C2")" | jq -r --arg u "$U3" '[.[] | select(.UUID == $u)] | length == 1')" = true ]; then
	ok "history-agent-gone (still in G.At('-0s', 3600))"
else
	ko "history-agent-gone" "$(q "$(HIST "$C2")" | head -c 300)"
fi
# the agent back: the capture starts again on its node, the old flow stays out (its
# table is a new one) until a packet makes it again
start_agent
if wait_jq 20 "$NODE" "[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$C2\" and .State == \"active\")] | length == 1"; then
	ok "agent-back (capture active again)"
else
	ko "agent-back" "$(q "$NODE" | head -c 300); $(logs)"
fi
if [ "$(q "$(LIVE "$C2")" | jq -r --arg u "$U3" '[.[] | select(.UUID == $u)] | length == 0')" = true ]; then
	ok "live-agent-back-stale (the flow of its former run stays out of G.Flows())"
else
	ko "live-agent-back-stale" "$(q "$(LIVE "$C2")" | head -c 300)"
fi
ping1 dd
if wait_jq 15 "$(LIVE "$C2")" 'length == 1'; then
	ok "live-agent-back-new (a new ping: its flow in G.Flows())"
else
	ko "live-agent-back-new" "$(q "$(LIVE "$C2")" | head -c 300)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
