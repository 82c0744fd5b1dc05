#!/bin/bash
# etcd_secure.sh - the analyzers' etcd client with TLS and etcd's authentication
# (docs/DEPLOY.md "etcd over TLS, with users"), all on loopback: one etcd (Debian's
# etcd-server) started by the test with https, its certificates from scripts/gen-certs.sh
# and --client-cert-auth, then etcd's auth enabled with a user for the analyzers
# (etcdctl, as root). Checks:
#   - an analyzer with etcd.ca_cert, etcd.client_cert and etcd.client_key registers and is
#     elected (etcdctl sees /analyzer/<host_id>); one without the client certificate is
#     not (its Cluster.Etcd.LastError says what TLS refused);
#   - a wrong etcd.ca_cert file, or a client certificate without its key, stops the
#     analyzer at start naming the key;
#   - etcd.username with etcd.client_cert is refused at start (etcd's JSON gateway refuses
#     client certificates once its auth is on), and etcd restarted without
#     --client-cert-auth for the rest, https still;
#   - auth enabled: an analyzer with etcd.username and etcd.password registers, and a
#     capture created there is in etcd (/capture/<UUID>, read as root); with a wrong
#     password it is refused, LastError naming etcd.username; etcd restarted (the tokens
#     it gave are gone), the analyzer is elected again and a capture deleted afterwards
#     leaves etcd (a refused token is replaced).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/cluster.sh" # wait_st (the analyzers here are on the host's loopback)

for tool in etcd etcdctl curl jq openssl; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
export SKYDIVE_ANALYZER_ALLOW_ROOT=true
C=$tmp/certs
"$root/scripts/gen-certs.sh" -d "$C" --agent an --user root >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL setup: gen-certs.sh: $(tail -3 "$tmp/gen.log")"; echo "0 passed, 1 failed"; exit 1; }

# etcd's own certificate: server and client use (its gRPC gateway, which answers our
# JSON, dials etcd's gRPC port with it, and --client-cert-auth asks it for one too)
printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n' >"$tmp/etcd.ext"
openssl req -new -newkey rsa:2048 -nodes -keyout "$C/etcd.key" -subj "/CN=etcd" -out "$tmp/etcd.csr" 2>/dev/null &&
	openssl x509 -req -in "$tmp/etcd.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 2 \
		-extfile "$tmp/etcd.ext" -out "$C/etcd.crt" 2>/dev/null ||
	{ echo "FAIL setup: cannot make etcd's certificate"; echo "0 passed, 1 failed"; exit 1; }
EC=$(free_port) EP=$(free_port)
ETCD=https://127.0.0.1:$EC
etcd_pid=
start_etcd() { # [--client-cert-auth --trusted-ca-file CA]
	etcd --name sks --data-dir "$tmp/etcd" --listen-client-urls "$ETCD" \
		--advertise-client-urls "$ETCD" --listen-peer-urls "http://127.0.0.1:$EP" \
		--initial-advertise-peer-urls "http://127.0.0.1:$EP" \
		--initial-cluster "sks=http://127.0.0.1:$EP" \
		--cert-file "$C/etcd.crt" --key-file "$C/etcd.key" \
		"$@" --auth-token simple --auth-token-ttl 2 >>"$tmp/etcd.log" 2>&1 &
	etcd_pid=$!
	pids+=($!)
	for _ in $(seq 100); do
		curl -s --cacert "$C/ca.crt" --cert "$C/agent-an.crt" --key "$C/agent-an.key" "$ETCD/health" 2>/dev/null | grep -q true && return 0
		sleep 0.1
	done
	return 1
}
ctl() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD" --cacert "$C/ca.crt" --cert "$C/user-root.crt" --key "$C/user-root.key" "$@"; }
# once etcd runs without --client-cert-auth and with its auth: root by password
ctla() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD" --cacert "$C/ca.crt" --user root:rootpw "$@"; }
start_etcd --client-cert-auth --trusted-ca-file "$C/ca.crt" || { echo "FAIL setup: etcd did not start: $(tail -3 "$tmp/etcd.log")"; echo "0 passed, 1 failed"; exit 1; }

