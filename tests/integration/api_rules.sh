#!/bin/bash
# api_rules.sh - Skydive's node and edge rules end to end (docs/API.md "Node and edge
# rules"), as root: `skydive allinone` in a network namespace of our own (prefix
# skru<pid>) with a veth pair to a second one, its API on that namespace's loopback.
# Checks, with expected values from Skydive's topology_manager.go and graph.GenID (IDs:
# Python's uuid.uuid5 in the OID namespace):
#   - an update rule adds its Metadata (a dotted key nested) to the veth node its Query
#     matches, and to a veth created later (re-applied as nodes appear);
#   - a create rule (skydive client node-rule create) adds a node whose ID is
#     GenID(Type, Name), with TID and Probe fabric; a /ws/subscriber client gets its
#     NodeAdded; the node survives an analyzer restart (the rule is kept);
#   - an edge rule (skydive client edge-rule create) links the two nodes with its
#     RelationType and Metadata, edge ID uuid5(SrcID + DstID + RelationType);
#   - deleting each rule removes its edge, its node, the metadata it added;
#   - 400s with reasons (and a Gremlin Position), client usage errors, list/get/--help.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skru$$
NSA=${P}a NSB=${P}b
V0=${P}v0 V1=${P}v1 LATE=${P}late TOR=${P}tor

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
	echo "api_rules: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq python3; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }
uuid5() { python3 -c 'import sys,uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, sys.argv[1]))' "$1"; }

for ns in $NSA $NSB; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add "$V0" netns "$NSA" type veth peer name "$V1" netns "$NSB"
ip -n "$NSA" link set "$V0" up
mkdir -p "$tmp/netns" "$tmp/data"

