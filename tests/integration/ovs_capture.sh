#!/bin/bash
# ovs_capture.sh - the OVS capture types end to end, as root, against a private
# Open vSwitch (userspace datapath, lib/ovs.sh) whose bridge forwards pings
# between two namespaces of our own (prefix skoc<pid>):
#  1. ovssflow on the ovsbridge node (the default type there): the agent
#     writes an sFlow row (targets = its collector + --target, sampling,
#     polling, header, external_ids skydive-probe-id) and sets the bridge's
#     sflow column; ICMP flows come out attributed to the bridge node; deleting
#     the capture removes the row and frees the collector's UDP port.
#  2. ovsmirror on an ovsport node (its default): the agent creates an
#     internal port mir-<id> and a Mirror of the port to it, captures it with
#     afpacket (MirrorOf in the Captures entry); ICMP flows come out attributed
#     to the ovsport node; deleting the capture removes the mirror and port.
# Everything the test made is removed, also on failure.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PY=/usr/bin/python3
P=skoc$$
BR=${P}br
tmp=$(mktemp -d /tmp/skydive-ovscap.XXXXXX)
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
	echo "FAIL setup: ovs_capture needs root"
	fail=1
	finish
fi
for tool in ip curl jq ping ss $PY ovs-appctl; do
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
wait_cmd() { # TIMEOUT_S CMD...: until CMD succeeds
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while [ "$(now_ms)" -le "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
client() { SKYDIVE_ANALYZERS=$API "$SKYDIVE" client "$@"; }
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
udp_bound() { ss -Huln "sport = :$1" | grep -q .; }
flush_dp() { ovs-appctl -t "$OVS_TMP/ovs-vswitchd.ctl" dpctl/del-flows >/dev/null 2>&1; }
ping10() { # NAME
	if ip netns exec "${P}n1" ping -c 10 -i 0.2 -W 2 10.202.0.2 >"$tmp/ping.log" 2>&1; then
		ok "$1-ping (10 echo requests through $BR)"
	else
		ko "$1-ping" "$(tail -c 200 "$tmp/ping.log")"
	fi
}

# ---- the lab ------------------------------------------------------------------
if ! ovs_start; then
	ko ovs-up "$ovs_error"
	finish
fi
for i in 1 2; do
	ip netns add "${P}n$i"
	ip -n "${P}n$i" link set lo up
	ip link add "${P}v$i" type veth peer name eth0 netns "${P}n$i"
	ip link set "${P}v$i" up
	ip -n "${P}n$i" addr add "10.202.0.$i/24" dev eth0
	ip -n "${P}n$i" link set eth0 up
done
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev \
	-- add-port "$BR" "${P}v1" -- add-port "$BR" "${P}v2" ||
	{ ko ovs-up "add-br failed: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }

PORT=$(free_port tcp)
API=127.0.0.1:$PORT
SKYDIVE_FLOW_UPDATE=1 SKYDIVE_OVS_OVSDB="unix://$tmp/db.sock" "$SKYDIVE" allinone \
	--listen "$API" --host-id "${P}host" >"$tmp/allinone.log" 2>&1 &
aio=$!
BNODE="G.V().Has('Type','ovsbridge','Name','$BR')"
PNODE="G.V().Has('Type','ovsport','Name','${P}v1')"
if ! wait_for 15 "$PNODE" 'length == 1' || ! wait_for 5 "$BNODE" 'length == 1'; then
	ko allinone-up "no ovsbridge/ovsport node; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
ok allinone-up

# create NAME NODE_QUERY TYPE ENTRY_CHECK [FLAGS]: sets uuid
create() {
	local name=$1 node=$2 type=$3 check=$4 out
	shift 4
	out=$(client capture create --gremlin "$node" "$@" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$uuid" ] || [ "$uuid" = null ]; then
		ko "$name-create" "$(echo "$out" | head -c 300)"
		return 1
	fi
	ENTRY='[.[0].Metadata.Captures // [] | .[] | select(.Type == "'$type'")]'
	if wait_for 15 "$node" "$ENTRY | map(select(.State == \"active\" and ($check))) | length == 1"; then
		ok "$name-active ($(q "$node" | jq -c "$ENTRY | .[0] | {Type, SFlowSocket, MirrorOf}"))"
	else
		ko "$name-active" "$(q "$node" | jq -c "$ENTRY" | head -c 300); $(tail -c 300 "$tmp/allinone.log")"
		return 1
	fi
}
F='[.[] | select(.Network.A == "10.202.0.1" and .Network.B == "10.202.0.2" and .LayersPath == "Ethernet/IPv4/ICMPv4")]'

# ---- 1. ovssflow on the bridge -------------------------------------------------
btid=$(q "$BNODE" | jq -r '.[0].Metadata.TID')
extra=$(free_port udp)
if create sflow "$BNODE" ovssflow '.SFlowSocket // "" | startswith("127.0.0.1:")' \
	--pollinginterval 1 --target "127.0.0.1:$extra"; then
	sport=$(q "$BNODE" | jq -r "$ENTRY"' | .[0].SFlowSocket | split(":")[1]')
	row=$(vsctl --format=json --columns=_uuid,targets,sampling,polling,header,external_ids,agent \
		list sflow 2>&1)
	brsf=$(vsctl get bridge "$BR" sflow 2>&1)
	if echo "$row" | jq -e --arg u "$uuid" --arg t1 "127.0.0.1:$sport" --arg t2 "127.0.0.1:$extra" '
		(.data | length) == 1 and (.data[0] as $r | .headings as $h |
		  [range($h | length)] | map({($h[.]): $r[.]}) | add) as $o |
		$o.sampling == 1 and $o.polling == 1 and $o.header == 128 and $o.agent == "lo" and
		($o.targets[1] | map(.) | sort) == ([$t1, $t2] | sort) and
		($o.external_ids[1] == [["skydive-probe-id", $u]]) and
		$o._uuid[1] == "'"$brsf"'"' >/dev/null 2>&1; then
		ok "sflow-row (targets collector + Target, sampling 1, polling 1, header 128, probe id; bridge points at it)"
	else
		ko sflow-row "$row; bridge sflow=$brsf"
	fi
	# The extra target gets the datagrams too (OVS's connected socket needs a listener).
	$PY -c 'import socket,sys,time; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); s.settimeout(8); d=s.recv(65535); print(len(d))' "$extra" >"$tmp/extra.log" 2>&1 &
	xpid=$!
	sleep 0.5
	ping10 sflow
	if wait_for 20 "G.Flows().Has('NodeTID','$btid').Has('Application','ICMPv4')" \
		"$F"' | (map(.Metric.ABPackets) | add) == 10 and (map(.Metric.BAPackets) | add) == 10'; then
		ok "sflow-flow (10 requests + 10 replies sampled, on the bridge node)"
	else
		ko sflow-flow "$(q "G.Flows().Has('NodeTID','$btid')" | jq -c "map({A:.Network.A,B:.Network.B,L:.LayersPath,M:.Metric})" | head -c 400)"
	fi
	if wait "$xpid" && [ -s "$tmp/extra.log" ]; then
		ok "sflow-target (the extra Target received sFlow datagrams)"
	else
		ko sflow-target "$(cat "$tmp/extra.log" | tail -c 200)"
	fi
	client capture delete "$uuid" >/dev/null 2>&1
	if wait_for 15 "$BNODE" "$ENTRY"' | length == 0' &&
		wait_cmd 5 sh -c "[ -z \"\$(ovs-vsctl --db=$OVS_DB list sflow)\" ]" &&
		[ "$(vsctl get bridge "$BR" sflow)" = "[]" ] && ! udp_bound "$sport"; then
		ok "sflow-delete (entry gone, sFlow row gone, bridge sflow cleared, UDP port $sport closed)"
	else
		ko sflow-delete "$(q "$BNODE" | jq -c "$ENTRY" | head -c 200); sflow: $(vsctl list sflow | head -c 200)"
	fi
fi

# ---- 2. ovsmirror on a port -------------------------------------------------------
ptid=$(q "$PNODE" | jq -r '.[0].Metadata.TID')
if create mirror "$PNODE" ovsmirror '.MirrorOf == "'"${P}v1"'"'; then
	mir="mir-$(echo "$uuid" | tr -dc '0-9a-fA-F' | head -c 8)"
	m=$(vsctl --format=json --columns=name,select_src_port,select_dst_port,output_port,external_ids list mirror 2>&1)
	p1=$(vsctl get port "${P}v1" _uuid 2>&1)
	pm=$(vsctl get port "$mir" _uuid 2>&1)
	if echo "$m" | jq -e --arg n "$mir" --arg p1 "$p1" --arg pm "$pm" --arg u "$uuid" '
		(.data | length) == 1 and .data[0][0] == $n and .data[0][1] == ["uuid", $p1] and
		.data[0][2] == ["uuid", $p1] and .data[0][3] == ["uuid", $pm] and
		.data[0][4][1] == [["skydive-probe-id", $u]]' >/dev/null 2>&1 &&
		[ "$(vsctl get interface "$mir" type)" = internal ] &&
		ip link show "$mir" | grep -q "[<,]UP[,>]"; then
		ok "mirror-rows (Mirror $mir of ${P}v1 to internal port $mir, interface up)"
	else
		ko mirror-rows "$m; port $mir=$pm; $(ip -o link show "$mir" 2>&1 | head -c 200)"
	fi
	flush_dp # megaflows made before the mirror do not mirror (OVS 3.1 netdev)
	ping10 mirror
	if wait_for 20 "G.Flows().Has('NodeTID','$ptid').Has('Application','ICMPv4')" \
		"$F"' | (map(.Metric.ABPackets) | add) == 10 and (map(.Metric.BAPackets) | add) == 10'; then
		ok "mirror-flow (10 requests + 10 replies mirrored, on the ovsport node)"
	else
		ko mirror-flow "$(q "G.Flows().Has('NodeTID','$ptid')" | jq -c "map({A:.Network.A,B:.Network.B,L:.LayersPath,M:.Metric})" | head -c 400)"
	fi
	client capture delete "$uuid" >/dev/null 2>&1
	if wait_for 15 "$PNODE" "$ENTRY"' | length == 0' &&
		wait_cmd 5 sh -c "[ -z \"\$(ovs-vsctl --db=$OVS_DB list mirror)\" ]" &&
		! vsctl list-ports "$BR" | grep -qx "$mir" &&
		[ -z "$(vsctl --columns=name find interface name="$mir")" ] &&
		wait_cmd 5 sh -c "! ip link show $mir >/dev/null 2>&1"; then
		ok "mirror-delete (entry gone, mirror, port and interface $mir gone)"
	else
		ko mirror-delete "$(q "$PNODE" | jq -c "$ENTRY" | head -c 200); mirrors: $(vsctl list mirror | head -c 200); ports: $(vsctl list-ports "$BR" | tr '\n' ' ')"
	fi
fi

# ---- stop everything, check nothing is left ----------------------------------------
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
left="$left $(ip -o link show | awk -F': ' '{print $2}' | grep -E "^$P|^ovs-netdev|^mir-" | tr '\n' ' ')"
if [ -z "${left// /}" ]; then
	ok teardown-clean
else
	ko teardown-clean "left behind:$left"
fi
finish
