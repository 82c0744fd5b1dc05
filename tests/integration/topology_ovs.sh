#!/bin/bash
# topology_ovs.sh - the agent's OVSDB probe end to end, as root: a private
# ovsdb-server + ovs-vswitchd (userspace netdev datapath, no kernel module)
# whose database, sockets, pidfiles and logs live in a temp dir, two bridges
# (prefix skov<pid>) with veth ports into two namespaces of our own, an
# internal port and a patch pair; `skydive allinone` must show the ovsbridge
# and ovsport nodes, their edges, the patch edge, the OVS keys on the kernel
# links, and follow add-port/del-port/del-br live. Everything the test made
# (exactly its daemon PIDs, namespaces, links) is removed, also on failure.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skov$$
BR=${P}br BP=${P}bp
tmp=$(mktemp -d /tmp/skydive-ovs.XXXXXX)
DB=unix:$tmp/db.sock
pass=0 fail=0
aio=""
ovs_started=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

# OVS tools and daemons use the temp dir, never /var/run/openvswitch.
export OVS_RUNDIR=$tmp OVS_LOGDIR=$tmp OVS_DBDIR=$tmp OVS_SYSCONFDIR=$tmp
vsctl() { ovs-vsctl --db="$DB" --timeout=10 "$@"; }

# Kills exactly the PID of a pidfile we own, if it is still that daemon.
kill_pidfile() { # NAME
	local f=$tmp/$1.pid pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	case "$(cat /proc/"$pid"/comm 2>/dev/null)" in
	"$1" | "${1:0:15}")
		kill -TERM "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		;;
	esac
}

