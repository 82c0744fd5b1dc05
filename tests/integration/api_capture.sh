#!/bin/bash
# api_capture.sh - captures through the analyzer's REST API (/api/capture) and
# `skydive client capture`: create (client, JSON, YAML), list, get, 404, 409,
# 400 reasons, node type check, TTL expiry, persistence across a restart, delete.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
# Binds 127.0.0.1 only. SKYDIVE selects the binary (e.g. an ASan build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA=$root/tests/integration/data
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
check() {
	local name=$1 why=$2; shift 2
	if "$@"; then ok "$name"; else ko "$name" "$why"; fi
}
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# jtest EXPR < json: true when the Python expression over j holds.
jtest() {
	"$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" 2>/dev/null
}
jget() {
	"$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null
}
wait_api() {
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$1/api" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# stop PID: SIGTERM, then its exit status (124 if it did not stop within 10 s).
stop() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	return 124
}
start() {
	SKYDIVE_ANALYZER_DATA_DIR=$tmp/data/sub "$SKYDIVE" analyzer --listen "$A" 2>>"$tmp/analyzer.log" &
	apid=$!
	pids+=("$apid")
	wait_api "$PORT"
}

PORT=$(free_port)
A=127.0.0.1:$PORT
URL=http://$A/api/capture
C() { "$SKYDIVE" client --analyzer "$A" capture "$@"; }
if ! start; then
	ko start "the analyzer did not answer on $A: $(head -c 500 "$tmp/analyzer.log")"
	echo "$pass passed, $((fail + 1)) failed"
	exit 1
fi
ok start
"$SKYDIVE" client --analyzer "$A" topology import --file "$DATA/topology.json" >/dev/null 2>"$tmp/e"
check import "$(cat "$tmp/e")" test $? = 0

curl -s "$URL" >"$tmp/o"
check list-empty "$(cat "$tmp/o")" jtest 'j=={}' <"$tmp/o"

# ---- create through the client ------------------------------------------------
C create --gremlin "G.V().Has('Name', 'br0')" --bpf "icmp" --name ping --description "icmp on br0" \
	--header-size 128 --rawpacket-limit -1 --extra-tcp-metric --ip-defrag --reassamble-tcp \
	--layer-key-mode L3 --extra-layer DNS --extra-layer VRRP --type pcap >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-create "exit $rc: $(cat "$tmp/e")" test $rc = 0
check client-create-json "$(cat "$tmp/o")" jtest 'j["GremlinQuery"]=="G.V().Has('"'"'Name'"'"', '"'"'br0'"'"')" and j["BPFFilter"]=="icmp" and j["Name"]=="ping" and j["HeaderSize"]==128 and j["RawPacketLimit"]==-1 and j["ExtraTCPMetric"] and j["IPDefrag"] and j["ReassembleTCP"] and j["LayerKeyMode"]=="L3" and j["ExtraLayers"]==3 and j["Type"]=="pcap" and j["SamplingRate"]==1 and j["PollingInterval"]==10 and j["Count"]==0 and len(j["UUID"])==36' <"$tmp/o"
check client-create-pretty "not indented with 2 spaces: $(head -c 100 "$tmp/o")" grep -q '^  "UUID": ' "$tmp/o"
ID1=$(jget 'j["UUID"]' <"$tmp/o")

C create --node intf-vetha-tid --bpf "tcp port 80" >"$tmp/o" 2>"$tmp/e"
check client-create-node "$(cat "$tmp/o" "$tmp/e")" jtest 'j["GremlinQuery"]=="G.V().Has('"'"'TID'"'"', '"'"'intf-vetha-tid'"'"')"' <"$tmp/o"
ID2=$(jget 'j["UUID"]' <"$tmp/o")
C create --node x --gremlin "G.V()" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-node-exclusive "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 2 ] && grep -q exclusive "$tmp/e"'
C create --bpf icmp >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-needs-gremlin "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 2 ] && grep -q -- "--gremlin" "$tmp/e"'
C create --gremlin "G.V()" --extra-layer SMTP >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-bad-extra-layer "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 2 ] && grep -q "DHCPv4" "$tmp/e"'
C create --help >"$tmp/o" 2>&1
check client-create-help "$(head -c 200 "$tmp/o")" grep -q -- "--reassamble-tcp" "$tmp/o"
for sub in list get delete; do
	C $sub --help >"$tmp/o" 2>&1
	check "client-$sub-help" "$(head -c 200 "$tmp/o")" grep -q "Usage: skydive client capture $sub" "$tmp/o"
done
"$SKYDIVE" client capture --help >"$tmp/o" 2>&1
check client-capture-help "$(head -c 200 "$tmp/o")" grep -q "capture delete UUID" "$tmp/o"

