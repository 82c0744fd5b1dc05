#!/bin/bash
# replication.sh - analyzer peering (docs/DEPLOY.md "Peering"; Skydive's /ws/replication):
# three analyzers listing each other in `analyzers:`, agent h1 with analyzers [1, 2] and
# agent h2 with [3], each in a network namespace of its own with a veth the test makes:
#   - every analyzer sees both agents' nodes, each once (same count by Name everywhere);
#   - h1's topology goes to one analyzer only (its master, M: 1 or 2, whichever answered
#     first); the other two got it by replication (Peers.Replication: origin agent.h1 is
#     owned by peer M there);
#   - a link created in h1 afterwards shows on 3 (a change replicated, not just a Sync);
#   - analyzer M killed (SIGKILL): h1's agent moves its topology to the other one, O (its
#     status names the new master), h1's nodes stay on 3 meanwhile, and a link made after
#     the kill reaches 3 through O;
#   - analyzer M restarted with an empty data directory gets the whole graph back from
#     its peers, once each;
#   - agent h2 stopped: its nodes leave every analyzer.
# Analyzers run in namespace "an" (their loopback); agents reach them on 10.82.0.1.
set -u
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/cluster.sh"
P=skrp$$
trap cluster_cleanup EXIT
trap 'exit 1' INT TERM
if [ "$(id -u)" != 0 ]; then
	echo "replication: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi

AN=${P}an H1=${P}h1 H2=${P}h2
for ns in $AN $H1 $H2; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$AN" link add br0 type bridge
ip -n "$AN" addr add 10.82.0.1/24 dev br0
ip -n "$AN" link set br0 up
i=2
for h in $H1 $H2; do
	ip link add "m$i" netns "$AN" type veth peer name mgmt netns "$h"
	ip -n "$AN" link set "m$i" master br0 up
	ip -n "$h" addr add "10.82.0.$i/24" dev mgmt
	ip -n "$h" link set mgmt up
	i=$((i + 1))
done

declare -A APORT=([1]=8082 [2]=8083 [3]=8084)
cat >"$tmp/an.yml" <<EOF
analyzers: [127.0.0.1:8082, 127.0.0.1:8083, 127.0.0.1:8084]
analyzer:
  replication:
    expire: 30
EOF
for n in 1 2 3; do start_an $n || { ko "analyzer$n-start" "$(tail -c 300 "$tmp/an$n.log")"; finish; }; done

# agents: h1 -> [1, 2] (1 its master), h2 -> [3]; h1 serves its API on its namespace's
# loopback, for its status
ip netns exec "$H1" "$SKYDIVE" agent --host-id h1 --analyzer "10.82.0.1:${APORT[1]}" \
	--analyzer "10.82.0.1:${APORT[2]}" --listen 127.0.0.1:8081 --netns-run-path '' \
	>"$tmp/h1.log" 2>&1 &
A1=$!
pids+=($!)
ip netns exec "$H2" "$SKYDIVE" agent --host-id h2 --analyzer "10.82.0.1:${APORT[3]}" \
	--listen none --netns-run-path '' >"$tmp/h2.log" 2>&1 &
A2=$!
pids+=($!)
h1st() { ip netns exec "$H1" curl -s -m 5 "http://127.0.0.1:8081/api/status"; }

# h1 and h2 each have lo and mgmt plus their host node: 3 nodes of Host h1, 3 of h2
COUNT="G.V().Has('Host', 'h1').Count()"
COUNT2="G.V().Has('Host', 'h2').Count()"
for n in 1 2 3; do
	expect "h1-on-$n (its host, lo and mgmt once each)" 20 $n "$COUNT" '. == 3'
	expect "h2-on-$n" 20 $n "$COUNT2" '. == 3'
done
expect "no-duplicate-names-on-3 (h1's mgmt once)" 5 3 "G.V().Has('Host', 'h1', 'Name', 'mgmt').Count()" '. == 1'

