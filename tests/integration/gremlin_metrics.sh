#!/bin/bash
# gremlin_metrics.sh - Metrics() on nodes over a real veth: `skydive allinone` in the root
# namespace (its netlink probe only reads), a veth pair between two namespaces of our own
# (prefix skgm<pid>, IPv6 off so only the test's pings and their ARP cross it), two rounds
# of pings, and the interface counter history the graph keeps: the LastUpdateMetric
# revisions in a time window add up to the kernel's own RxPackets of the interface, each
# round's share is at least its ping count, and Aggregates() keeps the total.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skgm$$

cleanup() {
	stop_all
	for ns in "${P}1" "${P}2"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "gremlin_metrics: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

now_ms() { date +%s%3N; }
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_for TIMEOUT_S QUERY JQ_FILTER [ARGS...]: polls until the filter holds.
wait_for() {
	local timeout=$1 query=$2 filter=$3 start out
	shift 3
	start=$(now_ms)
	while :; do
		out=$(q "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$@" "$filter" >/dev/null 2>&1; then
			return 0
		fi
		[ $(($(now_ms) - start)) -gt $((timeout * 1000)) ] && return 1
		sleep 0.1
	done
}
kernel_rx() { ip -n "${P}1" -s -j link show "${P}a" | jq '.[0].stats64.rx.packets'; }

PORT=$(free_port)
API=127.0.0.1:$PORT
"$SKYDIVE" allinone --listen "$API" --metrics-update 1 --host-id "${P}host" \
	>"$tmp/allinone.log" 2>&1 &
pids+=("$!")
if ! wait_for 10 "G.V().Has('Type','host')" 'length > 0'; then
	ko allinone-up "no host node; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
ok allinone-up

t_setup=$(now_ms)
ip netns add "${P}1" && ip netns add "${P}2" || ko setup "ip netns add failed"
for ns in "${P}1" "${P}2"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "${P}a" netns "${P}1" type veth peer name "${P}b" netns "${P}2"
ip -n "${P}1" addr add 10.233.0.1/24 dev "${P}a"
ip -n "${P}2" addr add 10.233.0.2/24 dev "${P}b"
ip -n "${P}1" link set "${P}a" up
ip -n "${P}2" link set "${P}b" up
if wait_for 10 "G.V().Has('Name','${P}a')" 'length == 1'; then
	ok veth-node
else
	ko veth-node "$(q "G.V().Has('Name','${P}a')" | head -c 300)"
	finish
fi

# ping_round N: N pings a -> b, then waits until the node's Metric shows the kernel's
# RxPackets of a (the probe published the last of it); sets rx to that count.
ping_round() {
	ip netns exec "${P}1" ping -c "$1" -i 0.2 -W 1 10.233.0.2 >/dev/null 2>&1
	sleep 1.5 # late ARP replies settle before the kernel count is read
	rx=$(kernel_rx)
	wait_for 10 "G.V().Has('Name','${P}a')" '.[0].Metadata.Metric.RxPackets == ($rx | tonumber)' \
		--arg rx "$rx"
}
N1=3 N2=5
ping_round $N1 || ko round1 "Metric never reached the kernel's RxPackets $rx"
rx1=$rx
# the end of round 1's last counter update: round 2's revisions start after it
last1=$(q "G.V().Has('Name','${P}a')" | jq '.[0].Metadata.LastUpdateMetric.Last')
ping_round $N2 || ko round2 "Metric never reached the kernel's RxPackets $rx"
rx2=$rx
check ping-replies "kernel RxPackets $rx1 then $rx2 for $N1 + $N2 echo replies" \
	[ "$rx1" -ge $N1 -a $((rx2 - rx1)) -ge $N2 ]

# live: one metric, the last update's
out=$(q "G.V().Has('Name','${P}a').Metrics()")
id=$(q "G.V().Has('Name','${P}a')" | jq -r '.[0].ID')
if printf '%s' "$out" | jq -e --arg id "$id" '.[0][$id] | length == 1 and .[0].RxPackets > 0 and .[0].Last > .[0].Start' >/dev/null; then
	ok live-metrics
else
	ko live-metrics "$(printf '%s' "$out" | head -c 300)"
fi

# the whole history since before the veth existed: the revisions add up to the kernel's
# count (a fresh veth starts at 0), in Start order
dur=$(($(now_ms) - t_setup + 1000))
win="G.At('-0s', '${dur}ms').V().Has('Name','${P}a').Metrics()"
out=$(q "$win")
if printf '%s' "$out" | jq -e --arg id "$id" '.[0][$id] | length >= 2 and ([.[].Start] == ([.[].Start] | sort))' >/dev/null; then
	ok "history-metrics ($(printf '%s' "$out" | jq --arg id "$id" '.[0][$id] | length') revisions)"
else
	ko history-metrics "$(printf '%s' "$out" | head -c 400)"
fi
sum=$(q "$win.Sum('RxPackets')")
check history-sum "Sum('RxPackets') $sum, kernel $rx2" [ "$sum" = "$rx2" ]
agg=$(q "$win.Aggregates(1).Sum('RxPackets')")
check aggregates-sum "Aggregates(1).Sum('RxPackets') $agg, kernel $rx2" [ "$agg" = "$rx2" ]

# a window from half a second before round 1's last update (counter updates are 1 s
# apart, and the query reaches the analyzer a little later than the window is computed):
# round 2 only, as Skydive keeps the metrics starting after the window's start
dur2=$(($(now_ms) - last1 + 500))
sum2=$(q "G.At('-0s', '${dur2}ms').V().Has('Name','${P}a').Metrics().Sum('RxPackets')")
check round2-sum "round 2: Sum('RxPackets') $sum2, kernel delta $((rx2 - rx1)); $(q "G.At('-0s', '${dur2}ms').V().Has('Name','${P}a').Metrics()" | head -c 300), last1 $last1" \
	[ "$sum2" = $((rx2 - rx1)) ]

stop_all
check clean-exit "exit statuses:$bad_exit" [ -z "$bad_exit" ]
finish
