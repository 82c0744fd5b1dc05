#!/bin/bash
# sflow.sh - the sflow capture type end to end, as root: `skydive allinone`
# runs an sflow capture on a veth node; its collector (SFlowSocket) is fed
#  1. by datagrams built byte by byte (fuzz/make_sflow_corpus.py send), and
#     a malformed one, which is counted (DatagramErrors) and skipped;
#  2. by a private Open vSwitch (userspace datapath, lib/ovs.sh) exporting
#     sFlow (sampling 1) for a bridge forwarding pings between two namespaces
#     of our own (prefix sksf<pid>).
# Checks: the Captures entry (SFlowSocket, SamplingRate), ICMP flows at the
# analyzer attributed to the capture node with the right addresses and packet
# counts, the node's SFlow counter metadata, and that deleting the capture
# frees the UDP port. Everything the test made is removed, also on failure.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PY=/usr/bin/python3
P=sksf$$
BR=${P}br
tmp=$(mktemp -d /tmp/skydive-sflow.XXXXXX)
# the flow store persists in the data dir: a fresh one per run (not /var/lib/skydive)
export SKYDIVE_ANALYZER_DATA_DIR="$tmp"
OVS_TMP=$tmp
. "$root/tests/integration/lib/ovs.sh"
pass=0 fail=0
aio=""
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

