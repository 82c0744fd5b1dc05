#!/bin/bash
# pcapsocket.sh - the pcapsocket capture type fed by the real thing (issue 5
# item 1), as root, in network namespaces of our own (prefix skps<pid>):
# an allinone in namespace "host" holding eth0 (a veth to namespace "peer");
#   skydive client capture create --gremlin "G.V().Has('Name','eth0')" --type pcapsocket
# the listener address is read from eth0's Captures metadata (PCAPSocket);
# then, all in the agent's namespace (the listener is on the agent host):
#   - tcpdump -U --immediate-mode -i eth0 -w - icmp | nc -N ADDR PORT while pinging
#     -> ICMP flows at the analyzer with NodeTID = eth0's TID, and raw packets
#   - garbage bytes -> that connection closed by the agent, StreamErrors = 1
#   - a truncated pcap file -> closed, StreamErrors = 2
#   - nc -N ADDR PORT < saved.pcap (a pcapng one too) -> their flows appear
#   - capture delete -> the port is closed (nc cannot connect)
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skps$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

bad_exit=0
stop_all() {
	bad_exit=0
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || bad_exit=1
	done
	pids=()
}
cleanup() {
	[ -n "${tdpid:-}" ] && kill "$tdpid" 2>/dev/null
	stop_all
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "pcapsocket: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq tcpdump ping nc editcap timeout; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

H=${P}host R=${P}peer
for ns in $H $R; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add eth0 netns "$H" type veth peer name eth0 netns "$R"
ip -n "$H" addr add 10.78.1.1/24 dev eth0
ip -n "$R" addr add 10.78.1.2/24 dev eth0
ip -n "$R" addr add 10.78.1.3/24 dev eth0
ip -n "$R" addr add 10.78.1.4/24 dev eth0
ip -n "$H" link set eth0 up
ip -n "$R" link set eth0 up
HX="ip netns exec $H"

# Saved captures, recorded before the capture exists: ICMP to .3 (pcap) and
# to .4 (converted to pcapng); a truncated copy (cut inside the first record).
record() { # FILE DEST
	$HX tcpdump -U --immediate-mode -i eth0 -w "$1" icmp 2>/dev/null &
	local p=$!
	sleep 1
	$HX ping -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1
	sleep 0.5
	kill "$p"
	wait "$p" 2>/dev/null
}
record "$tmp/to3.pcap" 10.78.1.3
record "$tmp/to4.raw.pcap" 10.78.1.4
editcap -F pcapng "$tmp/to4.raw.pcap" "$tmp/to4.pcapng" 2>/dev/null
head -c 60 "$tmp/to3.pcap" >"$tmp/trunc.pcap" # the file header and part of the first record
if [ "$(tcpdump -r "$tmp/to3.pcap" 2>/dev/null | wc -l)" = 4 ] && [ -s "$tmp/to4.pcapng" ]; then
	ok "setup (saved captures recorded)"
else
	ko "setup" "$(tcpdump -r "$tmp/to3.pcap" 2>&1 | head -c 200)"
fi

PORT=8082
export SKYDIVE_FLOW_UPDATE=1
q() {
	$HX curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_jq() { # TIMEOUT_S QUERY FILTER
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
client() { $HX env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { tail -c 600 "$tmp/allinone.log" | tr '\n' ' '; }

$HX env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" allinone --listen "127.0.0.1:$PORT" \
	--host-id pshost --netns-run-path '' >"$tmp/allinone.log" 2>&1 &
pids+=($!)

EACH="G.V().Has('Name','eth0')"
if wait_jq 15 "$EACH" 'length == 1'; then
	ok "topology (eth0 at the analyzer)"
else
	ko "topology" "$(q "$EACH" | head -c 200); $(logs)"
	echo "$pass passed, $fail failed"
	exit 1
fi
TID=$(q "$EACH" | jq -r '.[0].Metadata.TID')

out=$(client capture create --gremlin "G.V().Has('Name', 'eth0')" --type pcapsocket \
	--rawpacket-limit 5 2>&1)
uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
if [ -n "$uuid" ] && [ "$uuid" != null ]; then
	ok "capture-create (--type pcapsocket)"
else
	ko "capture-create" "$(echo "$out" | head -c 300)"
	echo "$pass passed, $fail failed"
	exit 1
fi
ENTRY=".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid\")) | .[0]"
entry() { q "$EACH" | jq -c "$ENTRY"; }
if wait_jq 15 "$EACH" "$ENTRY | .State == \"active\" and (.PCAPSocket // \"\" | test(\"^127\\\\.0\\\\.0\\\\.1:(8[01][0-9][0-9])$\"))"; then
	ok "captures-metadata (active, PCAPSocket $(entry | jq -r .PCAPSocket))"
else
	ko "captures-metadata" "$(entry); $(logs)"
fi
ADDR=$(entry | jq -r '.PCAPSocket')
A=${ADDR%:*} N=${ADDR##*:}

# flows_to DEST: ICMPv4 flows between .1 and DEST attributed to eth0.
flows_to() {
	echo "[.[] | select(.NodeTID == \"$TID\" and .Application == \"ICMPv4\" and
		([.Network.A, .Network.B] | sort) == ([\"10.78.1.1\", \"$1\"] | sort))]"
}

# ---- live: real tcpdump through nc while pinging --------------------------------
mkfifo "$tmp/live"
$HX nc -N "$A" "$N" <"$tmp/live" >/dev/null 2>"$tmp/nc-live.err" &
ncpid=$!
$HX tcpdump -U --immediate-mode -i eth0 -w - icmp >"$tmp/live" 2>"$tmp/tcpdump.err" &
tdpid=$!
sleep 1.5
ip netns exec "$R" ping -c 3 -i 0.3 -W 1 10.78.1.1 >/dev/null 2>&1 || ko "live-ping" "no reply"
if wait_jq 15 "G.Flows()" "$(flows_to 10.78.1.2) | length >= 1 and (map(.Metric.ABPackets + .Metric.BAPackets) | add) == 6"; then
	ok "live-stream-flows (tcpdump | nc: ICMP 10.78.1.2<->.1, 6 packets, NodeTID of eth0)"
else
	ko "live-stream-flows" "$(q "G.Flows()" | jq -c "$(flows_to 10.78.1.2)" | head -c 400); $(logs)"
fi
client query "G.Flows().Has('NodeTID', '$TID').Has('Application', 'ICMPv4').RawPackets()" --format pcap \
	>"$tmp/raw.pcap" 2>"$tmp/query.err"
n=$(tcpdump -qns 0 -r "$tmp/raw.pcap" 2>/dev/null | grep -c 'ICMP echo')
if [ "$n" = 5 ]; then
	ok "live-raw-packets (5 ICMP frames as raw packets: --rawpacket-limit 5)"
else
	ko "live-raw-packets" "$n; $(tcpdump -qns 0 -r "$tmp/raw.pcap" 2>&1 | head -c 300) $(head -c 200 "$tmp/query.err")"
fi
kill "$tdpid"
wait "$tdpid" 2>/dev/null
tdpid=
if timeout 5 tail --pid="$ncpid" -f /dev/null; then
	ok "live-stream-end (tcpdump stopped: nc -N done, the agent closed)"
else
	ko "live-stream-end" "nc still running"
	kill "$ncpid" 2>/dev/null
fi

# ---- garbage: the connection is closed and counted ---------------------------------
if printf 'this is not a pcap stream at all\n' | timeout 5 $HX nc "$A" "$N" >/dev/null 2>&1; then
	ok "garbage-closed (the agent closed the connection)"
else
	ko "garbage-closed" "nc did not end within 5 s (rc $?)"
fi
if wait_jq 10 "$EACH" "$ENTRY | .StreamErrors == 1 and .State == \"active\""; then
	ok "garbage-counted (StreamErrors 1, capture still active)"
else
	ko "garbage-counted" "$(entry)"
fi
grep -q "pcapsocket $ADDR: connection from .* closed: .*unknown file format" "$tmp/allinone.log" &&
	ok "garbage-logged" || ko "garbage-logged" "$(logs)"

if timeout 5 $HX nc -N "$A" "$N" <"$tmp/trunc.pcap" >/dev/null 2>&1 &&
	wait_jq 10 "$EACH" "$ENTRY | .StreamErrors == 2"; then
	ok "truncated-counted (StreamErrors 2)"
	grep -q "pcapsocket $ADDR: connection from .* closed: corrupt or truncated capture after 0 packets, at byte offset 24" \
		"$tmp/allinone.log" || ko "truncated-logged" "$(grep -m1 truncated "$tmp/allinone.log")"
else
	ko "truncated-counted" "$(entry)"
fi

# ---- saved files after the errors: the listener still serves ---------------------
if timeout 5 $HX nc -N "$A" "$N" <"$tmp/to3.pcap" >/dev/null 2>&1 &&
	wait_jq 15 "G.Flows()" "$(flows_to 10.78.1.3) | (map(.Metric.ABPackets + .Metric.BAPackets) | add) == 4"; then
	ok "saved-pcap-flows (nc < file.pcap: ICMP .1<->.3, 4 packets)"
else
	ko "saved-pcap-flows" "$(q "G.Flows()" | jq -c "$(flows_to 10.78.1.3)" | head -c 400); $(entry)"
fi
if timeout 5 $HX nc -N "$A" "$N" <"$tmp/to4.pcapng" >/dev/null 2>&1 &&
	wait_jq 15 "G.Flows()" "$(flows_to 10.78.1.4) | (map(.Metric.ABPackets + .Metric.BAPackets) | add) == 4"; then
	ok "saved-pcapng-flows (nc < file.pcapng: ICMP .1<->.4, 4 packets)"
else
	ko "saved-pcapng-flows" "$(q "G.Flows()" | jq -c "$(flows_to 10.78.1.4)" | head -c 400); $(entry)"
fi
# Two streams at once: both read (a connection does not block the next).
mkfifo "$tmp/hold"
$HX nc -N "$A" "$N" <"$tmp/hold" >/dev/null 2>&1 &
holdnc=$!
exec 7>"$tmp/hold" # keeps the first stream open, without its header yet
sleep 0.3
if timeout 5 $HX nc -N "$A" "$N" <"$tmp/to3.pcap" >/dev/null 2>&1; then
	ok "concurrent-streams (a second stream is read while the first is open)"
else
	ko "concurrent-streams" "the second nc did not finish"
fi
if wait_jq 10 "$EACH" "$ENTRY | .Connections == 7 and .StreamErrors == 2"; then
	ok "connections-counted (Connections 7, StreamErrors 2)"
else
	ko "connections-counted" "$(entry)"
fi

# ---- delete: the listener and the open stream are closed ---------------------------
out=$(client capture delete "$uuid" 2>&1)
if wait_jq 15 "$EACH" "$ENTRY | . == null"; then
	ok "capture-delete (Captures entry gone)"
else
	ko "capture-delete" "$out; $(entry)"
fi
# The agent's side is gone: no established connection to the port remains
# (nc itself waits for its standard input, still open).
if [ -z "$($HX ss -Htn state established "( dport = :$N or sport = :$N )")" ]; then
	ok "delete-closes-streams (the open connection was closed)"
else
	ko "delete-closes-streams" "$($HX ss -tn)"
fi
exec 7>&-
kill "$holdnc" 2>/dev/null
if timeout 5 $HX nc -z "$A" "$N" 2>/dev/null; then
	ko "port-closed" "$ADDR still accepts connections"
else
	ok "port-closed (nc cannot connect to $ADDR)"
fi

stop_all
if ! grep -qE 'Sanitizer|runtime error' "$tmp/allinone.log" && [ $bad_exit = 0 ]; then
	ok "clean-exit"
else
	ko "clean-exit" "exit status bad: $bad_exit; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/allinone.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
