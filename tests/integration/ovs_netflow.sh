#!/bin/bash
# ovs_netflow.sh - the ovsnetflow capture type end to end, as root, against a
# private Open vSwitch (userspace datapath, lib/ovs.sh) whose bridge forwards
# traffic between two namespaces of our own (prefix sknf<pid>, 10.203.0.0/24):
#  - the capture on the ovsbridge node makes the agent open its NetFlow v5
#    collector (agent.flow.netflow port range) and write a NetFlow row
#    (targets = the collector + --target, engine_type 10, engine_id 1,
#    add_id_to_interface, external_ids skydive-probe-id, as Skydive's
#    flow/probes/ovsnetflow/ovsnetflow.go) set as the bridge's netflow column;
#  - 6 pings and 4 UDP datagrams (n1 -> n2:9999) come out as flows on the
#    bridge node whose addresses, protocols, ports and packet counts are what
#    the test sent, and equal an afpacket capture of the same traffic on the
#    n1 side veth;
#  - options that need packets are refused with a 400;
#  - deleting the capture removes the row and the bridge's netflow column,
#    and frees the UDP port.
# OVS exports a datapath flow's record when the flow expires: the test sets
# other_config:max-idle=500 ms on its own OVS so records come soon after the
# traffic (OVS's default is 10 s).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PY=/usr/bin/python3
P=sknf$$
BR=${P}br
tmp=$(mktemp -d /tmp/skydive-ovsnf.XXXXXX)
# the flow store persists in the data dir: a fresh one per run (not /var/lib/skydive)
export SKYDIVE_ANALYZER_DATA_DIR="$tmp"
OVS_TMP=$tmp
. "$root/tests/integration/lib/ovs.sh"
pass=0 fail=0
aio=""
nfcapd=""
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