teardown() {
	if [ -n "$aio" ]; then
		kill -TERM "$aio" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$aio" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$aio" 2>/dev/null
		aio=""
	fi
	if [ "$ovs_started" = 1 ]; then
		vsctl --if-exists del-br "$BR" -- --if-exists del-br "$BP" >/dev/null 2>&1
		kill_pidfile ovs-vswitchd
		kill_pidfile ovsdb-server
		# Left by vswitchd's userspace datapath when it cannot tidy up; it did
		# not exist before we started (checked below).
		ip link del ovs-netdev 2>/dev/null
		ovs_started=0
	fi
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
	echo "FAIL setup: topology_ovs needs root"
	finish
fi
for tool in ip curl jq python3 ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl; do
	command -v $tool >/dev/null || { ko setup "$tool missing (scripts/install-deps.sh installs openvswitch-switch)"; finish; }
done
if ip link show ovs-netdev >/dev/null 2>&1; then
	ko setup "another userspace OVS owns the ovs-netdev device; refusing to share it"
	finish
fi

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_for() { # TIMEOUT_S QUERY JQ_FILTER [ARGS...]; sets waited_ms
	local timeout=$1 query=$2 filter=$3 start
	shift 3
	start=$(now_ms)
	while :; do
		# jq -e holds on no input at all: an analyzer not answering yet is no answer
		local out
		out=$(q "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$@" "$filter" >/dev/null 2>&1; then
			waited_ms=$(($(now_ms) - start))
			return 0
		fi
		if [ $(($(now_ms) - start)) -gt $((timeout * 1000)) ]; then
			waited_ms=$(($(now_ms) - start))
			return 1
		fi
		sleep 0.05
	done
}
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
# ID of the node of that Type and Name.
nid() { q "G.V().Has('Type','$1').Has('Name','$2')" | jq -r '.[0].ID // empty'; }

# ---- a private OVS (userspace datapath) ---------------------------------
ovsdb-tool create "$tmp/conf.db" /usr/share/openvswitch/vswitch.ovsschema ||
	{ ko ovs-up "ovsdb-tool create failed"; finish; }
ovs_started=1
ovsdb-server "$tmp/conf.db" --remote=punix:"$tmp/db.sock" --pidfile="$tmp/ovsdb-server.pid" \
	--detach --log-file="$tmp/ovsdb-server.log" --unixctl="$tmp/ovsdb-server.ctl" -vconsole:off 2>/dev/null ||
	{ ko ovs-up "ovsdb-server did not start: $(tail -c 300 "$tmp/ovsdb-server.log")"; finish; }
vsctl --no-wait init
ovs-vswitchd "$DB" --pidfile="$tmp/ovs-vswitchd.pid" --detach --log-file="$tmp/ovs-vswitchd.log" \
	--unixctl="$tmp/ovs-vswitchd.ctl" -vconsole:off 2>/dev/null ||
	{ ko ovs-up "ovs-vswitchd did not start: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }

# OpenFlow rules are read with ovs-ofctl (ovs_oflow.sh): asking for Skydive's native
# OpenFlow client instead is refused at start.
out=$(SKYDIVE_OVS_OFLOW_ENABLE=true SKYDIVE_OVS_OFLOW_NATIVE=true timeout 10 "$SKYDIVE" allinone --listen 127.0.0.1:0 2>&1)
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && printf '%s' "$out" | grep -q "ovs.oflow.native: .*not implemented"; then
	ok "oflow-native-refused (exit $rc)"
else
	ko oflow-native-refused "exit $rc: $(printf '%s' "$out" | tail -c 300)"
fi

# The agent starts before the bridges exist: the probe must follow.
PORT=$(free_port)
API=127.0.0.1:$PORT
SKYDIVE_OVS_OVSDB="unix://$tmp/db.sock" "$SKYDIVE" allinone --listen "$API" \
	--host-id "${P}host" >"$tmp/allinone.log" 2>&1 &
aio=$!
if ! wait_for 10 "G.V().Has('Type','host')" 'map(.Metadata.Name) | index("'"${P}host"'")'; then
	ko allinone-up "no host node; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi

t0=$(now_ms)
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev \
	-- add-br "$BP" -- set bridge "$BP" datapath_type=netdev ||
	{ ko ovs-up "add-br failed: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }
for i in 1 2; do
	ip netns add "${P}n$i"
	ip link add "${P}v$i" type veth peer name eth0 netns "${P}n$i"
	ip link set "${P}v$i" up
	ip -n "${P}n$i" link set eth0 up
done
vsctl add-port "$BR" "${P}v1" -- add-port "$BR" "${P}v2" \
	-- add-port "$BR" "${P}in" -- set interface "${P}in" type=internal \
	-- add-port "$BR" "${P}pa" -- set interface "${P}pa" type=patch options:peer="${P}pb" \
	-- add-port "$BP" "${P}pb" -- set interface "${P}pb" type=patch options:peer="${P}pa" ||
	ko ovs-up "add-port failed"

if wait_for 10 "G.V().Has('Type','ovsbridge').Values('Name')" 'index($a) != null and index($b) != null' \
	--arg a "$BR" --arg b "$BP"; then
	ok "ovsbridge-nodes ($(($(now_ms) - t0)) ms after add-br)"
else
	ko ovsbridge-nodes "$(q "G.V().Has('Type','ovsbridge')" | head -c 300)"
fi
if wait_for 10 "G.V().Has('Type','ovsport').Values('Name')" \
	'[$p+"v1",$p+"v2",$p+"in",$p+"pa",$p+"pb",$p+"br",$p+"bp"] - . == []' --arg p "$P"; then
	ok "ovsport-nodes ($(($(now_ms) - t0)) ms after add-br)"
else
	ko ovsport-nodes "$(q "G.V().Has('Type','ovsport').Values('Name')" | head -c 300)"
fi

# TIDs as Skydive: UUIDv5(OID, hostID + OVS UUID + Type).
host_id=$(nid host "${P}host")
br_uuid=$(vsctl get bridge "$BR" _uuid)
exp_br=$(python3 -c 'import sys,uuid; h=str(uuid.uuid5(uuid.NAMESPACE_OID,sys.argv[1])); print(uuid.uuid5(uuid.NAMESPACE_OID,h+sys.argv[2]+"ovsbridge"))' "${P}host" "$br_uuid")
br_id=$(nid ovsbridge "$BR")
if [ -n "$br_id" ] && [ "$br_id" = "$exp_br" ] &&
	q "G.V().Has('Type','ovsbridge').Has('Name','$BR')" | jq -e '.[0].Metadata | .UUID == $u and .TID == $t' \
		--arg u "$br_uuid" --arg t "$exp_br" >/dev/null; then
	ok ovsbridge-tid
else
	ko ovsbridge-tid "ID $br_id, expected $exp_br (UUID $br_uuid)"
fi

edges_of() { q "G.V().Has('Type','$1').Has('Name','$2').BothE()"; }
check_edge() { # NAME TYPE NODE_NAME JQ_FILTER ARGS...
	local name=$1 type=$2 node=$3 filter=$4
	shift 4
	if wait_for 10 "G.V().Has('Type','$type').Has('Name','$node').BothE()" "$filter" "$@"; then
		ok "$name"
	else
		ko "$name" "$(edges_of "$type" "$node" | head -c 400)"
	fi
}
v1_port=$(nid ovsport "${P}v1")
v1_intf=$(nid veth "${P}v1")
in_port=$(nid ovsport "${P}in")
check_edge ownership-host-bridge ovsbridge "$BR" \
	'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $h and .Child == $b)' \
	--arg h "$host_id" --arg b "$br_id"
check_edge ownership-bridge-port ovsbridge "$BR" \
	'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $b and .Child == $p)' \
	--arg b "$br_id" --arg p "$v1_port"
check_edge layer2-bridge-port ovsbridge "$BR" \
	'any(.[]; .Metadata.RelationType == "layer2" and .Parent == $b and .Child == $p)' \
	--arg b "$br_id" --arg p "$v1_port"
check_edge layer2-port-veth ovsport "${P}v1" \
	'any(.[]; .Metadata.RelationType == "layer2" and .Parent == $p and .Child == $i)' \
	--arg p "$v1_port" --arg i "$v1_intf"
# The internal port is a tap device OVS creates in the root namespace: one
# node with the OVSDB's Type "internal" (as Skydive's ovsdb.go sets it), the
# netlink keys and the OVS keys, not a second "tuntap" node.
in_uuid=$(vsctl get interface "${P}in" _uuid)
in_mac=$(cat "/sys/class/net/${P}in/address")
in_idx=$(cat "/sys/class/net/${P}in/ifindex")
in_mtu=$(cat "/sys/class/net/${P}in/mtu")
if wait_for 10 "G.V().Has('Name','${P}in')" \
	'[.[] | select(.Metadata.Type != "ovsport")] | length == 1 and (.[0].Metadata |
		.Type == "internal" and .UUID == $u and .Ovs.UUID == $u and .MAC == $m and
		.IfIndex == ($i | tonumber) and .MTU == ($t | tonumber))' \
	--arg u "$in_uuid" --arg m "$in_mac" --arg i "$in_idx" --arg t "$in_mtu"; then
	ok "internal-one-node (Type internal, MAC $in_mac, IfIndex $in_idx, MTU $in_mtu, UUID)"
	in_intf=$(nid internal "${P}in")
	check_edge layer2-port-internal ovsport "${P}in" \
		'any(.[]; .Metadata.RelationType == "layer2" and .Parent == $p and .Child == $i)' \
		--arg p "$in_port" --arg i "$in_intf"
else
	ko internal-one-node "$(q "G.V().Has('Name','${P}in')" | head -c 600)"
fi
if [ "$(q "G.V().Has('Type','tuntap').Has('Name','${P}in').Count()" | jq -r 'if type == "array" then .[0] else . end')" = 0 ]; then
	ok internal-no-tuntap-node
else
	ko internal-no-tuntap-node "$(q "G.V().Has('Type','tuntap').Has('Name','${P}in')" | head -c 300)"
fi
v1_iface_uuid=$(vsctl get interface "${P}v1" _uuid)
v1_ofport=$(vsctl get interface "${P}v1" ofport)
if wait_for 10 "G.V().Has('Type','veth').Has('Name','${P}v1')" \
	'.[0].Metadata | .Ovs.UUID == $u and .UUID == $u and .Ovs.OfPort == ($o | tonumber) and .OfPort == ($o | tonumber)' \
	--arg u "$v1_iface_uuid" --arg o "$v1_ofport"; then
	ok "ovs-keys-on-veth (OfPort $v1_ofport)"
else
	ko ovs-keys-on-veth "$(q "G.V().Has('Name','${P}v1').Values('Ovs')" | head -c 300) want UUID $v1_iface_uuid ofport $v1_ofport"
fi

# Patch ports have no kernel link: nodes of Type patch, owned by their bridge,
# joined by a "patch" edge.
pa=$(nid patch "${P}pa")
pb=$(nid patch "${P}pb")
if [ -n "$pa" ] && [ -n "$pb" ]; then
	ok patch-nodes
	check_edge patch-edge patch "${P}pa" \
		'any(.[]; .Metadata.RelationType == "patch" and ((.Parent == $a and .Child == $b) or (.Parent == $b and .Child == $a)))' \
		--arg a "$pa" --arg b "$pb"
	check_edge ownership-bridge-patch patch "${P}pb" \
		'any(.[]; .Metadata.RelationType == "ownership" and .Parent == $b and .Child == $x)' \
		--arg b "$(nid ovsbridge "$BP")" --arg x "$pb"
else
	ko patch-nodes "$(q "G.V().Has('Type','patch')" | head -c 300)"
fi

# Tunnel ports have no kernel link on the userspace datapath: nodes of the
# OVSDB's type. Remote on loopback: nothing leaves the machine.
vsctl add-port "$BR" "${P}vx" -- set interface "${P}vx" type=vxlan options:remote_ip=127.0.0.9 \
	-- add-port "$BR" "${P}gr" -- set interface "${P}gr" type=gre options:remote_ip=127.0.0.10 ||
	ko ovs-up "add-port vxlan/gre failed"
for tun in vxlan:vx gre:gr; do
	ty=${tun%%:*} nm=${P}${tun#*:}
	u=$(vsctl get interface "$nm" _uuid)
	if wait_for 10 "G.V().Has('Name','$nm')" \
		'[.[] | select(.Metadata.Type != "ovsport")] | length == 1 and (map(select(.Metadata.Type != "ovsport"))[0].Metadata |
			.Type == $ty and .UUID == $u and .Ovs.Options.remote_ip == $r)' \
		--arg ty "$ty" --arg u "$u" --arg r "$(vsctl get interface "$nm" options:remote_ip | tr -d '"')"; then
		ok "$ty-node"
	else
		ko "$ty-node" "$(q "G.V().Has('Name','$nm')" | head -c 400)"
	fi
done
if q "G.V().Has('Name','${P}pa')" | jq -e 'map(select(.Metadata.Type != "ovsport")) | length == 1 and .[0].Metadata.Type == "patch" and .[0].Metadata.Ovs.Options.peer == $p' \
	--arg p "${P}pb" >/dev/null; then
	ok patch-type
else
	ko patch-type "$(q "G.V().Has('Name','${P}pa')" | head -c 400)"
fi

# A tap port (a tap device made beforehand): Type "tap" while in OVS. On
# del-port OVS clears the device's persistence, so it goes, and its node too.
ip tuntap add "${P}tp" mode tap && ip link set "${P}tp" up
vsctl add-port "$BR" "${P}tp" -- set interface "${P}tp" type=tap || ko ovs-up "add-port tap failed"
tp_uuid=$(vsctl get interface "${P}tp" _uuid)
if wait_for 10 "G.V().Has('Name','${P}tp')" \
	'map(select(.Metadata.Type != "ovsport")) | length == 1 and .[0].Metadata.Type == "tap" and .[0].Metadata.UUID == $u and .[0].Metadata.IfIndex == ($i | tonumber)' \
	--arg u "$tp_uuid" --arg i "$(cat "/sys/class/net/${P}tp/ifindex")"; then
	ok tap-type
else
	ko tap-type "$(q "G.V().Has('Name','${P}tp')" | jq -c '[.[].Metadata | {Type, UUID, IfIndex}]')"
fi
vsctl del-port "$BR" "${P}tp"
for _ in $(seq 50); do [ -e "/sys/class/net/${P}tp" ] || break; sleep 0.1; done
if [ -e "/sys/class/net/${P}tp" ]; then # kept: its netlink Type, no OVS keys
	want='length == 1 and .[0].Metadata.Type == "tuntap" and .[0].Metadata.UUID == null and .[0].Metadata.Ovs == null'
else
	want='length == 0'
fi
if wait_for 10 "G.V().Has('Name','${P}tp')" "$want"; then
	ok "tap-del-port ($([ -e "/sys/class/net/${P}tp" ] && echo "device kept: tuntap again" || echo "device gone: node gone"))"
else
	ko tap-del-port "$(q "G.V().Has('Name','${P}tp')" | jq -c '[.[].Metadata | {Type, UUID}]')"
fi

# An internal port moved to a namespace stays one node, now owned by the
# netns node, with its OVS keys and its port's layer2 edge.
ip netns add "${P}n4"
ip link set "${P}in" netns "${P}n4"
tm=$(now_ms)
if wait_for 10 "G.V().Has('Name','${P}in')" \
	'[.[] | select(.Metadata.Type != "ovsport")] | length == 1 and (map(select(.Metadata.Type != "ovsport"))[0].Metadata |
		.Type == "internal" and .UUID == $u and .MAC == $m)' \
	--arg u "$in_uuid" --arg m "$in_mac" &&
	wait_for 10 "G.V().Has('Type','netns').Has('Name','${P}n4').Out().Has('Name','${P}in')" \
		'length == 1 and .[0].Metadata.Type == "internal" and .[0].Metadata.Ovs.UUID == $u' --arg u "$in_uuid"; then
	ok "internal-moved-netns ($(($(now_ms) - tm)) ms: one node, owned by netns ${P}n4)"
	moved=$(q "G.V().Has('Type','netns').Has('Name','${P}n4').Out().Has('Name','${P}in')" | jq -r '.[0].ID')
	check_edge layer2-port-internal-moved ovsport "${P}in" \
		'any(.[]; .Metadata.RelationType == "layer2" and .Parent == $p and .Child == $i)' \
		--arg p "$in_port" --arg i "$moved"
else
	ko internal-moved-netns "$(q "G.V().Has('Name','${P}in')" | jq -c '[.[].Metadata | {Type, MAC, IfIndex, UUID}]') OVSDB: $(vsctl --columns=mac_in_use,ifindex,error list interface "${P}in" | tr '\n' ' ')"
fi

# ---- live updates ---------------------------------------------------------
ip netns add "${P}n3"
ip link add "${P}v3" type veth peer name eth0 netns "${P}n3"
ip link set "${P}v3" up
t1=$(now_ms)
vsctl add-port "$BR" "${P}v3"
if wait_for 5 "G.V().Has('Type','ovsport').Has('Name','${P}v3').BothE()" \
	'any(.[]; .Metadata.RelationType == "layer2" and .Child == $i)' --arg i "$(nid veth "${P}v3")"; then
	ok "add-port ($(($(now_ms) - t1)) ms until port node and port->veth edge)"
else
	ko add-port "$(q "G.V().Has('Name','${P}v3')" | head -c 300)"
fi
t2=$(now_ms)
vsctl del-port "$BR" "${P}v2"
if wait_for 5 "G.V().Has('Type','ovsport').Has('Name','${P}v2').Count()" '. == 0 or . == [0]' &&
	wait_for 5 "G.V().Has('Type','veth').Has('Name','${P}v2')" '.[0].Metadata.Ovs == null'; then
	ok "del-port ($(($(now_ms) - t2)) ms until port node gone and veth without Ovs keys)"
else
	ko del-port "$(q "G.V().Has('Name','${P}v2')" | head -c 300)"
fi
t3=$(now_ms)
vsctl del-br "$BP"
if wait_for 5 "G.V().Has('Name','$BP').Count()" '. == 0 or . == [0]' &&
	wait_for 5 "G.V().Has('Name','${P}pb').Count()" '. == 0 or . == [0]' &&
	wait_for 5 "G.V().Has('Type','patch').Has('Name','${P}pa').BothE()" \
		'all(.[]; .Metadata.RelationType != "patch")'; then
	ok "del-br ($(($(now_ms) - t3)) ms until bridge, its port and patch peer gone)"
else
	ko del-br "$(q "G.V().Has('Name','$BP')" | head -c 300)"
fi

# ---- OVSDB goes away: its nodes go, the probe waits for it quietly --------
# ovsdb-server first: vswitchd, still up, keeps the moved internal port's tap.
t4=$(now_ms)
kill_pidfile ovsdb-server
t5=$(now_ms)
if wait_for 5 "G.V().Has('Type','ovsbridge').Has('Name','$BR').Count()" '. == 0 or . == [0]'; then
	ok "ovsdb-lost ($(($(now_ms) - t4)) ms after SIGTERM to ovsdb-server, $(($(now_ms) - t5)) ms after it exited)"
else
	ko ovsdb-lost "$(q "G.V().Has('Type','ovsbridge')" | head -c 300)"
fi
# What the OVSDB said no longer holds: the link's netlink Type is back.
if [ -e "/var/run/netns/${P}n4" ] && ip -n "${P}n4" link show "${P}in" >/dev/null 2>&1; then
	if wait_for 5 "G.V().Has('Name','${P}in')" \
		'length == 1 and .[0].Metadata.Type == "tuntap" and .[0].Metadata.UUID == null and .[0].Metadata.Ovs == null'; then
		ok ovsdb-lost-netlink-type-back
	else
		ko ovsdb-lost-netlink-type-back "$(q "G.V().Has('Name','${P}in')" | jq -c '[.[].Metadata | {Type, UUID}]')"
	fi
else
	ko ovsdb-lost-netlink-type-back "the moved internal port ${P}in is no longer in ${P}n4"
fi
kill_pidfile ovs-vswitchd
sleep 2.5
n_logs=$(grep -c "ovsdb probe:.*not reachable\|ovsdb probe: connection .* lost" "$tmp/allinone.log")
if [ "$n_logs" -le 1 ]; then
	ok "retry-quietly ($n_logs log line in 2.5 s of retries)"
else
	ko retry-quietly "$n_logs log lines: $(grep 'ovsdb probe' "$tmp/allinone.log" | head -3)"
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
