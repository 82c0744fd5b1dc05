#!/bin/bash
# api_limits.sh - the analyzer's limits (issue 9, docs/API.md "Limits"): every hostile
# input of the list ends in a clear 4xx or a bounded cost, and the analyzer still answers.
# YAML alias bomb, NodePartiallyUpdated op count, pcap body size, stalled subscriber,
# WebSocket connections per address, duplicate agent host ID, a stale close, cross-site
# POST and WebSocket, data file modes, unknown link type, Gremlin result bounds, BPF
# filter size, WebSocket message size (1009). Bounded cost is checked by outcome (an answer, a 4xx, memory), never by
# timing. Binds 127.0.0.1 only; touches no interface.
set -u
. "$(dirname "$0")/lib/harness.sh"
WS="$PYTHON $root/tests/integration/ws_client.py"
export SKYDIVE_ANALYZER_ALLOW_ROOT=true # the suite runs as root; the analyzer refuses it otherwise
export TMPDIR=$tmp/t
mkdir -p "$TMPDIR"

PORT=$(free_port)
A=127.0.0.1:$PORT
SKYDIVE_ANALYZER_DATA_DIR=$tmp/data/sub SKYDIVE_ANALYZER_PCAP_MAX_BYTES=100000 \
	SKYDIVE_HTTP_WS_QUEUE_SIZE=50 SKYDIVE_HTTP_WS_MAX_CONNECTIONS_PER_ADDRESS=20 \
	SKYDIVE_HTTP_WS_MAX_MESSAGE_SIZE=16777216 \
	SKYDIVE_ANALYZER_GREMLIN_MAX_RESULTS=2000 SKYDIVE_HTTP_CORS_ALLOWED_ORIGINS=http://ui.example:8080 \
	"$SKYDIVE" analyzer --listen "$A" 2>"$tmp/analyzer.log" &
MAIN=$!
pids+=("$MAIN")
if ! wait_api "$PORT"; then
	ko start "the analyzer did not answer: $(head -c 400 "$tmp/analyzer.log")"
	finish
fi
ok start
alive() { curl -sf "http://$A/api" >/dev/null; }
status() { curl -s "http://$A/api/status"; }
# post PATH CONTENT-TYPE BODY-FILE [curl args]: prints the status, body in $tmp/r
post() {
	local path=$1 ct=$2 f=$3; shift 3
	curl -s -o "$tmp/r" -w '%{http_code}' -X POST -H "Content-Type: $ct" --data-binary "@$f" \
		"$@" "http://$A$path"
}

# ---- 1. YAML alias bomb ---------------------------------------------------------
"$PYTHON" - >"$tmp/bomb.yaml" <<'EOF'
print('a: &a ["x","x","x","x","x","x","x","x","x","x"]')
prev = 'a'
for n in 'bcdefghi':
    print(f'{n}: &{n} [' + ','.join(['*' + prev] * 10) + ']')
    prev = n
print("GremlinQuery: G.V()")
EOF
code=$(post /api/capture application/yaml "$tmp/bomb.yaml")
check yaml_alias_bomb "got $code $(cat "$tmp/r")" \
	grep -q 'expands beyond 100000 nodes (aliases)' "$tmp/r"
check yaml_alias_bomb_400 "got $code" test "$code" = 400
check yaml_alias_bomb_alive "no answer after the bomb" alive
# the same bound for a configuration file
cp "$tmp/bomb.yaml" "$tmp/bomb-config.yml"
"$SKYDIVE" analyzer --conf "$tmp/bomb-config.yml" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/e" &
bp=$!
for _ in $(seq 1 50); do kill -0 $bp 2>/dev/null || break; sleep 0.1; done
if kill -0 $bp 2>/dev/null; then
	kill $bp; wait $bp 2>/dev/null
	ko config_alias_bomb "the analyzer started with an alias-bomb config"
else
	wait $bp
	check config_alias_bomb "$(head -c 300 "$tmp/e")" grep -q 'expands beyond 100000 nodes' "$tmp/e"
fi

# ---- 2. NodePartiallyUpdated op count -------------------------------------------
"$PYTHON" - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
node = {"ID": "lim-n1", "Metadata": {"Name": "lim1", "Type": "device"}}
open(f"{d}/add.txt", "w").write(json.dumps({"Namespace": "Graph", "Type": "NodeAdded", "Obj": node}) + "\n")
def ops(n):
    return json.dumps({"Namespace": "Graph", "Type": "NodePartiallyUpdated",
                       "Obj": {"ID": "lim-n1", "Ops": [{"Type": 1, "Key": f"K{i}", "Value": i} for i in range(n)]}})
