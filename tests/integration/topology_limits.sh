#!/bin/bash
# topology_limits.sh - the netlink probe's per-link bounds made visible (docs/TOPOLOGY.md
# "Bounds"): a namespace of our own (prefix skli<pid>, IPv6 off) with a veth
# carrying more than 2048 IPv4 routes and a bridge port with more than 2048 static FDB
# entries. `skydive allinone` (its netlink probe only reads) must keep 2048 of each on
# the node, say how many it left out in RoutingTablesLeftOut / FDBLeftOut (the kernel's
# own count, from ip / bridge, minus 2048), count them on /metrics
# (skydive_agent_netlink_left_out_total), and drop the key once the link is back
# within bounds.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skli$$
NS=${P}ns
cleanup() {
	stop_all
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "topology_limits: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip bridge curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done
MAX=2048 NR=2100 NF=2060

now_ms() { date +%s%3N; }
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_for() { # TIMEOUT_S QUERY JQ_FILTER [JQ ARGS...]
	local timeout=$1 query=$2 filter=$3 start out
	shift 3
	start=$(now_ms)
	while :; do
		out=$(q "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$@" "$filter" >/dev/null 2>&1; then
			return 0
		fi
		[ $(($(now_ms) - start)) -gt $((timeout * 1000)) ] && return 1
		sleep 0.2
	done
}
expect() { # NAME TIMEOUT_S QUERY JQ_FILTER [JQ ARGS...]
	local name=$1 timeout=$2 query=$3
	shift 3
	if wait_for "$timeout" "$query" "$@"; then ok "$name"; else ko "$name" "$(q "$query" | jq -c '.[0] | {RoutingTablesLeftOut, FDBLeftOut, NeighborsLeftOut}' 2>/dev/null | head -c 300)"; fi
}

ip netns add "$NS" || { echo "FAIL setup: ip netns add"; echo "0 passed, 1 failed"; exit 1; }
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link add "${P}d" type veth peer name "${P}e"
ip -n "$NS" link set "${P}e" up
ip -n "$NS" addr add 10.210.0.1/24 dev "${P}d"
ip -n "$NS" link set "${P}d" up
ip -n "$NS" link add "${P}br" type bridge
ip -n "$NS" link add "${P}p" type veth peer name "${P}q"
ip -n "$NS" link set "${P}p" master "${P}br"
ip -n "$NS" link set "${P}br" up
ip -n "$NS" link set "${P}p" up

PORT=$(free_port)
API=127.0.0.1:$PORT
"$SKYDIVE" allinone --listen "$API" --host-id "${P}host" >"$tmp/allinone.log" 2>&1 &
pids+=("$!")
D="G.V().Has('Name','${P}d').Has('Host','${P}host')"
PORTN="G.V().Has('Name','${P}p').Has('Host','${P}host')"
if wait_for 15 "$D" 'length == 1 and (.[0].Metadata | has("RoutingTablesLeftOut") | not)'; then
	ok "within-bounds (no RoutingTablesLeftOut)"
else
	ko within-bounds "$(q "$D" | head -c 300); log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi

# NR /32 routes on the veth, NF static FDB entries on the bridge port, in batches
for i in $(seq 0 $((NR - 1))); do
	echo "route add 10.211.$((i / 250)).$((i % 250 + 1))/32 dev ${P}d proto static"
done >"$tmp/routes"
ip -n "$NS" -batch "$tmp/routes" || ko setup "ip -batch routes failed"
for i in $(seq 0 $((NF - 1))); do
	printf 'fdb add 02:00:00:00:%02x:%02x dev %s master static\n' $((i / 256)) $((i % 256)) "${P}p"
done >"$tmp/fdb"
bridge -n "$NS" -batch "$tmp/fdb" || ko setup "bridge -batch fdb failed"

# what the kernel has on each link (every table: main, local), by its own tools
kr=$(ip -n "$NS" -4 -j route show table all dev "${P}d" | jq length)
kf=$(bridge -n "$NS" -j fdb show dev "${P}p" | jq length)
check kernel-counts "ip: $kr routes on ${P}d (>= $NR), bridge: $kf FDB entries on ${P}p (>= $NF)" \
	[ "$kr" -ge $NR -a "$kf" -ge $NF ]

expect "routes-left-out (RoutingTablesLeftOut $((kr - MAX)) = $kr - $MAX)" 20 "$D" \
	'.[0].Metadata.RoutingTablesLeftOut == $n' --argjson n $((kr - MAX))
expect "routes-kept ($MAX routes on the node)" 5 "$D" \
	'[.[0].Metadata.RoutingTables[].Routes[]] | length == $m' --argjson m $MAX
expect "fdb-left-out (FDBLeftOut $((kf - MAX)) = $kf - $MAX)" 20 "$PORTN" \
	'.[0].Metadata.FDBLeftOut == $n' --argjson n $((kf - MAX))
expect "fdb-kept ($MAX FDB entries on the node)" 5 "$PORTN" \
	'.[0].Metadata.FDB | length == $m' --argjson m $MAX
expect "no-neighbors-left-out" 5 "$D" '.[0].Metadata | has("NeighborsLeftOut") | not'

# /metrics: counted (at least once each, at every refresh of such a link)
m=$(curl -s -m 5 "http://$API/metrics")
lr=$(awk -v h="${P}host" '$1 == "skydive_agent_netlink_left_out_total{host=\"" h "\",kind=\"routes\"}" {print $2}' <<<"$m")
lf=$(awk -v h="${P}host" '$1 == "skydive_agent_netlink_left_out_total{host=\"" h "\",kind=\"fdb\"}" {print $2}' <<<"$m")
check metrics-routes "skydive_agent_netlink_left_out_total{kind=routes} $lr, want >= $((kr - MAX))" \
	[ -n "$lr" ] && [ "${lr:-0}" -ge $((kr - MAX)) ]
check metrics-fdb "skydive_agent_netlink_left_out_total{kind=fdb} $lf, want >= $((kf - MAX))" \
	[ -n "$lf" ] && [ "${lf:-0}" -ge $((kf - MAX)) ]
check log "the probe logged what it left out: $(grep -c 'left out' "$tmp/allinone.log") lines" \
	grep -q "left out of links beyond $MAX per link" "$tmp/allinone.log"

# back within bounds: the key goes
head -n $((NR - 100)) "$tmp/routes" | sed 's/^route add/route del/' >"$tmp/routes-del"
ip -n "$NS" -batch "$tmp/routes-del" || ko setup "ip -batch route del failed"
kr2=$(ip -n "$NS" -4 -j route show table all dev "${P}d" | jq length)
expect "back-within-bounds ($kr2 routes: no RoutingTablesLeftOut, all kept)" 20 "$D" \
	'(.[0].Metadata | has("RoutingTablesLeftOut") | not) and ([.[0].Metadata.RoutingTables[].Routes[]] | length == $n)' \
	--argjson n "$kr2"

stop_all
check clean-exit "exit statuses:$bad_exit" [ -z "$bad_exit" ]
finish
