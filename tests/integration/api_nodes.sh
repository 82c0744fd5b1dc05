#!/bin/bash
# api_nodes.sh - nodes and edges made through the API (docs/API.md "Nodes and edges",
# Skydive's graffiti/api/server/node.go, edge.go), as root: `skydive allinone` in the root
# namespace (its netlink probe only reads), a veth pair between two namespaces of our own
# (prefix skun<pid>). Checks:
#   - POST /api/node (201, Origin api.<host-id>), POST /api/edge from it to the agent's
#     veth node; both in G.V()/G.E() (Out() reaches the veth), in /api/topology, and a
#     subscriber on /ws/subscriber gets the NodeAdded and EdgeAdded;
#   - 4xx with their reasons: an edge to a missing child (400 "Child node not found"),
#     a duplicate ID (409), a node without Name (400), PATCH of Name (400), PATCH and
#     DELETE of the probe's veth node (409), an unknown ID (404);
#   - skydive client node create|update|get|list|delete and edge create|list|delete;
#   - after an analyzer restart the nodes are back at once and the edge to the veth as
#     soon as the agent has synced it, with the patched metadata;
#   - a delete removes from the graph and from nodes.json / edges.json.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skun$$

cleanup() {
	stop_all
	for ns in "${P}1" "${P}2"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "api_nodes: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

now_ms() { date +%s%3N; }
q() {
	curl -s -m 5 -XPOST "http://$API/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
# wait_for TIMEOUT_S QUERY JQ_FILTER: polls until the filter holds.
wait_for() {
	local timeout=$1 query=$2 filter=$3 start out
	start=$(now_ms)
	while :; do
		out=$(q "$query")
		if [ -n "$out" ] && printf '%s' "$out" | jq -e "$filter" >/dev/null 2>&1; then
			return 0
		fi
		[ $(($(now_ms) - start)) -gt $((timeout * 1000)) ] && return 1
		sleep 0.1
	done
}
# api METHOD PATH [BODY]: the body in $tmp/body, the status in $code
api() {
	code=$(curl -s -m 5 -o "$tmp/body" -w '%{http_code}' -X "$1" "http://$API$2" \
		-H 'Content-Type: application/json' ${3:+-d "$3"})
}
reason() { jq -r '.Error // empty' "$tmp/body" 2>/dev/null; }
# refused CODE TEXT: the last answer was CODE and its reason contains TEXT
refused() { [ "$code" = "$1" ] && reason | grep -qF -- "$2"; }
# jqt ARGS...: jq -e, quiet
jqt() { jq -e "$@" >/dev/null; }
client() { "$SKYDIVE" client --analyzer "$API" "$@"; }

PORT=$(free_port)
API=127.0.0.1:$PORT
HOSTID=${P}host
start_allinone() {
	"$SKYDIVE" allinone --listen "$API" --host-id "$HOSTID" >>"$tmp/allinone.log" 2>&1 &
	pids+=("$!")
}
start_allinone
if ! wait_for 10 "G.V().Has('Type','host')" 'length > 0'; then
	ko allinone-up "no host node; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
ok allinone-up

ip netns add "${P}1" && ip netns add "${P}2" || ko setup "ip netns add failed"
ip link add "${P}a" netns "${P}1" type veth peer name "${P}b" netns "${P}2"
ip -n "${P}1" link set "${P}a" up
ip -n "${P}2" link set "${P}b" up
if wait_for 10 "G.V().Has('Name','${P}a')" 'length == 1'; then
	ok veth-node
else
	ko veth-node "$(q "G.V().Has('Name','${P}a')" | head -c 300)"
	finish
fi
VETH=$(q "G.V().Has('Name','${P}a')" | jq -r '.[0].ID')

# a subscriber sees what the API adds
"$PYTHON" "$root/tests/integration/ws_client.py" "$PORT" /ws/subscriber --timeout 60 --hold 60 \
	>"$tmp/sub.out" 2>"$tmp/sub.err" &
SUB=$!
pids+=("$SUB")
sleep 0.5

# ---- create through REST ----
SW=${P}-switch
api POST /api/node "{\"ID\":\"$SW\",\"Metadata\":{\"Name\":\"${P}sw\",\"Type\":\"switch\",\"Site\":\"lab\"}}"
check node-create "$code $(head -c 300 "$tmp/body")" \
	jqt --arg o "api.$HOSTID" '.ID and .Origin == $o and .Metadata.Type == "switch" and .Revision == 1' "$tmp/body"
[ "$code" = 201 ] || ko node-create-201 "status $code"
E1=${P}-e1
api POST /api/edge "{\"ID\":\"$E1\",\"Parent\":\"$SW\",\"Child\":\"$VETH\",\"Metadata\":{\"RelationType\":\"layer2\"}}"
check edge-create "$code $(head -c 300 "$tmp/body")" \
	jqt --arg p "$SW" --arg c "$VETH" '.Parent == $p and .Child == $c and .Metadata.RelationType == "layer2"' "$tmp/body"
[ "$code" = 201 ] || ko edge-create-201 "status $code"

out=$(q "G.V().Has('Name','${P}sw').Out()")
check gremlin-out "$(printf '%s' "$out" | head -c 300)" \
	jqt --arg n "${P}a" 'length == 1 and .[0].Metadata.Name == $n' <<<"$out"
out=$(q "G.V().Has('Name','${P}sw').OutE()")
check gremlin-oute "$(printf '%s' "$out" | head -c 300)" jqt --arg id "$E1" 'length == 1 and .[0].ID == $id' <<<"$out"
out=$(curl -s -m 5 "http://$API/api/topology")
check api-topology "no $SW in /api/topology" \
	jqt --arg id "$SW" --arg e "$E1" '(.Nodes | map(.ID) | index($id)) and (.Edges | map(.ID) | index($e))' <<<"$out"
api GET "/api/node/$SW"
check node-get "$code" [ "$code" = 200 ]
api GET /api/edge
check edge-list "$code $(head -c 200 "$tmp/body")" jqt --arg e "$E1" 'has($e)' "$tmp/body"
for _ in $(seq 50); do grep -q "\"EdgeAdded\".*$E1" "$tmp/sub.out" && break; sleep 0.1; done
check subscriber-events "$(grep -c . "$tmp/sub.out") messages" \
	sh -c "grep -q '\"NodeAdded\".*\"$SW\"' '$tmp/sub.out' && grep -q '\"EdgeAdded\".*\"$E1\"' '$tmp/sub.out'"

# ---- refusals, with their reasons ----
api POST /api/edge "{\"Parent\":\"$SW\",\"Child\":\"${P}-nope\",\"Metadata\":{\"RelationType\":\"layer2\"}}"
check edge-missing-child "$code $(reason)" [ "$code" = 400 -a "$(reason)" = "Child node not found: '${P}-nope'" ]
api POST /api/edge "{\"Parent\":\"${P}-nope\",\"Child\":\"$VETH\",\"Metadata\":{\"RelationType\":\"layer2\"}}"
check edge-missing-parent "$code $(reason)" [ "$code" = 400 -a "$(reason)" = "Parent node not found: '${P}-nope'" ]
api POST /api/node "{\"ID\":\"$SW\",\"Metadata\":{\"Name\":\"x\",\"Type\":\"switch\"}}"
check node-duplicate "$code $(reason)" refused 409 'Node ID conflict'
api POST /api/node "{\"Metadata\":{\"Type\":\"switch\"}}"
check node-no-name "$code $(reason)" refused 400 'Name is required'
api PATCH "/api/node/$SW" '[{"op":"replace","path":"/Metadata/Name","value":"other"}]'
check patch-name "$code $(reason)" refused 400 'Metadata.Name cannot be changed'
api PATCH "/api/node/$VETH" '[{"op":"add","path":"/Metadata/Site","value":"x"}]'
check patch-probe-node "$code $(reason)" refused 409 "Origin 'agent.$HOSTID'"
api DELETE "/api/node/$VETH"
check delete-probe-node "$code $(reason)" [ "$code" = 409 ]
check probe-node-kept "veth node gone" wait_for 2 "G.V().Has('Name','${P}a')" 'length == 1'
api GET "/api/node/${P}-nope"
check unknown-404 "$code $(reason)" [ "$code" = 404 -a "$(reason)" = "Node '${P}-nope' not found" ]

# ---- the client ----
client node create --node-name "${P}cli" --node-type device --metadata 'Rack=r1, Pos.U=12' >"$tmp/c1" 2>"$tmp/c1.err"
check client-node-create "$(cat "$tmp/c1.err")" \
	jqt '.Metadata.Rack == "r1" and .Metadata.Pos.U == "12" and (.Origin | startswith("cli."))' "$tmp/c1"
CLI=$(jq -r .ID "$tmp/c1" 2>/dev/null)
client edge create --parent "$CLI" --child "$VETH" --edge-type layer2 >"$tmp/c2" 2>"$tmp/c2.err"
check client-edge-create "$(cat "$tmp/c2.err")" jqt --arg c "$VETH" '.Child == $c' "$tmp/c2"
E2=$(jq -r .ID "$tmp/c2" 2>/dev/null)
client node update "$SW" --add Color=red --add Ports=48 --remove Site >"$tmp/c3" 2>"$tmp/c3.err"
check client-node-update "$(cat "$tmp/c3.err")" \
	jqt '.Metadata.Color == "red" and .Metadata.Ports == 48 and (.Metadata | has("Site") | not)' "$tmp/c3"
out=$(client node update "$SW" --add Color=red 2>&1)
check client-not-modified "$out" [ "$out" = "Not modified" ]
client node get "$CLI" >"$tmp/c4" 2>&1
check client-node-get "$(head -c 200 "$tmp/c4")" jqt --arg n "${P}cli" '.Metadata.Name == $n' "$tmp/c4"
client node list >"$tmp/c5" 2>&1
check client-node-list "$(head -c 200 "$tmp/c5")" jqt --arg a "$SW" --arg b "$CLI" --arg v "$VETH" 'has($a) and has($b) and has($v)' "$tmp/c5"
client edge list >"$tmp/c6" 2>&1
check client-edge-list "$(head -c 200 "$tmp/c6")" jqt --arg a "$E1" --arg b "$E2" 'has($a) and has($b)' "$tmp/c6"
client edge create --parent "$CLI" --child "${P}-nope" --edge-type layer2 >/dev/null 2>"$tmp/c7"
rc=$?
check client-edge-refused "exit $rc: $(cat "$tmp/c7")" sh -c "[ $rc = 1 ] && grep -q 'Child node not found' '$tmp/c7'"
client node delete "$VETH" >/dev/null 2>"$tmp/c8"
rc=$?
check client-delete-probe-refused "exit $rc: $(cat "$tmp/c8")" sh -c "[ $rc = 1 ] && grep -q '409' '$tmp/c8'"

# ---- restart: back from nodes.json / edges.json ----
kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null
keep=(); for p in "${pids[@]}"; do [ "$p" = "$SUB" ] || keep+=("$p"); done; pids=("${keep[@]}")
stop_all
check clean-exit "exit statuses:$bad_exit" [ -z "$bad_exit" ]
start_allinone
if wait_for 10 "G.V().Has('Name','${P}sw')" 'length == 1 and .[0].Metadata.Color == "red" and .[0].Metadata.Ports == 48'; then
	ok restart-node
else
	ko restart-node "$(q "G.V().Has('Name','${P}sw')" | head -c 300)"
fi
if wait_for 15 "G.V().Has('Name','${P}sw').Out().Has('Name','${P}a')" 'length == 1'; then
	ok restart-edge-to-veth
else
	ko restart-edge-to-veth "$(q "G.V().Has('Name','${P}sw').OutE()" | head -c 300); log: $(grep 'api:' "$tmp/allinone.log" | tail -3)"
fi
for _ in $(seq 100); do api GET "/api/edge/$E2"; [ "$code" = 200 ] && break; sleep 0.1; done
check restart-client-edge "$code $(reason)" jqt --arg c "$CLI" '.Parent == $c' "$tmp/body"

# ---- delete ----
client edge delete "$E1" 2>"$tmp/d1"
check client-edge-delete "$(cat "$tmp/d1")" wait_for 5 "G.V().Has('Name','${P}sw').OutE()" 'length == 0'
client node delete --gremlin "G.V().Has('Name','${P}cli')" 2>"$tmp/d2"
check client-node-delete-gremlin "$(cat "$tmp/d2")" wait_for 5 "G.V().Has('Name','${P}cli')" 'length == 0'
api DELETE "/api/node/$SW"
check node-delete "$code $(cat "$tmp/body")" [ "$code" = 200 ]
check node-gone "still in the graph" wait_for 5 "G.V().Has('Name','${P}sw')" 'length == 0'
api DELETE "/api/node/$SW"
check delete-again-404 "$code" [ "$code" = 404 ]
D=$SKYDIVE_ANALYZER_DATA_DIR
check stores-empty "$(cat "$D/nodes.json" "$D/edges.json" 2>&1 | head -c 300)" \
	sh -c "jq -e '.Resources == {}' '$D/nodes.json' >/dev/null && jq -e '.Resources == {}' '$D/edges.json' >/dev/null"
check veth-kept "veth node gone" wait_for 2 "G.V().Has('Name','${P}a')" 'length == 1'

stop_all
check clean-exit-2 "exit statuses:$bad_exit" [ -z "$bad_exit" ]
finish