# one master: h1's topology went to analyzer M only; the others have it from M
m=$(h1st | jq -r '.Agent.Master')
M=0
[ "$m" = "10.82.0.1:${APORT[1]}" ] && M=1
[ "$m" = "10.82.0.1:${APORT[2]}" ] && M=2
O=$((3 - M))
check h1-one-master "agent status Master: $m; Analyzers: $(h1st | jq -c .Agent.Analyzers)" \
	[ "$M" != 0 -a "$(h1st | jq -r '[.Agent.Analyzers[] | select(.Master)] | length')" = 1 ]
[ "$M" = 0 ] && finish
for n in $O 3; do
	r=$(st $n | jq -c '.Peers.Replication')
	check "replicated-from-$M-to-$n" "analyzer $n Peers.Replication: $r" \
		[ "$(echo "$r" | jq -r --arg m "an$M" '.Incomers[$m].Connected and .Incomers[$m].Origins >= 1')" = true ]
done
out=$(st $M | jq -c '.Peers.Outgoers')
check "outgoers-of-$M" "analyzer $M Peers.Outgoers: $out" \
	[ "$(echo "$out" | jq -r '[.[] | select(.Connected)] | length == 2')" = true ]
a3=$(st 3 | jq -c '.Agents | keys')
check agents-of-3 "analyzer 3 Agents: $a3 (h2 only: h1 is not connected to it)" [ "$a3" = '["h2"]' ]

# a change after the Syncs: replicated as it happens (a veth pair: 2 nodes)
ip -n "$H1" link add rpa type veth peer name rpa2
expect "change-replicated (rpa of h1 on 3)" 15 3 "G.V().Has('Host', 'h1', 'Name', 'rpa').Count()" '. == 1'

# ---- analyzer M killed: h1 moves to O ----
kill -9 "${APID[$M]}"
wait "${APID[$M]}" 2>/dev/null
for _ in $(seq 1 50); do
	m=$(h1st | jq -r '.Agent.Master')
	[ "$m" = "10.82.0.1:${APORT[$O]}" ] && break
	sleep 0.2
done
check "failover-to-$O" "agent status Master after the kill: $m" [ "$m" = "10.82.0.1:${APORT[$O]}" ]
expect "h1-kept-on-3 (5 nodes: host, lo, mgmt, rpa, rpa2)" 10 3 "$COUNT" '. == 5'
ip -n "$H1" link add rpb type veth peer name rpb2
expect "after-kill-change-on-3 (rpb through $O)" 15 3 "G.V().Has('Host', 'h1', 'Name', 'rpb').Count()" '. == 1'
expect "h1-on-$O-after-failover" 10 $O "$COUNT" '. == 7'
expect "h1-whole-on-3" 10 3 "$COUNT" '. == 7'

# ---- analyzer M back, empty: its peers resync it ----
rm -rf "$tmp/an$M"
start_an $M || ko analyzer$M-restart "$(tail -c 300 "$tmp/an$M.log")"
expect "resync-h1-on-$M (7 nodes once each)" 20 $M "$COUNT" '. == 7'
expect "resync-h2-on-$M" 20 $M "$COUNT2" '. == 3'
expect "no-duplicates-on-$M" 5 $M "G.V().Has('Host', 'h1', 'Name', 'rpb').Count()" '. == 1'

# ---- agent h2 stopped: gone everywhere ----
kill -TERM "$A2"
wait "$A2" 2>/dev/null
for n in 1 2 3; do
	expect "h2-gone-from-$n" 15 $n "$COUNT2" '. == 0'
done

for p in "$A1" "${APID[1]}" "${APID[2]}" "${APID[3]}"; do kill -TERM "$p" 2>/dev/null; done
rcs=""
for p in "$A1" "${APID[1]}" "${APID[2]}" "${APID[3]}"; do
	rc=0
	wait "$p" 2>/dev/null || rc=$?
	rcs="$rcs $rc"
done
check clean-exit "exit codes (agent h1, analyzers 1 2 3):$rcs" [ "$rcs" = " 0 0 0 0" ]
finish
