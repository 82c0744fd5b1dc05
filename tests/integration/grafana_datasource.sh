#!/bin/bash
# grafana_datasource.sh - what Skydive's Grafana datasource sends, answered in the shapes
# it parses (docs/API.md "Grafana"). The requests come from the fixture
# data/grafana/datasource_queries.json, written from the plugin's source
# (skydive-project/skydive-grafana-datasource src/datasource.js, src/metrics.js): the
# test-connection requests, the query editor's Keys() query, and the metric queries with
# the plugin's time context (G.At(<to>,<to - from>), seconds). A lab of our own: an
# analyzer and an agent in namespaces, a veth flv0 between the agent's namespace and a
# peer, an ICMP capture on it, N pings of S bytes, then:
#   - the answers have the plugin's shapes ([{"<ID>": [metric...]}], Aggregated lists,
#     Start/Last in ms, Last > Start, a list of key names for Keys());
#   - what the plugin would plot adds up to what the lab sent (static neighbours and no
#     IPv6: only the pings cross flv0, as its kernel counters confirm): N echo requests
#     and N replies of S + 42 bytes (ICMP 8, IPv4 20, Ethernet 14), in the interface
#     series and in the flow series.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skgf$$
FIX=$(cd "$(dirname "$0")" && pwd)/data/grafana/datasource_queries.json
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
	echo "grafana_datasource: needs root (network namespaces)"
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
	# only the test's pings (and their ARP) cross flv0
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
t_lab=$(date +%s) # before flv0 exists: its counters start at 0 inside every window from here
ip link add flv0 netns "$H1" type veth peer name flv0 netns "$PEER"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip -n "$H1" addr add 10.79.5.1/24 dev flv0
ip -n "$PEER" addr add 10.79.5.2/24 dev flv0
ip -n "$AN" addr add 10.79.6.1/24 dev m1
ip -n "$H1" addr add 10.79.6.2/24 dev mgmt
for l in "$H1 flv0" "$PEER flv0" "$AN m1" "$H1 mgmt"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
# static neighbours: no ARP on flv0, so its counters are the pings' alone
mac() { ip -n "$1" -j link show "$2" | jq -r '.[0].address'; }
ip -n "$H1" neigh add 10.79.5.2 lladdr "$(mac "$PEER" flv0)" dev flv0 nud permanent
ip -n "$PEER" neigh add 10.79.5.1 lladdr "$(mac "$H1" flv0)" dev flv0 nud permanent

