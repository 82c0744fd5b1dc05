#!/bin/bash
# capture_e2e.sh - issue 4's acceptance scenario, as root, in network
# namespaces of our own (prefix skce<pid>; nothing is created or captured in
# the root namespace): two hosts (namespaces host1/host2, each with an eth0,
# linked by a veth) each running an agent, an analyzer in a third namespace
# reached over veths; the tutorial commands, run exactly:
#   skydive client capture create --gremlin "G.V().Has('Name', 'eth0')" --bpf "icmp" --rawpacket-limit 5
#   one ping host1 -> host2
#   skydive client query "G.At('-1s', 1000).Flows().Has('Application', 'ICMPv4').RawPackets()" --format pcap > icmp.pcap
#   tcpdump -qns 0 -r icmp.pcap      -> 4 packets, 2 per capture point
# with afpacket (default), with --type pcap, in allinone mode (the
# analyzer and host1's agent in one process), and with 2 afpacket workers per
# capture (agent.capture.workers, PACKET_FANOUT); deleting the capture stops it
# on both agents (their Captures metadata goes away).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skce$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

bad_exit=0
stop_all() { # SIGTERM, then each daemon's exit status (bad_exit=1 if not 0)
	bad_exit=0
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || bad_exit=1
	done
	pids=()
}
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
	echo "capture_e2e: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq tcpdump ping; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$1"; }

# ---- the lab: host1 <-eth0-> host2, each with a management veth to "an" ----
AN=${P}an H1=${P}host1 H2=${P}host2
for ns in $AN $H1 $H2; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip link add m2 netns "$AN" type veth peer name mgmt netns "$H2"
ip -n "$H1" addr add 10.77.1.1/24 dev eth0
ip -n "$H2" addr add 10.77.1.2/24 dev eth0
ip -n "$AN" addr add 10.77.2.1/24 dev m1
ip -n "$H1" addr add 10.77.2.2/24 dev mgmt
ip -n "$AN" addr add 10.77.3.1/24 dev m2
ip -n "$H2" addr add 10.77.3.2/24 dev mgmt
for l in "$H1 eth0" "$H2 eth0" "$AN m1" "$AN m2" "$H1 mgmt" "$H2 mgmt"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