declare -A PORT PID
# start_an N YAML-EXTRA: an analyzer with etcd.servers and the extra etcd keys
start_an() {
	local n=$1
	PORT[$n]=$(free_port)
	printf 'etcd:\n  servers: [%s]\n  client_timeout: 2\n  lease_ttl: 3\n%s\n' "$ETCD" "$2" >"$tmp/an$n.yml"
	SKYDIVE_ANALYZER_DATA_DIR=$tmp/d$n "$SKYDIVE" analyzer -c "$tmp/an$n.yml" \
		--listen "127.0.0.1:${PORT[$n]}" --host-id "an$n" >>"$tmp/an$n.log" 2>&1 &
	PID[$n]=$!
	pids+=("$!")
	wait_api "${PORT[$n]}"
}
status() { curl -s -m 10 "http://127.0.0.1:${PORT[$1]}/api/status"; }
st() { status "$@"; } # lib/cluster.sh's wait_st polls st: no namespace here
stop_an() { kill -TERM "${PID[$1]}" 2>/dev/null; wait "${PID[$1]}" 2>/dev/null; }
TLSYML="  ca_cert: $C/ca.crt
  client_cert: $C/agent-an.crt
  client_key: $C/agent-an.key"
ELECTED='.Cluster.Etcd.Connected == true and .Cluster.Elections["ondemand-client-capture"].IsMaster == true'

# ---- TLS with a client certificate ----
start_an 1 "$TLSYML" || { ko an1-start "$(tail -c 300 "$tmp/an1.log")"; finish; }
if wait_st 15 1 "$ELECTED"; then ok "tls-client-cert (registered and elected over https)"; else ko tls-client-cert "$(echo "$LAST" | jq -c .Cluster)"; fi
check tls-registered-in-etcd "etcdctl: $(ctl get --prefix /analyzer/ --keys-only 2>&1 | head -c 200)" \
	eval '[ "$(ctl get --prefix /analyzer/ --keys-only | grep -c /analyzer/an1)" = 1 ]'
start_an 2 "  ca_cert: $C/ca.crt" || ko an2-start "$(tail -c 300 "$tmp/an2.log")"
if wait_st 10 2 '.Cluster.Etcd.Connected == false and (.Cluster.Etcd.LastError | length > 0)'; then
	ok "tls-no-client-cert-refused ($(echo "$LAST" | jq -r .Cluster.Etcd.LastError | cut -c1-150))"
else
	ko tls-no-client-cert-refused "$(echo "$LAST" | jq -c .Cluster.Etcd)"
fi
stop_an 2
# files checked at start
printf 'etcd:\n  servers: [%s]\n  ca_cert: /dev/null\n' "$ETCD" >"$tmp/bad1.yml"
SKYDIVE_ANALYZER_DATA_DIR=$tmp/bad "$SKYDIVE" analyzer -c "$tmp/bad1.yml" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/bad1.err"
rc=$?
check bad-ca-at-start "exit $rc: $(head -c 300 "$tmp/bad1.err")" \
	eval '[ $rc = 1 ] && grep -qF "etcd.ca_cert '"'"'/dev/null'"'"': no PEM certificate in it" "$tmp/bad1.err"'
printf 'etcd:\n  servers: [%s]\n  client_cert: %s\n' "$ETCD" "$C/agent-an.crt" >"$tmp/bad2.yml"
SKYDIVE_ANALYZER_DATA_DIR=$tmp/bad "$SKYDIVE" analyzer -c "$tmp/bad2.yml" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/bad2.err"
rc=$?
check cert-without-key-at-start "exit $rc: $(head -c 300 "$tmp/bad2.err")" \
	eval '[ $rc = 1 ] && grep -qF "TLS needs both etcd.client_cert and etcd.client_key" "$tmp/bad2.err"'

# ---- etcd's users: root, and skydive with read-write on every key ----
out=$( { ctl user add root:rootpw && ctl user add skydive:skpw && ctl role add skyrw &&
	ctl role grant-permission skyrw --prefix=true readwrite / && ctl user grant-role skydive skyrw &&
	ctl auth enable; } 2>&1)