PORT=8082
# post GREMLIN: the plugin's sendRawGremlinQuery (the fixture's request); prints the
# body, then the HTTP status on the last line
post() {
	local path method ctype
	path=$(jq -r .request.path "$FIX")
	method=$(jq -r .request.method "$FIX")
	ctype=$(jq -r '.request.headers["Content-Type"]' "$FIX")
	ip netns exec "$AN" curl -s -m 5 -X "$method" "http://127.0.0.1:$PORT$path" \
		-H "Content-Type: $ctype" -w '\n%{http_code}' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
q() { post "$1" | sed '$d'; }
wait_jq() { # TIMEOUT_S QUERY FILTER: polls until the jq filter is true
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
jqt() { jq -e "$@" >/dev/null 2>&1; } # jq -e, quiet: true when the filter holds
client() { ip netns exec "$AN" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { for f in "$tmp"/*.log; do echo "[$(basename "$f")] $(tail -c 300 "$f" | tr '\n' ' ')"; done; }

# settime GREMLIN FROM TO: the plugin's setTimeContext (version > 0.9), from the fixture's
# replacements (JavaScript's replace without g and jq's sub: the first match only)
settime() {
	jq -rn --arg g "$1" --argjson from "$2" --argjson to "$3" --slurpfile f "$FIX" '
		reduce $f[0].time_context.replace[] as $r ($g;
			sub($r[0]; $r[1] | sub("%to"; "\($to)") | sub("%dur"; "\($to - $from)"); "i"))'
}

# target FIELD GREMLIN FROM TO: the plugin's targetToRequest for metric FIELD
target() {
	local sfx
	sfx=$(jq -r --arg m "$1" '.metrics[$m].suffix' "$FIX")
	echo "$(settime "$2" "$3" "$4").$sfx"
}
# plot FIELD < answer: the plugin's metricFnc: [[value, time_ms], ...]
plot() {
	jq -c --slurpfile f "$FIX" --arg m "$1" '
		($f[0].metrics[$m].fields) as $fs
		| [(.[0] // {})[] | .[] | . as $e
		   | [(($fs | map($e[.] // 0) | add) / (($e.Last - $e.Start) / 1000)), $e.Last]]'
}
# total FIELD < answer: what the plotted rates stand for, rate x slice length, added up
total() {
	jq --slurpfile f "$FIX" --arg m "$1" '
		($f[0].metrics[$m].fields) as $fs
		| [(.[0] // {})[] | .[] | . as $e | $fs | map($e[.] // 0) | add] | add // 0'
}

mkdir -p "$tmp/data"
ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
	SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer --listen "0.0.0.0:$PORT" \
	--host-id analyzer >"$tmp/analyzer.log" 2>&1 &
pids+=($!)
# flows and interface counters reported every second
ip netns exec "$H1" env SKYDIVE_FLOW_UPDATE=1 SKYDIVE_AGENT_TOPOLOGY_NETLINK_METRICS_UPDATE=1 \
	"$SKYDIVE" agent --host-id host1 --analyzer "10.79.6.1:$PORT" --listen none --netns-run-path '' \
	>>"$tmp/agent.log" 2>&1 &
pids+=($!)
NODE="G.V().Has('Name','flv0')"
if wait_jq 20 "$NODE" 'length == 1'; then ok topology; else ko topology "no flv0 node"; logs; finish; fi

# ---- test connection (testDatasource) ----
out=$(post "$(jq -r '.test_connection["version>0.9"].body.GremlinQuery' "$FIX")")
code=$(printf '%s' "$out" | tail -n1)
# the plugin only wants a 200; the answer is the graph of a second ago, one node at most
if [ "$code" = 200 ] && sed '$d' <<<"$out" | jqt 'type == "array" and length <= 1'; then
	ok test-connection
else
	ko test-connection "status $code, $(head -c 200 <<<"$out")"
fi
code=$(ip netns exec "$AN" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$(jq -r '.test_connection["version=0.9"].path' "$FIX")")
check test-connection-0.9 "GET /api: $code" [ "$code" = 200 ]

# ---- the capture and the traffic ----
out=$(client capture create --gremlin "$NODE" --bpf icmp 2>&1)
CAP=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
[ -n "$CAP" ] && [ "$CAP" != null ] || { ko capture-create "$(echo "$out" | head -c 300)"; finish; }
wait_jq 15 "$NODE" "[.[0].Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length == 1" ||
	{ ko capture-active "$(q "$NODE" | head -c 300)"; logs; finish; }
N=7 S=200
ip netns exec "$H1" ping -c $N -s $S -i 0.2 -W 1 10.79.5.2 >/dev/null 2>&1 || ko ping "no replies"
FLOWS="$NODE.Flows().Has('Application','ICMPv4')"
wait_jq 15 "$FLOWS" "length == 1 and .[0].Metric.ABPackets == $N and .[0].Metric.BAPackets == $N" ||
	ko flow "$(q "$FLOWS" | head -c 300)"
# what flv0 carried: N echo requests out, N replies in, S + 42 bytes each
krx=$(ip -n "$H1" -s -j link show flv0 | jq -c '.[0].stats64.rx')
ktx=$(ip -n "$H1" -s -j link show flv0 | jq -c '.[0].stats64.tx')
check kernel-counters "rx $krx tx $ktx for $N pings of $((S + 42)) bytes" \
	[ "$(jq -c '[.packets, .bytes]' <<<"$krx$ktx" | tr -d '\n')" = "[$N,$((N * (S + 42)))][$N,$((N * (S + 42)))]" ]
wait_jq 10 "$NODE" ".[0].Metadata.Metric.RxBytes == $(jq .bytes <<<"$krx") and .[0].Metadata.Metric.TxBytes == $(jq .bytes <<<"$ktx")" ||
	ko counters "Metric never reached the kernel's $krx / $ktx: $(q "$NODE" | jq -c '.[0].Metadata.Metric')"
# Grafana's range is whole seconds (format('X')): the window ends after the last update
# that carried traffic, and starts before flv0 existed
sleep 2
FROM=$((t_lab - 1)) TO=$(date +%s)

# ---- the query editor's Keys() ----
keys=$(q "$(settime "$NODE" $FROM $TO)$(jq -r .keys.suffix "$FIX")")
# Skydive's Keys() lists the dotted keys (Metric.RxBytes, ...): the plugin's TypeByKeys
# finds neither TrackingID nor Filters and Actions, so Interface
check keys-interface "$keys" jtest '(isinstance(j, list) and all(isinstance(k, str) for k in j) and
	"Name" in j and "Metric.RxBytes" in j and "TrackingID" not in j and "Filters" not in j)' <<<"$keys"
keys=$(q "$(settime "$FLOWS" $FROM $TO)$(jq -r .keys.suffix "$FIX")")
check keys-flow "$keys" jtest 'isinstance(j, list) and "TrackingID" in j' <<<"$keys"

# ---- interface series ----
shape='type == "array" and length == 1 and (.[0] | keys) == ["Aggregated"] and
	(.[0].Aggregated | length > 0 and all(.[]; (.Start | type) == "number" and .Last > .Start
	and .Start >= ($from * 1000) and .Last <= ($to * 1000)))'
for m in Interface.Default.Bytes Interface.Default.Packets; do
	ans=$(q "$(target $m "$NODE" $FROM $TO)")
	check "$m-shape" "$(head -c 300 <<<"$ans")" jqt --argjson from $FROM --argjson to $TO "$shape" <<<"$ans"
done
ans=$(q "$(target Interface.Default.Bytes "$NODE" $FROM $TO)")
got=$(total Interface.Default.Bytes <<<"$ans")
check interface-bytes "plotted bytes $got, sent $((2 * N)) x $((S + 42))" [ "$got" = $((2 * N * (S + 42))) ]
got=$(total Interface.Default.RxBytes <<<"$ans")
check interface-rxbytes "plotted RxBytes $got, received $N x $((S + 42))" [ "$got" = $((N * (S + 42))) ]
ans=$(q "$(target Interface.Default.Packets "$NODE" $FROM $TO)")
want=$((2 * N))
got=$(total Interface.Default.Packets <<<"$ans")
check interface-packets "plotted packets $got, sent $want" [ "$got" = "$want" ]
got=$(total Interface.Default.TxPackets <<<"$ans")
check interface-txpackets "plotted TxPackets $got, sent $N" [ "$got" = "$N" ]
rates=$(plot Interface.Default.Bytes <<<"$ans")
check interface-points "points $rates" jqt 'length > 0 and all(.[]; (.[0] | type) == "number" and .[0] >= 0)' <<<"$rates"

# the same through a query the user wrote with its own time context and steps the plugin strips
ans2=$(q "$(target Interface.Default.Packets "G.At('-1h').V().Has('Name','flv0').Dedup()" $FROM $TO)")
check interface-strip "$(head -c 200 <<<"$ans2")" [ "$(total Interface.Default.Packets <<<"$ans2")" = "$want" ]

# ---- flow series ----
for m in Flow.Default.Bytes Flow.Default.Packets; do
	ans=$(q "$(target $m "$FLOWS" $FROM $TO)")
	check "$m-shape" "$(head -c 300 <<<"$ans")" jqt --argjson from $FROM --argjson to $TO "$shape" <<<"$ans"
done
ans=$(q "$(target Flow.Default.Bytes "$FLOWS" $FROM $TO)")
got=$(total Flow.Default.Bytes <<<"$ans")
check flow-bytes "plotted bytes $got, sent $((2 * N)) x $((S + 42))" [ "$got" = $((2 * N * (S + 42))) ]
got=$(total Flow.Default.ABBytes <<<"$ans")
check flow-abbytes "plotted AB bytes $got, sent $N x $((S + 42))" [ "$got" = $((N * (S + 42))) ]
ans=$(q "$(target Flow.Default.Packets "$FLOWS" $FROM $TO)")
got=$(total Flow.Default.Packets <<<"$ans")
check flow-packets "plotted packets $got, sent $((2 * N))" [ "$got" = $((2 * N)) ]
# the flows of every node through G.Flows() (no V()): the same flow
ans=$(q "$(target Flow.Default.Packets "G.Flows().Has('CaptureID','$CAP')" $FROM $TO)")
got=$(total Flow.Default.Packets <<<"$ans")
check flow-packets-G "plotted packets $got, sent $((2 * N))" [ "$got" = $((2 * N)) ]

# RTT: Metrics() without Aggregates: [{"<UUID>": [metric...]}], one key, metrics inside
# the window, an echo's RTT (ns, as Skydive's) in them
ans=$(q "$(target Flow.Default.RTT "$FLOWS" $FROM $TO)")
check flow-rtt-shape "$(head -c 300 <<<"$ans")" jqt --argjson from $FROM --argjson to $TO '
	type == "array" and length == 1 and (.[0] | length) == 1 and
	(.[0][] | length > 0 and all(.[]; .Start >= ($from * 1000) and .Last <= ($to * 1000)))' <<<"$ans"
check flow-rtt "$(head -c 300 <<<"$ans")" jqt '[.[0][][] | .RTT // 0 | select(. > 0)] | length > 0' <<<"$ans"

# ---- what the lab does not have: empty answers the plugin reads as no data ----
for m in Interface.OpenvSwitch.Bytes Interface.OpenvSwitch.RxPackets Interface.sFlow.IfInOctets OpenFlow.Default.RxBytes; do
	out=$(post "$(target $m "$NODE" $FROM $TO)")
	code=$(tail -n1 <<<"$out")
	pts=$(sed '$d' <<<"$out" | plot $m)
	check "$m-empty" "status $code, $(head -c 200 <<<"$out")" [ "$code" = 200 -a "$pts" = "[]" ]
done

# ---- the dashboard etc/grafana/skydive-datasource.json: each target's request answers
# the plugin's shape (its eth0 is not in this lab: an empty answer is one too) ----
DASH=$root/etc/grafana/skydive-datasource.json
n=0
while IFS=$'\t' read -r g m; do
	out=$(post "$(target "$m" "$g" $FROM $TO)")
	code=$(tail -n1 <<<"$out")
	if [ "$code" = 200 ] && sed '$d' <<<"$out" | jqt 'type == "array" and length <= 1 and all(.[]; all(.[]; type == "array"))'; then
		n=$((n + 1))
	else
		ko "dashboard-target: $g $m" "status $code, $(head -c 200 <<<"$out")"
	fi
done < <(jq -r '.panels[].targets[] | [.gremlin, .metricField] | @tsv' "$DASH")
check dashboard-targets "$n targets answered" [ "$n" -gt 0 ]

stop_all
check clean-exit "exit statuses:$bad_exit" [ -z "$bad_exit" ]
finish
