#!/bin/bash
# privileges.sh - least privilege (docs/SECURITY.md "Privileges"), as root, in network
# namespaces of our own (prefix skpv<pid>): `skydive analyzer` as root without
# --allow-root / analyzer.allow_root refuses with the reason; the analyzer runs as
# nobody with no capability; the agent started as nobody with only its capabilities
# (setpriv, ambient set) keeps exactly them (CapEff), sets no_new_privs and captures
# ICMP on a veth of its namespace end to end; an agent started as root drops to the
# same set, bounding set included; the systemd units pass `systemd-analyze verify`
# (when systemd-analyze exists).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skpv$$ NS=skpv$$a PEER=skpv$$b

if [ "$(id -u)" != 0 ]; then
	echo "privileges: needs root"; echo "0 passed, 1 failed"; exit 1
fi
for tool in ip setpriv curl jq ping; do
	command -v $tool >/dev/null || { ko setup "$tool missing"; finish; }
done
cleanup() {
	harness_cleanup
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip netns add "$PEER" &&
	ip -n "$NS" link add veth0 type veth peer name veth1 netns "$PEER" &&
	ip -n "$NS" addr add 10.99.0.1/24 dev veth0 && ip -n "$PEER" addr add 10.99.0.2/24 dev veth1 &&
	ip -n "$NS" link set veth0 up && ip -n "$PEER" link set veth1 up &&
	ip -n "$NS" link set lo up || { ko setup "cannot create the namespaces"; finish; }
X="ip netns exec $NS"
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
CAPS=net_raw,net_admin,sys_admin,bpf,perfmon
# Expected CapEff: bits 12 net_admin, 13 net_raw, 21 sys_admin, 38 perfmon, 39 bpf.
WANT=$(printf '%016x' $(((1 << 12) | (1 << 13) | (1 << 21) | (1 << 38) | (1 << 39))))
export SKYDIVE_FLOW_UPDATE=1
# The unprivileged processes must reach their files: tmp is 0700 root.
chmod 711 "$tmp"
mkdir -p "$tmp/data" && chown nobody:nogroup "$tmp/data"

# The analyzer as root, not told it may: refuses.
$X env -u SKYDIVE_ANALYZER_ALLOW_ROOT timeout 10 "$SKYDIVE" analyzer --listen 127.0.0.1:8090 \
	>/dev/null 2>"$tmp/root.err"
rc=$?
check analyzer-root-refused "exit $rc: $(cat "$tmp/root.err")" eval '[ $rc = 1 ] &&
	grep -q "refusing to run as root" "$tmp/root.err" && grep -q -- "--allow-root" "$tmp/root.err"'

# The analyzer as nobody, no capability at all.
$X env -u SKYDIVE_ANALYZER_ALLOW_ROOT SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" $NOBODY --inh-caps=-all \
	--bounding-set=-all "$SKYDIVE" analyzer --listen 127.0.0.1:8082 --host-id an >/dev/null 2>"$tmp/an.log" &
AN=$!
pids+=($AN)
up=0
for _ in $(seq 100); do $X curl -sf -m 2 http://127.0.0.1:8082/api >/dev/null && { up=1; break; }; sleep 0.1; done
check analyzer-unprivileged "$(head -c 300 "$tmp/an.log")" eval '[ $up = 1 ] &&
	grep -q "^Uid:.65534" /proc/$AN/status && grep -q "^CapEff:.0000000000000000" /proc/$AN/status'

: >"$tmp/agent.log"; : >"$tmp/agent2.log"
# The agent as nobody with its capabilities (ambient, as systemd's AmbientCapabilities).
$X $NOBODY --inh-caps=-all,+${CAPS//,/,+} --ambient-caps=-all,+${CAPS//,/,+} "$SKYDIVE" agent \
	--analyzer 127.0.0.1:8082 --host-id h1 --listen none --netns-run-path '' >/dev/null 2>"$tmp/agent.log" &
AG=$!
pids+=($AG)
for _ in $(seq 100); do grep -q "running as uid" "$tmp/agent.log" && break; sleep 0.1; done
st=$(cat /proc/$AG/status 2>/dev/null)
check agent-capeff "$(echo "$st" | grep -E '^(Uid|Cap)')" eval 'echo "$st" | grep -q "^CapEff:.$WANT$" &&
	echo "$st" | grep -q "^CapPrm:.$WANT$" && echo "$st" | grep -q "^CapAmb:.0000000000000000$" &&
	echo "$st" | grep -q "^Uid:.65534"'
check agent-no-new-privs "$(echo "$st" | grep NoNewPrivs)" eval 'echo "$st" | grep -q "^NoNewPrivs:.1"'
check agent-kept-logged "$(head -c 300 "$tmp/agent.log")" \
	grep -q "running as uid 65534 gid 65534 with capabilities cap_net_admin,cap_net_raw,cap_sys_admin,cap_perfmon,cap_bpf=ep" "$tmp/agent.log"

# It captures: ICMP over veth0 becomes flows in the analyzer.
q() { $X curl -s -m 5 -XPOST http://127.0.0.1:8082/api/topology -H 'Content-Type: application/json' \
	-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"; }
for _ in $(seq 100); do [ "$(q "G.V().Has('Name','veth0').Count()")" = 1 ] && break; sleep 0.1; done
$X env SKYDIVE_ANALYZERS=127.0.0.1:8082 "$SKYDIVE" client capture create \
	--gremlin "G.V().Has('Name', 'veth0')" --bpf icmp >"$tmp/cap.out" 2>"$tmp/cap.err"
check capture-created "$(cat "$tmp/cap.err")" eval 'jq -e .UUID "$tmp/cap.out" >/dev/null'
n=0
for _ in $(seq 30); do
	$X ping -c 2 -i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1
	n=$(q "G.At('-1s', 1000).Flows().Has('Application', 'ICMPv4').Count()")
	[ "${n:-0}" -gt 0 ] 2>/dev/null && break
	sleep 0.3
done
check agent-unprivileged-captures "ICMP flows: '$n'; $(tail -c 400 "$tmp/agent.log")" eval '[ "${n:-0}" -gt 0 ] 2>/dev/null'
check agent-no-capture-errors "$(grep -i "denied\|EPERM\|not permitted" "$tmp/agent.log" | head -c 300)" \
	eval '! grep -qi "permission denied\|operation not permitted" "$tmp/agent.log"'

# Started as root, the agent drops to the same set, bounding set included.
$X "$SKYDIVE" agent --analyzer 127.0.0.1:8082 --host-id h2 --listen none --netns-run-path '' \
	>/dev/null 2>"$tmp/agent2.log" &
AG2=$!
pids+=($AG2)
for _ in $(seq 100); do grep -q "running as uid" "$tmp/agent2.log" && break; sleep 0.1; done
st=$(cat /proc/$AG2/status 2>/dev/null)
check agent-root-drops "$(echo "$st" | grep -E '^Cap')" eval 'echo "$st" | grep -q "^CapEff:.$WANT$" &&
	echo "$st" | grep -q "^CapBnd:.$WANT$" && echo "$st" | grep -q "^CapInh:.0000000000000000$"'

# systemd units (verify only: no systemd needs to run).
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$tmp/units" && cp "$root"/etc/systemd/*.service "$tmp/units/"
	# verify resolves ExecStart: point it at the binary under test.
	sed -i "s|/usr/bin/skydive|$SKYDIVE|" "$tmp/units/"*.service
	out=$(cd "$tmp/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify ./skydive-analyzer.service ./skydive-agent.service 2>&1)
	# Lines about units of the machine itself (not ours) are not our business.
	ours=$(echo "$out" | grep "skydive-" || true)
	check systemd-verify "$ours" [ -z "$ours" ]
else
	echo "skip systemd-verify (no systemd-analyze)"
fi
finish
