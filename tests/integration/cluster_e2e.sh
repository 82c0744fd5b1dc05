#!/bin/bash
# cluster_e2e.sh - issue 14's scenario on one machine (docs/DEPLOY.md): two analyzers
# sharing etcd (captures) and ClickHouse (flow history), and an agent in a network
# namespace connected to both, capturing on a veth the test creates:
#   - a capture created on analyzer 1 is listed on analyzer 2 and runs once on the agent
#     (both analyzers dispatch it; the agent's second Start is a no-op: one capture, one
#     flow per ping);
#   - the flows of pings before and after analyzer 1 is killed (SIGKILL) are all found by
#     G.At() on analyzer 2, with the packet counts the pings sent (ClickHouse holds them,
#     whichever analyzer received them); the capture kept running across the kill;
#   - the capture deleted on analyzer 2 stops on the agent (its Captures metadata goes).
# etcd, ClickHouse and the analyzers run in the namespace "an" (their loopback), the agent
# in "h1", the ping's peer in "peer". One `ok NAME` / `FAIL NAME: reason` line per check.
set -u
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/clickhouse.sh"
P=skce$$
ko() { echo "FAIL $1: ${2:0:300}"; fail=$((fail + 1)); }
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "cluster_e2e: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping etcd clickhouse-server; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done

AN=${P}an H1=${P}h1 PEER=${P}peer
for ns in $AN $H1 $PEER; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add cev0 netns "$H1" type veth peer name cev0 netns "$PEER"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip -n "$H1" addr add 10.81.1.1/24 dev cev0
ip -n "$PEER" addr add 10.81.1.2/24 dev cev0
ip -n "$AN" addr add 10.81.2.1/24 dev m1
ip -n "$H1" addr add 10.81.2.2/24 dev mgmt
for l in "$H1 cev0" "$PEER cev0" "$AN m1" "$H1 mgmt"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
inan() { ip netns exec "$AN" "$@"; }

# ---- etcd and ClickHouse in the analyzers' namespace ----
EC=2379 EP=2380 CHH=8123 CHT=9000
ip netns exec "$AN" etcd --name skce --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
	--advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
	--initial-advertise-peer-urls "http://127.0.0.1:$EP" \
	--initial-cluster "skce=http://127.0.0.1:$EP" >"$tmp/etcd.log" 2>&1 &