teardown() {
	[ -n "$nfcapd" ] && kill -TERM "$nfcapd" 2>/dev/null
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
	echo "FAIL setup: ovs_netflow needs root"
	fail=1
	finish
fi
for tool in ip curl jq ping ss nfcapd nfdump $PY ovs-appctl; do
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
	ip -n "${P}n$i" addr add "10.203.0.$i/24" dev eth0
	ip -n "${P}n$i" link set eth0 up
done
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev \
	-- add-port "$BR" "${P}v1" -- add-port "$BR" "${P}v2" ||
	{ ko ovs-up "add-br failed: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }
vsctl set open_vswitch . other_config:max-idle=500

PORT=$(free_port tcp)
API=127.0.0.1:$PORT
SKYDIVE_FLOW_UPDATE=1 SKYDIVE_OVS_OVSDB="unix://$tmp/db.sock" "$SKYDIVE" allinone \
	--listen "$API" --host-id "${P}host" >"$tmp/allinone.log" 2>&1 &
aio=$!
BNODE="G.V().Has('Type','ovsbridge','Name','$BR')"
VNODE="G.V().Has('Type','veth','Name','${P}v1')"
if ! wait_for 15 "$BNODE" 'length == 1' || ! wait_for 15 "$VNODE" 'length == 1'; then
	ko allinone-up "no ovsbridge/veth node; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
ok allinone-up

# create NAME NODE_QUERY TYPE ENTRY_CHECK [FLAGS]: sets uuid
create() {
	local name=$1 node=$2 type=$3 check=$4 out
	shift 4
	out=$(client capture create --gremlin "$node" --type "$type" "$@" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$uuid" ] || [ "$uuid" = null ]; then
		ko "$name-create" "$(echo "$out" | head -c 300)"
		return 1
	fi
	ENTRY='[.[0].Metadata.Captures // [] | .[] | select(.Type == "'$type'")]'
	if wait_for 15 "$node" "$ENTRY | map(select(.State == \"active\" and ($check))) | length == 1"; then
		ok "$name-active ($(q "$node" | jq -c "$ENTRY | .[0] | {Type, NetFlowSocket}"))"
	else
		ko "$name-active" "$(q "$node" | jq -c "$ENTRY" | head -c 300); $(tail -c 300 "$tmp/allinone.log")"
		return 1
	fi
}

# ---- refusals (400 at create: the options need packets) --------------------------
for opt in "--bpf icmp" "--rawpacket-limit 5" "--samplingrate 2" "--extra-tcp-metric"; do
	# shellcheck disable=SC2086
	out=$(client capture create --gremlin "$BNODE" --type ovsnetflow $opt 2>&1)
	if echo "$out" | grep -q "capture type ovsnetflow takes no"; then
		ok "refuse $opt ($(echo "$out" | grep -o 'takes no [A-Za-z]*'))"
	else
		ko "refuse $opt" "$(echo "$out" | head -c 300)"
	fi
done

# ---- the afpacket reference, then ovsnetflow on the bridge ------------------------
btid=$(q "$BNODE" | jq -r '.[0].Metadata.TID')
vtid=$(q "$VNODE" | jq -r '.[0].Metadata.TID')
create afpacket "$VNODE" afpacket 'true' || finish
afuuid=$uuid
# The extra Target is a real nfcapd: what OVS exported, read by nfdump, is
# checked against our flows below.
extra=$(free_port udp)
mkdir -p "$tmp/nf"
nfcapd -w "$tmp/nf" -b 127.0.0.1 -p "$extra" -t 3600 >"$tmp/nfcapd.log" 2>&1 &
nfcapd=$!
wait_cmd 5 udp_bound "$extra" || ko nfcapd-up "$(tail -c 200 "$tmp/nfcapd.log")"
create netflow "$BNODE" ovsnetflow '.NetFlowSocket // "" | startswith("127.0.0.1:")' \
	--target "127.0.0.1:$extra" || finish
nport=$(q "$BNODE" | jq -r "$ENTRY"' | .[0].NetFlowSocket | split(":")[1]')
if [ "$nport" -ge 6365 ] && [ "$nport" -le 6375 ] && udp_bound "$nport"; then
	ok "netflow-port ($nport, in agent.flow.netflow.port_min..port_max 6365..6375)"
else
	ko netflow-port "port '$nport'"
fi
row=$(vsctl --format=json --columns=_uuid,targets,engine_type,engine_id,add_id_to_interface,external_ids \
	list netflow 2>&1)
brnf=$(vsctl get bridge "$BR" netflow 2>&1)
if echo "$row" | jq -e --arg u "$uuid" --arg t1 "127.0.0.1:$nport" --arg t2 "127.0.0.1:$extra" '
	(.data | length) == 1 and (.data[0] as $r | .headings as $h |
	  [range($h | length)] | map({($h[.]): $r[.]}) | add) as $o |
	$o.engine_type == 10 and $o.engine_id == 1 and $o.add_id_to_interface == true and
	($o.targets[1] | map(.) | sort) == ([$t1, $t2] | sort) and
	($o.external_ids[1] == [["skydive-probe-id", $u]]) and
	$o._uuid[1] == "'"$brnf"'"' >/dev/null 2>&1; then
	ok "netflow-row (targets collector + Target, engine_type 10, engine_id 1, add_id_to_interface, probe id; bridge points at it)"
else
	ko netflow-row "$row; bridge netflow=$brnf"
fi

# Traffic the test counts: 6 echo requests (6 replies), 4 UDP datagrams to a
# listener (no reply). Megaflows made before the NetFlow row count nothing.
flush_dp
ip netns exec "${P}n2" $PY -c 'import socket,time; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("10.203.0.2",9999)); s.settimeout(10)
try:
    for _ in range(4): s.recv(2048)
except OSError: pass' &
lpid=$!
sleep 0.3
if ip netns exec "${P}n1" ping -c 6 -i 0.2 -W 2 10.203.0.2 >"$tmp/ping.log" 2>&1; then
	ok "ping (6 echo requests through $BR)"
else
	ko ping "$(tail -c 200 "$tmp/ping.log")"
fi
ip netns exec "${P}n1" $PY -c 'import socket,time; s=socket.socket(type=socket.SOCK_DGRAM); s.bind(("10.203.0.1",40123))
for _ in range(4): s.sendto(b"x"*100, ("10.203.0.2",9999)); time.sleep(0.05)'
wait "$lpid"

ICMP='[.[] | select(.Network.A == "10.203.0.1" and .Network.B == "10.203.0.2" and (.LayersPath | endswith("IPv4/ICMPv4")))]'
UDP='[.[] | select(.Network.A == "10.203.0.1" and .Network.B == "10.203.0.2" and .Transport.Protocol == "UDP" and (.Transport.A | tostring) == "40123" and (.Transport.B | tostring) == "9999")]'
counts() { # FLOWS_JSON FILTER -> "ABPackets BAPackets ABBytes BABytes" (0 when absent)
	jq -r "$2"' | [.[].Metric] | "\(map(.ABPackets // 0) | add) \(map(.BAPackets // 0) | add) \(map(.ABBytes // 0) | add) \(map(.BABytes // 0) | add)"' <<<"$1"
}
nfq="G.Flows().Has('NodeTID','$btid')"
afq="G.Flows().Has('NodeTID','$vtid')"
if wait_for 30 "$nfq" "($ICMP"' | (map(.Metric.ABPackets) | add) == 6 and (map(.Metric.BAPackets) | add) == 6) and '"($UDP"' | (map(.Metric.ABPackets) | add) == 4 and (map(.Metric.BAPackets // 0) | add) == 0)'; then
	ok "netflow-flows (ICMPv4 10.203.0.1<->10.203.0.2 6+6 packets, UDP 40123->9999 4 packets, on the bridge node)"
else
	ko netflow-flows "$(q "$nfq" | jq -c "map({A:.Network.A,B:.Network.B,L:.LayersPath,T:.Transport,M:.Metric})" | head -c 600); $(grep -i netflow "$tmp/allinone.log" | tail -3)"
fi
wait_for 15 "$afq" "($UDP"' | (map(.Metric.ABPackets) | add) == 4)' >/dev/null
nf=$(q "$nfq") af=$(q "$afq")
nfc="$(counts "$nf" "$ICMP") $(counts "$nf" "$UDP")"
afc="$(counts "$af" "$ICMP") $(counts "$af" "$UDP")"
# Packets as sent; bytes: OVS counts whole frames (14 + 20 + 8 + 100 = 142 per
# datagram, 14 + 20 + 64 = 98 per ping), as afpacket does.
if [ "$nfc" = "$afc" ] && [ "$nfc" = "6 6 588 588 4 0 568 0" ]; then
	ok "netflow-equals-afpacket (ICMP then UDP, packets and bytes AB/BA: ovsnetflow $nfc = afpacket $afc)"
else
	ko netflow-equals-afpacket "ovsnetflow '$nfc' afpacket '$afc'"
fi
# The layers: no link layer (NetFlow v5 carries no MACs); the echo request's
# sender is the ICMP flow's A side.
if jq -e "$UDP"' | length == 1 and .[0].Link == null and .[0].LayersPath == "IPv4/UDP" and .[0].Network.Protocol == "IPV4" and .[0].Application == "UDP"' <<<"$nf" >/dev/null &&
	jq -e "$ICMP"' | length == 1 and .[0].Link == null and .[0].LayersPath == "IPv4/ICMPv4"' <<<"$nf" >/dev/null; then
	ok "netflow-layers (no Link layer: IPv4/UDP, IPv4/ICMPv4; A = the pinger)"
else
	ko netflow-layers "$(jq -c "$UDP + $ICMP" <<<"$nf" | head -c 600)"
fi
# nfdump's records (the same export, received by nfcapd) = our flows per direction.
kill -TERM "$nfcapd" 2>/dev/null
for _ in $(seq 50); do kill -0 "$nfcapd" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$nfcapd" 2>/dev/null
wait "$nfcapd" 2>/dev/null
nfcapd=""
nfdump -R "$tmp/nf" -N -q -o "fmt:%sa|%da|%sp|%dp|%pr|%pkt|%byt" 2>"$tmp/nfdump.err" |
	tr -d ' ' | grep '^10\.203\.0\.' | sort >"$tmp/nfdump.txt"
jq -r '.[] | select(.Network.A | startswith("10.203.0.")) |
	(if .Transport then [(.Transport.A | tostring), (.Transport.B | tostring)] else ["0", "0"] end) as $p |
	(.Transport.Protocol // "ICMP") as $pr |
	"\(.Network.A)|\(.Network.B)|\($p[0])|\($p[1])|\($pr)|\(.Metric.ABPackets)|\(.Metric.ABBytes)",
	(select((.Metric.BAPackets // 0) > 0) |
	 "\(.Network.B)|\(.Network.A)|\($p[1])|\($p[0])|\($pr)|\(.Metric.BAPackets)|\(.Metric.BABytes)")' \
	<<<"$nf" | sort >"$tmp/ours.txt"
# nfdump prints the protocol's number and ICMP's type.code as the destination
# port, and OVS may export one direction in several records (a datapath flow
# replaced): add up packets and bytes per direction and 5-tuple (ICMP: per
# address pair).
norm() {
	awk -F'|' '{ pr = $5; if (pr == "1") pr = "ICMP"; else if (pr == "17") pr = "UDP"; else if (pr == "6") pr = "TCP"
		k = (pr == "ICMP") ? $1"|"$2"|ICMP" : $1"|"$2"|"$3"|"$4"|"pr
		p[k] += $6; b[k] += $7 }
		END { for (k in p) print k"|"p[k]"|"b[k] }' "$1" | sort
}
if [ -s "$tmp/nfdump.txt" ] && [ "$(norm "$tmp/nfdump.txt")" = "$(norm "$tmp/ours.txt")" ]; then
	ok "netflow-nfdump (nfcapd on the Target got the same export: $(norm "$tmp/nfdump.txt" | tr '\n' ' '))"
else
	ko netflow-nfdump "nfdump: $(tr '\n' ' ' <"$tmp/nfdump.txt") ours: $(tr '\n' ' ' <"$tmp/ours.txt") $(head -c 200 "$tmp/nfdump.err")"
fi
entry=$(q "$BNODE" | jq -c "$ENTRY | .[0]")
if jq -e '.NetFlowDatagrams >= 1 and .NetFlowRecords >= 3 and .NetFlowDatagramErrors == 0 and .NetFlowRecordsLost == 0' <<<"$entry" >/dev/null; then
	ok "netflow-entry ($(jq -c '{NetFlowDatagrams, NetFlowRecords, NetFlowDatagramErrors, NetFlowRecordsLost, PacketsReceived}' <<<"$entry"))"
else
	ko netflow-entry "$entry"
fi

client capture delete "$uuid" >/dev/null 2>&1
client capture delete "$afuuid" >/dev/null 2>&1
if wait_for 15 "$BNODE" "$ENTRY"' | length == 0' &&
	wait_cmd 5 sh -c "[ -z \"\$(ovs-vsctl --db=$OVS_DB list netflow)\" ]" &&
	[ "$(vsctl get bridge "$BR" netflow)" = "[]" ] && ! udp_bound "$nport"; then
	ok "netflow-delete (entry gone, NetFlow row gone, bridge netflow cleared, UDP port $nport closed)"
else
	ko netflow-delete "$(q "$BNODE" | jq -c "$ENTRY" | head -c 200); netflow: $(vsctl list netflow | head -c 200)"
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
left="$left $(ip -o link show | awk -F': ' '{print $2}' | grep -E "^$P|^ovs-netdev" | tr '\n' ' ')"
if [ -z "${left// /}" ]; then
	ok teardown-clean
else
	ko teardown-clean "left behind:$left"
fi
finish
