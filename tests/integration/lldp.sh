#!/bin/bash
# lldp.sh - the agent's LLDP probe against Debian's lldpd, as root, in
# namespaces of our own (prefix skld<pid>; nothing in the root namespace):
#   <P>sw  lldpd (-d, own control socket -u, -I its veth end), the "switch"
#   <P>ag  the veth's other end, a named namespace the agent watches
#   <P>api `skydive allinone` (its netns run path holds only <P>ag), API on lo
# Asserts through the API the switch (chassis) and switchport nodes with what
# lldpd advertises (lldpcli show chassis/interfaces -f json, tcpdump's reading
# of its link aggregation TLV, the test's own hostname / management address),
# the ownership and layer2 edges, removal once
# lldpd is killed (no shutdown LLDPDU) and its TTL (tx-interval 1 x tx-hold 2)
# passes, and the refusal of an interface list that names nothing.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skld$$
SW=${P}sw AG=${P}ag NSA=${P}api
VS=${P}s VR=${P}r # veth ends: lldpd's, the agent's
SYSNAME=${P}-switch1
MGMT=192.0.2.17
tmp=$(mktemp -d)
chmod 755 "$tmp" # lldpd drops to its _lldpd user, which must reach its socket
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

cleanup() {
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	umount "$tmp/netns/$AG" 2>/dev/null
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "lldp: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq lldpd lldpcli; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

now_ms() { date +%s%3N; }
API=127.0.0.1:8082
q() {
	ip netns exec "$NSA" curl -s -m 5 -XPOST "http://$API/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
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
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }

# ---- the lab --------------------------------------------------------------
ip netns add "$SW" && ip netns add "$AG" && ip netns add "$NSA" &&
	ip link add "$VS" netns "$SW" type veth peer name "$VR" netns "$AG" &&
	ip -n "$SW" link set lo up && ip -n "$SW" link set "$VS" up &&
	ip -n "$SW" addr add "$MGMT/24" dev "$VS" &&
	ip -n "$AG" link set "$VR" up && ip -n "$NSA" link set lo up ||
	{ echo "FAIL setup: namespaces"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$tmp/netns" && touch "$tmp/netns/$AG" &&
	mount --bind "/var/run/netns/$AG" "$tmp/netns/$AG" ||
	{ echo "FAIL setup: netns bind mount"; echo "0 passed, 1 failed"; exit 1; }

# ---- an interface list that names nothing is refused -----------------------
for bad in '[""]' '[]' '["a/b"]'; do
	cat >"$tmp/bad.yml" <<EOF
host_id: ${P}host
agent:
  topology:
    probes: [lldp]
    lldp:
      interfaces: $bad
EOF
	ip netns exec "$NSA" timeout 10 "$SKYDIVE" allinone -c "$tmp/bad.yml" --netns-run-path "" \
		>"$tmp/bad.log" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "agent.topology.lldp.interfaces" "$tmp/bad.log" &&
		grep -q "names no interface" "$tmp/bad.log"; then
		ok "refused-interfaces-$bad"
	else
		ko "refused-interfaces-$bad" "exit $rc; $(tail -c 300 "$tmp/bad.log")"
	fi
done

# ---- lldpd in the switch namespace -------------------------------------------
SOCK=$tmp/lldpd.sock
# The settings go in the file lldpd hands to lldpcli at start: lldpd sends
# nothing before lldpcli has applied it (so no frame with other values).
cat >"$tmp/lldpd.conf" <<EOF
configure system hostname $SYSNAME
configure system ip management pattern $MGMT
configure lldp tx-hold 2
configure lldp tx-interval 1
EOF
start_lldpd() {
	ip netns exec "$SW" lldpd -d -u "$SOCK" -I "$VS" -O "$tmp/lldpd.conf" >>"$tmp/lldpd.log" 2>&1 &
	lldpd_pid=$!
	pids+=("$lldpd_pid")
	for _ in $(seq 100); do
		lldpcli -u "$SOCK" show chassis -f json 2>/dev/null |
			jq -e --arg n "$SYSNAME" '."local-chassis".chassis[$n]' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
if start_lldpd; then
	ok lldpd-up
else
	ko lldpd-up "$(tail -c 300 "$tmp/lldpd.log")"
fi
# What lldpd says it advertises (the chassis MAC is chosen by lldpd)
sleep 1.5
chassis=$(lldpcli -u "$SOCK" show chassis -f json)
ports=$(lldpcli -u "$SOCK" show interfaces -f json)
CHASSIS_ID=$(printf '%s' "$chassis" | jq -r --arg n "$SYSNAME" '."local-chassis".chassis[$n].id.value')
CHASSIS_DESCR=$(printf '%s' "$chassis" | jq -r --arg n "$SYSNAME" '."local-chassis".chassis[$n].descr')
PORT_ID=$(printf '%s' "$ports" | jq -r --arg i "$VS" '.lldp.interface[$i].port.id.value')
PORT_DESCR=$(printf '%s' "$ports" | jq -r --arg i "$VS" '.lldp.interface[$i].port.descr')
MAC_S=$(ip -n "$SW" -j link show "$VS" | jq -r '.[0].address')
if [ "$CHASSIS_ID" = "$MAC_S" ] && [ "$PORT_ID" = "$MAC_S" ] && [ "$PORT_DESCR" = "$VS" ]; then
	ok "lldpd-advertises (chassis $CHASSIS_ID port $PORT_ID '$PORT_DESCR')"
else
	ko lldpd-advertises "chassis '$CHASSIS_ID' port '$PORT_ID' '$PORT_DESCR', veth MAC $MAC_S"
fi

# Link aggregation as tcpdump decodes one of lldpd's frames on our end
# (lldpd sends the 802.3 TLV: status bits and port ID)
ip netns exec "$AG" timeout 10 tcpdump -c 1 -vv -i "$VR" ether proto 0x88cc >"$tmp/frame.txt" 2>/dev/null
lag=$(sed -n 's/.*aggregation status \[\([^]]*\)\], aggregation port ID \([0-9]*\).*/\1|\2/p' "$tmp/frame.txt" | head -1)
LAG_SUP=false LAG_EN=false
case ${lag%|*} in *supported*) LAG_SUP=true ;; esac
case ${lag%|*} in *enabled*) LAG_EN=true ;; esac
LAG_PORT=${lag#*|}
if [ -n "$lag" ]; then ok "tcpdump-lag ($lag)"; else ko tcpdump-lag "no link aggregation TLV: $(head -c 300 "$tmp/frame.txt")"; fi

# ---- the agent, listening on its end only ------------------------------------
cat >"$tmp/agent.yml" <<EOF
host_id: ${P}host
analyzer:
  listen: $API
agent:
  topology:
    probes: [lldp]
    lldp:
      interfaces: [$VR]
EOF
ip netns exec "$NSA" "$SKYDIVE" allinone -c "$tmp/agent.yml" --netns-run-path "$tmp/netns" \
	>"$tmp/allinone.log" 2>&1 &
aio=$!
pids+=("$aio")
if wait_for 15 "G.V().Has('Name','$VR')" 'length == 1'; then
	ok agent-sees-veth
else
	ko agent-sees-veth "no node $VR; $(tail -c 300 "$tmp/allinone.log")"
fi

SWQ="G.V().Has('Type','switch','LLDP.SysName','$SYSNAME')"
if wait_for 15 "$SWQ" 'length == 1'; then
	ok switch-node
else
	ko switch-node "no switch node; $(tail -c 400 "$tmp/allinone.log")"
fi
n=$(q "$SWQ")
chk() { # NAME JQ_FILTER
	if printf '%s' "$n" | jq -e "$2" >/dev/null 2>&1; then ok "$1"; else ko "$1" "$(printf '%s' "$n" | jq -c '.[0].Metadata')"; fi
}
chk switch-name ".[0].Metadata.Name == \"$SYSNAME\""
chk switch-chassis-id ".[0].Metadata.LLDP.ChassisID == \"$CHASSIS_ID\" and .[0].Metadata.LLDP.ChassisIDType == \"MAC Address\""
chk switch-mgmt ".[0].Metadata.LLDP.MgmtAddress == \"$MGMT\""
chk switch-descr ".[0].Metadata.LLDP.Description == $(jq -n --arg d "$CHASSIS_DESCR" '$d')"
chk switch-probe '.[0].Metadata.Probe == "lldp"'

PQ="G.V().Has('Name','$VR').Both('Type','switchport')"
n=$(q "$PQ")
chk port-node 'length == 1'
chk port-name ".[0].Metadata.Name == \"$VS\""
chk port-id ".[0].Metadata.LLDP.PortID == \"$PORT_ID\" and .[0].Metadata.LLDP.PortIDType == \"MAC Address\""
chk port-descr ".[0].Metadata.LLDP.Description == \"$VS\""
if [ "$LAG_SUP" = true ]; then
	if [ "$LAG_PORT" = 0 ]; then lagport=null; else lagport=$LAG_PORT; fi
	chk port-link-aggregation ".[0].Metadata.LLDP.LinkAgggregation | .Enabled == $LAG_EN and .Supported == true and .PortID == $lagport"
fi
n=$(q "$PQ.Both('Type','switch')")
chk port-owned-by-switch ".[0].Metadata.LLDP.SysName == \"$SYSNAME\""

# Edges: switch -> port ownership and layer2, port -> our veth layer2
n=$(q "${SWQ}.OutE().Values('RelationType')")
chk switch-edges '(. | sort) == ["layer2","ownership"]'
n=$(q "G.V().Has('Type','switchport').OutE().Values('RelationType')")
chk port-edge '. == ["layer2"]'
n=$(q "G.V().Has('Type','switchport').Out()")
chk port-edge-to-veth ".[0].Metadata.Name == \"$VR\""

# ---- lldpd killed (no shutdown frame): gone once the TTL passes ---------------
kill -KILL "$lldpd_pid"
{ wait "$lldpd_pid"; } 2>/dev/null
if wait_for 15 "G.V().Has('Probe','lldp')" 'length == 0'; then
	ok removed-after-ttl
else
	ko removed-after-ttl "$(q "G.V().Has('Probe','lldp')" | jq -c 'map(.Metadata.Name)')"
fi
n=$(q "G.V().Has('Name','$VR')")
chk veth-stays 'length == 1'

# ---- back, then a clean stop (lldpd sends TTL 0) removes it too ---------------
start_lldpd >/dev/null
if wait_for 15 "$SWQ" 'length == 1'; then ok switch-back; else ko switch-back "no switch node"; fi
kill -TERM "$lldpd_pid"
{ wait "$lldpd_pid"; } 2>/dev/null
if wait_for 15 "G.V().Has('Probe','lldp')" 'length == 0'; then
	ok removed-after-shutdown
else
	ko removed-after-shutdown "$(q "G.V().Has('Probe','lldp')" | jq -c 'map(.Metadata.Name)')"
fi

kill -TERM "$aio"
wait "$aio"
rc=$?
if [ "$rc" = 0 ] && sanitizer_clean "$tmp/allinone.log"; then
	ok allinone-clean-exit
else
	ko allinone-clean-exit "exit $rc; $(grep -m3 -E 'Sanitizer|runtime error|ERROR' "$tmp/allinone.log")"
fi
if grep -q "lldp probe: listening on $VR in $tmp/netns/$AG" "$tmp/allinone.log"; then
	ok log-listening-in-netns
else
	ko log-listening-in-netns "$(grep -m3 lldp "$tmp/allinone.log")"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