API=127.0.0.1:8082
api() { ip netns exec "$NSA" curl -s -m 5 "$@"; }
q() {
	api -XPOST "http://$API/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_q TIMEOUT QUERY JQ_FILTER: until the query's answer passes the filter
wait_q() {
	local end=$(($(date +%s) + $1)) out
	while [ "$(date +%s)" -le "$end" ]; do
		out=$(q "$2")
		[ -n "$out" ] && printf '%s' "$out" | jq -e "$3" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
client() { ip netns exec "$NSA" env SKYDIVE_ANALYZERS=$API "$SKYDIVE" client "$@"; }
post() { # RESOURCE BODY: prints "STATUS BODY"
	api -o "$tmp/post.out" -w '%{http_code}' -XPOST "http://$API/api/$1" \
		-H 'Content-Type: application/json' -d "$2"
	echo " $(cat "$tmp/post.out")"
}

cat >"$tmp/aio.yml" <<EOF
host_id: ${P}host
analyzer:
  listen: $API
EOF
run=0
start_aio() {
	run=$((run + 1))
	ip netns exec "$NSA" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" allinone \
		-c "$tmp/aio.yml" --netns-run-path "$tmp/netns" >"$tmp/aio$run.log" 2>&1 &
	AIO=$!
	pids+=($AIO)
	wait_q 20 "G.V().Has('Name','$V0')" 'length == 1'
}
if start_aio; then ok agent-sees-veth; else
	ko agent-sees-veth "no node $V0: $(tail -c 400 "$tmp/aio1.log")"
	finish
fi
V0ID=$(q "G.V().Has('Name','$V0')" | jq -r '.[0].ID')

# ---- an update rule: metadata on the veth ------------------------------------------
r=$(post noderule "$(jq -cn --arg q "G.V().Has('Name','$V0')" \
	'{Name:"rack", Action:"update", Query:$q, Metadata:{Rack:"r12", "Rules.Owner":"test"}}')")
RU=$(echo "${r#* }" | jq -r .UUID 2>/dev/null)
if [ "${r%% *}" = 201 ] && echo "${r#* }" | jq -e '.Action == "update" and .Metadata.Rack == "r12"' >/dev/null; then
	ok "update-rule-created ($RU)"
else
	ko update-rule-created "$r"
fi
if wait_q 10 "G.V().Has('Name','$V0')" '.[0].Metadata.Rack == "r12" and .[0].Metadata.Rules.Owner == "test" and .[0].Metadata.Type == "veth"'; then
	ok update-rule-applied
else
	ko update-rule-applied "$(q "G.V().Has('Name','$V0')" | jq -c '.[0].Metadata')"
fi

# a rule for a node that does not exist yet, then the node
r=$(post noderule "$(jq -cn --arg q "G.V().Has('Name','$LATE')" \
	'{Action:"update", Query:$q, Metadata:{Late:"yes"}}')")
RL=$(echo "${r#* }" | jq -r .UUID 2>/dev/null)
ip link add "$LATE" netns "$NSA" type veth peer name "${P}lp" netns "$NSB"
ip -n "$NSA" link set "$LATE" up
if wait_q 10 "G.V().Has('Name','$LATE')" '.[0].Metadata.Late == "yes"'; then
	ok update-rule-reapplied-on-new-node
else
	ko update-rule-reapplied-on-new-node "$r / $(q "G.V().Has('Name','$LATE')" | jq -c '.[0].Metadata')"
fi

# ---- a create rule through the client, seen by a subscriber -------------------------
ip netns exec "$NSA" python3 "$root/tests/integration/ws_client.py" 8082 /ws/subscriber \
	--host-id rulesub --timeout 60 --hold 60 >"$tmp/ws.out" 2>"$tmp/ws.log" &
WSPID=$!
pids+=($WSPID)
sleep 1 # the subscriber's handshake
TORID=$(uuid5 "fabric/$TOR")
out=$(client node-rule create --action create --node-name "$TOR" --node-type fabric \
	--metadata 'Vendor=acme, Site.Room="r1"' --name tor --description "top of rack" 2>&1)
RC=$(echo "$out" | jq -r .UUID 2>/dev/null)
if echo "$out" | jq -e --arg n "$TOR" '.Action == "create" and .Metadata.Name == $n and .Metadata.Type == "fabric" and .Metadata.Vendor == "acme" and .Metadata.Site.Room == "r1" and .Name == "tor" and .Query == ""' >/dev/null; then
	ok "client-node-rule-create ($RC)"
else
	ko client-node-rule-create "$out"
fi
if wait_q 10 "G.V().Has('Name','$TOR')" ".[0].ID == \"$TORID\" and .[0].Metadata.TID == \"$TORID\" and .[0].Metadata.Probe == \"fabric\" and .[0].Metadata.Vendor == \"acme\""; then
	ok "create-rule-node (ID $TORID)"
else
	ko create-rule-node "want $TORID: $(q "G.V().Has('Name','$TOR')" | jq -c .)"
fi
for _ in $(seq 50); do grep -q "\"$TORID\"" "$tmp/ws.out" && break; sleep 0.1; done
if grep "\"$TORID\"" "$tmp/ws.out" | jq -e 'select(.Type == "NodeAdded") | .Obj.Metadata.Probe == "fabric"' >/dev/null 2>&1; then
	ok subscriber-node-added
else
	ko subscriber-node-added "$(tail -c 300 "$tmp/ws.out")"
fi

# ---- an edge rule through the client ------------------------------------------------
EID=$(uuid5 "$TORID${V0ID}layer2")
out=$(client edge-rule create --src "G.V().Has('Name','$TOR')" --dst "G.V().Has('Name','$V0')" \
	--relationtype layer2 --metadata 'Speed=10' --name uplink 2>&1)
RE=$(echo "$out" | jq -r .UUID 2>/dev/null)
if echo "$out" | jq -e '.Metadata.RelationType == "layer2" and .Metadata.Speed == "10" and .Name == "uplink"' >/dev/null; then
	ok "client-edge-rule-create ($RE)"
else
	ko client-edge-rule-create "$out"
fi
EQ="G.V().Has('Name','$TOR').OutE().Has('RelationType','layer2')"
if wait_q 10 "$EQ" ".[0].ID == \"$EID\" and .[0].Parent == \"$TORID\" and .[0].Child == \"$V0ID\" and .[0].Metadata.Speed == \"10\""; then
	ok "edge-rule-edge (ID $EID)"
else
	ko edge-rule-edge "want $EID: $(q "$EQ" | jq -c .)"
fi

# ---- list, get, help ----------------------------------------------------------------
out=$(client node-rule list 2>&1)
if echo "$out" | jq -e --arg a "$RU" --arg b "$RC" --arg c "$RL" 'length == 3 and has($a) and has($b) and has($c)' >/dev/null; then
	ok client-node-rule-list
else
	ko client-node-rule-list "$out"
fi
out=$(client edge-rule get "$RE" 2>&1)
if echo "$out" | jq -e --arg u "$RE" '.UUID == $u and .Metadata.RelationType == "layer2"' >/dev/null; then
	ok client-edge-rule-get
else
	ko client-edge-rule-get "$out"
fi
for g in node-rule edge-rule; do
	out=$(client $g create --help 2>&1)
	if [ $? = 0 ] && echo "$out" | grep -q -- "--metadata"; then ok "client-help-$g"; else ko "client-help-$g" "$out"; fi
done
client --help 2>&1 | grep -q "edge-rule delete" && ok client-help-lists-rules || ko client-help-lists-rules "not in client --help"

# ---- refusals -------------------------------------------------------------------------
r=$(post noderule '{"Action":"remove","Metadata":{"A":"b"}}')
if [ "${r%% *}" = 400 ] && echo "${r#* }" | jq -e '.Error | test("Action .remove.: expected")' >/dev/null; then
	ok 400-action
else
	ko 400-action "$r"
fi
r=$(post noderule '{"Action":"update","Query":"G.V().Has(\"Name\"","Metadata":{"A":"b"}}')
if [ "${r%% *}" = 400 ] && echo "${r#* }" | jq -e '(.Error | startswith("Query: ")) and .Position > 0' >/dev/null; then
	ok "400-query-position ($(echo "${r#* }" | jq -c .Position))"
else
	ko 400-query-position "$r"
fi
r=$(post noderule '{"Action":"update","Query":"G.V()","Metadata":{"Name":"x"}}')
if [ "${r%% *}" = 400 ] && echo "${r#* }" | jq -e '.Error == "Name and Type fields can not be changed"' >/dev/null; then
	ok 400-update-name
else
	ko 400-update-name "$r"
fi
r=$(post noderule '{"Action":"create","Metadata":{"Name":"x"}}')
if [ "${r%% *}" = 400 ] && echo "${r#* }" | jq -e '.Error | test("Metadata.Name and Metadata.Type")' >/dev/null; then
	ok 400-create-type
else
	ko 400-create-type "$r"
fi
r=$(post edgerule '{"Src":"G.V()","Dst":"G.V()","Metadata":{}}')
if [ "${r%% *}" = 400 ] && echo "${r#* }" | jq -e '.Error | test("RelationType is required")' >/dev/null; then
	ok 400-edge-relationtype
else
	ko 400-edge-relationtype "$r"
fi
out=$(client edge-rule create --src "G.V()" --dst "G.V()" 2>&1)
[ $? = 2 ] && echo "$out" | grep -q -- "--relationtype is a required parameter" && ok client-edge-no-relationtype || ko client-edge-no-relationtype "$out"
out=$(client node-rule create --action create --node-type fabric 2>&1)
[ $? = 2 ] && echo "$out" | grep -q -- "--node-name and --node-type are" && ok client-create-no-name || ko client-create-no-name "$out"
out=$(client node-rule create --action update --query "G.V().Out(" --metadata "A=b" 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "answered 400: Query:" && ok client-400-reported || ko client-400-reported "$out"
out=$(client node-rule create --action update --query "G.V()" --metadata "A" 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "pair k=v" && ok client-bad-metadata || ko client-bad-metadata "$out"

# ---- a restart: the rules are kept and applied again ----------------------------------
kill "$WSPID" 2>/dev/null
wait "$WSPID" 2>/dev/null
pids=("$AIO")
stop_all
if sanitizer_clean "$tmp/aio1.log" && [ -z "$bad_exit" ]; then ok allinone-clean-exit; else
	ko allinone-clean-exit "exit$bad_exit; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/aio1.log")"
fi
[ -s "$tmp/data/noderules.json" ] && [ -s "$tmp/data/edgerules.json" ] && ok rules-files || ko rules-files "$(ls "$tmp/data")"
if start_aio && wait_q 15 "G.V().Has('Name','$TOR')" ".[0].ID == \"$TORID\""; then
	ok create-rule-node-after-restart
else
	ko create-rule-node-after-restart "$(q "G.V().Has('Name','$TOR')") $(tail -c 300 "$tmp/aio$run.log")"
fi
wait_q 10 "$EQ" ".[0].ID == \"$EID\"" && ok edge-after-restart || ko edge-after-restart "$(q "$EQ")"
wait_q 10 "G.V().Has('Name','$V0')" '.[0].Metadata.Rack == "r12"' && ok update-after-restart ||
	ko update-after-restart "$(q "G.V().Has('Name','$V0')" | jq -c '.[0].Metadata')"

# ---- deleting the rules undoes them ----------------------------------------------------
client edge-rule delete "$RE" && wait_q 10 "$EQ" 'length == 0' && ok delete-edge-rule ||
	ko delete-edge-rule "$(q "$EQ")"
client node-rule delete "$RC" && wait_q 10 "G.V().Has('Name','$TOR')" 'length == 0' && ok delete-create-rule ||
	ko delete-create-rule "$(q "G.V().Has('Name','$TOR')")"
client node-rule delete "$RU" &&
	wait_q 10 "G.V().Has('Name','$V0')" '(.[0].Metadata | has("Rack") or has("Rules") | not) and .[0].Metadata.Type == "veth"' &&
	ok delete-update-rule || ko delete-update-rule "$(q "G.V().Has('Name','$V0')" | jq -c '.[0].Metadata')"
out=$(client node-rule delete "$RC" 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "404" && ok client-delete-unknown || ko client-delete-unknown "$out"
out=$(client node-rule list 2>&1)
echo "$out" | jq -e --arg c "$RL" 'length == 1 and has($c)' >/dev/null && ok list-after-delete || ko list-after-delete "$out"

stop_all
if sanitizer_clean "$tmp/aio$run.log" && [ -z "$bad_exit" ]; then ok allinone-clean-exit-2; else
	ko allinone-clean-exit-2 "exit$bad_exit; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/aio$run.log")"
fi
finish