open(f"{d}/ops_ok.txt", "w").write(ops(5000) + "\n")
open(f"{d}/ops_big.txt", "w").write(ops(200000) + "\n")
EOF
bad0=$(status | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["WebSocket"]["InvalidMessages"])')
cat "$tmp/add.txt" "$tmp/ops_ok.txt" "$tmp/ops_big.txt" >"$tmp/pub.txt"
$WS "$PORT" /ws/publisher --host-id limpub --send "$tmp/pub.txt" --hold 1 >/dev/null 2>"$tmp/e"
q() { curl -s -X POST -H 'Content-Type: application/json' -d "{\"GremlinQuery\":\"$1\"}" "http://$A/api/topology"; }
for _ in $(seq 1 50); do
	status | jtest "j['WebSocket']['InvalidMessages'] > $bad0" && break
	sleep 0.1
done
check partial_ops_refused "InvalidMessages did not grow" \
	sh -c "curl -s http://$A/api/status | $PYTHON -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"WebSocket\"][\"InvalidMessages\"] > $bad0 else 1)'"
check partial_ops_logged "no log line" grep -q 'operations refused (at most 10000' "$tmp/analyzer.log"
q "G.V().Has('Name','lim1')" >"$tmp/o"
check partial_ops_applied_once "$(head -c 300 "$tmp/o")" \
	jtest "len(j) == 1 and j[0]['Metadata'].get('K4999') == 4999 and 'K5000' not in j[0]['Metadata'] and j[0]['Revision'] == 2" <"$tmp/o"

# ---- 3. POST /api/pcap size -------------------------------------------------------
head -c 300000 /dev/zero >"$tmp/big.pcap"
code=$(post /api/pcap application/vnd.tcpdump.pcap "$tmp/big.pcap")
check pcap_413 "got $code $(cat "$tmp/r")" test "$code" = 413
check pcap_413_names_limit "$(cat "$tmp/r")" grep -q '100000 bytes (analyzer.pcap.max_bytes)' "$tmp/r"
code=$(post /api/pcap application/vnd.tcpdump.pcap "$tmp/big.pcap" -H 'Transfer-Encoding: chunked')
check pcap_chunked_refused "got $code $(cat "$tmp/r")" test "${code:0:1}" = 4
check pcap_no_temp_left "$(ls "$TMPDIR")" test -z "$(ls "$TMPDIR")"
check pcap_alive "no answer" alive

# ---- 4. WebSocket: stalled reader, connections per address ------------------------
$WS "$PORT" /ws/subscriber --host-id stalled --no-read --hold 30 >/dev/null 2>&1 &
stalled=$!
pids+=($stalled)
sleep 0.5
"$PYTHON" - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
pad = "x" * 2000
with open(f"{d}/flood.txt", "w") as f:
    for i in range(3000):
        f.write(json.dumps({"Namespace": "Graph", "Type": "NodeUpdated",
                            "Obj": {"ID": "lim-n1", "Metadata": {"Name": "lim1", "I": i, "Pad": pad}}}) + "\n")
EOF
$WS "$PORT" /ws/publisher --host-id limpub --send "$tmp/flood.txt" --hold 1 >/dev/null 2>&1
for _ in $(seq 1 50); do
	status | jtest "j['WebSocket']['SlowClientsDisconnected'] >= 1" && break
	sleep 0.1
done
check stalled_reader_dropped "$(status | head -c 300)" \
	sh -c "curl -s http://$A/api/status | $PYTHON -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"WebSocket\"][\"SlowClientsDisconnected\"] >= 1 else 1)'"
rss=$(awk '/VmRSS/ {print $2}' /proc/$MAIN/status)
check stalled_reader_memory "RSS ${rss} kB" test "${rss:-0}" -lt 600000
kill $stalled 2>/dev/null
wait $stalled 2>/dev/null
holders=()
for i in $(seq 1 20); do
	$WS "$PORT" /ws/subscriber --host-id "hold$i" --hold 20 >/dev/null 2>&1 &
	holders+=($!)
	pids+=($!)
done
for _ in $(seq 1 50); do
	status | jtest "len(j['Subscribers']) >= 20" && break
	sleep 0.1
