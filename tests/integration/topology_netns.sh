#!/bin/bash
# topology_netns.sh - the agent's topology probes end to end, as root, in
# network namespaces of our own (prefix sktn<pid>; nothing is created in the
# root namespace): netns/veth/bridge nodes and edges reach the analyzer of
# `skydive allinone`, live updates (addresses, counters, a namespace going
# away), time travel, and an agent inside a namespace pushing to an analyzer
# in another namespace (headers, Host, reconnect and resync, removal on stop).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=sktn$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

cleanup() {
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
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
	echo "topology_netns: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# q QUERY: runs a Gremlin query on $API (through $QEXEC, e.g. `ip netns exec X`).
QEXEC=""
q() {
	$QEXEC curl -s -m 5 -XPOST "http://$API/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_for TIMEOUT_S QUERY JQ_FILTER [ARGS...]: polls until the filter holds;
# waited_ms says how long it took.
wait_for() {
	local timeout=$1 query=$2 filter=$3 start
	shift 3
	start=$(now_ms)
	while :; do
		# jq -e holds on no input at all: an analyzer not answering yet is no answer
		local out
		out=$(q "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$@" "$filter" >/dev/null 2>&1; then
			waited_ms=$(($(now_ms) - start))
			return 0
		fi
		if [ $(($(now_ms) - start)) -gt $((timeout * 1000)) ]; then
			waited_ms=$(($(now_ms) - start))
			return 1
		fi
		sleep 0.05
	done
}
node_id() { q "G.V().Has('Name','$1')" | jq -r '.[0].ID // empty'; }
# Stops a process we started with SIGTERM; its exit status goes into rc
# (no subshell: only this shell can wait for its children).
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	rc=$?
}
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }

# ---- allinone in the root namespace (probes read it, never change it) ----
PORT=$(free_port)
API=127.0.0.1:$PORT
"$SKYDIVE" allinone --listen "$API" --metrics-update 1 --host-id "${P}host" \
	>"$tmp/allinone.log" 2>&1 &
aio=$!
pids+=("$aio")
if wait_for 10 "G.V().Has('Type','host')" 'map(.Metadata.Name) | index("'"${P}host"'")'; then
	ok "allinone-up (host node after ${waited_ms} ms)"
else
	ko allinone-up "no host node ${P}host; log: $(tail -c 300 "$tmp/allinone.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi

# ---- ns1 <-veth-> ns2, and ns3 with a bridge and two ports --------------
t0=$(now_ms)
ip netns add "${P}1" && ip netns add "${P}2" && ip netns add "${P}3" || ko setup "ip netns add failed"
ip link add "${P}a" netns "${P}1" type veth peer name "${P}b" netns "${P}2"
ip -n "${P}1" addr add 10.231.0.1/24 dev "${P}a"
ip -n "${P}2" addr add 10.231.0.2/24 dev "${P}b"
ip -n "${P}1" link set "${P}a" up
ip -n "${P}2" link set "${P}b" up
ip -n "${P}3" link add "${P}br" type bridge
for i in 1 2; do
	ip -n "${P}3" link add "${P}p$i" type veth peer name "${P}q$i"
	ip -n "${P}3" link set "${P}p$i" master "${P}br"
done
ip -n "${P}3" link set "${P}br" up
mac_a=$(ip -n "${P}1" -j link show "${P}a" | jq -r '.[0].address')

if wait_for 10 "G.V().Has('Type','netns').Values('Name')" \
	'index("'"${P}1"'") and index("'"${P}2"'") and index("'"${P}3"'")'; then
	ok "netns-nodes ($(($(now_ms) - t0)) ms after creation)"
else
	ko netns-nodes "$(q "G.V().Has('Type','netns').Values('Name')")"
fi

if wait_for 10 "G.V().Has('Name','${P}a')" \
	'.[0].Metadata | .Type == "veth" and .MAC == $mac and (.IPV4 // [] | index(["10.231.0.1/24"]) != null) and .State == "UP" and .PeerIfIndex > 0 and .Driver == "veth"' \
	--arg mac "$mac_a"; then
	ok "veth-node ($(($(now_ms) - t0)) ms after creation)"
else
	ko veth-node "$(q "G.V().Has('Name','${P}a')" | head -c 400)"
fi

if wait_for 10 "G.V().Has('Name','${P}br')" '.[0].Metadata | .Type == "bridge" and .Driver == "bridge"'; then
	ok bridge-node
else
	ko bridge-node "$(q "G.V().Has('Name','${P}br')" | head -c 300)"
fi

# Edges, by the IDs of their ends.
edge_check() { # NAME NODE_NAME JQ_FILTER
	local name=$1 node=$2 filter=$3
	if wait_for 10 "G.V().Has('Name','$node').BothE()" "$filter" \
		--arg ns1 "$(node_id "${P}1")" --arg ns3 "$(node_id "${P}3")" \
		--arg a "$(node_id "${P}a")" --arg b "$(node_id "${P}b")" \
		--arg br "$(node_id "${P}br")" --arg p1 "$(node_id "${P}p1")" \
		--arg p2 "$(node_id "${P}p2")" --arg host "$(node_id "${P}host")"; then
		ok "$name"
	else
		ko "$name" "$(q "G.V().Has('Name','$node').BothE()" | head -c 400)"
	fi
}
edge_check ownership-netns-intf "${P}a" \
	'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $ns1 and .Child == $a)'
edge_check ownership-host-netns "${P}1" \
	'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $host and .Child == $ns1)'
edge_check layer2-veth-peers "${P}a" \
	'any(.[]; .Metadata.RelationType == "layer2" and .Metadata.Type == "veth" and ((.Parent == $a and .Child == $b) or (.Parent == $b and .Child == $a)))'
edge_check layer2-bridge-ports "${P}br" \
	'([.[] | select(.Metadata.RelationType == "layer2" and .Parent == $br) | .Child] | index($p1) != null and index($p2) != null)'
edge_check ownership-bridge-netns "${P}br" \
	'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $ns3 and .Child == $br)'

if q "G.V().Has('Name','${P}a')" | jq -e '.[0].Metadata.LinkNetNsName == "'"${P}2"'"' >/dev/null; then
	ok link-netns-name
else
	ko link-netns-name "$(q "G.V().Has('Name','${P}a').Values('LinkNetNsName')")"
fi

# ---- live updates: an address, counters ---------------------------------
t1=$(now_ms)
ip -n "${P}1" addr add 10.231.0.9/24 dev "${P}a"
if wait_for 10 "G.V().Has('Name','${P}a').Values('IPV4')" '.[0] | index("10.231.0.9/24") != null'; then
	ok "address-update ($(($(now_ms) - t1)) ms)"
else
	ko address-update "$(q "G.V().Has('Name','${P}a').Values('IPV4')")"
fi
ip netns exec "${P}1" ping -c 3 -i 0.2 -W 1 10.231.0.2 >/dev/null 2>&1
if wait_for 10 "G.V().Has('Name','${P}a')" \
	'.[0].Metadata | .Metric.TxPackets >= 3 and .LastUpdateMetric.Last > .LastUpdateMetric.Start'; then
	ok "metrics-update (${waited_ms} ms after the pings)"
else
	ko metrics-update "$(q "G.V().Has('Name','${P}a').Values('Metric')")"
fi

# ---- a namespace goes, and stays visible in the past ---------------------
sleep 1
tdel=$(now_ms)
ip netns del "${P}2"
if wait_for 10 "G.V().Has('Name','${P}2').Count()" '. == 0 or . == [0]' &&
	wait_for 5 "G.V().Has('Name','${P}b').Count()" '. == 0 or . == [0]'; then
	ok "netns-deleted ($(($(now_ms) - tdel)) ms)"
else
	ko netns-deleted "$(q "G.V().Has('Name','${P}2')" | head -c 300)"
fi
ago=$((($(now_ms) - tdel) / 1000 + 1))
past=$(q "G.At('-${ago}s').V().Has('Name','${P}b').Count()")
if [ "$past" = 1 ] || [ "$past" = "[1]" ]; then
	ok "time-travel (G.At('-${ago}s') still shows ${P}b)"
else
	ko time-travel "G.At('-${ago}s').V().Has('Name','${P}b').Count() gave: $(echo "$past" | head -c 200)"
fi

# ---- an agent inside a namespace, its analyzer in another ----------------
ip netns add "${P}an" && ip netns add "${P}ag"
ip link add "${P}x" netns "${P}an" type veth peer name "${P}y" netns "${P}ag"
ip -n "${P}an" addr add 10.232.0.1/24 dev "${P}x"
ip -n "${P}ag" addr add 10.232.0.2/24 dev "${P}y"
for ns in "${P}an" "${P}ag"; do ip -n "$ns" link set lo up; done
ip -n "${P}an" link set "${P}x" up
ip -n "${P}ag" link set "${P}y" up
API2=10.232.0.1:8082
# beyond loopback (inside the test's namespaces): no authentication and plain HTTP,
# both said explicitly
export SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true
# The agent starts first: it must keep retrying until the analyzer is there.
ip netns exec "${P}ag" "$SKYDIVE" agent --host-id "${P}hostX" --analyzer "$API2" \
	--netns-run-path '' --metrics-update 1 >"$tmp/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
sleep 1
ip netns exec "${P}an" "$SKYDIVE" analyzer --listen "$API2" --host-id "${P}an" \
	>"$tmp/analyzer.log" 2>&1 &
an=$!
pids+=("$an")
API=$API2 QEXEC="ip netns exec ${P}an"
if wait_for 15 "G.V().Has('Name','${P}y')" '.[0].Host == $h and .[0].Metadata.Type == "veth" and (.[0].Metadata.IPV4 | index("10.232.0.2/24") != null)' --arg h "${P}hostX"; then
	ok "agent-in-netns-sync (${waited_ms} ms after the analyzer started)"
else
	ko agent-in-netns-sync "$(q "G.V().Has('Host','${P}hostX').Values('Name')" | head -c 300); agent log: $(tail -c 300 "$tmp/agent.log")"
fi
if wait_for 10 "G.V().Has('Type','host').Has('Name','${P}hostX')" 'length == 1 and .[0].Metadata.KernelVersion != null'; then
	ok "agent-host-node (${waited_ms} ms after its interfaces)"
else
	ko agent-host-node "$(q "G.V().Has('Type','host')" | head -c 300)"
fi
if ip netns exec "${P}ag" curl -s -m 5 -XPOST http://127.0.0.1:8081/api/topology \
	-H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has('"'"'Name'"'"','"'"''"${P}y"''"'"').Count()"}' | jq -e '. == 1 or . == [1]' >/dev/null; then
	ok agent-local-api
else
	ko agent-local-api "the agent's own /api/topology does not list ${P}y"
fi

# The analyzer restarts: the agent reconnects and sends its graph again.
stop_pid "$an"
[ "$rc" = 0 ] || ko analyzer-exit "analyzer exit status $rc"
ip netns exec "${P}an" "$SKYDIVE" analyzer --listen "$API2" --host-id "${P}an" \
	>"$tmp/analyzer2.log" 2>&1 &
an=$!
pids+=("$an")
if wait_for 15 "G.V().Has('Name','${P}y').Count()" '. == 1 or . == [1]'; then
	ok "agent-resync-after-analyzer-restart (${waited_ms} ms)"
else
	ko agent-resync-after-analyzer-restart "agent log: $(tail -c 300 "$tmp/agent.log")"
fi

# Stopping the agent removes its nodes from the analyzer.
stop_pid "$agent"
if [ "$rc" = 0 ] && sanitizer_clean "$tmp/agent.log"; then
	ok agent-clean-exit
else
	ko agent-clean-exit "exit status $rc; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/agent.log")"
fi
if wait_for 10 "G.V().Has('Host','${P}hostX').Count()" '. == 0 or . == [0]'; then
	ok "agent-stop-removes-nodes (${waited_ms} ms)"
else
	ko agent-stop-removes-nodes "$(q "G.V().Has('Host','${P}hostX').Count()")"
fi
stop_pid "$an"
[ "$rc" = 0 ] && sanitizer_clean "$tmp/analyzer2.log" || ko analyzer-exit "exit status $rc"

# ---- allinone stops cleanly ----------------------------------------------
stop_pid "$aio"
if [ "$rc" = 0 ] && sanitizer_clean "$tmp/allinone.log"; then
	ok allinone-clean-exit
else
	ko allinone-clean-exit "exit status $rc; $(grep -m3 -E 'Sanitizer|runtime error|ERROR' "$tmp/allinone.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
