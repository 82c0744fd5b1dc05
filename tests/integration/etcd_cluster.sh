#!/bin/bash
# etcd_cluster.sh - three analyzers coordinated through one etcd (docs/DEPLOY.md), all on
# loopback: etcd (Debian's etcd-server) started by the test on free ports with its own data
# directory, three `skydive analyzer` with their own ports, host ids and data directories,
# etcd.servers pointing at it. No agent. Checks:
#   - each analyzer registers under /analyzer/<host_id>: /api/status Cluster.Analyzers of
#     every analyzer lists the three (etcd's own view: etcdctl get --prefix /analyzer/);
#   - an alert created on analyzer 1 is listed by 2 and 3 with the same object; deleted on
#     2 it is gone from 1 and 3 (and from etcd, key /alert/<UUID> as Skydive's kv.go);
#   - exactly one analyzer holds /elections/alert-server (IsMaster on one, the same Master
#     named by all, etcdctl's value of the key); killed with SIGKILL (no lease revoke),
#     another becomes master once the lease (etcd.lease_ttl 3 s) expires, polled;
#   - a capture created on analyzer 1 is listed by 2 and 3 (key /capture/<UUID>), the same
#     settings on 2 are a 409, deleted on 3 it is gone everywhere; one with a TTL expires
#     on all three and leaves etcd; captures are kept across the etcd restart;
#   - etcd restarted (same data dir): the analyzers keep their alerts, an alert created
#     after the restart on one is seen on the others (the watch resumed), the cluster
#     still has one master;
#   - etcd.embedded: true and an embedded-server key (etcd.listen) refuse to start with a
#     clear message; etcd down at a create: 500 naming etcd, nothing created.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"

for tool in etcd etcdctl curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done

EC=$(free_port) EP=$(free_port)
ETCD=http://127.0.0.1:$EC
etcd_pid=
start_etcd() {
	etcd --name skc --data-dir "$tmp/etcd" --listen-client-urls "$ETCD" \
		--advertise-client-urls "$ETCD" --listen-peer-urls "http://127.0.0.1:$EP" \
		--initial-advertise-peer-urls "http://127.0.0.1:$EP" \
		--initial-cluster "skc=http://127.0.0.1:$EP" >>"$tmp/etcd.log" 2>&1 &
	etcd_pid=$!
	for _ in $(seq 100); do
		curl -sf "$ETCD/health" 2>/dev/null | grep -q true && return 0
		sleep 0.1
	done
	return 1
}
ctl() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD" "$@"; }
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	[ -n "$etcd_pid" ] && kill -TERM "$etcd_pid" 2>/dev/null
	for p in "${pids[@]}" $etcd_pid; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_etcd || { echo "FAIL setup: etcd did not start"; tail -5 "$tmp/etcd.log"; echo "0 passed, 1 failed"; exit 1; }

printf 'etcd:\n  servers:\n    - %s\n  client_timeout: 2\n  lease_ttl: 3\n' "$ETCD" >"$tmp/etcd.yml"
declare -A PORT PID
start_an() { # start_an N
	local n=$1
	[ -n "${PORT[$n]:-}" ] || PORT[$n]=$(free_port)
	SKYDIVE_ANALYZER_DATA_DIR=$tmp/d$n "$SKYDIVE" analyzer -c "$tmp/etcd.yml" \
		--listen "127.0.0.1:${PORT[$n]}" --host-id "an$n" >>"$tmp/an$n.log" 2>&1 &
	PID[$n]=$!
	pids+=("$!")
	wait_api "${PORT[$n]}"
}
api() { local n=$1; shift; curl -s -m 10 "http://127.0.0.1:${PORT[$n]}$@"; }
status() { api "$1" /api/status; }
# wait_true TIMEOUT_S CMD...: polls every 0.2 s until CMD succeeds
wait_true() {
	local t=$1; shift
	for _ in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}
