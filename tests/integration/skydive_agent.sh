#!/bin/bash
# skydive_agent.sh - Skydive 0.28 agents report to our analyzer (issue 12 item 7): their
# protobuf topology protocol on /ws/agent/topology (X-Client-Protocol: protobuf, every
# frame a StructMessage: graffiti/websocket/structmessage.proto, graffiti/pod/pod.go) and
# their UDP flow transport (flow.protocol: udp: flow/server/flow_server.go). The Skydive
# side is tests/integration/skydive_agent.py, whose protobuf encoding is written by hand
# from Skydive's schemas.
#
# The graph our own agent publishes (analyzer A, JSON) is replayed as StructMessage frames
# into analyzer B: B's graph of that host must equal A's; live changes apply; bad frames
# are counted and the link stays; a capture is dispatched to the protobuf agent as a
# binary StructMessage; flows sent as UDP datagrams are stored with the values sent.
# Everything runs inside one network namespace of the test (its loopback).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skag$$
NS=${P}h
cleanup() {
	stop_all
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
[ "$(id -u)" = 0 ] || { ko setup "needs root (network namespaces)"; finish; }
nx() { ip netns exec "$NS" "$@"; }
q() { # q PORT QUERY: POST /api/topology
	nx curl -s -m 10 -XPOST "http://127.0.0.1:$1/api/topology" \
		-d "$("$PYTHON" -c 'import json,sys; print(json.dumps({"GremlinQuery": sys.argv[1]}))' "$2")"
}
st() { nx curl -s -m 10 "http://127.0.0.1:$1/api/status"; }
wait_ns_api() {
	for _ in $(seq 100); do nx curl -sf "http://127.0.0.1:$1/api" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# until_q PORT QUERY PYEXPR: polls the query until the expression over j holds (10 s)
until_q() {
	for _ in $(seq 50); do q "$1" "$2" | jtest "$3" && return 0; sleep 0.2; done
	return 1
}

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add ${P}a type veth peer name ${P}b
ip -n "$NS" addr add 10.91.0.1/24 dev ${P}a
ip -n "$NS" link set ${P}a up
ip -n "$NS" link set ${P}b up
PA=18301 PB=18302

# ---- A: our analyzer and our agent (JSON), the reference graph ----
ip netns exec "$NS" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/a" "$SKYDIVE" analyzer --listen "127.0.0.1:$PA" >"$tmp/a.log" 2>&1 &
pids+=($!)
wait_ns_api $PA || { ko setup "analyzer A: $(tail -5 "$tmp/a.log")"; finish; }
ip netns exec "$NS" "$SKYDIVE" agent --host-id h1 --analyzer "127.0.0.1:$PA" --listen none --netns-run-path '' \
	>"$tmp/agent.log" 2>&1 &
agentpid=$!
pids+=($agentpid)
until_q $PA "G.V().Has('Name', '${P}b')" 'len(j)==1' || { ko setup "our agent's graph: $(tail -5 "$tmp/agent.log")"; finish; }
sleep 1 # counters and late fields settle
kill -STOP $agentpid # a still graph to copy
q $PA "G.V()" >"$tmp/a-nodes.json"
q $PA "G.E()" >"$tmp/a-edges.json"
"$PYTHON" - "$tmp" <<'EOF'
import json, sys
t = sys.argv[1]
nodes = json.load(open(f"{t}/a-nodes.json"))
edges = json.load(open(f"{t}/a-edges.json"))
env = {"Namespace": "Graph", "Type": "Sync", "Obj": {"Nodes": nodes, "Edges": edges}}
open(f"{t}/sync.json", "w").write(json.dumps(env) + "\n")
EOF
check a-graph "A's graph: $(head -c 300 "$tmp/a-nodes.json")" jtest 'len(j) >= 3' <"$tmp/a-nodes.json"

# ---- B: takes the protobuf agent and UDP flows ----
cat >"$tmp/b.yml" <<YML
flow:
  protocol: udp
YML
ip netns exec "$NS" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/b" "$SKYDIVE" analyzer -c "$tmp/b.yml" --listen "127.0.0.1:$PB" >"$tmp/b.log" 2>&1 &
pids+=($!)
wait_ns_api $PB || { ko setup "analyzer B: $(tail -5 "$tmp/b.log")"; finish; }

# handshakes: protobuf for subscribers and unknown protocols are refused, with reasons
nx "$PYTHON" "$root/tests/integration/ws_client.py" $PB /ws/subscriber --host-id s1 \
	--header 'X-Client-Protocol: protobuf' --timeout 3 >/dev/null 2>"$tmp/hs1"
check subscriber-protobuf-refused "$(cat "$tmp/hs1")" grep -q ' 400 ' "$tmp/hs1"
mkfifo "$tmp/in0"
nx "$PYTHON" "$root/tests/integration/skydive_agent.py" topology $PB --host-id h0 --protocol msgpack \
	--input "$tmp/in0" --timeout 3 >/dev/null 2>"$tmp/hs2"
check unknown-protocol-refused "$(cat "$tmp/hs2")" grep -q ' 400 ' "$tmp/hs2"

mkfifo "$tmp/in"
ip netns exec "$NS" "$PYTHON" "$root/tests/integration/skydive_agent.py" topology $PB --host-id h1 --input "$tmp/in" \
	--timeout 60 >"$tmp/pb.out" 2>"$tmp/pb.err" &
pbpid=$!
pids+=($pbpid)
exec 7>"$tmp/in"
cat "$tmp/sync.json" >&7
sleep 0.2
grep -q ' 101 ' "$tmp/pb.err" && ok "protobuf-agent-handshake (101)" || ko protobuf-agent-handshake "$(cat "$tmp/pb.err")"
until_q $PB "G.V().Has('Name', '${P}b')" 'len(j)==1'
q $PB "G.V()" >"$tmp/b-nodes.json"
q $PB "G.E()" >"$tmp/b-edges.json"
# same graph: node IDs with their Metadata and Host; edge IDs with Parent, Child, Metadata
"$PYTHON" - "$tmp" >"$tmp/cmp" 2>&1 <<'EOF'
import json, sys
t = sys.argv[1]
def nodes(f): return {n["ID"]: (n.get("Host"), json.dumps(n["Metadata"], sort_keys=True)) for n in json.load(open(f))}
def edges(f): return {e["ID"]: (e["Parent"], e["Child"], json.dumps(e["Metadata"], sort_keys=True)) for e in json.load(open(f))}
a, b = nodes(f"{t}/a-nodes.json"), nodes(f"{t}/b-nodes.json")
ea, eb = edges(f"{t}/a-edges.json"), edges(f"{t}/b-edges.json")
bad = [k for k in set(a) | set(b) if a.get(k) != b.get(k)] + [k for k in set(ea) | set(eb) if ea.get(k) != eb.get(k)]
print(f"{len(a)} nodes, {len(ea)} edges; differ: {bad[:5]}")
sys.exit(1 if bad or not a else 0)
EOF
check same-graph-as-our-agent "$(cat "$tmp/cmp")" test $? = 0
check host-is-agents "$(head -c 200 "$tmp/b-nodes.json")" jtest 'all(n["Host"] == "h1" for n in j)' <"$tmp/b-nodes.json"

# live changes, one frame each
HOSTID=$(q $PB "G.V().Has('Type', 'host')" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["ID"])')
echo '{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"pb-node-1","Metadata":{"Name":"pbtap","Type":"tun","MTU":1400},"Host":"h1"}}' >&7
echo "{\"Namespace\":\"Graph\",\"Type\":\"EdgeAdded\",\"Obj\":{\"ID\":\"pb-edge-1\",\"Parent\":\"$HOSTID\",\"Child\":\"pb-node-1\",\"Metadata\":{\"RelationType\":\"ownership\"},\"Host\":\"h1\"}}" >&7
until_q $PB "G.V('pb-node-1').In().Has('Type', 'host')" 'len(j)==1' && ok node-and-edge-added || ko node-and-edge-added "$(q $PB "G.V('pb-node-1')")"
q $PB "G.V('pb-node-1')" | jtest 'j[0]["Metadata"]=={"Name":"pbtap","Type":"tun","MTU":1400} and j[0]["Host"]=="h1"' && ok node-added-metadata || ko node-added-metadata "$(q $PB "G.V('pb-node-1')")"

# bad frames: counted, the link stays
inv0=$(st $PB | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["WebSocket"]["InvalidMessages"])' 2>/dev/null)
echo "RAW ffffffff0102" >&7
echo "PROTOBUF-OBJ" >&7
echo '{"Namespace":"Graph","Type":"NodeDeleted","Obj":{"ID":"pb-node-1","Host":"h1"}}' >&7
until_q $PB "G.V().Has('Name', 'pbtap')" 'len(j)==0' && ok node-deleted-after-bad-frames || ko node-deleted-after-bad-frames "$(q $PB "G.V().Has('Name', 'pbtap')")"
inv1=$(st $PB | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["WebSocket"]["InvalidMessages"])' 2>/dev/null)
check bad-frames-counted "InvalidMessages $inv0 -> $inv1" test "$((inv1 - inv0))" = 2
check bad-frames-logged "$(grep -c 'bad message from h1' "$tmp/b.log")" grep -q 'Obj in protobuf format' "$tmp/b.log"
st $PB | jtest 'j["Agents"]["h1"]["ClientProtocol"] == "protobuf"' && ok status-client-protocol || ko status-client-protocol "$(st $PB | head -c 300)"

# a capture on one of its interfaces is sent to it as a binary StructMessage
cap=$(nx curl -s -XPOST "http://127.0.0.1:$PB/api/capture" -d "{\"GremlinQuery\": \"G.V().Has('Name', '${P}b')\"}")
capid=$(echo "$cap" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["UUID"])' 2>/dev/null)
for _ in $(seq 50); do grep -q "$capid" "$tmp/pb.out" 2>/dev/null && break; sleep 0.2; done
grep "$capid" "$tmp/pb.out" | head -1 >"$tmp/od.json"
if [ -n "$capid" ] &&
	"$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["Binary"] and j["Namespace"]=="OnDemand" and j["Format"]==0 and j["Obj"]["Resource"]["UUID"]==sys.argv[2] and j["UUID"] else 1)' "$tmp/od.json" "$capid"; then
	ok "capture-dispatched-as-structmessage ($(jq -r .Type "$tmp/od.json" 2>/dev/null))"
else
	ko capture-dispatched-as-structmessage "capture $cap; got $(head -c 300 "$tmp/od.json"); $(tail -3 "$tmp/pb.out")"
fi

# ---- UDP flows: values as sent, counted per sender ----
now=$(($(date +%s%N) / 1000000))
cat >"$tmp/flows.json" <<JSON
[{"UUID": "a1b2c3d4e5f60001", "LayersPath": "Ethernet/IPv4/ICMPv4", "Application": "ICMPv4",
  "Link": {"Protocol": "ETHERNET", "A": "02:00:00:00:00:01", "B": "02:00:00:00:00:02"},
  "Network": {"Protocol": "IPV4", "A": "10.91.0.1", "B": "10.91.0.2"},
  "Metric": {"ABPackets": 5, "ABBytes": 490, "BAPackets": 5, "BABytes": 490, "Start": $now, "Last": $now},
  "Start": $now, "Last": $now, "TrackingID": "7a1b2c3d4e5f6071", "L3TrackingID": "0102030405060708",
  "NodeTID": "tid-udp", "CaptureID": "cap-udp"},
 {"UUID": "a1b2c3d4e5f60002", "LayersPath": "Ethernet/IPv4/UDP", "Application": "UDP",
  "Network": {"Protocol": "IPV4", "A": "10.91.0.1", "B": "10.91.0.3"},
  "Transport": {"Protocol": "UDP", "A": 40000, "B": 53},
  "Metric": {"ABPackets": 1, "ABBytes": 70, "Start": $now, "Last": $now},
  "Start": $now, "Last": $now, "NodeTID": "tid-udp", "CaptureID": "cap-udp"},
 {"UUID": "a1b2c3d4e5f60003", "LayersPath": "Ethernet/IPv6/TCP", "Application": "TCP",
  "Network": {"Protocol": "IPV6", "A": "fd00::1", "B": "fd00::2"},
  "Transport": {"Protocol": "TCP", "A": 51000, "B": 443},
  "Metric": {"ABPackets": 3, "ABBytes": 222, "BAPackets": 2, "BABytes": 148, "Start": $now, "Last": $now},
  "Start": $now, "Last": $now, "NodeTID": "tid-udp", "CaptureID": "cap-udp"}]
JSON
nx "$PYTHON" "$root/tests/integration/skydive_agent.py" flows $PB --flows "$tmp/flows.json" --garbage 2
until_q $PB "G.At('-0s', 600).Flows().Has('NodeTID', 'tid-udp').Count()" 'j==[3] or j==3' &&
	ok udp-flows-stored || ko udp-flows-stored "$(q $PB "G.At('-0s', 600).Flows().Count()"); $(tail -3 "$tmp/b.log")"
q $PB "G.At('-0s', 600).Flows().Has('UUID', 'a1b2c3d4e5f60001')" >"$tmp/f1.json"
check udp-flow-values "$(head -c 400 "$tmp/f1.json")" jtest 'len(j)==1 and j[0]["Application"]=="ICMPv4" and j[0]["Network"]["A"]=="10.91.0.1" and j[0]["Network"]["B"]=="10.91.0.2" and j[0]["Metric"]["ABPackets"]==5 and j[0]["Metric"]["BABytes"]==490 and j[0]["TrackingID"]=="7a1b2c3d4e5f6071" and j[0]["Link"]["A"]=="02:00:00:00:00:01"' <"$tmp/f1.json"
q $PB "G.At('-0s', 600).Flows().Has('UUID', 'a1b2c3d4e5f60003')" >"$tmp/f3.json"
check udp-flow-ipv6-tcp "$(head -c 400 "$tmp/f3.json")" jtest 'len(j)==1 and j[0]["Network"]["B"]=="fd00::2" and j[0]["Transport"]["B"]==443 and j[0]["Metric"]["BAPackets"]==2' <"$tmp/f3.json"
st $PB >"$tmp/st.json"
check udp-counters "$(jq -c '.Flows.UDP' "$tmp/st.json" 2>/dev/null)" jtest 'j["Flows"]["UDP"]["Datagrams"]==5 and j["Flows"]["UDP"]["Address"]=="127.0.0.1:'$PB'"' <"$tmp/st.json"
check udp-per-sender-stats "$(jq -c '.FlowStats' "$tmp/st.json" 2>/dev/null)" jtest 'j["FlowStats"]["127.0.0.1"]["DecodeErrors"]==2 and j["FlowStats"]["127.0.0.1"]["Flows"]==3' <"$tmp/st.json"

# the protobuf agent goes: its elements go with it, as a JSON agent's do
echo QUIT >&7
exec 7>&-
until_q $PB "G.V().Has('Name', '${P}b')" 'len(j)==0' && ok agent-gone-elements-removed || ko agent-gone-elements-removed "$(q $PB "G.V().Count()")"

# configuration: our agent refuses flow.protocol udp; an unknown protocol stops the analyzer
cat >"$tmp/u.yml" <<YML
flow:
  protocol: udp
YML
nx "$SKYDIVE" agent -c "$tmp/u.yml" --host-id h9 --analyzer "127.0.0.1:$PA" --listen none >"$tmp/u.log" 2>&1
rc=$?
check agent-refuses-udp "exit $rc: $(cat "$tmp/u.log")" sh -c "[ $rc != 0 ] && grep -q \"flow.protocol 'udp' is not supported by this agent\" '$tmp/u.log'"
printf 'flow:\n  protocol: sctp\n' >"$tmp/x.yml"
nx env SKYDIVE_ANALYZER_DATA_DIR="$tmp/x" timeout 10 "$SKYDIVE" analyzer -c "$tmp/x.yml" --listen "127.0.0.1:18303" >"$tmp/x.log" 2>&1
rc=$?
check analyzer-refuses-unknown-protocol "exit $rc: $(tail -2 "$tmp/x.log")" sh -c "[ $rc != 0 ] && grep -q \"flow.protocol 'sctp': websocket or udp\" '$tmp/x.log'"

kill -CONT $agentpid 2>/dev/null
stop_all
[ -z "$bad_exit" ] && ok "clean-exit" || ko clean-exit "exit status$bad_exit: $(tail -n 3 "$tmp/a.log" "$tmp/b.log" "$tmp/agent.log")"
if grep -qE 'Sanitizer|runtime error' "$tmp"/*.log; then
	ko sanitizer "$(grep -h -m3 -E 'Sanitizer|runtime error' "$tmp"/*.log)"
fi
finish
