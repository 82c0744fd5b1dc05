#!/bin/bash
# ovs_oflow.sh - the OpenFlow rule probe (ovs.oflow.enable) end to end, as root,
# against a private Open vSwitch (userspace datapath, lib/ovs.sh; bridges prefixed
# skof<pid>):
#  - values we do not support are refused at start with a line naming the key
#    (ovs.oflow.native, an ssl: address, TLS files, a bad OpenFlow version, no
#    ovsdb probe);
#  - two allinone processes watch the same OVS, one with ovs.oflow.enable, one
#    without; the first shows one "ofrule" node per flow of `ovs-ofctl dump-flows`,
#    owned by its ovsbridge node (ownership edge), with Skydive's metadata (Type,
#    Cookie "0x..", Table, Priority, Filters [{Key,Value,Mask}], Actions
#    [{Function,Arguments}], UUID = UUIDv5(OID, "<ovsdb path>-<bridge>-<RawFilter>-
#    <table>-<priority>") as ofctl.go fillUUID), follows add-flow, mod-flows,
#    del-flows, a new bridge and del-br; the second has no ofrule node at all;
#  - the agents exit cleanly and leave no ovs-ofctl behind.
# Expected values come from ovs-ofctl's own dump-flows and ovs-ofctl(8)'s syntax
# (no priority= printed: 32768), never from our output.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PY=/usr/bin/python3
P=skof$$
BR=${P}br BR2=${P}b2
tmp=$(mktemp -d /tmp/skydive-ovsof.XXXXXX)
export SKYDIVE_ANALYZER_DATA_DIR="$tmp"
OVS_TMP=$tmp
. "$root/tests/integration/lib/ovs.sh"
pass=0 fail=0
aio="" aio2=""
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