n_analyzers() { status "$1" | jq -e --argjson k "$2" '.Cluster.Analyzers | length == $k' >/dev/null; }
masters() { # masters N...: the Master each named analyzer reports, and IsMaster holders
	for n in "$@"; do status "$n" | jq -r --arg n "$n" '.Cluster.Elections["alert-server"] | "\(.Master) \(if .IsMaster then "an"+$n else "-" end)"'; done
}
one_master() { # one_master N...: exactly one IsMaster, named by every analyzer as Master
	local out holders named
	out=$(masters "$@")
	holders=$(echo "$out" | awk '$2 != "-" {print $2}' | sort -u)
	named=$(echo "$out" | awk '{print $1}' | sort -u)
	[ "$(echo "$holders" | grep -c .)" = 1 ] && [ "$named" = "$holders" ]
}
has_alert() { api "$1" "/api/alert/$2" | jq -e --arg u "$2" '.UUID == $u' >/dev/null; }
no_alert() { [ "$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:${PORT[$1]}/api/alert/$2")" = 404 ]; }

for n in 1 2 3; do start_an $n || { echo "FAIL setup: analyzer $n did not start"; tail -5 "$tmp/an$n.log"; finish; }; done

# ---- registration ----
if wait_true 10 n_analyzers 1 3 && wait_true 10 n_analyzers 2 3 && wait_true 10 n_analyzers 3 3; then
	ok registered
else
	ko registered "Cluster.Analyzers: $(status 1 | jq -c '.Cluster.Analyzers | keys')"
fi
keys=$(ctl get --prefix /analyzer/ --keys-only | grep . | sort | tr '\n' ' ')
check registered-in-etcd "etcdctl: $keys" [ "$keys" = "/analyzer/an1 /analyzer/an2 /analyzer/an3 " ]
check registration-lease "an1's key has no lease" \
	sh -c "ETCDCTL_API=3 etcdctl --endpoints=$ETCD get /analyzer/an1 -w json | jq -e '.kvs[0].lease > 0' >/dev/null"
check registration-address "an2's registration: $(ctl get /analyzer/an2 --print-value-only)" \
	sh -c "ETCDCTL_API=3 etcdctl --endpoints=$ETCD get /analyzer/an2 --print-value-only | jq -e '.Address == \"127.0.0.1:${PORT[2]}\" and .Host == \"an2\"' >/dev/null"

# ---- alerts shared ----
A1=$(api 1 /api/alert -XPOST -H 'Content-Type: application/json' \
	-d '{"Name":"a1","Expression":"G.V().Has(\"Name\", \"nothing-here\")","Trigger":"duration:1s"}' | jq -r .UUID)
check alert-created "no UUID: $A1" [ "${#A1}" = 36 ]
if wait_true 10 has_alert 2 "$A1" && wait_true 10 has_alert 3 "$A1"; then ok alert-listed-on-2-and-3; else ko alert-listed-on-2-and-3 "2: $(api 2 /api/alert) 3: $(api 3 /api/alert)"; fi
same=$(for n in 1 2 3; do api $n "/api/alert/$A1" | jq -cS .; done | sort -u | wc -l)
check alert-same-object "the three answers differ ($same)" [ "$same" = 1 ]
check alert-in-etcd "/alert/$A1: $(ctl get "/alert/$A1" --print-value-only)" \
	sh -c "ETCDCTL_API=3 etcdctl --endpoints=$ETCD get /alert/$A1 --print-value-only | jq -e '.Name == \"a1\"' >/dev/null"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -XDELETE "http://127.0.0.1:${PORT[2]}/api/alert/$A1")
check alert-deleted-on-2 "DELETE answered $code" [ "$code" = 200 ]
if wait_true 10 no_alert 1 "$A1" && wait_true 10 no_alert 3 "$A1"; then ok alert-gone-on-1-and-3; else ko alert-gone-on-1-and-3 "1: $(api 1 /api/alert)"; fi
check alert-gone-from-etcd "still in etcd" [ -z "$(ctl get "/alert/$A1" --print-value-only)" ]

# ---- captures shared (Skydive's /capture/<UUID>) ----
has_cap() { api "$1" "/api/capture/$2" | jq -e --arg u "$2" '.UUID == $u' >/dev/null; }
no_cap() { [ "$(curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:${PORT[$1]}/api/capture/$2")" = 404 ]; }
C1=$(api 1 /api/capture -XPOST -H 'Content-Type: application/json' \
	-d '{"GremlinQuery": "G.V().Has(\"Name\", \"eth-cl\")", "BPFFilter": "icmp", "Name": "c1"}' | jq -r .UUID)
check capture-created "no UUID: $C1" [ "${#C1}" = 36 ]
if wait_true 10 has_cap 2 "$C1" && wait_true 10 has_cap 3 "$C1"; then ok capture-listed-on-2-and-3; else ko capture-listed-on-2-and-3 "2: $(api 2 /api/capture) 3: $(api 3 /api/capture)"; fi
same=$(for n in 1 2 3; do api $n "/api/capture/$C1" | jq -cS .; done | sort -u | wc -l)
check capture-same-object "the three answers differ ($same)" [ "$same" = 1 ]
check capture-in-etcd "/capture/$C1: $(ctl get "/capture/$C1" --print-value-only)" \
	sh -c "ETCDCTL_API=3 etcdctl --endpoints=$ETCD get /capture/$C1 --print-value-only | jq -e '.Capture.Name == \"c1\" and .Capture.BPFFilter == \"icmp\"' >/dev/null"
# the same settings on another analyzer: 409, as on one (the set is the cluster's)
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -XPOST "http://127.0.0.1:${PORT[2]}/api/capture" \
	-H 'Content-Type: application/json' -d '{"GremlinQuery": "G.V().Has(\"Name\", \"eth-cl\")", "BPFFilter": "icmp"}')
