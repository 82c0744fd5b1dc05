#!/bin/bash
# cluster_e2e.sh - issue 14's scenario on one machine (docs/DEPLOY.md): three analyzers
# sharing etcd (captures, elections) and ClickHouse (flow history), peered, and two agents
# in network namespaces, each connected to all three (h1 lists them 1, 2, 3; h2 3, 2, 1),
# each capturing on a veth of its own the test creates:
#   - a capture created on analyzer 1 is listed on 2 and 3, and runs once on every
#     matching node (both agents' cev0); one analyzer only, the holder of
#     /elections/ondemand-client-capture, sends the Starts;
#   - the dispatching analyzer killed (SIGKILL): another one is elected within seconds and
#     takes the dispatch over (its Starts; the other survivor still sends none), the
#     capture keeps running on both agents, the agents' topology is still on both
#     survivors;
#   - the flows of pings before and after the kill are all found by G.At() on each
#     survivor, with the packet counts the pings sent (ClickHouse holds them, whichever
#     analyzer received them);
#   - etcd restarted (SIGKILL, same data): the survivors list the capture while it is
#     down and after, an analyzer is elected again, and the capture deleted afterwards on
#     the follower stops on both agents;
#   - a capture deleted while no analyzer dispatches (the dispatcher killed, the last one
#     not elected yet) is stopped on both agents by the one elected next, from the nodes'
#     Captures metadata (Skydive keeps a cache of recent deletions for this).
# etcd, ClickHouse and the analyzers run in the namespace "an" (their loopback, and a
# bridge the agents reach them on), the agents in "h1" and "h2", the pings' peer in "peer".
# One `ok NAME` / `FAIL NAME: reason` line per check.
set -u
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/cluster.sh"
. "$(dirname "$0")/lib/clickhouse.sh"
P=skce$$
trap cluster_cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "cluster_e2e: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping etcd clickhouse-server; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done

AN=${P}an H1=${P}h1 H2=${P}h2 PEER=${P}peer
for ns in $AN $H1 $H2 $PEER; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$AN" link add br0 type bridge
ip -n "$AN" addr add 10.81.0.1/24 dev br0
ip -n "$AN" link set br0 up
i=2
for h in $H1 $H2; do # h1 is 10.81.0.2 there, h2 10.81.0.3
	ip link add "m$i" netns "$AN" type veth peer name mgmt netns "$h"
	ip -n "$AN" link set "m$i" master br0 up
	ip -n "$h" addr add "10.81.0.$i/24" dev mgmt
	ip -n "$h" link set mgmt up
	i=$((i + 1))
done
# the captured veths: h1's cev0 pings 10.81.1.2, h2's cev0 10.81.3.2 (both in "peer")
ip link add cev0 netns "$H1" type veth peer name p1 netns "$PEER"
ip link add cev0 netns "$H2" type veth peer name p2 netns "$PEER"
ip -n "$H1" addr add 10.81.1.1/24 dev cev0
ip -n "$PEER" addr add 10.81.1.2/24 dev p1
ip -n "$H2" addr add 10.81.3.1/24 dev cev0
ip -n "$PEER" addr add 10.81.3.2/24 dev p2
for l in "$H1 cev0" "$H2 cev0" "$PEER p1" "$PEER p2"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