stop_pid() { # PID: SIGTERM, then SIGKILL after 5 s; the exit status in $stopped_rc
	local pid=$1
	stopped_rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	stopped_rc=$?
}
teardown() {
	stop_pid "$aio"
	aio=""
	stop_pid "$aio2"
	aio2=""
	ovs_stop "$BR" "$BR2"
}
cleanup() {
	teardown
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: ovs_oflow needs root"
	fail=1
	finish
fi
for tool in ip curl jq $PY ovs-ofctl; do
	command -v $tool >/dev/null || { ko setup "$tool missing (scripts/install-deps.sh)"; finish; }
done

now_ms() { date +%s%3N; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
q() { # API QUERY
	curl -s -m 5 -XPOST "http://$1/api/topology" -d "$(jq -cn --arg q "$2" '{GremlinQuery:$q}')"
}
wait_for() { # API TIMEOUT_S QUERY JQ_FILTER [ARGS...]
	local api=$1 end=$(($(now_ms) + $2 * 1000)) query=$3 filter=$4 out
	shift 4
	while :; do
		out=$(q "$api" "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$@" "$filter" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(now_ms)" -gt "$end" ] && return 1
		sleep 0.05
	done
}
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
uuid5() { $PY -c 'import sys,uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, sys.argv[1]))' "$1"; }

# ---- refused at start -------------------------------------------------------
refused() { # NAME EXPECTED_TEXT ENV... [-- ARGS]
	local name=$1 want=$2 out rc
	shift 2
	out=$(env SKYDIVE_OVS_OFLOW_ENABLE=true "$@" timeout 10 "$SKYDIVE" allinone --listen 127.0.0.1:0 \
		--host-id "${P}x" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && printf '%s' "$out" | grep -qF -- "$want"; then
		ok "refused-$name (exit $rc)"
	else
		ko "refused-$name" "exit $rc: $(printf '%s' "$out" | tail -c 300)"
	fi
}
refused native "ovs.oflow.native: the native OpenFlow client is not implemented" SKYDIVE_OVS_OFLOW_NATIVE=true
refused version "ovs.oflow.openflow_versions item #1: 'OpenFlow16' is not OpenFlow10..OpenFlow15" \
	SKYDIVE_OVS_OFLOW_OPENFLOW_VERSIONS="OpenFlow10 OpenFlow16"
refused cert "ovs.oflow.cert: TLS connections to switches" SKYDIVE_OVS_OFLOW_CERT=/etc/ssl/agent.crt
refused no-ovsdb "ovs.oflow.enable needs the ovsdb probe" SKYDIVE_AGENT_TOPOLOGY_PROBES=netlink
printf 'ovs:\n  oflow:\n    enable: true\n    address:\n      br-x: ssl:10.0.0.1:6653\n' >"$tmp/ssl.yml"
out=$(timeout 10 "$SKYDIVE" allinone -c "$tmp/ssl.yml" --listen 127.0.0.1:0 --host-id "${P}x" 2>&1)
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] &&
	printf '%s' "$out" | grep -qF "ovs.oflow.address.br-x: 'ssl:10.0.0.1:6653': TLS connections to switches are not supported"; then
	ok "refused-ssl-address (exit $rc)"
else
	ko refused-ssl-address "exit $rc: $(printf '%s' "$out" | tail -c 300)"
fi
out=$(SKYDIVE_OVS_OFLOW_ENABLE=true timeout 10 env PATH=/nonexistent "$SKYDIVE" allinone --listen 127.0.0.1:0 \
	--host-id "${P}x" 2>&1)
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && printf '%s' "$out" | grep -qF "ovs-ofctl not found on PATH"; then
	ok "refused-no-ovs-ofctl (exit $rc)"
else
	ko refused-no-ovs-ofctl "exit $rc: $(printf '%s' "$out" | tail -c 300)"
fi

# ---- a private OVS, two agents ----------------------------------------------
ovs_start || { ko ovs-up "$ovs_error"; finish; }
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev ||
	{ ko ovs-up "add-br failed: $(tail -c 300 "$tmp/ovs-vswitchd.log")"; finish; }
API=127.0.0.1:$(free_port)
API2=127.0.0.1:$(free_port)
SKYDIVE_OVS_OVSDB="$OVS_DB" SKYDIVE_OVS_OFLOW_ENABLE=true "$SKYDIVE" allinone --listen "$API" \
	--host-id "${P}h1" --netns-run-path "" >"$tmp/aio.log" 2>&1 &
aio=$!
SKYDIVE_OVS_OVSDB="$OVS_DB" "$SKYDIVE" allinone --listen "$API2" \
	--host-id "${P}h2" --netns-run-path "" >"$tmp/aio2.log" 2>&1 &
aio2=$!

# The OVSDB target as Skydive's probe names its host (ovsdb.go: u.Path of unix:).
prefix="$tmp/db.sock-$BR-"
br_id() { q "$1" "G.V().Has('Type','ovsbridge').Has('Name','$2')" | jq -r '.[0].ID // empty'; }
# The flows of the bridge as ovs-ofctl prints them, one per line.
flows() { ovs-ofctl dump-flows "$1" | grep '^ '; }

# A fresh bridge has OVS's own rule: priority=0 actions=NORMAL.
if wait_for "$API" 15 "G.V().Has('Type','ofrule')" 'length >= 1'; then
	ok "first-ofrule"
else
	ko first-ofrule "$(q "$API" "G.V().Has('Type','ovsbridge')" | head -c 300); log: $(tail -c 400 "$tmp/aio.log")"
	finish
fi
bid=$(br_id "$API" "$BR")
normal_uuid=$(uuid5 "${prefix}-0-0")
if q "$API" "G.V().Has('Type','ofrule').Has('UUID','$normal_uuid')" | jq -e '
	length == 1 and (.[0].Metadata | .Type == "ofrule" and .Cookie == "0x0" and .Table == 0 and
	.Priority == 0 and .Filters == null and .Actions == [{"Function":"NORMAL"}])' >/dev/null; then
	ok "normal-rule (UUID $normal_uuid)"
else
	ko normal-rule "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata]' | head -c 500) want UUID $normal_uuid; flows: $(flows "$BR")"
fi
# Owned by the bridge: one ownership edge, its ID UUIDv5(bridge ID + rule ID + type).
rid=$(q "$API" "G.V().Has('UUID','$normal_uuid')" | jq -r '.[0].ID // empty')
exp_rid=$($PY -c 'import sys,uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, sys.argv[1]+sys.argv[2]+"ofrule"))' "$bid" "$normal_uuid")
exp_eid=$($PY -c 'import sys,uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, sys.argv[1]+sys.argv[2]+"ownership"))' "$bid" "$rid")
if [ -n "$rid" ] && [ "$rid" = "$exp_rid" ] &&
	q "$API" "G.V().Has('UUID','$normal_uuid').InE()" | jq -e '
	length == 1 and .[0].Parent == $b and .[0].Child == $r and .[0].ID == $e and
	.[0].Metadata.RelationType == "ownership"' --arg b "$bid" --arg r "$rid" --arg e "$exp_eid" >/dev/null &&
	q "$API" "G.V().Has('Type','ovsbridge').Has('Name','$BR').Out().Has('Type','ofrule').Count()" | jq -e '. == 1 or . == [1]' >/dev/null; then
	ok "ownership-edge (bridge $bid -> rule $rid)"
else
	ko ownership-edge "rule $rid (want $exp_rid): $(q "$API" "G.V().Has('UUID','$normal_uuid').BothE()" | head -c 400)"
fi

# ---- add-flow ----------------------------------------------------------------
ovs-ofctl add-flow "$BR" "table=1,priority=100,cookie=0x2a,ip,nw_dst=10.0.0.0/24,actions=output:2"
ovs-ofctl add-flow "$BR" "table=1,priority=50,ip,nw_dst=10.0.0.0/24,actions=drop"
ovs-ofctl add-flow "$BR" "table=2,in_port=1,dl_src=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,3),load:0x1->NXM_NX_REG0[0..3]"
u100=$(uuid5 "${prefix}ip,nw_dst:10.0.0.0/24-1-100")
u50=$(uuid5 "${prefix}ip,nw_dst:10.0.0.0/24-1-50")
u2=$(uuid5 "${prefix}in_port:1,dl_src:01:00:00:00:00:00/01:00:00:00:00:00-2-32768")
if wait_for "$API" 10 "G.V().Has('UUID','$u100')" '
	length == 1 and (.[0].Metadata | .Cookie == "0x2a" and .Table == 1 and .Priority == 100 and
	.Filters == [{"Key":"ip","Value":""},{"Key":"nw_dst","Value":"10.0.0.0","Mask":"24"}] and
	.Actions == [{"Function":"output","Arguments":[{"Function":"2"}]}])'; then
	ok add-flow-cookie-priority
else
	ko add-flow-cookie-priority "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata]' | head -c 600); flows: $(flows "$BR")"
fi
if wait_for "$API" 10 "G.V().Has('UUID','$u50')" '
	length == 1 and (.[0].Metadata | .Priority == 50 and .Table == 1 and .Actions == [{"Function":"drop"}])'; then
	ok "same-match-other-priority (two nodes)"
else
	ko same-match-other-priority "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata | {UUID, Priority, Table}]')"
fi
# No priority= in the flow text: OFP_DEFAULT_PRIORITY.
if wait_for "$API" 10 "G.V().Has('UUID','$u2')" '
	length == 1 and (.[0].Metadata | .Priority == 32768 and .Table == 2 and
	.Filters == [{"Key":"in_port","Value":"1"},{"Key":"dl_src","Value":"01:00:00:00:00:00","Mask":"01:00:00:00:00:00"}] and
	.Actions == [{"Function":"resubmit","Arguments":[null,{"Function":"3"}]},
		{"Function":"load","Arguments":[{"Function":"0x1"},{"Function":"range","Arguments":[{"Function":"NXM_NX_REG0"},{"Function":"0"},{"Function":"3"}]}]}])'; then
	ok default-priority-actions
else
	ko default-priority-actions "$(q "$API" "G.V().Has('Type','ofrule').Has('Table',2)" | jq -c '[.[].Metadata]'); flows: $(flows "$BR")"
fi
n_flows=$(flows "$BR" | wc -l)
if wait_for "$API" 10 "G.V().Has('Type','ofrule').Count()" '. == ($n|tonumber) or . == [($n|tonumber)]' --arg n "$n_flows"; then
	ok "one-node-per-flow ($n_flows)"
else
	ko one-node-per-flow "$(q "$API" "G.V().Has('Type','ofrule').Count()") nodes, $n_flows flows"
fi

# ---- mod-flows: the same node, new actions (and the cookie ovs-ofctl reports) ----
id100=$(q "$API" "G.V().Has('UUID','$u100')" | jq -r '.[0].ID')
ovs-ofctl --strict mod-flows "$BR" "table=1,priority=100,ip,nw_dst=10.0.0.0/24,actions=output:3,mod_nw_tos:8"
cookie=$(flows "$BR" | grep 'table=1,.*priority=100' | sed -n 's/.*cookie=\(0x[0-9a-f]*\),.*/\1/p')
if wait_for "$API" 10 "G.V().Has('UUID','$u100')" '
	length == 1 and .[0].ID == $id and (.[0].Metadata | .Cookie == $c and
	.Actions == [{"Function":"output","Arguments":[{"Function":"3"}]},{"Function":"mod_nw_tos","Arguments":[{"Function":"8"}]}])' \
	--arg id "$id100" --arg c "$cookie"; then
	ok "mod-flows (same node, Cookie $cookie as dump-flows)"
else
	ko mod-flows "$(q "$API" "G.V().Has('UUID','$u100')" | jq -c '[.[] | {ID, Metadata}]'); flows: $(flows "$BR")"
fi

# ---- del-flows ------------------------------------------------------------------
ovs-ofctl --strict del-flows "$BR" "table=1,priority=100,ip,nw_dst=10.0.0.0/24"
if wait_for "$API" 10 "G.V().Has('UUID','$u100').Count()" '. == 0 or . == [0]' &&
	q "$API" "G.V().Has('UUID','$u50').Count()" | jq -e '. == 1 or . == [1]' >/dev/null; then
	ok "del-flows-strict (priority 100 gone, priority 50 kept)"
else
	ko del-flows-strict "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata | {UUID, Priority, Table}]')"
fi
ovs-ofctl del-flows "$BR" "table=2"
if wait_for "$API" 10 "G.V().Has('UUID','$u2').Count()" '. == 0 or . == [0]'; then
	ok del-flows-table
else
	ko del-flows-table "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata | {UUID, Table}]')"
fi

# ---- groups: ofgroup nodes (OpenFlow 1.5 group monitor, Skydive's MonitorGroup) ----
ovs-ofctl -O OpenFlow15 add-group "$BR" "group_id=7,type=all,bucket=output:1"
ug=$(uuid5 "${prefix}-7")
if wait_for "$API" 10 "G.V().Has('UUID','$ug')" '
	length == 1 and (.[0].Metadata | .Type == "ofgroup" and .GroupId == 7 and .GroupType == "all" and
	.Buckets == [{"Id":0,"Actions":[{"Function":"output","Arguments":[{"Function":"1"}]}]}])' &&
	q "$API" "G.V().Has('UUID','$ug').InE()" | jq -e 'length == 1 and .[0].Parent == $b and .[0].Metadata.RelationType == "ownership"' 		--arg b "$bid" >/dev/null; then
	ok "add-group (ofgroup under the bridge)"
else
	ko add-group "$(q "$API" "G.V().Has('Type','ofgroup')" | jq -c '[.[].Metadata]' | head -c 400) want UUID $ug; groups: $(ovs-ofctl -O OpenFlow15 dump-groups "$BR" | tail -n +2); log: $(grep -i group "$tmp/aio.log" | tail -2)"
fi
gid=$(q "$API" "G.V().Has('UUID','$ug')" | jq -r '.[0].ID // empty')
ovs-ofctl -O OpenFlow15 mod-group "$BR" "group_id=7,type=all,bucket=output:2,bucket=output:3"
if wait_for "$API" 10 "G.V().Has('UUID','$ug')" '
	length == 1 and .[0].ID == $id and (.[0].Metadata.Buckets | length == 2 and
	.[1].Actions == [{"Function":"output","Arguments":[{"Function":"3"}]}])' --arg id "$gid"; then
	ok "mod-group (same node, two buckets)"
else
	ko mod-group "$(q "$API" "G.V().Has('UUID','$ug')" | jq -c '[.[].Metadata.Buckets]' | head -c 400)"
fi
ovs-ofctl -O OpenFlow15 del-groups "$BR" "group_id=7"
if wait_for "$API" 10 "G.V().Has('Type','ofgroup').Count()" '. == 0 or . == [0]'; then
	ok del-group
else
	ko del-group "$(q "$API" "G.V().Has('Type','ofgroup')" | jq -c '[.[].Metadata.GroupId]')"
fi

# ---- a second bridge, then del-br ------------------------------------------------
vsctl add-br "$BR2" -- set bridge "$BR2" datapath_type=netdev
u_b2=$(uuid5 "$tmp/db.sock-$BR2--0-0")
if wait_for "$API" 15 "G.V().Has('UUID','$u_b2')" 'length == 1' &&
	wait_for "$API" 5 "G.V().Has('Type','ovsbridge').Has('Name','$BR2').Out().Has('Type','ofrule')" \
		'length == 1 and .[0].Metadata.UUID == $u' --arg u "$u_b2"; then
	ok new-bridge-rules
else
	ko new-bridge-rules "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata.UUID]') want $u_b2; log: $(grep oflow "$tmp/aio.log" | tail -3)"
fi
# The agent without ovs.oflow.enable saw the same bridges and made no ofrule node.
if wait_for "$API2" 10 "G.V().Has('Type','ovsbridge').Values('Name')" 'index($a) != null and index($b) != null' \
	--arg a "$BR" --arg b "$BR2" &&
	q "$API2" "G.V().Has('Type','ofrule').Count()" | jq -e '. == 0 or . == [0]' >/dev/null &&
	q "$API2" "G.V().Has('Type','ofgroup').Count()" | jq -e '. == 0 or . == [0]' >/dev/null; then
	ok "disabled-no-ofrule"
else
	ko disabled-no-ofrule "$(q "$API2" "G.V().Has('Type','ofrule')" | head -c 300)"
fi
vsctl del-br "$BR2"
if wait_for "$API" 10 "G.V().Has('UUID','$u_b2').Count()" '. == 0 or . == [0]' &&
	q "$API" "G.V().Has('UUID','$u50').Count()" | jq -e '. == 1 or . == [1]' >/dev/null; then
	ok "del-br (its rules gone, the other bridge's kept)"
else
	ko del-br "$(q "$API" "G.V().Has('Type','ofrule')" | jq -c '[.[].Metadata.UUID]')"
fi

# ---- stop: clean exits, no ovs-ofctl left -------------------------------------------
kids=$(pgrep -P "$aio" 2>/dev/null | tr '\n' ' ')
stop_pid "$aio"
rc1=$stopped_rc
aio=""
stop_pid "$aio2"
rc2=$stopped_rc
aio2=""
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && sanitizer_clean "$tmp/aio.log" && sanitizer_clean "$tmp/aio2.log"; then
	ok clean-exit
else
	ko clean-exit "exit $rc1/$rc2; $(grep -h -m3 -E 'Sanitizer|runtime error|ERROR' "$tmp/aio.log" "$tmp/aio2.log")"
fi
left=""
for k in $kids; do kill -0 "$k" 2>/dev/null && left="$left $k:$(cat /proc/"$k"/comm 2>/dev/null)"; done
if [ -n "$kids" ] && [ -z "$left" ]; then
	ok "no-ovs-ofctl-left (children were:$kids)"
else
	ko no-ovs-ofctl-left "children: '$kids', still running:$left"
fi
finish
