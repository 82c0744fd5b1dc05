#!/bin/bash
# socketinfo.sh - the socketinfo probe and Sockets() (docs/TOPOLOGY.md "socketinfo"),
# against real sockets: an allinone in its own namespace watches two named namespaces
# (bind-mounted into a run path of the test's own), a TCP server in one and a client
# in the other, joined by a veth; a capture on the server's end of the veth.
# Checked, as Skydive's topology/probes/socketinfo and gremlin/traversal/flows.go give
# them:
#   - the host node's Sockets list holds the server's LISTEN socket and both ends of
#     the connection (ESTABLISHED) with the test's ports and addresses, the Pid the
#     test started ($!) and its Name (the kernel's comm, python3), Protocol TCP;
#   - a UDP socket of the server process is there too (Protocol UDP, its port);
#   - G.Flows().Has('Application','TCP').Sockets() maps the connection's flow UUID to
#     the server's and the client's sockets (both Pids);
#   - G.V().Sockets() maps the host node's ID to its list;
#   - the SocketInfo counters are on the host node;
#   - a socket closed by the test leaves the list at the next refresh (host_update 1).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=sksi$$
RUN=$tmp/netns
cleanup() {
	stop_all
	for f in "$RUN"/*; do umount "$f" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "socketinfo: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

# ---- the lab: host (allinone) watching srv and cli; srv <-veth-> cli ----
HOST=${P}host SRV=${P}srv CLI=${P}cli
for ns in $HOST $SRV $CLI; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add ${P}s netns "$SRV" type veth peer name ${P}c netns "$CLI"
ip -n "$SRV" addr add 10.81.1.1/24 dev ${P}s
ip -n "$CLI" addr add 10.81.1.2/24 dev ${P}c
ip -n "$SRV" link set ${P}s up
ip -n "$CLI" link set ${P}c up
mkdir -p "$RUN"
for ns in $SRV $CLI; do
	touch "$RUN/$ns"
	mount --bind "/var/run/netns/$ns" "$RUN/$ns"
done

SPORT=8381 UPORT=8382 CPORT=8383
cat >"$tmp/skydive.yml" <<YML
agent:
  topology:
    probes: [socketinfo]
    socketinfo:
      host_update: 1
YML
PORT=8082
ip netns exec "$HOST" env SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
	SKYDIVE_FLOW_UPDATE=1 "$SKYDIVE" allinone -c "$tmp/skydive.yml" --listen "127.0.0.1:$PORT" \
	--host-id "${P}h" --netns-run-path "$RUN" >"$tmp/allinone.log" 2>&1 &
pids+=($!)
q() {
	ip netns exec "$HOST" curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_jq() { # TIMEOUT_S QUERY FILTER
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
expect() { # NAME WAIT_S QUERY JQ_FILTER [JQ_SHOWN_ON_FAILURE]
	if wait_jq "$2" "$3" "$4"; then ok "$1"; else ko "$1" "$(q "$3" | jq -c "${5:-.}" | head -c 600)"; fi
}
client() { ip netns exec "$HOST" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { echo "[allinone.log] $(tail -c 600 "$tmp/allinone.log" | tr '\n' ' ')"; }

HOSTQ="G.V().Has('Type','host','Name','${P}h')"
IFQ="G.V().Has('Name','${P}s')"
expect "topology (host node and the server's veth)" 20 "$IFQ" 'length == 1'
[ "$fail" = 0 ] || { logs; finish; }

# capture on the server's end, active before the connection starts
out=$(client capture create --gremlin "$IFQ" --bpf tcp 2>&1)
CAP=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
[ -n "$CAP" ] && [ "$CAP" != null ] || { ko capture-create "$(echo "$out" | head -c 300)"; logs; finish; }
expect "capture-active" 15 "$IFQ" "[.[0].Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length == 1"

# the server: a TCP listener on SPORT that keeps its one connection, and a UDP socket
ip netns exec "$SRV" "$PYTHON" -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.81.1.1", int(sys.argv[2])))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.81.1.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept()
while True:
    d = c.recv(100)
    if not d: break
time.sleep(3600)
' $SPORT $UPORT >"$tmp/srv.log" 2>&1 &
SPID=$!
pids+=($SPID)
sleep 0.5
# the client: from a fixed port, sends a byte every 0.2 s (packets for the capture)
ip netns exec "$CLI" "$PYTHON" -c '
import socket, sys, time
c = socket.socket(); c.bind(("10.81.1.2", int(sys.argv[2]))); c.connect(("10.81.1.1", int(sys.argv[1])))
while True:
    c.send(b"x"); time.sleep(0.2)
' $SPORT $CPORT >"$tmp/cli.log" 2>&1 &
CPID=$!
pids+=($CPID)
# `ip netns exec` execs python3 in the same process ($!): its comm is "ip" until then
for _ in $(seq 50); do
	SNAME=$(cat /proc/$SPID/comm) CNAME=$(cat /proc/$CPID/comm)
	[ "$SNAME" = python3 ] && [ "$CNAME" = python3 ] && break
	sleep 0.1
done
check "names (the kernel's comm of both processes is python3)" "$SNAME / $CNAME" \
	test "$SNAME" = python3 -a "$CNAME" = python3

S=".[0].Metadata.Sockets // []"
sock() { # PROTO LADDR LPORT RADDR RPORT STATE PID NAME: a jq test of one Sockets entry
	echo "[$S | .[] | select(.Protocol == \"$1\" and .LocalAddress == \"$2\" and .LocalPort == $3 and .RemoteAddress == \"$4\" and .RemotePort == $5 and .State == \"$6\" and .Pid == $7 and .Name == \"$8\" and (.Process | test(\"python3\")))] | length == 1"
}
expect "sockets-listener (LISTEN on 10.81.1.1:$SPORT, the server's Pid and Name)" 15 "$HOSTQ" \
	"$(sock TCP 10.81.1.1 $SPORT 0.0.0.0 0 LISTEN $SPID "$SNAME")" \
	"{SocketInfo: .[0].Metadata.SocketInfo, Sockets: [$S | .[] | select(.LocalPort >= 8381 or .RemotePort >= 8381)]}"
expect "sockets-server-conn (the accepted connection, ESTABLISHED, the server's Pid)" 15 "$HOSTQ" \
	"$(sock TCP 10.81.1.1 $SPORT 10.81.1.2 $CPORT ESTABLISHED $SPID "$SNAME")" \
	"{SocketInfo: .[0].Metadata.SocketInfo, Sockets: [$S | .[] | select(.LocalPort >= 8381 or .RemotePort >= 8381)]}"
expect "sockets-client-conn (the client's end, ESTABLISHED, the client's Pid)" 15 "$HOSTQ" \
	"$(sock TCP 10.81.1.2 $CPORT 10.81.1.1 $SPORT ESTABLISHED $CPID "$CNAME")" \
	"{SocketInfo: .[0].Metadata.SocketInfo, Sockets: [$S | .[] | select(.LocalPort >= 8381 or .RemotePort >= 8381)]}"
expect "sockets-udp (the server's UDP socket on $UPORT, unconnected: CLOSE)" 5 "$HOSTQ" \
	"$(sock UDP 10.81.1.1 $UPORT 0.0.0.0 0 CLOSE $SPID "$SNAME")" \
	"{SocketInfo: .[0].Metadata.SocketInfo, Sockets: [$S | .[] | select(.LocalPort >= 8381 or .RemotePort >= 8381)]}"
expect "socketinfo-counters (SocketInfo on the host node, as many Sockets as the list)" 5 "$HOSTQ" \
	".[0].Metadata.SocketInfo.Sockets == ($S | length) and (.[0].Metadata.SocketInfo | has(\"Unattributed\") and has(\"Overflow\") and has(\"Errors\"))"

# Sockets() after Flows(): the connection's flow to the sockets at both ends
FQ="G.Flows().Has('Application','TCP','Transport.B',$SPORT)"
expect "flow (the connection's flow from the capture)" 15 "$FQ" 'length == 1'
UUID=$(q "$FQ" | jq -r '.[0].UUID')
expect "Sockets() (the flow's UUID to the server's and the client's sockets)" 10 \
	"G.Flows().Has('Application','TCP').Sockets()" \
	"length == 1 and (.[0][\"$UUID\"] | length == 2 and ([.[].Pid] | sort) == ([$SPID, $CPID] | sort) and ([.[] | select(.Pid == $SPID and .Name == \"$SNAME\" and .LocalPort == $SPORT and .RemotePort == $CPORT)] | length == 1))"
expect "Sockets-empty (no TCP flow on another port: [])" 0 \
	"G.Flows().Has('Application','TCP','Transport.B',1).Sockets()" 'length == 0'
HID=$(q "$HOSTQ" | jq -r '.[0].ID')
expect "Sockets-on-nodes (G.V().Sockets(): the host node's ID to its Sockets list)" 0 \
	"G.V().Sockets()" "length == 1 and (.[0] | keys) == [\"$HID\"] and ([.[0][\"$HID\"][] | select(.Pid == $SPID and .State == \"LISTEN\")] | length == 1)"

# the client goes: its socket leaves the list at the next refresh
kill "$CPID"
wait "$CPID" 2>/dev/null
expect "sockets-closed (the client's socket gone after it exited)" 15 "$HOSTQ" \
	"[$S | .[] | select(.Pid == $CPID)] | length == 0"

kill "$SPID"
wait "$SPID" 2>/dev/null
pids=("${pids[0]}")
stop_all
if [ -z "$bad_exit" ] && ! grep -qE 'Sanitizer|runtime error' "$tmp/allinone.log"; then
	ok clean-exit
else
	ko clean-exit "exit:$bad_exit; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/allinone.log")"
fi
finish