# ---- etcd and ClickHouse in the analyzers' namespace ----
EC=2379 EP=2380 CHH=8123 CHT=9000
start_etcd() {
	ip netns exec "$AN" etcd --name skce --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
		--advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
		--initial-advertise-peer-urls "http://127.0.0.1:$EP" \
		--initial-cluster "skce=http://127.0.0.1:$EP" >>"$tmp/etcd.log" 2>&1 &
	ETCD=$!
	pids+=($!)
}
etcd_up() { [ "$(inan curl -s -m 2 "http://127.0.0.1:$EC/health" 2>/dev/null | jq -r .health 2>/dev/null)" = true ]; }
start_etcd
# ch_start in the namespace: the function runs in a subshell there
export -f ch_start
inan bash -c "ch_start '$tmp/ch' $CHH $CHT && echo \$CH_PID >'$tmp/ch.pid' && wait" >"$tmp/ch.start" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	[ -s "$tmp/ch.pid" ] && etcd_up && break
	sleep 0.3
done
[ -s "$tmp/ch.pid" ] || { ko setup "clickhouse: $(cat "$tmp/ch.start")"; finish; }
pids+=("$(cat "$tmp/ch.pid")")
ok "etcd-and-clickhouse (in the analyzers' namespace)"

cat >"$tmp/an.yml" <<EOF
analyzers: [127.0.0.1:8082, 127.0.0.1:8083, 127.0.0.1:8084] # peers: each replicates its agents' topology
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
declare -A APORT=([1]=8082 [2]=8083 [3]=8084) AGPID
EL='.Cluster.Elections["ondemand-client-capture"]'
listed() { # N UUID: whether analyzer N lists the capture
	[ "$(inan curl -s -m 5 "http://127.0.0.1:${APORT[$1]}/api/capture" | jq -r --arg u "$2" 'has($u)')" = true ]
}
wait_listed() { # N UUID
	for _ in $(seq 1 30); do listed "$1" "$2" && return 0; sleep 0.3; done
	return 1
}
starts() { st "$1" | jq -r '.Captures.Dispatch.StartsSent // 0'; }

# analyzer 1 first, elected before the others start (the Starts then have one known sender)
start_an 1 || { ko "analyzer1-start" "$(tail -c 300 "$tmp/an1.log")"; finish; }
if wait_st 15 1 "$EL.IsMaster == true and .Captures.Dispatch.IsMaster == true"; then
	ok "analyzer1-elected (the capture dispatcher)"
else
	ko analyzer1-elected "$(echo "$LAST" | jq -c '.Cluster')"
fi
for n in 2 3; do start_an $n || { ko "analyzer$n-start" "$(tail -c 300 "$tmp/an$n.log")"; finish; }; done

agent() { # NAME ANALYZER-INDEXES...
	local h=$1 ns=${P}$1 args=()
	shift
	for n in "$@"; do args+=(--analyzer "10.81.0.1:${APORT[$n]}"); done
	ip netns exec "$ns" env SKYDIVE_FLOW_UPDATE=1 SKYDIVE_FLOW_EXPIRE=3 "$SKYDIVE" agent --host-id "$h" \
		"${args[@]}" --listen none --netns-run-path '' >"$tmp/agent-$h.log" 2>&1 &
	AGPID[$h]=$!
	pids+=($!)
}
agent h1 1 2 3
agent h2 3 2 1
NODE="G.V().Has('Name', 'cev0')"
for n in 1 2 3; do
	expect "topology-on-$n (cev0 of h1 and h2, once each)" 20 $n "$NODE" '[.[].Host] | sort == ["h1", "h2"]'
done

# ---- a capture created on 1: listed on 2 and 3, running once on each agent ----
CAP=$(inan curl -s -XPOST "http://127.0.0.1:${APORT[1]}/api/capture" -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\": \"$NODE\", \"BPFFilter\": \"icmp\"}" | jq -r .UUID)
check capture-created "no UUID: $CAP" [ "${#CAP}" = 36 ]
for n in 2 3; do check "capture-listed-on-$n" "GET /api/capture of $n does not list $CAP" wait_listed $n "$CAP"; done
active="[.[] | [.Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length] == [1, 1]"
expect "capture-active-on-both-agents (one Captures entry on each cev0)" 20 2 "$NODE" "$active"
s1=$(starts 1) s2=$(starts 2) s3=$(starts 3)
check "one-dispatcher (Starts sent: 1=$s1 2=$s2 3=$s3)" "only 1 may send them, one per node" \
	[ "$s1" = 2 -a "$s2" = 0 -a "$s3" = 0 ]
ping_n() { # HOST COUNT DEST
	ip netns exec "${P}$1" ping -c "$2" -i 0.2 -W 2 "$3" >/dev/null 2>&1 || ko "ping-$1-$2" "no reply from $3"
}
HIST="G.At('-0s', 3600).Flows().Has('CaptureID', '$CAP', 'Application', 'ICMPv4')"
# The flows to DEST as sorted "AB/BA" packet counts: one flow per ping run (a second
# capture of the node would count the packets again in a flow of its own).
counts() { echo "[.[] | select(.Network.B == \"$1\") | \"\(.Metric.ABPackets)/\(.Metric.BAPackets)\"] | sort"; }
ping_n h1 3 10.81.1.2
ping_n h2 5 10.81.3.2
expect "before-kill-flows (h1: 3 echo and 3 replies, h2: 5 and 5, on analyzer 3)" 20 3 "$HIST" \
	"($(counts 10.81.1.2) == [\"3/3\"]) and ($(counts 10.81.3.2) == [\"5/5\"])"

# ---- the dispatcher killed: another elected, the capture keeps running ----
D=$(st 2 | jq -r "$EL.Master" | sed 's/^an//')
check "dispatcher-known (analyzer $D, as 2 sees it)" "expected an1" [ "$D" = 1 ]
[ -n "${APID[$D]:-}" ] || D=1
kill -9 "${APID[$D]}"
wait "${APID[$D]}" 2>/dev/null
S=() # the survivors
for n in 1 2 3; do [ "$n" != "$D" ] && S+=("$n"); done
t0=$(date +%s)
newm="$EL.Master != \"an$D\" and $EL.Master != \"\" and $EL.Master != null"
if wait_st 20 "${S[0]}" "$newm" && wait_st 5 "${S[1]}" "$newm"; then
	ok "another-elected (after $(($(date +%s) - t0)) s: $(echo "$LAST" | jq -r "$EL.Master"))"
else
	ko another-elected "$(echo "$LAST" | jq -c '.Cluster.Elections')"
fi
N=$(st "${S[0]}" | jq -r "$EL.Master" | sed 's/^an//')
[ "$N" = "${S[0]}" ] || [ "$N" = "${S[1]}" ] || N=${S[0]}
F=${S[0]}
[ "$F" = "$N" ] && F=${S[1]}
if wait_st 10 "$N" '.Captures.Dispatch.IsMaster == true and .Captures.Dispatch.StartsSent == 2'; then
	ok "new-dispatcher-takes-over (analyzer $N sent the Starts again, one per node)"
else
	ko new-dispatcher-takes-over "$(echo "$LAST" | jq -c '.Captures.Dispatch')"
fi
check "follower-sends-none (analyzer $F)" "$(st "$F" | jq -c '.Captures.Dispatch')" \
	[ "$(starts "$F")" = 0 ]
for n in "${S[@]}"; do
	expect "agents-still-on-$n (both cev0 after the kill)" 15 "$n" "$NODE" '[.[].Host] | sort == ["h1", "h2"]'
	expect "capture-still-active-on-$n" 10 "$n" "$NODE" "$active"
done
sleep 4 # past the flows' expiry (3 s): the next pings are new flows
ping_n h1 4 10.81.1.2
ping_n h2 6 10.81.3.2
for n in "${S[@]}"; do
	expect "after-kill-flows-on-$n (h1: 3/3 then 4/4, h2: 5/5 then 6/6)" 20 "$n" "$HIST" \
		"($(counts 10.81.1.2) == [\"3/3\", \"4/4\"]) and ($(counts 10.81.3.2) == [\"5/5\", \"6/6\"])"
done
# in ClickHouse within a batch interval (bulk_maxdelay 1 s) of the analyzers' memory
for _ in $(seq 1 30); do
	rows=$(inan curl -s "http://127.0.0.1:$CHH/" --data-binary "SELECT uniq(UUID) FROM skce.flows WHERE CaptureID = '$CAP'")
	[ "$rows" = 4 ] && break
	sleep 0.3
done
check clickhouse-rows "distinct flows in ClickHouse: $rows" [ "$rows" = 4 ]

# ---- etcd restarted: the resources and the election come back ----
kill -9 "$ETCD"
wait "$ETCD" 2>/dev/null
sleep 2
for n in "${S[@]}"; do check "capture-served-while-etcd-down-on-$n" "not listed" listed "$n" "$CAP"; done
start_etcd
elected="$EL.Master != \"\" and $EL.Master != null and .Cluster.Etcd.Connected == true"
if wait_st 30 "${S[0]}" "$elected" && wait_st 10 "${S[1]}" "$elected"; then
	ok "elected-again-after-etcd-restart ($(echo "$LAST" | jq -r "$EL.Master"))"
else
	ko elected-again-after-etcd-restart "$(echo "$LAST" | jq -c '.Cluster')"
fi
N=$(echo "$LAST" | jq -r "$EL.Master" | sed 's/^an//')
[ "$N" = "${S[0]}" ] || [ "$N" = "${S[1]}" ] || N=${S[0]}
F=${S[0]}
[ "$F" = "$N" ] && F=${S[1]}
for n in "${S[@]}"; do check "capture-kept-after-etcd-restart-on-$n" "not listed" listed "$n" "$CAP"; done
expect "capture-active-after-etcd-restart" 10 "$N" "$NODE" "$active"

# a second capture, created on the follower, started by the dispatcher
r=$(inan curl -s -XPOST "http://127.0.0.1:${APORT[$F]}/api/capture" -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\": \"$NODE\", \"BPFFilter\": \"ip\"}")
CAP2=$(echo "$r" | jq -r .UUID 2>/dev/null)
check second-capture-created "POST answered: $r" [ "${#CAP2}" = 36 ]
active2="[.[] | [.Metadata.Captures // [] | .[] | select(.ID == \"$CAP2\" and .State == \"active\")] | length] == [1, 1]"
expect "second-capture-active (created on the follower $F)" 20 "$N" "$NODE" "$active2"

# ---- deleted on the follower: the dispatcher stops it on both agents ----
code=$(inan curl -s -o /dev/null -w '%{http_code}' -XDELETE "http://127.0.0.1:${APORT[$F]}/api/capture/$CAP")
check "capture-deleted (on the follower, analyzer $F)" "DELETE answered $code" [ "$code" = 200 ]
expect "capture-stopped (no Captures entry left on either cev0)" 20 "$N" "$NODE" \
	"[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$CAP\")] | length == 0"

# ---- deleted while no analyzer dispatches (the dispatcher just killed, the last one not
# elected yet): the one elected next stops it from the nodes' Captures ----
kill -9 "${APID[$N]}"
wait "${APID[$N]}" 2>/dev/null
code=$(inan curl -s -o /dev/null -w '%{http_code}' -XDELETE "http://127.0.0.1:${APORT[$F]}/api/capture/$CAP2")
m=$(st "$F" | jq -r '.Captures.Dispatch.IsMaster')
check "deleted-with-no-dispatcher (analyzer $F, not elected yet: $m)" "DELETE answered $code" \
	[ "$code" = 200 -a "$m" = false ]
expect "stopped-by-the-next-elected (no Captures entry of it left)" 20 "$F" "$NODE" \
	"[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$CAP2\")] | length == 0"
if wait_st 5 "$F" '.Captures.Dispatch.IsMaster == true and .Captures.Dispatch.OrphansStopped == 2'; then
	ok "orphans-stopped (2, by analyzer $F once elected)"
else
	ko orphans-stopped "$(echo "$LAST" | jq -c '.Captures.Dispatch')"
fi

# clean exits (what a sanitizer finds at exit makes them fail)
ends=("${AGPID[h1]}" "${AGPID[h2]}" "${APID[$F]}")
for p in "${ends[@]}"; do kill -TERM "$p" 2>/dev/null; done
bad=""
for p in "${ends[@]}"; do wait "$p" 2>/dev/null || bad="$bad $p:$?"; done
check clean-exit "exit statuses:$bad" [ -z "$bad" ]
finish