check auth-enabled "$out" eval 'echo "$out" | grep -q "Authentication Enabled"'
CTLA=(--user root:rootpw)
# etcd's JSON gateway refuses client certificates once its auth is on (400 "CommonName
# of client sending a request against gateway will be ignored"): the pair is refused at
# start, and etcd runs on without --client-cert-auth (nor --trusted-ca-file, which
# makes it ask for one), https still
printf 'etcd:\n  servers: [%s]\n%s\n  username: skydive\n  password: skpw\n' "$ETCD" "$TLSYML" >"$tmp/bad3.yml"
SKYDIVE_ANALYZER_DATA_DIR=$tmp/bad "$SKYDIVE" analyzer -c "$tmp/bad3.yml" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/bad3.err"
rc=$?
check user-and-client-cert-refused "exit $rc: $(head -c 300 "$tmp/bad3.err")" \
	eval '[ $rc = 1 ] && grep -qF "etcd.username and etcd.client_cert together" "$tmp/bad3.err"'
stop_an 1
kill -TERM "$etcd_pid"
wait "$etcd_pid" 2>/dev/null
start_etcd || { ko etcd-restart "$(tail -c 300 "$tmp/etcd.log")"; finish; }
AUTHYML="  ca_cert: $C/ca.crt
  username: skydive
  password: skpw"
start_an 3 "$AUTHYML" || ko an3-start "$(tail -c 300 "$tmp/an3.log")"
if wait_st 15 3 "$ELECTED"; then ok "auth-user (registered and elected with etcd.username)"; else ko auth-user "$(echo "$LAST" | jq -c .Cluster)"; fi
CAP=$(curl -s -m 10 -XPOST "http://127.0.0.1:${PORT[3]}/api/capture" -H 'Content-Type: application/json' \
	-d '{"GremlinQuery": "G.V().Has(\"Name\", \"nothing-here\")"}' | jq -r .UUID)
check auth-capture-in-etcd "capture $CAP, etcdctl: $(ctla get "/capture/$CAP" --keys-only 2>&1 | head -c 200)" \
	eval '[ "${#CAP}" = 36 ] && [ "$(ctla get "/capture/$CAP" --keys-only | grep -c .)" = 1 ]'
start_an 4 "  ca_cert: $C/ca.crt
  username: skydive
  password: wrong" || ko an4-start "$(tail -c 300 "$tmp/an4.log")"
if wait_st 10 4 '.Cluster.Etcd.Connected == false and (.Cluster.Etcd.LastError | test("etcd.username"))'; then
	ok "auth-wrong-password-said ($(echo "$LAST" | jq -r .Cluster.Etcd.LastError | cut -c1-160))"
else
	ko auth-wrong-password-said "$(echo "$LAST" | jq -c .Cluster.Etcd)"
fi
stop_an 4
# etcd restarted: the tokens it gave are gone (they live in its memory); the analyzer's
# next request is refused ("invalid auth token"), it gets a new token and goes on
kill -TERM "$etcd_pid"
wait "$etcd_pid" 2>/dev/null
start_etcd || { ko etcd-restart "$(tail -c 300 "$tmp/etcd.log")"; finish; }
sleep 4
check auth-token-renewed "after etcd's restart: $(status 3 | jq -c '.Cluster | {Lease, Etcd}')" \
	eval 'wait_st 10 3 "$ELECTED"'
echo "# tokens etcd refused after its restart, replaced: $(grep -c "new auth token" "$tmp/an3.log")"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -XDELETE "http://127.0.0.1:${PORT[3]}/api/capture/$CAP")
check auth-write-after-restart "DELETE answered $code; etcdctl: $(ctla get "/capture/$CAP" --keys-only 2>&1 | head -c 100)" \
	eval '[ "$code" = 200 ] && [ -z "$(ctla get "/capture/$CAP" --keys-only)" ]'
kill -TERM "${PID[3]}"
rc=0
wait "${PID[3]}" || rc=$?
check clean-exit "analyzer exit $rc" [ "$rc" = 0 ]
finish
