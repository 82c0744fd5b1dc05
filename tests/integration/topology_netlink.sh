#!/bin/bash
# topology_netlink.sh - the netlink probe's Skydive fields, end to end, as root, in
# network namespaces of our own (prefix sknl<pid>; nothing is created in the root
# namespace): LinkFlags and State following up/down, Speed of a veth, neighbours
# (a permanent one and one learnt by ping), routing tables (main, a policy table with
# its ip rule, an ECMP route, IPv6), bridge FDB entries, ethtool Features following
# `ethtool -K`, LinkNetNsID, a renamed interface keeping its node, and Gremlin
# NextHop() answers checked against `ip route get` in the same namespace. Every
# expected value is what the test set up or what the kernel says (ip -j, /sys).
# SR-IOV VFs and bonds need hardware / a kernel with CONFIG_BONDING: each is checked
# when the kernel has it and reported as skipped otherwise.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=sknl$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "topology_netlink: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip bridge curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_for TIMEOUT_S QUERY JQ_FILTER [JQ ARGS...]: polls until the filter holds.
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
# check NAME QUERY JQ_FILTER [JQ ARGS...]: ok when the filter holds within 10 s.
check() {
	local name=$1 query=$2
	shift 2
	if wait_for 10 "$query" "$@"; then ok "$name"; else ko "$name" "$(q "$query" | head -c 600)"; fi
}
md() { echo "G.V().Has('Name','$1').Has('Host','${P}host')"; }
ifindex() { ip -n "$1" -j link show "$2" | jq -r '.[0].ifindex'; }
mac() { ip -n "$1" -j link show "$2" | jq -r '.[0].address'; }
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }

# ---- the lab: A (a0, a1 ; routes) <-> B (b0, b1 ; a bridge with a port) ----
A=${P}a B=${P}b
ip netns add "$A" && ip netns add "$B" || { echo "FAIL setup: ip netns add"; echo "0 passed, 1 failed"; exit 1; }
ip link add "${P}a0" netns "$A" type veth peer name "${P}b0" netns "$B"
ip link add "${P}a1" netns "$A" type veth peer name "${P}b1" netns "$B"
ip -n "$A" addr add 10.241.0.1/24 dev "${P}a0"
ip -n "$A" addr add 10.242.0.1/24 dev "${P}a1"
ip -n "$B" addr add 10.241.0.2/24 dev "${P}b0"
ip -n "$B" addr add 10.242.0.2/24 dev "${P}b1"
ip -n "$A" -6 addr add 2001:db8:241::1/64 dev "${P}a0" nodad
ip -n "$B" -6 addr add 2001:db8:241::2/64 dev "${P}b0" nodad
for l in a0 a1; do ip -n "$A" link set "${P}$l" up; done
for l in b0 b1; do ip -n "$B" link set "${P}$l" up; done
# VLAN-aware if the kernel can (CONFIG_BRIDGE_VLAN_FILTERING), for an FDB entry's Vlan
if ip -n "$B" link add "${P}br" type bridge vlan_filtering 1 2>/dev/null; then
	vlan_fdb=1
else
	vlan_fdb=0
	ip -n "$B" link add "${P}br" type bridge
fi
ip -n "$B" link add "${P}p" type veth peer name "${P}q"
ip -n "$B" link set "${P}p" master "${P}br"
ip -n "$B" link set "${P}br" up

# Routes: static with a metric, a default, a policy table with its rule, ECMP, IPv6.
ip -n "$A" route add 10.250.0.0/16 via 10.241.0.2 dev "${P}a0" proto static metric 7
ip -n "$A" route add 10.250.9.0/24 via 10.241.0.3 dev "${P}a0" proto static
ip -n "$A" route add default via 10.242.0.2 dev "${P}a1"
ip -n "$A" route add 10.251.0.0/24 via 10.242.0.3 dev "${P}a1" table 100 proto static
ip -n "$A" rule add to 10.251.0.0/24 lookup 100 pref 100
ip -n "$A" route add 10.252.0.0/24 proto static nexthop via 10.241.0.2 dev "${P}a0" \
	nexthop via 10.242.0.2 dev "${P}a1"