done
$WS "$PORT" /ws/subscriber --host-id one-too-many --count 1 --timeout 5 >/dev/null 2>"$tmp/e"
rc=$?
check ws_per_address_429 "rc $rc $(cat "$tmp/e")" sh -c "test $rc = 3 && grep -q 429 '$tmp/e'"
for p in "${holders[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
for _ in $(seq 1 50); do
	status | jtest "len(j['Subscribers']) == 0" && break
	sleep 0.1
done

# ---- 6. duplicate agent host ID; a stale close ------------------------------------
cat >"$tmp/agent.txt" <<'EOF'
{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"agent-n1","Metadata":{"Name":"agentnode","Type":"host"}}}
EOF
$WS "$PORT" /ws/agent/topology --host-id limagent --send "$tmp/agent.txt" --hold 20 >/dev/null 2>&1 &
agent=$!
pids+=($agent)
for _ in $(seq 1 50); do
	q "G.V().Has('Name','agentnode')" | jtest "len(j) == 1" && break
	sleep 0.1
done
$WS "$PORT" /ws/agent/topology --host-id limagent --count 1 --timeout 5 >/dev/null 2>"$tmp/e"
rc=$?
check agent_duplicate_409 "rc $rc $(cat "$tmp/e")" sh -c "test $rc = 3 && grep -q 409 '$tmp/e'"
sleep 0.3
q "G.V().Has('Name','agentnode')" >"$tmp/o"
check agent_duplicate_keeps_topology "$(cat "$tmp/o")" jtest "len(j) == 1" <"$tmp/o"
check agent_duplicate_logged "no log" grep -q 'already connected' "$tmp/analyzer.log"
kill $agent; wait $agent 2>/dev/null
# two publishers of one origin: the first to leave does not take the other's elements
cat >"$tmp/p1.txt" <<'EOF'
{"Namespace":"Graph","Type":"NodeAdded","Obj":{"ID":"pub-n1","Metadata":{"Name":"pubnode","Type":"host"}}}
EOF
$WS "$PORT" /ws/publisher --host-id twin --policy DeleteOnDisconnect --hold 20 >/dev/null 2>&1 &
p2=$!
pids+=($p2)
sleep 0.3
$WS "$PORT" /ws/publisher --host-id twin --policy DeleteOnDisconnect --send "$tmp/p1.txt" --hold 0.5 >/dev/null 2>&1
sleep 0.3
q "G.V().Has('Name','pubnode')" >"$tmp/o"
check stale_close_keeps_elements "$(cat "$tmp/o")" jtest "len(j) == 1" <"$tmp/o"
kill $p2; wait $p2 2>/dev/null
sleep 0.3
q "G.V().Has('Name','pubnode')" >"$tmp/o"
check last_close_removes_elements "$(cat "$tmp/o")" jtest "len(j) == 0" <"$tmp/o"

# ---- 7. cross-site ----------------------------------------------------------------
echo '{"GremlinQuery":"G.V().Has(\"Name\",\"nothing\")"}' >"$tmp/cap.json"
# A browser page's form or text/plain POST (same origin here, so only the type check
# stands in the way) is refused; the same body from curl (no Origin) is accepted, as
# Skydive accepted it.
code=$(post /api/capture text/plain "$tmp/cap.json" -H "Origin: http://$A")
check text_plain_415 "got $code $(cat "$tmp/r")" test "$code" = 415
code=$(post /api/capture application/x-www-form-urlencoded "$tmp/cap.json" -H "Origin: http://$A")
check form_415 "got $code" test "$code" = 415
echo '{"GremlinQuery":"G.V().Has(\"Name\",\"nothing\").Count()"}' >"$tmp/qcount.json"
code=$(post /api/topology application/x-www-form-urlencoded "$tmp/qcount.json")
check curl_form_query_200 "got $code $(cat "$tmp/r")" test "$code" = 200
code=$(post /api/capture application/json "$tmp/cap.json" -H 'Origin: http://evil.example')
check foreign_origin_403 "got $code $(cat "$tmp/r")" test "$code" = 403
code=$(post /api/capture application/json "$tmp/cap.json" -H "Origin: http://$A")
check same_origin_201 "got $code $(cat "$tmp/r")" test "$code" = 201
echo '{"GremlinQuery":"G.V().Has(\"Name\",\"other\")"}' >"$tmp/cap2.json"
code=$(post /api/capture application/json "$tmp/cap2.json" -H 'Origin: http://ui.example:8080')
check allowed_origin_201 "got $code $(cat "$tmp/r")" test "$code" = 201
$WS "$PORT" /ws/subscriber --header 'Origin: http://evil.example' --count 1 --timeout 5 >/dev/null 2>"$tmp/e"
rc=$?
check ws_foreign_origin_403 "rc $rc $(cat "$tmp/e")" sh -c "test $rc = 3 && grep -q 403 '$tmp/e'"
$WS "$PORT" /ws/subscriber --header "Origin: http://$A" --count 1 --timeout 5 >/dev/null 2>"$tmp/e"
check ws_same_origin "$(cat "$tmp/e")" test $? = 0
status >"$tmp/o"
check cross_origin_counted "$(head -c 300 "$tmp/o")" jtest "j['WebSocket']['RefusedCrossOrigin'] >= 2" <"$tmp/o"