pids+=($!)
# ch_start in the namespace: the function runs in a subshell there
export -f ch_start
inan bash -c "ch_start '$tmp/ch' $CHH $CHT && echo \$CH_PID >'$tmp/ch.pid' && wait" >"$tmp/ch.start" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	[ -s "$tmp/ch.pid" ] && [ "$(inan curl -s "http://127.0.0.1:$EC/health" 2>/dev/null | jq -r .health 2>/dev/null)" = true ] && break
	sleep 0.3
done
[ -s "$tmp/ch.pid" ] || { ko setup "clickhouse: $(cat "$tmp/ch.start")"; finish; }
pids+=("$(cat "$tmp/ch.pid")")
ok "etcd-and-clickhouse (in the analyzers' namespace)"

cat >"$tmp/an.yml" <<EOF
analyzers: [127.0.0.1:8082, 127.0.0.1:8083] # peers: each replicates its agents' topology
etcd:
  servers: [http://127.0.0.1:$EC]
  client_timeout: 2
  lease_ttl: 3
analyzer:
  flow:
    backend: ch
storage:
  ch:
    driver: clickhouse
    hosts: [http://127.0.0.1:$CHH]
    database: skce
EOF
declare -A APORT=([1]=8082 [2]=8083) APID
start_an() {
	ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/an$1" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
		SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer -c "$tmp/an.yml" \
		--listen "0.0.0.0:${APORT[$1]}" --host-id "an$1" >>"$tmp/an$1.log" 2>&1 &
	APID[$1]=$!
	pids+=($!)
	for _ in $(seq 1 100); do
		inan curl -sf "http://127.0.0.1:${APORT[$1]}/api" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
q() { # N GREMLIN
	inan curl -s -m 10 -XPOST "http://127.0.0.1:${APORT[$1]}/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$2" '{GremlinQuery:$q}')"
}
LAST=
wait_jq() { # TIMEOUT_S N QUERY FILTER
	local end=$(($(date +%s) + $1))
	while :; do
		LAST=$(q "$2" "$3")
		[ "$(echo "$LAST" | jq -r "$4" 2>/dev/null)" = true ] && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
expect() { if wait_jq "$2" "$3" "$4" "$5"; then ok "$1"; else ko "$1" "$LAST"; fi; }
for n in 1 2; do start_an $n || { ko "analyzer$n-start" "$(tail -c 300 "$tmp/an$n.log")"; finish; }; done

ip netns exec "$H1" env SKYDIVE_FLOW_UPDATE=1 SKYDIVE_FLOW_EXPIRE=3 "$SKYDIVE" agent --host-id h1 \
	--analyzer "10.81.2.1:${APORT[1]}" --analyzer "10.81.2.1:${APORT[2]}" --listen none \
	--netns-run-path '' >"$tmp/agent.log" 2>&1 &
AGENT=$!
pids+=($!)
NODE="G.V().Has('Name', 'cev0')"
expect "topology-on-both (cev0 of h1 on analyzer 1 and 2)" 20 1 "$NODE" 'length == 1'
expect "topology-on-2" 10 2 "$NODE" 'length == 1'

# ---- a capture created on 1: listed on 2, running once on the agent ----
CAP=$(inan curl -s -XPOST "http://127.0.0.1:${APORT[1]}/api/capture" -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\": \"$NODE\", \"BPFFilter\": \"icmp\"}" | jq -r .UUID)
check capture-created "no UUID: $CAP" [ "${#CAP}" = 36 ]
l=$(inan curl -s "http://127.0.0.1:${APORT[2]}/api/capture" | jq -r --arg u "$CAP" 'has($u)')
for _ in $(seq 1 30); do [ "$l" = true ] && break; sleep 0.3; l=$(inan curl -s "http://127.0.0.1:${APORT[2]}/api/capture" | jq -r --arg u "$CAP" 'has($u)'); done
check capture-listed-on-2 "GET /api/capture of 2: $l" [ "$l" = true ]
active="[.[0].Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length == 1"
expect "capture-active-once (one Captures entry on the node)" 20 2 "$NODE" "$active"
ping_n() { ip netns exec "$H1" ping -c "$1" -i 0.2 -W 2 -p "$2" 10.81.1.2 >/dev/null 2>&1 || ko "ping-$2" "no reply"; }
HIST="G.At('-0s', 3600).Flows().Has('CaptureID', '$CAP', 'Application', 'ICMPv4')"
ping_n 3 aa
# one flow of 3/3 (one capture: a second one would count the packets twice in its own flow)
expect "before-kill-flow (3 echo and 3 replies, one flow, on analyzer 2)" 20 2 "$HIST" \
	'length == 1 and .[0].Metric.ABPackets == 3 and .[0].Metric.BAPackets == 3'
U1=$(q 2 "$HIST" | jq -r '.[0].UUID')

# ---- analyzer 1 killed: the capture keeps running, history still whole on 2 ----
kill -9 "${APID[1]}"
wait "${APID[1]}" 2>/dev/null
sleep 4 # past the flow's expiry (3 s): the next ping is a new flow
ping_n 4 bb
expect "after-kill-flow (4/4 in a second flow, and the first one still there)" 20 2 "$HIST" \
	"length == 2 and ([.[] | select(.UUID != \"$U1\") | .Metric.ABPackets, .Metric.BAPackets] == [4, 4]) and ([.[] | select(.UUID == \"$U1\") | .Metric.ABPackets] == [3])"
expect "capture-still-active" 5 2 "$NODE" "$active"
# in ClickHouse within a batch interval (bulk_maxdelay 1 s) of the analyzer's memory
for _ in $(seq 1 30); do
	rows=$(inan curl -s "http://127.0.0.1:$CHH/" --data-binary "SELECT uniq(UUID) FROM skce.flows WHERE CaptureID = '$CAP'")
	[ "$rows" = 2 ] && break
	sleep 0.3
done
check clickhouse-rows "distinct flows in ClickHouse: $rows" [ "$rows" = 2 ]

# ---- deleted on 2: stopped on the agent ----
code=$(inan curl -s -o /dev/null -w '%{http_code}' -XDELETE "http://127.0.0.1:${APORT[2]}/api/capture/$CAP")
check capture-deleted "DELETE answered $code" [ "$code" = 200 ]
expect "capture-stopped (no Captures entry left on the node)" 20 2 "$NODE" \
	"[.[0].Metadata.Captures // [] | .[] | select(.ID == \"$CAP\")] | length == 0"

# clean exits (what a sanitizer finds at exit makes them fail)
for p in "$AGENT" "${APID[2]}"; do kill -TERM "$p" 2>/dev/null; done
rc_agent=0 rc_an=0
wait "$AGENT" 2>/dev/null || rc_agent=$?
wait "${APID[2]}" 2>/dev/null || rc_an=$?
check clean-exit "agent exit $rc_agent, analyzer 2 exit $rc_an" [ "$rc_agent" = 0 -a "$rc_an" = 0 ]
finish