PORT=8082
# Agents report flows every second here (flow.update) instead of every 60 s.
export SKYDIVE_FLOW_UPDATE=1
CEXEC="" # where the client runs
q() {
	$CEXEC curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_jq TIMEOUT_S QUERY FILTER: polls until the jq filter is true.
wait_jq() {
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
client() { $CEXEC env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }

start_stack() { # NAME MODE (distributed | allinone); logs in $tmp/NAME-*.log
	local data=$tmp/data-$1 mode=$2
	set -- "$1"
	mkdir -p "$data"
	if [ "$mode" = allinone ]; then
		ip netns exec "$H1" env SKYDIVE_ANALYZER_DATA_DIR="$data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" allinone \
			--listen "0.0.0.0:$PORT" --host-id host1 --netns-run-path '' \
			>"$tmp/$1-analyzer.log" 2>&1 &
		pids+=($!)
		ip netns exec "$H2" "$SKYDIVE" agent --host-id host2 --analyzer "10.77.1.1:$PORT" \
			--listen none --netns-run-path '' >"$tmp/$1-agent2.log" 2>&1 &
		pids+=($!)
		CEXEC="ip netns exec $H1"
	else
		ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer \
			--listen "0.0.0.0:$PORT" --host-id analyzer >"$tmp/$1-analyzer.log" 2>&1 &
		pids+=($!)
		ip netns exec "$H1" "$SKYDIVE" agent --host-id host1 --analyzer "10.77.2.1:$PORT" \
			--listen none --netns-run-path '' ${AGENT_CONF:+-c "$AGENT_CONF"} >"$tmp/$1-agent1.log" 2>&1 &
		pids+=($!)
		ip netns exec "$H2" "$SKYDIVE" agent --host-id host2 --analyzer "10.77.3.1:$PORT" \
			--listen none --netns-run-path '' ${AGENT_CONF:+-c "$AGENT_CONF"} >"$tmp/$1-agent2.log" 2>&1 &
		pids+=($!)
		CEXEC="ip netns exec $AN"
	fi
}

logs() { for f in "$tmp/$1"-*.log; do echo "[$(basename "$f")] $(tail -c 300 "$f" | tr '\n' ' ')"; done; }

EACH="G.V().Has('Name','eth0')"
CAPS='[.[] | .Metadata.Captures // [] | .[]]'

# run NAME MODE [CREATE FLAGS...]
run() {
	local name=$1 mode=$2
	shift 2
	start_stack "$name" "$mode"
	if wait_jq 15 "$EACH" 'length == 2'; then
		ok "$name-topology (eth0 of host1 and host2 at the analyzer)"
	else
		ko "$name-topology" "$(q "$EACH" | head -c 200); $(logs "$name")"
		stop_all
		return
	fi
	local out uuid
	out=$(client capture create --gremlin "G.V().Has('Name', 'eth0')" --bpf "icmp" \
		--rawpacket-limit 5 "$@" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -n "$uuid" ] && [ "$uuid" != null ]; then
		ok "$name-capture-create"
	else
		ko "$name-capture-create" "$(echo "$out" | head -c 300)"
		stop_all
		return
	fi
	if wait_jq 15 "$EACH" "$CAPS | map(select(.ID == \"$uuid\" and .State == \"active\")) | length == 2"; then
		ok "$name-captures-active (Captures metadata on both eth0)"
	else
		ko "$name-captures-active" "$(q "$EACH" | jq -c "$CAPS" | head -c 300); $(logs "$name")"
	fi
	if [ "${SKYDIVE_AGENT_CAPTURE_WORKERS:-1}" != 1 ]; then
		if [ "$(q "$EACH" | jq -r "$CAPS | map(select(.ID == \"$uuid\" and .Workers == $SKYDIVE_AGENT_CAPTURE_WORKERS)) | length == 2")" = true ]; then
			ok "$name-workers ($SKYDIVE_AGENT_CAPTURE_WORKERS fanout workers per capture)"
		else
			ko "$name-workers" "$(q "$EACH" | jq -c "$CAPS" | head -c 300)"
		fi
	fi
	ip netns exec "$H1" ping -c 1 -W 2 10.77.1.2 >/dev/null 2>&1 || ko "$name-ping" "no reply"
	# The flows reach the analyzer at the next update (1 s) of each agent.
	wait_jq 15 "G.At('-1s', 1000).Flows().Has('Application', 'ICMPv4')" \
		'[.[] | select(.RawPacketsCaptured == 2)] | length == 2' ||
		ko "$name-flows" "$(q "G.Flows()" | head -c 300); $(logs "$name")"
	# Only what the capture's interface and filter let through: no flow of the
	# agents' own TCP links on the mgmt interfaces, nothing but ICMP.
	local others
	others=$(q "G.At('-1s', 1000).Flows().Has('CaptureID', '$uuid')" |
		jq -c '[.[] | select(.Application != "ICMPv4") | {Application, Network}]' 2>/dev/null)
	if [ "$others" = "[]" ]; then
		ok "$name-only-filtered-packets (no other interface's or protocol's flows)"
	else
		ko "$name-only-filtered-packets" "$(echo "$others" | head -c 300)"
	fi
	client query "G.At('-1s', 1000).Flows().Has('Application', 'ICMPv4').RawPackets()" --format pcap \
		>"$tmp/icmp.pcap" 2>"$tmp/query.err"
	local n
	n=$(tcpdump -qns 0 -r "$tmp/icmp.pcap" 2>/dev/null | grep -c 'ICMP echo')
	if [ "$n" = 4 ] && [ "$(tcpdump -qns 0 -r "$tmp/icmp.pcap" 2>/dev/null | wc -l)" = 4 ]; then
		ok "$name-pcap (4 ICMP packets, 2 per capture point)"
	else
		ko "$name-pcap" "$n ICMP packets; $(tcpdump -qns 0 -r "$tmp/icmp.pcap" 2>&1 | head -c 300) $(head -c 200 "$tmp/query.err")"
	fi
	out=$(client capture delete "$uuid" 2>&1)
	if wait_jq 15 "$EACH" "$CAPS | map(select(.ID == \"$uuid\")) | length == 0"; then
		ok "$name-capture-delete (stopped on both agents)"
	else
		ko "$name-capture-delete" "$out; $(q "$EACH" | jq -c "$CAPS" | head -c 300)"
	fi
	stop_all
	local clean=1
	for f in "$tmp/$name"-*.log; do sanitizer_clean "$f" || clean=0; done
	if [ $clean = 1 ] && [ $bad_exit = 0 ]; then
		ok "$name-clean-exit"
	else
		ko "$name-clean-exit" "exit status bad: $bad_exit; $(grep -h -m3 -E 'Sanitizer|runtime error' "$tmp/$name"-*.log)"
	fi
}

run afpacket distributed
run pcap distributed --type pcap
run allinone allinone
# Both agents with 2 afpacket workers per capture (one PACKET_FANOUT group):
# the echo and its reply hash to the same worker, so the same 4 packets.
export SKYDIVE_AGENT_CAPTURE_WORKERS=2
run fanout2 distributed
unset SKYDIVE_AGENT_CAPTURE_WORKERS

# A capture without a filter receives from the moment it is reported active: the one
# datagram sent right then is counted at both capture points. The agents' config
# names its port's application (flow.application_ports, upper-cased as Skydive's).
AGENT_CONF=$tmp/agent.yml
printf 'flow:\n  application_ports:\n    udp:\n      7777: skytest\n' >"$AGENT_CONF"
start_stack first distributed
if wait_jq 15 "$EACH" 'length == 2'; then
	out=$(client capture create --gremlin "G.V().Has('Name', 'eth0')" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if wait_jq 15 "$EACH" "$CAPS | map(select(.ID == \"$uuid\" and .State == \"active\")) | length == 2"; then
		ip netns exec "$H1" bash -c 'echo first >/dev/udp/10.77.1.2/7777'
		if wait_jq 15 "G.Flows().Has('Application', 'SKYTEST')" \
			'[.[] | select(.Metric.ABPackets == 1 and .Transport.B == 7777)] | length == 2'; then
			ok "first-packet-counted (the datagram sent when active, at both points, Application SKYTEST)"
		else
			ko "first-packet-counted" "$(q "G.Flows().Has('Transport.B', '7777')" | head -c 400); $(logs first)"
		fi
	else
		ko "first-packet-counted" "capture not active: $out; $(logs first)"
	fi
else
	ko "first-packet-counted" "no topology: $(logs first)"
fi
stop_all
unset AGENT_CONF

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