# ---- 8. data files ----------------------------------------------------------------
check data_dir_0700 "$(stat -c %a "$tmp/data/sub")" test "$(stat -c %a "$tmp/data/sub")" = 700
check captures_json_0600 "$(stat -c %a "$tmp/data/sub/captures.json")" \
	test "$(stat -c %a "$tmp/data/sub/captures.json")" = 600
# only the analyzer's own files are left (no fixed-name temporary beside them): the
# captures, the flow segments and the topology history
check no_fixed_tmp "$(ls "$tmp/data/sub")" \
	test -z "$(ls "$tmp/data/sub" | grep -vx -e captures.json -e flows -e topology -e tokens.json)"

# ---- 9. unknown link type ---------------------------------------------------------
"$PYTHON" - "$tmp/l147.pcap" <<'EOF'
import struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147))
f.write(struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
EOF
"$SKYDIVE" flows --read "$tmp/l147.pcap" >"$tmp/o" 2>"$tmp/e"
rc=$?
check flows_unknown_linktype "rc $rc out $(cat "$tmp/o") err $(cat "$tmp/e")" \
	sh -c "test $rc = 1 && grep -q 'link type 147 is not decoded' '$tmp/e'"
code=$(post /api/pcap application/vnd.tcpdump.pcap "$tmp/l147.pcap")
check pcap_unknown_linktype_400 "got $code $(cat "$tmp/r")" test "$code" = 400

# ---- 10. Gremlin bounds -----------------------------------------------------------
"$PYTHON" - "$tmp/chain.json" <<'EOF'
import json, sys
n = 3000
nodes = [{"ID": f"c{i}", "Metadata": {"Name": f"c{i}", "Type": "device"}} for i in range(n)]
edges = [{"ID": f"e{i}", "Parent": f"c{i}", "Child": f"c{i+1}", "Metadata": {"RelationType": "layer2"}} for i in range(n - 1)]
json.dump({"Nodes": nodes, "Edges": edges}, open(sys.argv[1], "w"))
EOF
"$SKYDIVE" client --analyzer "$A" topology import --file "$tmp/chain.json" >/dev/null 2>"$tmp/e" ||
	ko chain_import "$(cat "$tmp/e")"
dbl="G.V().Has('Type','device')"
for i in $(seq 1 12); do dbl="$dbl.As('a$i').Select('a$i','a$i')"; done
curl -s -o "$tmp/r" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\":\"$dbl\"}" "http://$A/api/topology" >"$tmp/code"
check gremlin_doubling_400 "$(cat "$tmp/code") $(head -c 300 "$tmp/r")" \
	sh -c "test \$(cat '$tmp/code') = 400 && grep -q 'gives more than 1000000 elements' '$tmp/r'"
curl -s -o "$tmp/r" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\":\"G.V().Has('Type','device').ShortestPathTo(Metadata('Name','c2999'))\"}" \
	"http://$A/api/topology" >"$tmp/code"
check gremlin_shortest_chain_400 "$(cat "$tmp/code") $(head -c 300 "$tmp/r")" \
	sh -c "test \$(cat '$tmp/code') = 400 && grep -q 'elements' '$tmp/r'"
q "G.V().Has('Type','device')" >"$tmp/r"
check gremlin_max_results "$(head -c 300 "$tmp/r")" grep -q 'exceeds 2000 elements.*add Limit()' "$tmp/r"
q "G.V().Has('Type','device').Limit(10)" >"$tmp/r"
check gremlin_limit_ok "$(head -c 200 "$tmp/r")" jtest "len(j) == 10" <"$tmp/r"
q "G.V().Has('Type','device').Count()" >"$tmp/r"
check gremlin_count_ok "$(head -c 200 "$tmp/r")" jtest "j == 3000" <"$tmp/r"
check gremlin_alive "no answer" alive

# ---- 11. BPF filter size ----------------------------------------------------------
"$PYTHON" - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
terms = " or ".join(f"port {i}" for i in range(1, 101))
json.dump({"GremlinQuery": "G.V().Has('Name','none')", "BPFFilter": terms}, open(f"{d}/bpf100.json", "w"))
json.dump({"GremlinQuery": "G.V().Has('Name','none')", "BPFFilter": "host " + "a" * 5000}, open(f"{d}/bpflong.json", "w"))
EOF
code=$(post /api/capture application/json "$tmp/bpf100.json")
check bpf_terms_400 "got $code $(cat "$tmp/r")" \
	sh -c "test $code = 400 && grep -q 'BPF filter of 100 terms refused (at most 64' '$tmp/r'"
code=$(post /api/capture application/json "$tmp/bpflong.json")
check bpf_length_400 "got $code $(cat "$tmp/r")" \
	sh -c "test $code = 400 && grep -q 'bytes refused (at most 4096)' '$tmp/r'"

# ---- 12. WebSocket message size --------------------------------------------------
# RFC 6455 7.4.1: 1009 "a message that is too big for it to process". The bound is
# http.ws.max_message_size (16 MiB here, 256 MiB by default); the payload is valid
# UTF-8, so a 1007 "bad utf8" would be the wrong answer. Each case streams 1 MiB more
# than the bound and reads the server's Close frame while it writes.
OVER=$(( (16 << 20) + (1 << 20) ))
WSO="$PYTHON $root/tests/integration/ws_oversize.py"
$WSO "$PORT" /ws/publisher $OVER --host-id big1 >"$tmp/o" 2>"$tmp/e"
check ws_oversize_1009 "$(cat "$tmp/o" "$tmp/e")" \
	grep -qx 'close 1009 message too big (http.ws.max_message_size)' "$tmp/o"
$WSO "$PORT" /ws/publisher $OVER --fragments 4 --host-id big2 >"$tmp/o" 2>"$tmp/e"
check ws_oversize_fragments_1009 "4 fragments: $(cat "$tmp/o" "$tmp/e")" grep -q '^close 1009 ' "$tmp/o"
$WSO "$PORT" /ws/agent/flow $OVER --binary --host-id big3 >"$tmp/o" 2>"$tmp/e"
check ws_oversize_flow_1009 "binary on /ws/agent/flow: $(cat "$tmp/o" "$tmp/e")" grep -q '^close 1009 ' "$tmp/o"
# not UTF-8: RFC 6455 8.1 asks for 1007, which libwebsockets' own check answers in the
# first bytes, before any size is reached; while the client is still streaming, lws 4.1
# drops the connection without its Close frame: either ends it (no timeout)
$WSO "$PORT" /ws/publisher 100 --not-utf8 --host-id big4 >"$tmp/o" 2>"$tmp/e"
check ws_not_utf8_1007 "$(cat "$tmp/o" "$tmp/e")" grep -qx 'close 1007 bad utf8' "$tmp/o"
$WSO "$PORT" /ws/publisher $OVER --not-utf8 --host-id big4 >"$tmp/o" 2>"$tmp/e"
check ws_not_utf8_big_closed "$(cat "$tmp/o" "$tmp/e")" \
	grep -Eq '^(close 1007 bad utf8|no close frame \(connection (closed|reset) after)' "$tmp/o"
check ws_oversize_logged "no log line" \
	grep -q 'message from big1 larger than 16777216 bytes (http.ws.max_message_size); closing with 1009' "$tmp/analyzer.log"
# one byte under the bound is a message like any other (an invalid one: not JSON)
$WSO "$PORT" /ws/publisher $(( (16 << 20) - 1 )) --host-id big5 --timeout 3 >"$tmp/o" 2>"$tmp/e"
check ws_under_bound_kept "$(cat "$tmp/o")" grep -q '^no close frame (timeout' "$tmp/o"
check ws_oversize_alive "no answer after the big messages" alive

check final_alive "no answer at the end" alive
finish
