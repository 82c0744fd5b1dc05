#!/bin/bash
# tls.sh - TLS end to end (docs/SECURITY.md "TLS"), as root, inside a network namespace
# of our own (prefix sktl<pid>; only its loopback is used): certificates from
# scripts/gen-certs.sh; start-time checks of the files (key/cert mismatch, expired,
# missing) exit 1 naming the file and the check; plain HTTP beyond loopback refused
# unless analyzer.allow_plain_http; an analyzer with mTLS: an agent with the right CA
# and certificate gets its topology in, one with the wrong CA, one without a client
# certificate and one with a certificate of another CA are refused with the reason
# in both logs; `skydive client` over https with --cacert/--cert/--key, and its
# errors for a wrong CA and a hostname mismatch; client certificates as user
# identities (analyzer.auth.api.tls_client_identity: CN or email SAN, policy g roles).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
NS=sktl$$

if [ "$(id -u)" != 0 ]; then
	echo "tls: needs root (network namespaces)"; echo "0 passed, 1 failed"; exit 1
fi
for tool in ip curl openssl jq; do
	command -v $tool >/dev/null || { ko setup "$tool missing"; finish; }
done
cleanup() {
	harness_cleanup
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || { ko setup "cannot create namespace $NS"; finish; }
X="ip netns exec $NS"
export SKYDIVE_ANALYZER_ALLOW_ROOT=true SKYDIVE_ANALYZER_DATA_DIR=$tmp/data

C=$tmp/certs W=$tmp/wrong
"$root/scripts/gen-certs.sh" -d "$C" --agent a1 --user admin --user alice --user mallory 2>"$tmp/gen.log" &&
	"$root/scripts/gen-certs.sh" -d "$W" --agent rogue 2>>"$tmp/gen.log"
check gen-certs "$(cat "$tmp/gen.log")" eval 'openssl verify -CAfile "$C/ca.crt" "$C/server.crt" "$C/agent-a1.crt" "$C/user-admin.crt" >/dev/null &&
	openssl x509 -in "$C/server.crt" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" &&
	[ "$(stat -c %a "$C/server.key")" = 600 ] && ! openssl verify -CAfile "$W/ca.crt" "$C/server.crt" >/dev/null 2>&1'
# An expired certificate of the right CA (OpenSSL 3: negative days).
openssl req -new -key "$C/server.key" -subj /CN=old -out "$tmp/old.csr" 2>/dev/null &&
	openssl x509 -req -in "$tmp/old.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -days -1 -out "$tmp/old.crt" 2>/dev/null

# start_fail NAME GREP [ENV...]: the analyzer must exit 1 at once with GREP in stderr.
start_fail() {
	local name=$1 want=$2; shift 2
	$X env "$@" timeout 10 "$SKYDIVE" analyzer --listen "${LISTEN:-127.0.0.1:8443}" >/dev/null 2>"$tmp/$name.err"
	local rc=$?
	check "$name" "exit $rc: $(head -c 400 "$tmp/$name.err")" eval '[ $rc = 1 ] && grep -qF -- "$want" "$tmp/$name.err"'
}
start_fail start-key-mismatch "tls.server_key '$C/agent-a1.key' does not match the certificate tls.server_cert '$C/server.crt'" \
	SKYDIVE_TLS_SERVER_CERT="$C/server.crt" SKYDIVE_TLS_SERVER_KEY="$C/agent-a1.key"
start_fail start-expired "tls.server_cert '$tmp/old.crt': the certificate expired on" \
	SKYDIVE_TLS_SERVER_CERT="$tmp/old.crt" SKYDIVE_TLS_SERVER_KEY="$C/server.key"
start_fail start-missing-ca "tls.ca_cert '$tmp/nope.crt': cannot open: No such file or directory" \
	SKYDIVE_TLS_SERVER_CERT="$C/server.crt" SKYDIVE_TLS_SERVER_KEY="$C/server.key" SKYDIVE_TLS_CA_CERT="$tmp/nope.crt"
start_fail start-not-pem "tls.server_cert '$C/server.key': not a PEM certificate" \
	SKYDIVE_TLS_SERVER_CERT="$C/server.key" SKYDIVE_TLS_SERVER_KEY="$C/server.key"
start_fail start-require-no-ca "tls.require_client_cert needs tls.ca_cert" \
	SKYDIVE_TLS_SERVER_CERT="$C/server.crt" SKYDIVE_TLS_SERVER_KEY="$C/server.key" SKYDIVE_TLS_REQUIRE_CLIENT_CERT=true
start_fail start-identity-no-ca "analyzer.auth.api.tls_client_identity needs TLS with a CA for client certificates" \
	SKYDIVE_TLS_SERVER_CERT="$C/server.crt" SKYDIVE_TLS_SERVER_KEY="$C/server.key" SKYDIVE_ANALYZER_AUTH_API_TLS_CLIENT_IDENTITY=true
LISTEN=0.0.0.0:8080 start_fail plain-any-refused "refusing to serve plain HTTP on 0.0.0.0:8080" SKYDIVE_X=1
# The agent checks its files too (agent.listen none: no API of its own).
SKYDIVE_TLS_CLIENT_CERT="$C/agent-a1.crt" SKYDIVE_TLS_CLIENT_KEY="$C/user-admin.key" $X timeout 10 "$SKYDIVE" agent \
	--analyzer 127.0.0.1:8443 --listen none --netns-run-path '' >/dev/null 2>"$tmp/ag-mismatch.err"
rc=$?
check agent-key-mismatch "exit $rc: $(head -c 300 "$tmp/ag-mismatch.err")" eval '[ $rc = 1 ] && grep -qF "tls.client_key '"'$C/user-admin.key'"' does not match the certificate tls.client_cert" "$tmp/ag-mismatch.err"'

# Plain HTTP on every address when explicitly allowed (inside the namespace only; the
# authentication rule for non-loopback addresses wants its own explicit noauth).
$X env SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer --listen 0.0.0.0:8080 >/dev/null 2>"$tmp/plain.log" &
pids+=($!)
okp=0
for _ in $(seq 100); do $X curl -sf http://127.0.0.1:8080/api >/dev/null && { okp=1; break; }; sleep 0.1; done
check plain-any-allowed "$(head -c 300 "$tmp/plain.log")" eval '[ $okp = 1 ] && grep -q "serving plain HTTP on 0.0.0.0:8080" "$tmp/plain.log"'

# The mTLS analyzer.
cat >"$tmp/an.yml" <<EOF
tls:
  server_cert: $C/server.crt
  server_key: $C/server.key
  ca_cert: $C/ca.crt
  require_client_cert: true
EOF
$X "$SKYDIVE" analyzer -c "$tmp/an.yml" --listen 127.0.0.1:8443 --host-id an >/dev/null 2>"$tmp/an.log" &
pids+=($!)
CURL="$X curl -s -m 5 --cacert $C/ca.crt --cert $C/user-admin.crt --key $C/user-admin.key"
up=0
for _ in $(seq 100); do $CURL -f https://127.0.0.1:8443/api >/dev/null && { up=1; break; }; sleep 0.1; done
check tls-analyzer-up "$(head -c 300 "$tmp/an.log")" [ $up = 1 ]
check plain-to-tls-refused "plain HTTP answered" eval '! $X curl -sf -m 5 http://127.0.0.1:8443/api >/dev/null'

# agent NAME ENV...: an agent in the namespace, log in $tmp/NAME.log.
agent() {
	local name=$1; shift
	$X env "$@" "$SKYDIVE" agent --analyzer 127.0.0.1:8443 --host-id "$name" --listen none \
		--netns-run-path '' >/dev/null 2>"$tmp/$name.log" &
	pids+=($!)
}
# wait_log FILE TEXT: until TEXT is in FILE (10 s at most).
wait_log() { for _ in $(seq 100); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
agent good SKYDIVE_TLS_CA_CERT="$C/ca.crt" SKYDIVE_TLS_CLIENT_CERT="$C/agent-a1.crt" SKYDIVE_TLS_CLIENT_KEY="$C/agent-a1.key"
agent wrongca SKYDIVE_TLS_CA_CERT="$W/ca.crt" SKYDIVE_TLS_CLIENT_CERT="$C/agent-a1.crt" SKYDIVE_TLS_CLIENT_KEY="$C/agent-a1.key"
agent nocert SKYDIVE_TLS_CA_CERT="$C/ca.crt"
agent rogue SKYDIVE_TLS_CA_CERT="$C/ca.crt" SKYDIVE_TLS_CLIENT_CERT="$W/agent-rogue.crt" SKYDIVE_TLS_CLIENT_KEY="$W/agent-rogue.key"

n=0
for _ in $(seq 100); do
	n=$($CURL -XPOST https://127.0.0.1:8443/api/topology -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has(\"Host\",\"good\").Count()"}')
	[ "${n:-0}" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
check agent-wss-topology "nodes of host good: '$n'; $(tail -c 300 "$tmp/good.log")" eval '[ "${n:-0}" -gt 0 ] 2>/dev/null'
check agent-wrong-ca-logged "$(tail -c 400 "$tmp/wrongca.log")" \
	wait_log "$tmp/wrongca.log" "analyzer certificate refused: the certificate is not signed by a CA in tls.ca_cert (wrong CA?)"
check agent-nocert-analyzer-log "$(grep TLS "$tmp/an.log" | head -c 400)" \
	wait_log "$tmp/an.log" "it sent no client certificate, and tls.require_client_cert is set"
check agent-nocert-agent-log "$(tail -c 400 "$tmp/nocert.log")" wait_log "$tmp/nocert.log" "set tls.client_cert and tls.client_key"
check agent-rogue-analyzer-log "$(grep TLS "$tmp/an.log" | head -c 400)" \
	wait_log "$tmp/an.log" "refused the client certificate of 127.0.0.1:"
check agent-rogue-reason "$(grep TLS "$tmp/an.log" | head -c 400)" \
	eval 'grep "refused the client certificate" "$tmp/an.log" | grep -q "not signed by a CA in tls.ca_cert.*CN=rogue"'
st=$($CURL https://127.0.0.1:8443/api/status)
check refused-agents-absent "Agents: $(echo "$st" | jq -c '.Agents | keys' 2>/dev/null)" \
	eval 'echo "$st" | jq -e ".Agents | has(\"good\") and (has(\"wrongca\") or has(\"nocert\") or has(\"rogue\") | not)" >/dev/null'

# skydive client over https.
cl() { $X "$SKYDIVE" client "$@"; }
cl query "G.V().Has('Host','good').Count()" --analyzer 127.0.0.1:8443 --cacert "$C/ca.crt" \
	--cert "$C/user-admin.crt" --key "$C/user-admin.key" >"$tmp/cq.out" 2>"$tmp/cq.err"
check client-https-query "$(cat "$tmp/cq.err")" eval '[ "$(cat "$tmp/cq.out")" -gt 0 ] 2>/dev/null'
cl status --analyzer 127.0.0.1:8443 --cacert "$W/ca.crt" --cert "$C/user-admin.crt" --key "$C/user-admin.key" >/dev/null 2>"$tmp/cw.err"
rc=$?
check client-wrong-ca "exit $rc: $(cat "$tmp/cw.err")" eval '[ $rc = 1 ] && grep -qi "TLS with the analyzer at 127.0.0.1:8443 failed.*certificate" "$tmp/cw.err"'
# 127.0.0.2 is loopback too, but not in the server certificate's names.
$X env SKYDIVE_TLS_SERVER_CERT="$C/server.crt" SKYDIVE_TLS_SERVER_KEY="$C/server.key" "$SKYDIVE" analyzer \
	--listen 127.0.0.2:8444 --host-id an2 >/dev/null 2>"$tmp/an2.log" &
pids+=($!)
for _ in $(seq 100); do $X curl -sk -m 2 https://127.0.0.2:8444/api >/dev/null && break; sleep 0.1; done
cl status --analyzer 127.0.0.2:8444 --cacert "$C/ca.crt" >/dev/null 2>"$tmp/ch.err"
rc=$?
check client-hostname-mismatch "exit $rc: $(cat "$tmp/ch.err")" eval '[ $rc = 1 ] && grep -qi "127.0.0.2.*\(subject\|name\)" "$tmp/ch.err"'
agent mism SKYDIVE_TLS_CA_CERT="$C/ca.crt"
$X env SKYDIVE_TLS_CA_CERT="$C/ca.crt" "$SKYDIVE" agent --analyzer 127.0.0.2:8444 --host-id mism2 --listen none \
	--netns-run-path '' >/dev/null 2>"$tmp/mism2.log" &
pids+=($!)
check agent-hostname-mismatch "$(tail -c 400 "$tmp/mism2.log")" wait_log "$tmp/mism2.log" "hostname mismatch"
# ---- client certificates as user identities (analyzer.auth.api.tls_client_identity) ----
# Basic users beside certificates; no tls.require_client_cert: a certificate is asked
# for, verified when it comes, and clients without one go on to passwords.
# A certificate with no commonName, named by its email subjectAltName only.
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=clientAuth" "subjectAltName=email:bob@example.org" >"$tmp/san.ext"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/bob.key" 2>/dev/null &&
	openssl req -new -key "$tmp/bob.key" -subj "/O=Skydive test" -out "$tmp/bob.csr" 2>/dev/null &&
	openssl x509 -req -in "$tmp/bob.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -days 2 \
		-extfile "$tmp/san.ext" -out "$tmp/bob.crt" 2>/dev/null
cat >"$tmp/id.yml" <<EOF
tls:
  server_cert: $C/server.crt
  server_key: $C/server.key
  ca_cert: $C/ca.crt
auth:
  users1:
    type: basic
    users: {viewer1: v1ew}
analyzer:
  auth:
    api:
      backend: users1
      tls_client_identity: true
rbac:
  policy:
    - "g, alice, operator"
    - "g, bob@example.org, viewer"
    - "g, viewer1, viewer"
EOF
$X "$SKYDIVE" analyzer -c "$tmp/id.yml" --listen 127.0.0.1:8445 --host-id idan >/dev/null 2>"$tmp/id.log" &
pids+=($!)
IDU=https://127.0.0.1:8445
# icurl NAME WHO [curl args]: status in $code, body in $tmp/NAME.b (WHO: a user
# certificate of gen-certs.sh, bob, or - for none)
icurl() {
	local n=$1 who=$2; shift 2
	local c=()
	case $who in
	-) ;;
	bob) c=(--cert "$tmp/bob.crt" --key "$tmp/bob.key") ;;
	*) c=(--cert "$C/user-$who.crt" --key "$C/user-$who.key") ;;
	esac
	code=$($X curl -s -m 5 --cacert "$C/ca.crt" "${c[@]}" -o "$tmp/$n.b" -w '%{http_code}' "$@")
}
for _ in $(seq 100); do icurl up - "$IDU/api"; [ "$code" = 401 ] && break; sleep 0.1; done
check id-up "$code $(head -c 300 "$tmp/id.log")" [ "$code" = 401 ]
icurl alice-topo alice "$IDU/api/topology"
check id-cert-user "alice's certificate, no password: $code" [ "$code" = 200 ]
icurl alice-cap alice -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has(\"Name\",\"lo\")"}' "$IDU/api/capture"
check id-cert-operator-capture "$code $(head -c 200 "$tmp/alice-cap.b")" [ "$code" = 201 ]
icurl alice-raw alice -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.Flows().RawPackets()"}' "$IDU/api/topology"
check id-cert-operator-403 "$code $(cat "$tmp/alice-raw.b")" \
	eval '[ "$code" = 403 ] && grep -q "RawPackets() needs the capture rawpackets permission" "$tmp/alice-raw.b"'
icurl mallory mallory "$IDU/api/status"
check id-cert-no-role-403 "a CA-signed certificate without a g line: $code $(cat "$tmp/mallory.b")" \
	eval '[ "$code" = 403 ] && grep -qF "user mallory (no role) may not read status" "$tmp/mallory.b"'
icurl bob bob "$IDU/api/topology"
bobcode=$code
icurl bob-cap bob -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V()"}' "$IDU/api/capture"
check id-cert-san-email "bob (email SAN, no CN): $bobcode, capture $code $(cat "$tmp/bob-cap.b")" \
	eval '[ "$bobcode" = 200 ] && [ "$code" = 403 ] && grep -qF "user bob@example.org (role viewer) may not write capture" "$tmp/bob-cap.b"'
icurl nocert - "$IDU/api/topology"
check id-no-cert-401 "no certificate, no password: $code" [ "$code" = 401 ]
icurl pw - -u viewer1:v1ew "$IDU/api/topology"
check id-password-still "no certificate, a password: $code" [ "$code" = 200 ]
icurl both alice -u viewer1:v1ew -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V()"}' "$IDU/api/capture"
check id-credentials-win "alice's certificate with viewer1's password: $code $(cat "$tmp/both.b")" \
	eval '[ "$code" = 403 ] && grep -q "user viewer1 " "$tmp/both.b"'
code=$($X curl -s -m 5 --cacert "$C/ca.crt" --cert "$W/agent-rogue.crt" --key "$W/agent-rogue.key" \
	-o /dev/null -w '%{http_code}' "$IDU/api")
check id-wrong-ca-refused "another CA's certificate: $code" \
	eval '[ "$code" = 000 ] && wait_log "$tmp/id.log" "refused the client certificate"'
wsh() { # wsh PATH: a WebSocket handshake with alice's certificate; prints the status
	$X curl -s -m 3 --http1.1 --cacert "$C/ca.crt" --cert "$C/user-alice.crt" --key "$C/user-alice.key" \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'X-Host-ID: idws' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -o /dev/null -w '%{http_code}' "$IDU$1"
}
code=$(wsh /ws/subscriber)
check id-cert-websocket "alice's certificate on /ws/subscriber: $code" [ "$code" = 101 ]
code=$(wsh /ws/agent/topology)
check id-cert-websocket-403 "an operator's certificate on /ws/agent/topology: $code" [ "$code" = 403 ]
# ---- peering over TLS (docs/DEPLOY.md "Peering"): two mTLS analyzers listing each
# other, each with a client certificate of the CA for its links to the other's
# /ws/replication; an agent on the first has its nodes on the second. A third one
# without a client certificate is refused by the first, the reason in both logs. ----
peer_an() { # N PORT CLIENT_CERT_YAML
	cat >"$tmp/peer$1.yml" <<EOF
analyzers: [127.0.0.1:8461, 127.0.0.1:8462, 127.0.0.1:8463]
tls:
  server_cert: $C/server.crt
  server_key: $C/server.key
  ca_cert: $C/ca.crt
  require_client_cert: true
$3
EOF
	$X env SKYDIVE_ANALYZER_DATA_DIR="$tmp/peer$1" "$SKYDIVE" analyzer -c "$tmp/peer$1.yml" \
		--listen "127.0.0.1:$2" --host-id "peer$1" >/dev/null 2>"$tmp/peer$1.log" &
	pids+=($!)
}
PCERT="  client_cert: $C/agent-a1.crt
  client_key: $C/agent-a1.key"
peer_an 1 8461 "$PCERT"
peer_an 2 8462 "$PCERT"
for port in 8461 8462; do
	for _ in $(seq 100); do $CURL -f "https://127.0.0.1:$port/api" >/dev/null && break; sleep 0.1; done
done
$X env SKYDIVE_TLS_CA_CERT="$C/ca.crt" SKYDIVE_TLS_CLIENT_CERT="$C/agent-a1.crt" SKYDIVE_TLS_CLIENT_KEY="$C/agent-a1.key" \
	"$SKYDIVE" agent --analyzer 127.0.0.1:8461 --host-id pgood --listen none --netns-run-path '' >/dev/null 2>"$tmp/pgood.log" &
pids+=($!)
n=0
for _ in $(seq 150); do
	n=$($CURL -XPOST https://127.0.0.1:8462/api/topology -H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has(\"Host\",\"pgood\").Count()"}')
	[ "${n:-0}" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
check peering-over-tls "nodes of pgood (on peer1) seen on peer2: '$n'; $(grep -i "peer\|replication\|TLS" "$tmp/peer2.log" | tail -c 400)" \
	eval '[ "${n:-0}" -gt 0 ] 2>/dev/null'
st=$($CURL https://127.0.0.1:8462/api/status)
check peering-links-connected "$(echo "$st" | jq -c '.Peers' 2>/dev/null | head -c 400)" \
	eval 'echo "$st" | jq -e ".Peers.Outgoers[\"127.0.0.1:8461\"].Connected == true" >/dev/null'
peer_an 3 8463 ""
check peer-nocert-refused-log "$(tail -c 600 "$tmp/peer1.log")" \
	wait_log "$tmp/peer1.log" "it sent no client certificate, and tls.require_client_cert is set"
check peer-nocert-own-log "$(grep -i "tls\|cert" "$tmp/peer3.log" | head -c 400)" \
	wait_log "$tmp/peer3.log" "set tls.client_cert and tls.client_key"
finish