check capture-conflict-on-2 "POST answered $code" [ "$code" = 409 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -XDELETE "http://127.0.0.1:${PORT[3]}/api/capture/$C1")
check capture-deleted-on-3 "DELETE answered $code" [ "$code" = 200 ]
if wait_true 10 no_cap 1 "$C1" && wait_true 10 no_cap 2 "$C1"; then ok capture-gone-on-1-and-2; else ko capture-gone-on-1-and-2 "1: $(api 1 /api/capture)"; fi
check capture-gone-from-etcd "still in etcd" [ -z "$(ctl get "/capture/$C1" --print-value-only)" ]
# a TTL: expired by the analyzers' clocks, gone from etcd and from all three
C2=$(api 2 /api/capture -XPOST -H 'Content-Type: application/json' -H 'X-Resource-TTL: 2s' \
	-d '{"GremlinQuery": "G.V().Has(\"Name\", \"eth-ttl\")"}' | jq -r .UUID)
if wait_true 10 has_cap 1 "$C2"; then ok capture-ttl-listed; else ko capture-ttl-listed "1: $(api 1 /api/capture)"; fi
if wait_true 10 no_cap 1 "$C2" && wait_true 5 no_cap 2 "$C2" && wait_true 5 no_cap 3 "$C2"; then ok capture-ttl-expired-everywhere; else ko capture-ttl-expired-everywhere "$(api 1 /api/capture)"; fi
check capture-ttl-gone-from-etcd "still in etcd" [ -z "$(ctl get "/capture/$C2" --print-value-only)" ]
# one left in etcd for the restarts below
C3=$(api 3 /api/capture -XPOST -H 'Content-Type: application/json' \
	-d '{"GremlinQuery": "G.V().Has(\"Name\", \"eth-kept\")"}' | jq -r .UUID)

# ---- one master, takeover ----
if wait_true 10 one_master 1 2 3; then ok one-master; else ko one-master "$(masters 1 2 3 | tr '\n' ';')"; fi
M=$(masters 1 | awk '{print $1}')
check master-in-etcd "etcd: $(ctl get /elections/alert-server --print-value-only), status: $M" \
	[ "$(ctl get /elections/alert-server --print-value-only)" = "$M" ]