# ---- create with curl: JSON and YAML -------------------------------------------
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"GremlinQuery\": \"G.V().Has('Type', 'veth')\", \"Type\": \"afpacket\", \"Name\": \"json\"}" "$URL")
check curl-json-201 "status $code: $(cat "$tmp/o")" test "$code" = 201
check curl-json-omitempty "$(cat "$tmp/o")" jtest '"BPFFilter" not in j and "HeaderSize" not in j and "Port" not in j and j["Type"]=="afpacket"' <"$tmp/o"
ID3=$(jget 'j["UUID"]' <"$tmp/o")
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -H 'Content-Type: application/yaml' --data-binary @- "$URL" <<'EOF'
GremlinQuery: G.V().Has('Name', 'vethb')
BPFFilter: udp
Name: from yaml
SamplingRate: 5
ExtraLayers: [DHCPv4]
EOF
)
check curl-yaml-201 "status $code: $(cat "$tmp/o")" test "$code" = 201
check curl-yaml-fields "$(cat "$tmp/o")" jtest 'j["Name"]=="from yaml" and j["BPFFilter"]=="udp" and j["SamplingRate"]==5 and j["ExtraLayers"]==4' <"$tmp/o"
ID4=$(jget 'j["UUID"]' <"$tmp/o")

# ---- list, get, 404 ----------------------------------------------------------
C list >"$tmp/o" 2>"$tmp/e"
check list-map "$(head -c 300 "$tmp/o")" jtest 'isinstance(j, dict) and len(j)==4 and all(k==v["UUID"] for k, v in j.items())' <"$tmp/o"
check list-has-all "$(head -c 300 "$tmp/o")" jtest "set(j)=={'$ID1','$ID2','$ID3','$ID4'}" <"$tmp/o"
C get "$ID1" >"$tmp/o" 2>"$tmp/e"
check get "$(cat "$tmp/o" "$tmp/e")" jtest "j['UUID']=='$ID1' and j['Name']=='ping'" <"$tmp/o"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' "$URL/$ID3")
check curl-get-200 "status $code" test "$code" = 200
code=$(curl -s -o "$tmp/o" -w '%{http_code}' "$URL/no-such-id")
check get-404 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 404 ] && jtest "j[\"Error\"]==\"Capture '"'"'no-such-id'"'"' not found\"" <"$tmp/o"'
C get no-such-id >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-get-404 "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "not found" "$tmp/e"'

# ---- 409 and 400s -------------------------------------------------------------
code=$(curl -s -o "$tmp/o" -w '%{http_code}' \
	-H 'Content-Type: application/json' -d "{\"GremlinQuery\": \"G.V().Has('Type', 'veth')\", \"Type\": \"afpacket\", \"Name\": \"again\", \"Description\": \"d\"}" "$URL")
check duplicate-409 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 409 ] && grep -q "$ID3" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d "{\"GremlinQuery\": \"G.V().Has('Name'\"}" "$URL")
check bad-gremlin-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && jtest "isinstance(j[\"Position\"], int) and \"position\" in j[\"Error\"]" <"$tmp/o"'
C create --gremlin "G.V().Has('Name'" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-bad-gremlin "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "400" "$tmp/e" && grep -q "position" "$tmp/e" && grep -q "\^" "$tmp/e"'
C create --gremlin "G.V()" --bpf "tcp port" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-bad-bpf "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "BPFFilter" "$tmp/e" && grep -qi "syntax error\|parse" "$tmp/e"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d '{"GremlinQuery": "G.V()", "Type": "rawsock"}' "$URL")
check unknown-type-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "unknown capture type '"'"'rawsock'"'"': expected one of afpacket" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d '{"GremlinQuery": "G.V()", "HeaderSize": 10}' "$URL")
check header-size-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "HeaderSize 10 is out of range" "$tmp/o"'
C create --gremlin "G.V()" --header-size 13 >"$tmp/o" 2>"$tmp/e"
check client-header-size "$(cat "$tmp/e")" grep -q "HeaderSize 13" "$tmp/e"
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d "{\"GremlinQuery\": \"G.V().Has('Type', 'veth')\", \"Type\": \"ovsmirror\"}" "$URL")
check type-not-allowed-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "capture type ovsmirror not allowed on node type veth (allowed: afpacket" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d "{\"GremlinQuery\": \"G.V().Has('Type', 'ovsport')\", \"Type\": \"ovsmirror\"}" "$URL")
check type-future-nodes-201 "status $code: $(cat "$tmp/o")" test "$code" = 201
ID5=$(jget 'j["UUID"]' <"$tmp/o")
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -d '{"GremlinQuery": "G.V()", "Bogus": 1}' "$URL")
check unknown-field-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "Bogus" "$tmp/o"'
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -H 'Content-Type: application/yaml' --data-binary $'GremlinQuery: [\n' "$URL")
check bad-yaml-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "invalid YAML body at line" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -H 'X-Resource-TTL: soon' -d '{"GremlinQuery": "G.V()"}' "$URL")
check bad-ttl-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "X-Resource-TTL" "$tmp/o"'
# PATCH: a JSON Patch is read and applied as Skydive's API server does, and refused as
# Skydive's capture handler refuses every update (api/server/capture.go)
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -X PATCH -d '[{"op":"add","path":"/Name","value":"x"}]' "$URL/$ID1")
check patch-not-updatable-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "resource not updatable" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -X PATCH -d '[{"op":"remove","path":"/Nope"}]' "$URL/$ID1")
check patch-bad-path-400 "status $code: $(cat "$tmp/o")" eval '[ "$code" = 400 ] && grep -q "applying JSON patch to resource: operation 0 (remove): path ./Nope. does not exist" "$tmp/o"'
code=$(curl -s -H 'Content-Type: application/json' -o "$tmp/o" -w '%{http_code}' -X PATCH -d '[]' "$URL/00000000-0000-4000-8000-000000000000")
check patch-unknown-404 "status $code: $(cat "$tmp/o")" test "$code" = 404