ip -n "$A" -6 route add 2001:db8:99::/64 via 2001:db8:241::2 dev "${P}a0" proto static
# Neighbours: one permanent (one learnt by ping comes later).
ip -n "$A" neigh add 10.241.0.77 lladdr 02:00:5e:10:00:77 dev "${P}a0" nud permanent
# Bridge FDB: a static entry on the port, one with a VLAN.
bridge -n "$B" fdb add 02:00:5e:20:00:01 dev "${P}p" master static
[ "$vlan_fdb" = 1 ] && bridge -n "$B" fdb add 02:00:5e:20:00:02 dev "${P}p" master static vlan 1

A0=$(ifindex "$A" "${P}a0") A1=$(ifindex "$A" "${P}a1") PI=$(ifindex "$B" "${P}p")
MAC_B1=$(mac "$B" "${P}b1")

# ---- allinone in the root namespace ----------------------------------------
PORT=$(free_port)
API=127.0.0.1:$PORT
"$SKYDIVE" allinone --listen "$API" --metrics-update 1 --host-id "${P}host" >"$tmp/aio.log" 2>&1 &
aio=$!
pids+=("$aio")
if wait_for 15 "$(md "${P}a0")" 'length == 1'; then
	ok allinone-up
else
	ko allinone-up "no ${P}a0; log: $(tail -c 300 "$tmp/aio.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi

# ---- link flags, state, speed -----------------------------------------------
check link-flags-up "$(md "${P}a0")" '.[0].Metadata | .LinkFlags == ["UP","BROADCAST","MULTICAST"] and .State == "UP"'
speed=$(ip netns exec "$A" cat "/sys/class/net/${P}a0/speed")
check speed-veth "$(md "${P}a0")" '.[0].Metadata.Speed == ($s | tonumber)' --arg s "$speed"
check lo-flags "G.V().Has('Name','lo').Has('IfIndex',1).Has('Host','${P}host')" \
	'any(.[]; .Metadata.LinkFlags == ["UP","LOOPBACK"] or .Metadata.LinkFlags == ["LOOPBACK"])'
ip -n "$B" link set "${P}b1" down
# the operational state the kernel gives a veth whose peer is down
oper=$(ip -n "$A" -j link show "${P}a1" | jq -r '.[0].operstate')
check state-peer-down "$(md "${P}a1")" \
	'.[0].Metadata | .State == $o and .State != "UP" and (.LinkFlags | index("UP") != null)' \
	--arg o "$oper"
check flags-down "$(md "${P}b1")" '.[0].Metadata | .State == "DOWN" and (.LinkFlags | index("UP") == null)'
ip -n "$B" link set "${P}b1" up
check flags-up-again "$(md "${P}b1")" '.[0].Metadata | .State == "UP" and (.LinkFlags | index("UP") != null)'
check link-netns-id "$(md "${P}a0")" \
	'.[0].Metadata | .LinkNetNsID == ($id | tonumber) and .LinkNetNsName == $ns' \
	--arg id "$(ip -n "$A" -j link show "${P}a0" | jq -r '.[0].link_netnsid')" --arg ns "$B"

# ---- neighbours -----------------------------------------------------------------
check neigh-permanent "$(md "${P}a0")" \
	'any(.[0].Metadata.Neighbors[]; .IP == "10.241.0.77" and .MAC == "02:00:5e:10:00:77" and .State == ["NUD_PERMANENT"] and .IfIndex == ($i | tonumber))' \
	--arg i "$A0"
ip netns exec "$A" ping -c 1 -W 2 10.242.0.2 >/dev/null 2>&1
check neigh-learnt "$(md "${P}a1")" \
	'any(.[0].Metadata.Neighbors[]; .IP == "10.242.0.2" and .MAC == $m and (.State | length) == 1)' \
	--arg m "$MAC_B1"
ip netns exec "$A" ping -6 -c 1 -W 2 2001:db8:241::2 >/dev/null 2>&1
check neigh-ndp "$(md "${P}a0")" \
	'any(.[0].Metadata.Neighbors[]; .IP == "2001:db8:241::2" and .MAC == $m and (.State | length) == 1)' \
	--arg m "$(mac "$B" "${P}b0")"
ip -n "$A" neigh add 10.241.0.78 lladdr 02:00:5e:10:00:78 dev "${P}a0" nud permanent
check neigh-add-live "$(md "${P}a0")" 'any(.[0].Metadata.Neighbors[]; .IP == "10.241.0.78")'
ip -n "$A" neigh del 10.241.0.78 dev "${P}a0"
check neigh-del-live "$(md "${P}a0")" 'all(.[0].Metadata.Neighbors[]; .IP != "10.241.0.78")'

