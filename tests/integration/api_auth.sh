#!/bin/bash
# api_auth.sh - authentication and its wiring to RBAC (docs/API.md "Authentication",
# issue 9 items 1 and 2): every REST path and WebSocket without credentials -> 401,
# wrong password -> 401, right -> 200; /login tokens as Bearer, cookie and
# x-auth-token; revoked -> 401; failed logins throttled (429, Retry-After); a viewer
# creating a capture -> 403; an operator's RawPackets() and PCAP -> 403; an agent with
# wrong cluster credentials refused and logged, with right ones connected; the client's
# --username/--password; a non-loopback listener without a backend refuses to start;
# tokens survive a restart of the analyzer, revoked ones stay revoked.
# Everything runs in a network namespace this test creates (its own loopback).
# Needs root (ip netns), curl, htpasswd (apache2-utils), openssl.
. "$(dirname "$0")/lib/harness.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP api_auth: needs root (ip netns)"; echo "0 passed, 0 failed"; exit 0; }
for t in htpasswd openssl curl ip; do
	command -v $t >/dev/null || { echo "FAIL tools: $t missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
export SKYDIVE_ANALYZER_ALLOW_ROOT=true # the suite runs as root; the analyzer refuses it otherwise
# 0.0.0.0 below is inside the test's namespace: plain HTTP there is what the TLS check
# would refuse first; this test is about the authentication check behind it
export SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true
NS=skyauth$$
ip netns add "$NS" || { echo "FAIL netns: cannot create $NS"; echo "0 passed, 1 failed"; exit 1; }
ip -n "$NS" link set lo up
cleanup() { harness_cleanup; ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
# (processes started in the background call ip netns exec directly, not X: $! of a
# backgrounded function is a subshell, and killing it would leave the server running)
X() { ip netns exec "$NS" "$@"; }

# Users: admin (bcrypt, htpasswd -B), viewer1 and operator1 (SHA-512 crypt, openssl).
htpasswd -bBc "$tmp/htpasswd" admin 'adm1n pass' 2>/dev/null
echo "viewer1:$(openssl passwd -6 -salt viewsalt 'v1ew')" >>"$tmp/htpasswd"
echo "operator1:$(openssl passwd -6 -salt opersalt 'op3r')" >>"$tmp/htpasswd"
cat >"$tmp/skydive.yml" <<EOF
auth:
  users1:
    type: basic
    file: $tmp/htpasswd
analyzer:
  auth:
    api:
      backend: users1
    throttle:
      failures: 3
      delay: 60
rbac:
  policy:
    - "g, viewer1, viewer"
    - "g, operator1, operator"
EOF
PORT=18082
URL=http://127.0.0.1:$PORT
# start_analyzer LOG: the analyzer of this test (its pid in $APID), waiting for its 401
start_analyzer() {
	ip netns exec "$NS" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" analyzer -c "$tmp/skydive.yml" \
		--listen "127.0.0.1:$PORT" --host-id analyzer 2>"$1" &
	APID=$!
	pids+=($APID)
	for _ in $(seq 1 100); do
		[ "$(X curl -s -o /dev/null -w '%{http_code}' "$URL/api")" = 401 ] && break
		sleep 0.1
	done
}
start_analyzer "$tmp/analyzer.log"

# req NAME [curl args]: body in $tmp/NAME.b, headers in $tmp/NAME.h, status in $code.
req() {
	local n=$1; shift
	code=$(X curl -s -o "$tmp/$n.b" -D "$tmp/$n.h" -w '%{http_code}' --max-time 10 "$@")
}
hdr() { tr -d '\r' <"$tmp/$1.h" | sed -n "s/^$2: //Ip" | head -1; }
# cj CODE WANT FILE EXPR: the status is WANT and the JSON in FILE satisfies EXPR.
cj() { [ "$1" = "$2" ] && jtest "$4" <"$3"; }
# ws NAME PATH [curl args]: a WebSocket handshake; $code is its HTTP status (101 = open).
ws() {
	local n=$1 p=$2; shift 2
	code=$(X curl -s -o "$tmp/$n.b" -w '%{http_code}' --max-time 2 --http1.1 \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'X-Host-ID: probe' "$@" "$URL$p")
}
ADMIN=(-u 'admin:adm1n pass')

# ---- without credentials: 401 with a JSON reason on every REST path -----------------
for p in /api /api/status /api/topology /api/capture /api/config/host_id /api/nope; do
	req noauth "$URL$p"
	check "401-GET$p" "$code $(head -c 150 "$tmp/noauth.b")" \
		cj "$code" 401 "$tmp/noauth.b" '"authentication required" in j["Error"]'
done
req noauth-post -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V()"}' "$URL/api/topology"
check 401-POST-topology "$code" test "$code" = 401
req noauth-pcap -H 'Content-Type: application/vnd.tcpdump.pcap' --data-binary @/dev/null "$URL/api/pcap"
check 401-POST-pcap "$code" test "$code" = 401
check 401-www-authenticate "'$(hdr noauth-post www-authenticate)'" \
	test -n "$(hdr noauth-post www-authenticate)"
for p in /ws/agent/topology /ws/agent/flow /ws/publisher /ws/subscriber /ws/pubsub; do
	ws wsnoauth "$p"
	check "401-ws$p" "handshake without credentials: $code $(head -c 150 "$tmp/wsnoauth.b")" \
		cj "$code" 401 "$tmp/wsnoauth.b" '"authentication required" in j["Error"]'
done
# public: the login form and pre-flights
req login-get "$URL/login"
check public-login "GET /login: $code" test "$code" = 302
req preflight -X OPTIONS -H 'Origin: http://x' -H 'Access-Control-Request-Method: POST' "$URL/api/topology"
check public-options "OPTIONS: $code" test "$code" = 200

# ---- basic credentials -------------------------------------------------------------
req right "${ADMIN[@]}" "$URL/api"
check basic-right "$code $(cat "$tmp/right.b")" cj "$code" 200 "$tmp/right.b" 'j["Service"]=="analyzer"'
req wrong -u 'admin:nope' "$URL/api"
check basic-wrong "$code $(cat "$tmp/wrong.b")" cj "$code" 401 "$tmp/wrong.b" 'j["Error"]=="Wrong credentials"'
req unknown -u 'mallory:x' "$URL/api/status"
check basic-unknown-user "$code" test "$code" = 401
req sha -u 'viewer1:v1ew' "$URL/api/topology"
check basic-sha512 "viewer1 (openssl passwd -6): $code" test "$code" = 200
check wrong-logged "no log line with the peer address" \
	grep -q "wrong credentials for user 'admin' from 127.0.0.1" "$tmp/analyzer.log"
ws wsright /ws/subscriber "${ADMIN[@]}"
check ws-basic-right "subscriber with basic credentials: $code" test "$code" = 101

# ---- /login tokens -----------------------------------------------------------------
req login --data-urlencode 'username=admin' --data-urlencode 'password=adm1n pass' "$URL/login"
check login "$code $(head -c 120 "$tmp/login.b")" cj "$code" 200 "$tmp/login.b" \
	'len(j["Token"])==64 and {"Object":"capture","Action":"write","Allowed":True} in j["Permissions"]'
TOK=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Token"])' "$tmp/login.b" 2>/dev/null)
check login-cookie "Set-Cookie '$(grep -i '^set-cookie: authtoken' "$tmp/login.h" | head -c 100)'" \
	grep -qi "^set-cookie: authtoken=$TOK; Path=/; HttpOnly; SameSite=Strict" "$tmp/login.h"
req bearer -H "Authorization: Bearer $TOK" "$URL/api/status"
check token-bearer "$code" cj "$code" 200 "$tmp/bearer.b" '"Auth" in j and j["Auth"]["Tokens"]["Live"]>=1'
req cookie -b "authtoken=$TOK" "$URL/api"
check token-cookie "$code" test "$code" = 200
# as a browser sends it: with the (some KB) permissions cookie /login set too
PERMS=$(tr -d '\r' <"$tmp/login.h" | sed -n 's/^set-cookie: permissions=\([^;]*\);.*/\1/Ip')
req cookie2 -b "permissions=$PERMS; authtoken=$TOK" "$URL/api"
check token-cookie-beside-permissions "$code (permissions cookie ${#PERMS} bytes)" \
	test "$code" = 200 -a "${#PERMS}" -gt 1000
req urlarg "$URL/api?x-auth-token=$TOK"
check token-urlarg "$code" test "$code" = 200
ws wstoken "/ws/subscriber?x-auth-token=$TOK"
check ws-token-urlarg "browser-style subscriber: $code" test "$code" = 101
req badtok -H "Authorization: Bearer ${TOK%?}0" "$URL/api"
[ "${TOK: -1}" = 0 ] && req badtok -H "Authorization: Bearer ${TOK%?}1" "$URL/api"
check token-wrong "$code $(cat "$tmp/badtok.b")" cj "$code" 401 "$tmp/badtok.b" '"token" in j["Error"]'
req logout -X POST -H "Authorization: Bearer $TOK" "$URL/logout"
check logout "$code $(cat "$tmp/logout.b")" cj "$code" 200 "$tmp/logout.b" 'j["Revoked"] is True'
req revoked -H "Authorization: Bearer $TOK" "$URL/api"
check token-revoked "$code $(cat "$tmp/revoked.b")" cj "$code" 401 "$tmp/revoked.b" '"revoked" in j["Error"]'
req login-wrong -d 'username=admin&password=bad' "$URL/login"
check login-wrong "$code $(cat "$tmp/login-wrong.b")" cj "$code" 401 "$tmp/login-wrong.b" 'j["Error"]=="Wrong credentials"'

# ---- RBAC: viewer and operator (policy g lines) ----------------------------------
CAP='{"GremlinQuery":"G.V().Has(\"Name\",\"lo\")"}'
req viewer-cap -u 'viewer1:v1ew' -H 'Content-Type: application/json' -d "$CAP" "$URL/api/capture"
check viewer-capture-403 "$code $(cat "$tmp/viewer-cap.b")" cj "$code" 403 "$tmp/viewer-cap.b" \
	'j["Error"]=="user viewer1 (role viewer) may not write capture"'
req viewer-read -u 'viewer1:v1ew' "$URL/api/capture"
check viewer-capture-list "$code" test "$code" = 200
req op-cap -u 'operator1:op3r' -H 'Content-Type: application/json' -d "$CAP" "$URL/api/capture"
check operator-capture "$code $(head -c 150 "$tmp/op-cap.b")" test "$code" = 201
req op-raw -u 'operator1:op3r' -H 'Content-Type: application/json' \
	-d '{"GremlinQuery":"G.Flows().RawPackets()"}' "$URL/api/topology"
check operator-rawpackets-403 "$code $(cat "$tmp/op-raw.b")" cj "$code" 403 "$tmp/op-raw.b" '"rawpackets" in j["Error"]'
req op-pcap -u 'operator1:op3r' -H 'Content-Type: application/json' -H 'Accept: application/vnd.tcpdump.pcap' \
	-d '{"GremlinQuery":"G.Flows()"}' "$URL/api/topology"
check operator-pcap-403 "$code $(cat "$tmp/op-pcap.b")" cj "$code" 403 "$tmp/op-pcap.b" '"rawpackets capture" in j["Error"]'
req admin-raw "${ADMIN[@]}" -H 'Content-Type: application/json' \
	-d '{"GremlinQuery":"G.Flows().RawPackets()"}' "$URL/api/topology"
check admin-rawpackets "$code $(head -c 150 "$tmp/admin-raw.b")" test "$code" = 200
ws wsviewer /ws/agent/topology -u 'viewer1:v1ew'
check ws-viewer-agent-403 "viewer on /ws/agent/topology: $code" test "$code" = 403
req secret "${ADMIN[@]}" "$URL/api/config/auth"
check config-secrets "$code $(head -c 200 "$tmp/secret.b")" test "$code" != 500

# ---- cluster: agents -----------------------------------------------------------------
ip netns exec "$NS" env SKYDIVE_AGENT_AUTH_CLUSTER_USERNAME=admin SKYDIVE_AGENT_AUTH_CLUSTER_PASSWORD=wrong \
	SKYDIVE_ANALYZERS="127.0.0.1:$PORT" "$SKYDIVE" agent --host-id rogue --listen none \
	--netns-run-path '' 2>"$tmp/rogue.log" &
pids+=($!)
for _ in $(seq 1 100); do
	grep -q "wrong credentials for user 'admin' from 127.0.0.1 .*WebSocket /ws/agent/topology" \
		"$tmp/analyzer.log" && break
	sleep 0.1
done
check rogue-agent-logged "no refusal of the rogue agent in the analyzer log" \
	grep -q "wrong credentials for user 'admin' from 127.0.0.1 .*WebSocket /ws/agent/topology" "$tmp/analyzer.log"
req st1 "${ADMIN[@]}" "$URL/api/status"
check rogue-agent-absent "$(head -c 200 "$tmp/st1.b")" cj "$code" 200 "$tmp/st1.b" '"rogue" not in j["Agents"]'
kill "${pids[-1]}" 2>/dev/null
ip netns exec "$NS" env SKYDIVE_AGENT_AUTH_CLUSTER_USERNAME=admin SKYDIVE_AGENT_AUTH_CLUSTER_PASSWORD='adm1n pass' \
	SKYDIVE_ANALYZERS="127.0.0.1:$PORT" "$SKYDIVE" agent --host-id good --listen none \
	--netns-run-path '' 2>"$tmp/agent.log" &
GOOD=$!
pids+=($GOOD)
for _ in $(seq 1 100); do
	req st2 "${ADMIN[@]}" "$URL/api/status"
	jtest '"good" in j["Agents"]' <"$tmp/st2.b" && break
	sleep 0.1
done
check agent-right-credentials "$(head -c 200 "$tmp/st2.b")" jtest '"good" in j["Agents"]' <"$tmp/st2.b"

# ---- the client ----------------------------------------------------------------------
X "$SKYDIVE" client status --analyzer "127.0.0.1:$PORT" --username admin --password 'adm1n pass' \
	>"$tmp/client.out" 2>"$tmp/client.err"
check client-basic "rc $? $(head -c 200 "$tmp/client.err")" jtest '"Agents" in j' <"$tmp/client.out"
X "$SKYDIVE" client status --analyzer "127.0.0.1:$PORT" >/dev/null 2>"$tmp/client2.err"
rc=$?
check client-no-credentials "rc $rc: $(head -c 200 "$tmp/client2.err")" \
	test $rc != 0 -a -n "$(grep 401 "$tmp/client2.err")"
printf '{"Nodes":[{"ID":"auth-n1","Metadata":{"Name":"imported","Type":"device"}}],"Edges":[]}' >"$tmp/g.json"
X "$SKYDIVE" client topology import --file "$tmp/g.json" --analyzer "127.0.0.1:$PORT" \
	--username admin --password 'adm1n pass' >/dev/null 2>"$tmp/import.err"
req imp "${ADMIN[@]}" -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has(\"Name\",\"imported\")"}' "$URL/api/topology"
check client-ws-import "$code $(head -c 200 "$tmp/import.err")" cj "$code" 200 "$tmp/imp.b" 'len(j)==1'

# ---- tokens survive a restart; revoked ones stay revoked ------------------------------
# The agent goes first: reconnecting to the restarted analyzer, its right password would
# clear 127.0.0.1's failed-login count in the middle of the throttle checks below.
kill "$GOOD"; wait "$GOOD" 2>/dev/null
tok_of() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Token"])' "$1" 2>/dev/null; }
req vlogin --data-urlencode 'username=viewer1' --data-urlencode 'password=v1ew' "$URL/login"
VTOK=$(tok_of "$tmp/vlogin.b")
req olog --data-urlencode 'username=operator1' --data-urlencode 'password=op3r' "$URL/login"
OTOK=$(tok_of "$tmp/olog.b")
req ologout -X POST -H "Authorization: Bearer $OTOK" "$URL/logout"
check restart-logins "viewer '$VTOK' operator '$OTOK' logout $code" \
	test ${#VTOK} = 64 -a ${#OTOK} = 64 -a "$code" = 200
TF=$tmp/data/tokens.json
check token-file-0600 "$(stat -c '%a %F' "$TF" 2>&1)" test "$(stat -c '%a %F' "$TF" 2>&1)" = "600 regular file"
check token-file-no-token-text "a token's text is in $TF" \
	sh -c "! grep -q -e '$VTOK' -e '$OTOK' '$TF' && grep -q \"\$(printf %s '$VTOK' | sha256sum | cut -c1-64)\" '$TF'"
kill "$APID"; wait "$APID" 2>/dev/null
start_analyzer "$tmp/analyzer2.log"
check restart-tokens-loaded "$(grep 'login tokens kept' "$tmp/analyzer2.log")" \
	grep -q 'auth: 1 login tokens kept from .*tokens.json' "$tmp/analyzer2.log"
req vafter -H "Authorization: Bearer $VTOK" "$URL/api/topology"
check restart-token-works "viewer's token after a restart: $code $(head -c 100 "$tmp/vafter.b")" test "$code" = 200
req vcap -H "Authorization: Bearer $VTOK" -H 'Content-Type: application/json' -d "$CAP" "$URL/api/capture"
check restart-token-same-user "$code $(cat "$tmp/vcap.b")" cj "$code" 403 "$tmp/vcap.b" \
	'j["Error"]=="user viewer1 (role viewer) may not write capture"'
req oafter -H "Authorization: Bearer $OTOK" "$URL/api"
check restart-revoked-stays "operator's revoked token after a restart: $code" cj "$code" 401 "$tmp/oafter.b" '"revoked" in j["Error"]'
req vlogout -X POST -H "Authorization: Bearer $VTOK" "$URL/logout"
kill "$APID"; wait "$APID" 2>/dev/null
start_analyzer "$tmp/analyzer3.log"
req vafter2 -H "Authorization: Bearer $VTOK" "$URL/api"
check restart-logout-stays "logout ($(jtest 'j["Revoked"] is True' <"$tmp/vlogout.b" && echo revoked)), restart: $code" \
	cj "$code" 401 "$tmp/vafter2.b" '"revoked" in j["Error"]'
req adm3 "${ADMIN[@]}" "$URL/api"
check restart-alive "$code" test "$code" = 200

# ---- throttle: 3 free failures, then 429 with Retry-After, also for right passwords --
for i in 1 2 3 4; do req thr -u "operator1:bad$i" "$URL/api"; done
req thr2 -u 'operator1:op3r' "$URL/api"
check throttle-429 "$code $(cat "$tmp/thr2.b")" cj "$code" 429 "$tmp/thr2.b" '"too many failed" in j["Error"]'
check throttle-retry-after "Retry-After '$(hdr thr2 retry-after)'" test "$(hdr thr2 retry-after)" -ge 1
req st3 -H "Authorization: Bearer $TOK" "$URL/api/status" # revoked: 401, not counted as a password failure
req login2 --data-urlencode 'username=admin' --data-urlencode 'password=adm1n pass' "$URL/login"
check throttle-login-429 "$code" test "$code" = 429
# the same on a WebSocket handshake: JSON reason and Retry-After before the 101
code=$(X curl -s -o "$tmp/wsthr.b" -D "$tmp/wsthr.h" -w '%{http_code}' --max-time 2 --http1.1 \
	-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
	-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -u 'operator1:op3r' "$URL/ws/subscriber")
check throttle-ws-429 "$code $(head -c 150 "$tmp/wsthr.b") Retry-After '$(hdr wsthr retry-after)'" \
	sh -c "[ '$code' = 429 ] && [ '$(hdr wsthr retry-after)' -ge 1 ] && grep -q 'too many failed' '$tmp/wsthr.b'"

# ---- beyond loopback: refused without a backend, explicit noauth warns --------------
ip netns exec "$NS" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data2" "$SKYDIVE" analyzer --listen "0.0.0.0:18083" 2>"$tmp/open.log" &
p=$!
for _ in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
if kill -0 $p 2>/dev/null; then kill $p; wait $p; rc=0; else wait $p; rc=$?; fi
check open-refused "rc $rc: $(head -c 300 "$tmp/open.log")" \
	test $rc != 0 -a -n "$(grep -F 'analyzer.auth.api.backend' "$tmp/open.log")"
ip netns exec "$NS" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data2" SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
	"$SKYDIVE" analyzer --listen "0.0.0.0:18083" 2>"$tmp/open2.log" &
pids+=($!)
for _ in $(seq 1 100); do X curl -sf "http://127.0.0.1:18083/api" >/dev/null && break; sleep 0.1; done
check open-noauth-explicit "$(head -c 300 "$tmp/open2.log")" grep -q "noauth: anyone who reaches it" "$tmp/open2.log"

if grep -E 'runtime error|Sanitizer|ERROR' "$tmp"/*.log >/dev/null; then
	ko sanitizer "$(grep -E 'runtime error|Sanitizer|ERROR' "$tmp"/*.log | head -3)"
fi
finish
