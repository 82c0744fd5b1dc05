#!/bin/bash
# ui_browser.sh - the tutorial in a real browser (issue 8): headless Debian Chromium driven
# by puppeteer-core (ui/e2e/tutorial.mjs) against `skydive allinone` in namespace host1 and
# an agent in host2, both hosts' eth0 linked by a veth, everything in namespaces of our own
# (prefix skui<pid>; nothing is created or captured in the root namespace; the browser
# runs inside host1 and reaches the analyzer on its loopback).
# Screenshots of every step: build/ui-test/<binary>/ (kept; removed before each run).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skui$$
SHOTS=$root/build/ui-test/$(basename "$(dirname "$SKYDIVE")")
cleanup() {
	stop_all
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || { ko setup "needs root (network namespaces)"; finish; }
for tool in ip curl jq tcpdump ping node; do
	command -v $tool >/dev/null || { ko setup "$tool missing"; finish; }
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { ko setup "$CHROMIUM missing (scripts/install-deps.sh installs Debian's chromium)"; finish; }
[ -d "$root/ui/node_modules/puppeteer-core" ] || { ko setup "ui/node_modules missing: run make (npm ci in ui/)"; finish; }
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

# ---- the lab: host1 <-eth0-> host2, and a management veth between them ----
H1=${P}host1 H2=${P}host2
for ns in $H1 $H2; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2"
ip link add mgmt netns "$H1" type veth peer name mgmt netns "$H2"
ip -n "$H1" addr add 10.78.1.1/24 dev eth0
ip -n "$H2" addr add 10.78.1.2/24 dev eth0
ip -n "$H1" addr add 10.78.2.1/24 dev mgmt
ip -n "$H2" addr add 10.78.2.2/24 dev mgmt
for ns in $H1 $H2; do
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set mgmt up
done

PORT=8082
export SKYDIVE_FLOW_UPDATE=1 # agents report flows every second
mkdir -p "$tmp/data"
command -v htpasswd >/dev/null || { ko setup "htpasswd missing (apache2-utils)"; finish; }
ADMIN_PW=admin-$$-pw VIEWER_PW=viewer-$$-pw AGENT_PW=agent-$$-pw
htpasswd -B -c -b "$tmp/htpasswd" admin "$ADMIN_PW" 2>/dev/null
htpasswd -B -b "$tmp/htpasswd" watcher "$VIEWER_PW" 2>/dev/null
htpasswd -B -b "$tmp/htpasswd" agent "$AGENT_PW" 2>/dev/null
cat >"$tmp/skydive.yml" <<YML
auth:
  users:
    type: basic
    file: $tmp/htpasswd
analyzer:
  allow_plain_http: true   # inside the test's namespaces
  auth:
    api: {backend: users}
rbac:
  policy: ["g, watcher, viewer"]
agent:
  auth:
    cluster: {username: agent, password: "$AGENT_PW"}
YML
chmod 600 "$tmp/skydive.yml"
ip netns exec "$H1" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" allinone -c "$tmp/skydive.yml" \
	--listen "0.0.0.0:$PORT" --host-id host1 --netns-run-path '' >"$tmp/allinone.log" 2>&1 &
pids+=($!)
ip netns exec "$H2" "$SKYDIVE" agent -c "$tmp/skydive.yml" --host-id host2 --analyzer "10.78.2.1:$PORT" \
	--listen none --netns-run-path '' >"$tmp/agent2.log" 2>&1 &
pids+=($!)

q() {
	ip netns exec "$H1" curl -s -m 5 -u "admin:$ADMIN_PW" -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
up=0
for _ in $(seq 150); do
	[ "$(q "G.V().Has('Name','eth0')" | jq -r 'length' 2>/dev/null)" = 2 ] && { up=1; break; }
	sleep 0.1
done
if [ $up = 1 ]; then ok "lab-up (both agents report eth0)"; else
	ko lab-up "$(tail -c 400 "$tmp/allinone.log") $(tail -c 300 "$tmp/agent2.log")"
	finish
fi

# The browser and its driver run inside host1, next to the analyzer.
ip netns exec "$H1" env URL="http://127.0.0.1:$PORT" SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" \
	ADMIN_USER=admin ADMIN_PW="$ADMIN_PW" VIEWER_USER=watcher VIEWER_PW="$VIEWER_PW" \
	PING_CMD="ip netns exec $H1 ping -c 1 -W 2 10.78.1.2" \
	VETH_NAME=uitestveth \
	VETH_ADD="ip -n $H1 link add uitestveth type veth peer name uitestpeer" \
	VETH_DEL="ip -n $H1 link del uitestveth" \
	HOME="$tmp" node "$root/ui/e2e/tutorial.mjs" >"$tmp/tutorial.out" 2>&1
rc=$?
cat "$tmp/tutorial.out"
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/tutorial.out" | tail -1)
p=$(echo "$last" | grep -oE '^[0-9]+'); f=$(echo "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
[ "$rc" != 0 ] && [ "${f:-0}" = 0 ] && ko tutorial "driver exited $rc"
# Stop the daemons now, so what a sanitizer reports at exit (leaks) is in their logs.
stop_all
[ -z "$bad_exit" ] && ok "clean-exit (allinone and agent)" || ko clean-exit "exit status$bad_exit"
if grep -qE 'Sanitizer|runtime error' "$tmp/allinone.log" "$tmp/agent2.log"; then
	ko sanitizer "$(grep -h -m3 -E 'Sanitizer|runtime error' "$tmp/allinone.log" "$tmp/agent2.log")"
fi
[ "$fail" != 0 ] && { echo "--- allinone log tail"; tail -20 "$tmp/allinone.log"; echo "screenshots: $SHOTS"; }
finish