# ---- FDB ------------------------------------------------------------------------
check fdb-static "$(md "${P}p")" \
	'any(.[0].Metadata.FDB[]; .MAC == "02:00:5e:20:00:01" and .State == ["NUD_NOARP"] and .IfIndex == ($i | tonumber))' \
	--arg i "$PI"
if [ "$vlan_fdb" = 1 ]; then
	check fdb-vlan "$(md "${P}p")" 'any(.[0].Metadata.FDB[]; .MAC == "02:00:5e:20:00:02" and .Vlan == 1)'
else
	echo "skip fdb-vlan: this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)"
fi
check fdb-permanent-own "$(md "${P}p")" \
	'any(.[0].Metadata.FDB[]; .MAC == $m and (.State | index("NUD_PERMANENT") != null))' \
	--arg m "$(mac "$B" "${P}p")"
bridge -n "$B" fdb del 02:00:5e:20:00:01 dev "${P}p" master
check fdb-del-live "$(md "${P}p")" 'all(.[0].Metadata.FDB[]; .MAC != "02:00:5e:20:00:01")'

# ---- routing tables -----------------------------------------------------------------
table() { echo '.[0].Metadata.RoutingTables[] | select(.ID == '"$1"') | .Routes[]'; }
check route-static-metric "$(md "${P}a0")" \
	"[$(table 254) | select(.Prefix == \"10.250.0.0/16\" and .Protocol == 4) | .NextHops[] | select(.IP == \"10.241.0.2\" and .Priority == 7 and .IfIndex == $A0)] | length == 1"
check route-connected "$(md "${P}a0")" \
	"[$(table 254) | select(.Prefix == \"10.241.0.0/24\" and .Protocol == 2) | .NextHops[] | select(.IP == null and .IfIndex == $A0)] | length == 1"
check route-local-table "$(md "${P}a0")" "[$(table 255) | select(.Prefix == \"10.241.0.1/32\")] | length == 1"
check route-default "$(md "${P}a1")" \
	"[$(table 254) | select(.Prefix == \"0.0.0.0/0\") | .NextHops[] | select(.IP == \"10.242.0.2\")] | length == 1"
check route-policy-table "$(md "${P}a1")" \
	"[$(table 100) | select(.Prefix == \"10.251.0.0/24\" and .Protocol == 4) | .NextHops[] | select(.IP == \"10.242.0.3\" and .IfIndex == $A1)] | length == 1"
check route-ecmp "$(md "${P}a0")" \
	"[$(table 254) | select(.Prefix == \"10.252.0.0/24\") | .NextHops[] | [.IP, .IfIndex]] | sort == [[\"10.241.0.2\", $A0], [\"10.242.0.2\", $A1]]"
check route-ecmp-other-link "$(md "${P}a1")" "[$(table 254) | select(.Prefix == \"10.252.0.0/24\")] | length == 1"
check route-ipv6 "$(md "${P}a0")" \
	"[$(table 254) | select(.Prefix == \"2001:db8:99::/64\") | .NextHops[] | select(.IP == \"2001:db8:241::2\")] | length == 1"
check route-table-src "$(md "${P}a0")" '.[0].Metadata.RoutingTables[] | select(.ID == 254) | .Src == "10.241.0.1"'
ip -n "$A" route add 10.253.0.0/24 via 10.241.0.2 dev "${P}a0" proto static
check route-add-live "$(md "${P}a0")" "[$(table 254) | select(.Prefix == \"10.253.0.0/24\")] | length == 1"
ip -n "$A" route del 10.253.0.0/24
check route-del-live "$(md "${P}a0")" "[$(table 254) | select(.Prefix == \"10.253.0.0/24\")] | length == 0"