mn=${M#an}
rest=$(echo 1 2 3 | tr ' ' '\n' | grep -v "^$mn$" | tr '\n' ' ')
# an alert created before the kill is evaluated by the master only
A2=$(api 1 /api/alert -XPOST -H 'Content-Type: application/json' \
	-d '{"Name":"a2","Expression":"G.V().Has(\"Name\", \"nothing-here\")","Trigger":"duration:1s"}' | jq -r .UUID)
evals() { status "$1" | jq -r --arg u "$A2" '.Alerts.Alerts[$u].Evaluations // 0'; }
wait_true 10 sh -c "[ \$(curl -s -m 5 http://127.0.0.1:${PORT[$mn]}/api/status | jq -r '.Alerts.Alerts[\"$A2\"].Evaluations // 0') -ge 2 ]"
ev_follow=0
for n in $rest; do ev_follow=$((ev_follow + $(evals $n))); done
im=$(for n in 1 2 3; do status $n | jq -r .Alerts.IsMaster; done | tr '\n' ' ')
exp=$(for n in 1 2 3; do [ $n = $mn ] && echo -n "true " || echo -n "false "; done)
check alerts-ismaster "Alerts.IsMaster of 1 2 3: $im (master $M)" [ "$im" = "$exp" ]
ev_master=$(evals $mn)
check only-master-evaluates "master $M: $ev_master, followers: $ev_follow" \
	[ "$ev_master" -ge 2 -a "$ev_follow" = 0 ]
kill -KILL "${PID[$mn]}"
wait "${PID[$mn]}" 2>/dev/null
keep=(); for p in "${pids[@]}"; do [ "$p" != "${PID[$mn]}" ] && keep+=("$p"); done; pids=("${keep[@]}")
set -- $rest
if wait_true 20 one_master "$@"; then
	ok takeover
else
	ko takeover "$(masters "$@" | tr '\n' ';')"
fi
M2=$(masters "$1" | awk '{print $1}')
check new-master-not-dead "new master $M2" [ "$M2" != "$M" ]
check dead-unregistered "Cluster.Analyzers: $(status "$1" | jq -c '.Cluster.Analyzers | keys')" \
	wait_true 10 n_analyzers "$1" 2
m2n=${M2#an}
if wait_true 10 sh -c "[ \$(curl -s -m 5 http://127.0.0.1:${PORT[$m2n]}/api/status | jq -r '.Alerts.Alerts[\"$A2\"].Evaluations // 0') -ge 1 ]"; then
	ok new-master-evaluates
else
	ko new-master-evaluates "$(status "$m2n" | jq -c .Alerts)"
fi

# ---- etcd restarted ----
kill -TERM "$etcd_pid"
wait "$etcd_pid" 2>/dev/null
etcd_pid=
# etcd down: a create is refused, with etcd named, and nothing is created
out=$(curl -s -m 20 -w ' %{http_code}' -XPOST "http://127.0.0.1:${PORT[$1]}/api/alert" \
	-H 'Content-Type: application/json' -d '{"Name":"down","Expression":"G.V()"}')
down_refused() { grep -q ' 500$' <<<"$1" && grep -q etcd <<<"$1"; }
check create-etcd-down "answered: $out" down_refused "$out"
check nothing-created-etcd-down "$(api "$1" /api/alert | jq -c 'map(.Name)')" \
	sh -c "curl -s -m 5 http://127.0.0.1:${PORT[$1]}/api/alert | jq -e 'map(.Name) == [\"a2\"]' >/dev/null"
sleep 2
start_etcd || ko etcd-restart "etcd did not start again"
for n in "$@"; do
	check "alert-kept-$n" "analyzer $n: $(api "$n" /api/alert | jq -c 'keys')" has_alert "$n" "$A2"
	check "capture-kept-$n" "analyzer $n: $(api "$n" /api/capture | jq -c 'keys')" has_cap "$n" "$C3"
done
A3=
post_a3() {
	A3=$(api "$1" /api/alert -XPOST -H 'Content-Type: application/json' \
		-d '{"Name":"a3","Expression":"G.V()"}' | jq -r '.UUID // empty')
	[ -n "$A3" ]
}
check create-after-restart "no UUID" wait_true 15 post_a3 "$1"
if wait_true 15 has_alert "$2" "$A3"; then ok watch-resumed; else ko watch-resumed "analyzer $2: $(api "$2" /api/alert | jq -c 'keys')"; fi
if wait_true 15 one_master "$@"; then ok one-master-after-restart; else ko one-master-after-restart "$(masters "$@" | tr '\n' ';')"; fi
check still-registered "$(status "$1" | jq -c '.Cluster.Analyzers | keys')" wait_true 10 n_analyzers "$1" 2

# ---- refused configurations ----
printf 'etcd:\n  embedded: true\n' >"$tmp/emb.yml"
out=$(SKYDIVE_ANALYZER_DATA_DIR=$tmp/dx timeout 5 "$SKYDIVE" analyzer -c "$tmp/emb.yml" --listen 127.0.0.1:0 2>&1)
rc=$?
refused() { [ "$1" != 0 ] && [ "$1" != 124 ] && grep -q "$2" <<<"$3"; }
check embedded-refused "rc $rc: $(echo "$out" | tail -1)" \
	refused "$rc" 'etcd.embedded: true is not supported' "$out"
printf 'etcd:\n  servers: [%s]\n  listen: 127.0.0.1:12379\n' "$ETCD" >"$tmp/lis.yml"
out=$(SKYDIVE_ANALYZER_DATA_DIR=$tmp/dx timeout 5 "$SKYDIVE" analyzer -c "$tmp/lis.yml" --listen 127.0.0.1:0 2>&1)
rc=$?
check embedded-key-refused "rc $rc: $(echo "$out" | tail -1)" \
	refused "$rc" 'etcd.listen configures' "$out"

# clean exits (lease revoked: the keys go at once)
stop_all
check clean-exit "exit statuses:$bad_exit" [ -z "$bad_exit" ]
check lease-revoked-at-exit "left: $(ctl get --prefix /analyzer/ --keys-only | tr '\n' ' ')" \
	[ -z "$(ctl get --prefix /analyzer/ --keys-only)" ]
finish