# ---- TTL ---------------------------------------------------------------------------
C create --gremlin "G.V().Has('Name', 'vetha')" --ttl 2s >"$tmp/o" 2>"$tmp/e"
check ttl-create "$(cat "$tmp/e")" jtest 'len(j["UUID"])==36' <"$tmp/o"
IDT=$(jget 'j["UUID"]' <"$tmp/o")
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Resource-TTL: 1m' \
	-H 'Content-Type: application/json' -d "{\"GremlinQuery\": \"G.V().Has('Name', 'vethb')\", \"Type\": \"pcap\"}" "$URL")
check ttl-header-201 "status $code" test "$code" = 201
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$IDT")
check ttl-present "status $code" test "$code" = 200
sleep 3
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$IDT")
check ttl-expired "still there after 3 s (status $code)" test "$code" = 404
check ttl-expired-log "no expiry logged" grep -q "capture $IDT expired" "$tmp/analyzer.log"

# ---- restart: captures persist ----------------------------------------------------
curl -s "$URL" >"$tmp/before"
stop "$apid"
rc=$?
check stop "exit status $rc" test $rc = 0
check data-file "no captures.json in the data dir" test -s "$tmp/data/sub/captures.json"
if start; then ok restart; else ko restart "$(tail -5 "$tmp/analyzer.log")"; fi
curl -s "$URL" >"$tmp/after"
check persisted "before $(head -c 200 "$tmp/before") after $(head -c 200 "$tmp/after")" \
	"$PYTHON" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b and len(a)==6 else 1)' "$tmp/before" "$tmp/after"

# ---- delete ----------------------------------------------------------------------
code=$(curl -s -o "$tmp/o" -D "$tmp/h" -w '%{http_code}' -X DELETE "$URL/$ID5")
check delete-200 "status $code" eval '[ "$code" = 200 ] && grep -qi "content-type: text/plain" "$tmp/h"'
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -X DELETE "$URL/$ID5")
check delete-404 "status $code" test "$code" = 404
C delete "$ID1" "$ID2" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-delete-two "exit $rc: $(cat "$tmp/e")" test $rc = 0
C list >"$tmp/o"
check deleted-gone "$(head -c 300 "$tmp/o")" jtest "'$ID1' not in j and '$ID2' not in j and '$ID5' not in j and len(j)==3" <"$tmp/o"
C delete "$ID3" no-such-id >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-delete-partial "exit $rc: $(cat "$tmp/e")" eval '[ $rc = 1 ] && grep -q "no-such-id" "$tmp/e"'
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$ID3")
check client-delete-partial-done "status $code" test "$code" = 404

# a restart keeps the deletions
stop "$apid"
if start; then ok restart-2; else ko restart-2 "$(tail -5 "$tmp/analyzer.log")"; fi
curl -s "$URL" >"$tmp/o"
check deletions-persisted "$(head -c 300 "$tmp/o")" jtest "len(j)==2 and '$ID4' in j" <"$tmp/o"

# a corrupt file: the analyzer starts with none and keeps it aside
stop "$apid"
echo '{"Version": 1, "Captures": {' >"$tmp/data/sub/captures.json"
if start; then ok restart-corrupt; else ko restart-corrupt "$(tail -5 "$tmp/analyzer.log")"; fi
curl -s "$URL" >"$tmp/o"
check corrupt-empty "$(cat "$tmp/o")" jtest 'j=={}' <"$tmp/o"
check corrupt-kept "no captures.json.corrupt" test -s "$tmp/data/sub/captures.json.corrupt"
check corrupt-logged "no error naming the file and position" grep -q "captures.json is corrupt: invalid JSON at line" "$tmp/analyzer.log"

stop "$apid"
rc=$?
check clean-exit "exit status $rc" test $rc = 0
if grep -q "ERROR: AddressSanitizer\|runtime error" "$tmp/analyzer.log"; then
	ko sanitizer "$(grep -m3 "AddressSanitizer\|runtime error" "$tmp/analyzer.log")"
else
	ok sanitizer
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