# ---- NextHop() against `ip route get` ------------------------------------------------
# nexthop_check NAME LINK DEST: the node's NextHop(DEST) names the gateway (or DEST
# itself on-link) and the interface that `ip route get DEST` gives in namespace A.
nexthop_check() {
	local name=$1 link=$2 dst=$3 rg via dev want_ip want_if
	rg=$(ip -n "$A" -j route get "$dst")
	via=$(echo "$rg" | jq -r '.[0].gateway // empty')
	dev=$(echo "$rg" | jq -r '.[0].dev')
	want_ip=${via:-$dst}
	want_if=$(ifindex "$A" "$dev")
	if [ "$dev" != "$link" ]; then
		ko "$name" "ip route get $dst goes out of $dev, not $link: the lab is wrong"
		return
	fi
	local id
	id=$(q "$(md "$link")" | jq -r '.[0].ID')
	check "$name" "$(md "$link").NextHop('$dst')" \
		'.[0][$id] | .IP == $ip and .IfIndex == ($ifx | tonumber)' \
		--arg id "$id" --arg ip "$want_ip" --arg ifx "$want_if"
}
nexthop_check nexthop-static "${P}a0" 10.250.1.1
nexthop_check nexthop-more-specific "${P}a0" 10.250.9.9
nexthop_check nexthop-connected "${P}a0" 10.241.0.2
nexthop_check nexthop-default "${P}a1" 198.51.100.7
nexthop_check nexthop-policy "${P}a1" 10.251.0.5
nexthop_check nexthop-ipv6 "${P}a0" 2001:db8:99::5
a1id=$(q "$(md "${P}a1")" | jq -r '.[0].ID')
check nexthop-mac "$(md "${P}a1").NextHop('198.51.100.7')" '.[0][$id].MAC == $m' --arg id "$a1id" --arg m "$MAC_B1"
check nexthop-ecmp "$(md "${P}a0").NextHop('10.252.0.9')" \
	'.[0] | to_entries[0].value.IP == "10.241.0.2" or to_entries[0].value.IP == "10.242.0.2"'
check nexthop-none "$(md "${P}b0").NextHop('203.0.113.9')" '. == []'
out=$(q "G.V().NextHop('not-an-ip')")
if echo "$out" | grep -qi "valid IP"; then ok nexthop-bad-ip; else ko nexthop-bad-ip "$out"; fi

# ---- ethtool features follow ethtool -K -------------------------------------------------
check features "$(md "${P}a0")" '.[0].Metadata.Features | type == "object" and has("tx-checksum-ip-generic")'
if command -v ethtool >/dev/null; then
	before=$(q "$(md "${P}a0")" | jq -r '.[0].Metadata.Features["rx-gro"]' 2>/dev/null)
	want=$([ "$before" = true ] && echo false || echo true)
	ip netns exec "$A" ethtool -K "${P}a0" gro "$([ "$want" = true ] && echo on || echo off)" 2>/dev/null
	check features-follow "$(md "${P}a0")" '.[0].Metadata.Features["rx-gro"] == ($w == "true")' --arg w "$want"
else
	ko features-follow "ethtool missing (scripts/install-deps.sh installs it)"
fi

# ---- rename keeps the node --------------------------------------------------------------
before=$(q "$(md "${P}q")" | jq -c '.[0] | [.ID, .Metadata.TID]')
ip -n "$B" link set "${P}q" name "${P}r"
check rename-keeps-node "$(md "${P}r")" '.[0] | [.ID, .Metadata.TID] == $b and .Metadata.Name == $n' \
	--argjson b "$before" --arg n "${P}r"
check rename-old-name-gone "$(md "${P}q")" 'length == 0'

# ---- what the kernel may not have --------------------------------------------------------
if ip -n "$A" link add "${P}bo" type bond mode active-backup 2>/dev/null; then
	ip -n "$A" link add "${P}s0" type dummy 2>/dev/null
	ip -n "$A" link set "${P}s0" master "${P}bo"
	check bond-mode "$(md "${P}bo")" '.[0].Metadata.BondMode == "active-backup"'
	check bond-slave "$(md "${P}s0")" '.[0].Metadata.BondSlave | .Type == "bond" and (.MiiStatus | type == "string")'
else
	echo "skip bond: this kernel has no bonding driver (CONFIG_BONDING)"
fi
nvf=$(cat /sys/class/net/*/device/sriov_numvfs 2>/dev/null | awk '$1 > 0' | wc -l)
echo "skip vfs: SR-IOV needs a physical NIC with VFs ($nvf here), none in a namespace lab (the decoding: unit test test_topo_fields test_vfs_netlink)"

# ---- clean exit -----------------------------------------------------------------------------
kill -TERM "$aio"
wait "$aio"
rc=$?
if [ "$rc" = 0 ] && sanitizer_clean "$tmp/aio.log"; then
	ok allinone-clean-exit
else
	ko allinone-clean-exit "exit $rc; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/aio.log")"
fi
pids=()
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