teardown() {
	if [ -n "$aio" ]; then
		kill -TERM "$aio" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$aio" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$aio" 2>/dev/null
		aio=""
	fi
	ovs_stop "$BR"
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$P"); do
		ip link del "$l" 2>/dev/null
	done
}
cleanup() {
	teardown
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: sflow needs root"
	fail=1
	finish
fi
for tool in ip curl jq ping ss $PY; do
	command -v $tool >/dev/null || { ko setup "$tool missing"; finish; }
done

now_ms() { date +%s%3N; }
free_port() { # tcp|udp
	$PY -c 'import socket,sys; s=socket.socket(type=socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_for() { # TIMEOUT_S QUERY JQ_FILTER [ARGS...]
	local end=$(($(now_ms) + $1 * 1000)) query=$2 filter=$3
	shift 3
	while [ "$(now_ms)" -le "$end" ]; do
		q "$query" | jq -e "$@" "$filter" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
client() { SKYDIVE_ANALYZERS=$API "$SKYDIVE" client "$@"; }
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
udp_bound() { ss -Huln "sport = :$1" | grep -q .; }

# ---- the lab: two namespaces on veths whose root ends are OVS ports -------
for i in 1 2; do
	ip netns add "${P}n$i"
	ip -n "${P}n$i" link set lo up
	ip link add "${P}v$i" type veth peer name eth0 netns "${P}n$i"
	ip link set "${P}v$i" up
	ip -n "${P}n$i" addr add "10.201.0.$i/24" dev eth0
	ip -n "${P}n$i" link set eth0 up
done

PORT=$(free_port tcp)
API=127.0.0.1:$PORT
# Flows reach the analyzer every second (flow.update), stats every second.
# A collector without --port takes the first free port of agent.flow.sflow.port_min..port_max.
SKYDIVE_AGENT_FLOW_SFLOW_PORT_MIN=6391 SKYDIVE_AGENT_FLOW_SFLOW_PORT_MAX=6399 \
SKYDIVE_FLOW_UPDATE=1 "$SKYDIVE" allinone --listen "$API" --host-id "${P}host" \
	>"$tmp/allinone.log" 2>&1 &
aio=$!
NODE="G.V().Has('Name','${P}v1')"
if ! wait_for 15 "$NODE" 'length == 1'; then
	ko allinone-up "no node ${P}v1; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
tid=$(q "$NODE" | jq -r '.[0].Metadata.TID')
ENTRY='[.[0].Metadata.Captures // [] | .[] | select(.Type == "sflow")]'

# start_capture NAME [FLAGS]: sets uuid and sport (the bound port)
start_capture() {
	local name=$1 out
	shift
	out=$(client capture create --gremlin "$NODE" --type sflow "$@" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$uuid" ] || [ "$uuid" = null ]; then
		ko "$name-create" "$(echo "$out" | head -c 300)"
		return 1
	fi
	if wait_for 15 "$NODE" "$ENTRY"' | map(select(.State == "active" and (.SFlowSocket // "" | startswith("127.0.0.1:")))) | length == 1'; then
		sport=$(q "$NODE" | jq -r "$ENTRY"' | .[0].SFlowSocket | split(":")[1]')
		ok "$name-active (SFlowSocket 127.0.0.1:$sport)"
	else
		ko "$name-active" "$(q "$NODE" | jq -c "$ENTRY" | head -c 300); $(tail -c 300 "$tmp/allinone.log")"
		return 1
	fi
}

stop_capture() { # NAME
	client capture delete "$uuid" >/dev/null 2>&1
	if wait_for 15 "$NODE" "$ENTRY"' | length == 0' && ! udp_bound "$sport"; then
		ok "$1-delete (entry gone, UDP port $sport closed)"
	else
		ko "$1-delete" "$(q "$NODE" | jq -c "$ENTRY" | head -c 200); $(ss -Hulnp "sport = :$sport")"
	fi
}

ICMP="G.Flows().Has('NodeTID','$tid').Has('Application','ICMPv4')"

# ---- 1. datagrams built by hand ------------------------------------------
want=$(free_port udp)
if start_capture synthetic --port "$want"; then
	[ "$sport" = "$want" ] && ok "synthetic-port (--port $want honoured)" ||
		ko synthetic-port "bound $sport, asked $want"
	$PY "$root/fuzz/make_sflow_corpus.py" send 127.0.0.1 "$sport" 5
	# a malformed one: version 5, IPv4 agent, 1 sample claiming 4096 bytes
	$PY -c 'import socket,struct,sys; s=socket.socket(type=socket.SOCK_DGRAM); s.sendto(struct.pack(">IIIIIII", 5, 1, 0x7f000001, 0, 9, 0, 1) + struct.pack(">II", 1, 4096), ("127.0.0.1", int(sys.argv[1])))' "$sport"
	# 5 sampled echo requests 10.199.0.1 -> 10.199.0.2 (sampling rate 10)
	if wait_for 15 "$ICMP" '[.[] | select(.Network.A == "10.199.0.1" and .Network.B == "10.199.0.2")] | map(.Metric.ABPackets) | add == 5'; then
		ok "synthetic-flow (5 sampled ICMP packets, one flow on the capture node)"
	else
		ko synthetic-flow "$(q "$ICMP" | head -c 400)"
	fi
	if wait_for 10 "$NODE" "$ENTRY"' | .[0] | .SamplingRate == 10 and .Datagrams == 6 and .DatagramErrors == 1'; then
		ok "synthetic-entry (SamplingRate 10, 6 datagrams, 1 error)"
	else
		ko synthetic-entry "$(q "$NODE" | jq -c "$ENTRY" | head -c 400)"
	fi
	# generic counters of ifIndex 7, the 5th datagram: in octets 5000
	if wait_for 10 "$NODE" '.[0].Metadata.SFlow | .IfMetrics["7"].IfInOctets == 5000 and .IfMetrics["7"].IfOutUcastPkts == 100 and .Metric.IfInOctets == 5000'; then
		ok "synthetic-counters (node SFlow metadata)"
	else
		ko synthetic-counters "$(q "$NODE" | jq -c '.[0].Metadata.SFlow' | head -c 400)"
	fi
	stop_capture synthetic
fi

# ---- 2. a real Open vSwitch ----------------------------------------------
if ! ovs_start; then
	ko ovs-up "$ovs_error"
	finish
fi
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev \
	-- add-port "$BR" "${P}v1" -- add-port "$BR" "${P}v2" ||
	{ ko ovs-up "add-br failed: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }
if start_capture ovs; then
	if [ "$sport" -ge 6391 ] && [ "$sport" -le 6399 ]; then
		ok "ovs-port-range (port $sport from agent.flow.sflow.port_min..port_max)"
	else
		ko ovs-port-range "port $sport is not in 6391..6399"
	fi
	# OVS sends from a connected UDP socket: the collector listens already.
	vsctl -- --id=@s create sflow agent=lo target="\"127.0.0.1:$sport\"" sampling=1 polling=1 \
		header=128 -- set bridge "$BR" sflow=@s >/dev/null ||
		ko ovs-sflow "cannot create the sFlow row"
	sleep 1
	if ip netns exec "${P}n1" ping -c 10 -i 0.2 -W 2 10.201.0.2 >"$tmp/ping.log" 2>&1; then
		ok "ovs-ping (10 echo requests through $BR)"
	else
		ko ovs-ping "$(tail -c 200 "$tmp/ping.log")"
	fi
	# sampling 1: every echo request and reply, each sampled once on the bridge
	F='[.[] | select(.Network.A == "10.201.0.1" and .Network.B == "10.201.0.2" and .LayersPath == "Ethernet/IPv4/ICMPv4")]'
	if wait_for 20 "$ICMP" "$F"' | (map(.Metric.ABPackets) | add) == 10 and (map(.Metric.BAPackets) | add) == 10'; then
		ok "ovs-flow (10 requests + 10 replies sampled, 10.201.0.1 <-> 10.201.0.2)"
	else
		ko ovs-flow "$(q "$ICMP" | jq -c "$F | map({A:.Network.A,B:.Network.B,M:.Metric})" | head -c 400)"
	fi
	if wait_for 10 "$NODE" "$ENTRY"' | .[0] | .SamplingRate == 1 and .Datagrams > 0 and .DatagramErrors == 0'; then
		ok "ovs-entry (SamplingRate 1, no datagram errors: OVS's extra counter records skipped)"
	else
		ko ovs-entry "$(q "$NODE" | jq -c "$ENTRY" | head -c 400)"
	fi
	ifx=$(cat "/sys/class/net/${P}v1/ifindex")
	if wait_for 15 "$NODE" '.[0].Metadata.SFlow.IfMetrics[$i] | .IfIndex == ($i | tonumber) and .IfInUcastPkts >= 10' --arg i "$ifx"; then
		ok "ovs-counters (SFlow.IfMetrics of ifIndex $ifx, from OVS counter samples)"
	else
		ko ovs-counters "$(q "$NODE" | jq -c '.[0].Metadata.SFlow' | head -c 400)"
	fi
	vsctl clear bridge "$BR" sflow >/dev/null 2>&1
	stop_capture ovs
fi

# ---- stop everything, check nothing is left -------------------------------
kill -TERM "$aio" 2>/dev/null
wait "$aio"
rc=$?
aio=""
if [ "$rc" = 0 ] && sanitizer_clean "$tmp/allinone.log"; then
	ok allinone-clean-exit
else
	ko allinone-clean-exit "exit status $rc; $(grep -m3 -E 'Sanitizer|runtime error|ERROR' "$tmp/allinone.log")"
fi
ovs_pids="$(cat "$tmp"/*.pid 2>/dev/null)"
teardown
left=""
for pid in $ovs_pids; do kill -0 "$pid" 2>/dev/null && left="$left pid:$pid"; done
left="$left $(ip netns list | awk '{print $1}' | grep "^$P" | tr '\n' ' ')"
left="$left $(ip -o link show | awk -F': ' '{print $2}' | grep -E "^$P|^ovs-netdev" | tr '\n' ' ')"
if [ -z "${left// /}" ]; then
	ok teardown-clean
else
	ko teardown-clean "left behind:$left"
fi
finish
