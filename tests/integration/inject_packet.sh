#!/bin/bash
# inject_packet.sh - packet injection (docs/API.md "Packet injection"; Skydive's
# api/server/packet_injector.go, packetinjector/) with a real analyzer and two agents in
# network namespaces this test creates:
#
#   analyzer (AN) <-mgmt-> host1 (H1: inja) <-veth-> host2 (H2: injb)
#
#   - `skydive client injection create --src inja --dst injb --count 5`: host1's agent
#     sends 5 ICMP echo requests from inja; host2's kernel answers them (the addresses
#     and MACs came from the nodes), and a capture on both ends sees one flow each with
#     5 packets each way, whose TrackingID and L3TrackingID are the ones POST returned;
#   - from an interface inside another namespace of host1 (a netns node of its agent's
#     run path, as a container's): the agent enters the namespace to send;
#   - the frames are valid by tshark's checksum checks (IPv4, ICMP, TCP, UDP over
#     IPv6) and carry what was asked (ports, TTL, payload, ICMP id);
#   - list/get/delete, X-Resource-TTL expiry, /api/status Injections;
#   - Pcap replay: the frames of a capture file sent again (the first one's TrackingID);
#   - bad requests are 400 with Skydive's reasons.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skij$$
cleanup() {
	stop_all
	grep -o " $tmp[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${KEEP_LOGS:-}" ] && cp -r "$tmp" "$KEEP_LOGS"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "inject_packet: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq tcpdump tshark; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

AN=${P}an H1=${P}h1 H2=${P}h2 H3=${P}h3
for ns in $AN $H1 $H2 $H3; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add inja netns "$H1" type veth peer name injb netns "$H2"
# H3: a namespace of host1 (as a container's), seen by host1's agent through its netns
# run path, linked to host2 by injc <-> injd
ip link add injc netns "$H3" type veth peer name injd netns "$H2"
ip -n "$H3" addr add 10.79.4.1/24 dev injc
ip -n "$H2" addr add 10.79.4.2/24 dev injd
ip -n "$H3" link set injc up
ip -n "$H2" link set injd up
RUN=$tmp/netns
mkdir -p "$RUN"
touch "$RUN/$H3"
mount --bind "/var/run/netns/$H3" "$RUN/$H3"
ip link add m1 netns "$AN" type veth peer name mgmt netns "$H1"
ip link add m2 netns "$AN" type veth peer name mgmt netns "$H2"
ip -n "$AN" link add br0 type bridge
ip -n "$AN" link set m1 master br0
ip -n "$AN" link set m2 master br0
ip -n "$AN" addr add 10.79.2.1/24 dev br0
ip -n "$H1" addr add 10.79.2.2/24 dev mgmt
ip -n "$H2" addr add 10.79.2.3/24 dev mgmt
ip -n "$H1" addr add 10.79.1.1/24 dev inja
ip -n "$H2" addr add 10.79.1.2/24 dev injb
ip -n "$H1" addr add fd79::1/64 dev inja nodad
ip -n "$H2" addr add fd79::2/64 dev injb nodad
for l in "$AN br0" "$AN m1" "$AN m2" "$H1 mgmt" "$H2 mgmt" "$H1 inja" "$H2 injb"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
MACB=$(ip -n "$H2" -j link show injb | jq -r '.[0].address')

PORT=8082
q() {
	ip netns exec "$AN" curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
api() { ip netns exec "$AN" curl -s -m 10 "$@"; }
wait_jq() { # TIMEOUT_S QUERY FILTER
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
expect() { if wait_jq "$2" "$3" "$4"; then ok "$1"; else ko "$1" "$(q "$3" | head -c 400)"; fi; }
client() { ip netns exec "$AN" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { for f in "$tmp"/*.log; do echo "[$(basename "$f")] $(tail -c 400 "$f" | tr '\n' ' ')"; done; }
# post BODY [HEADER]: POST /api/injectpacket; the status in $code, the body in $tmp/post.json
post() {
	code=$(api -o "$tmp/post.json" -w '%{http_code}' -XPOST "http://127.0.0.1:$PORT/api/injectpacket" \
		-H 'Content-Type: application/json' ${2:+-H "$2"} -d "$1")
}

ip netns exec "$AN" env SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
	"$SKYDIVE" analyzer --listen "0.0.0.0:$PORT" --host-id analyzer >"$tmp/analyzer.log" 2>&1 &
pids+=($!)
ip netns exec "$H1" env SKYDIVE_FLOW_UPDATE=1 "$SKYDIVE" agent --host-id host1 \
	--analyzer "10.79.2.1:$PORT" --listen none --netns-run-path "$RUN" >"$tmp/agent1.log" 2>&1 &
pids+=($!)
ip netns exec "$H2" env SKYDIVE_FLOW_UPDATE=1 "$SKYDIVE" agent --host-id host2 \
	--analyzer "10.79.2.1:$PORT" --listen none --netns-run-path '' >"$tmp/agent2.log" 2>&1 &
pids+=($!)
SRC="G.V().Has('Name', 'inja')" DST="G.V().Has('Name', 'injb')"
expect "topology (inja and injb with their addresses at the analyzer)" 20 \
	"G.V().Has('Name', Within('inja', 'injb'))" \
	'length == 2 and all(.[]; (.Metadata.IPV4 | length) == 1 and (.Metadata.MAC | length) > 0)'
[ "$fail" = 0 ] || { logs; finish; }

# ---- 1. five ICMP echos, seen at both ends ----
out=$(client capture create --gremlin "G.V().Has('Name', Within('inja', 'injb'))" --bpf icmp 2>&1)
CAP=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
expect "capture-active (on inja and injb)" 20 "G.V().Has('Name', Within('inja', 'injb'))" \
	"[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$CAP\" and .State == \"active\")] | length == 2"
ip netns exec "$H2" tcpdump -i injb -U -w "$tmp/injb.pcap" 'icmp or tcp or (udp and not port 53) or icmp6' \
	>"$tmp/tcpdump.log" 2>&1 &
TCPD=$!
pids+=($TCPD)
sleep 1
out=$(client injection create --src "$SRC" --dst "$DST" --type icmp4 --count 5 --interval 100 \
	--id 4242 --payload skydive-inject 2>&1)
TID=$(echo "$out" | jq -r '.TrackingID' 2>/dev/null)
L3=$(echo "$out" | jq -r '.L3TrackingID' 2>/dev/null)
IUUID=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
check "create (UUID, TrackingID and L3TrackingID returned)" "$(echo "$out" | head -c 400)" \
	sh -c "echo '$TID' | grep -qE '^[0-9a-f]{1,16}$' && echo '$L3' | grep -qE '^[0-9a-f]{1,16}$' && [ ${#IUUID} = 36 ]"
check "create-resolved (the nodes' addresses, as Skydive's createRequest)" "$(echo "$out" | head -c 400)" \
	sh -c "echo '$out' | jq -e '.Src == \"$SRC\" and .Type == \"icmp4\" and .Count == 5 and (.Nodes | length) == 1 and .Nodes[0].Host == \"host1\"' >/dev/null"
FLOWS="G.Flows().Has('TrackingID', '$TID')"
expect "flow-both-ends (the TrackingID's flow at inja and injb: 5 echos, 5 replies each)" 20 "$FLOWS" \
	'length == 2 and all(.[]; .Metric.ABPackets == 5 and .Metric.BAPackets == 5 and .Application == "ICMPv4")'
expect "flow-l3-trackingid (the same flows by L3TrackingID; A is inja's address)" 0 \
	"G.Flows().Has('L3TrackingID', '$L3')" \
	'length == 2 and all(.[]; .Network.A == "10.79.1.1" and .Network.B == "10.79.1.2" and .ICMP.ID == 4242)'
expect "flow-nodes (one flow per capture point)" 0 "$FLOWS" \
	'[.[].NodeTID] | unique | length == 2'
check "agent-log (host1's agent sent 5 packets on inja)" "$(logs)" \
	grep -q "inject: $IUUID on inja: 5 packets sent" "$tmp/agent1.log"

# Skydive's PacketInjections metadata on the source node while it runs, gone after
post "$(jq -cn --arg s "$SRC" --arg d "$DST" '{Src:$s, Dst:$d, Type:"udp4", DstPort:7, Count:40, Interval:100}')"
LONG=$(jq -r .UUID "$tmp/post.json")
expect "metadata-active (PacketInjections on inja: ID, State active, the request)" 5 "$SRC" \
	"[.[0].Metadata.PacketInjections[]? | select(.ID == \"$LONG\" and .State == \"active\" and .Type == \"udp4\" and .Count == 40)] | length == 1"
expect "metadata-gone (removed once the 40 packets are sent)" 15 "$SRC" '.[0].Metadata.PacketInjections == null'
api -s -XDELETE "http://127.0.0.1:$PORT/api/injectpacket/$LONG" >/dev/null

# from an interface inside another namespace of host1 (the agent enters it to send)
expect "netns-node (injc owned by host1's netns node $H3)" 20 "G.V().Has('Name', '$H3', 'Type', 'netns').Out().Has('Name', 'injc')" \
	'length == 1 and (.[0].Metadata.IPV4 | length) == 1'
out=$(client capture create --gremlin "G.V().Has('Name', 'injd')" --bpf icmp 2>&1)
CAPD=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
expect "capture-injd-active" 20 "G.V().Has('Name', 'injd')" \
	"[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$CAPD\" and .State == \"active\")] | length == 1"
post "$(jq -cn --arg s "G.V().Has('Name', 'injc')" --arg d "G.V().Has('Name', 'injd')" '{Src:$s, Dst:$d, Type:"icmp4", Count:3, Interval:50}')"
NTID=$(jq -r .TrackingID "$tmp/post.json")
check "netns-created" "$code $(head -c 300 "$tmp/post.json")" test "$code" = 201
expect "netns-flow (3 echos from injc inside $H3, 3 replies, seen on injd)" 20 "G.Flows().Has('TrackingID', '$NTID')" \
	'length == 1 and .[0].Metric.ABPackets == 3 and .[0].Metric.BAPackets == 3 and .[0].Network.A == "10.79.4.1"'
check "netns-agent-log (the agent sent them in the namespace's file)" "$(logs)" \
	grep -q "frames on injc in $RUN/$H3" "$tmp/agent1.log"

# ---- 2. frames tshark finds valid, with what was asked ----
post "$(jq -cn --arg s "$SRC" --arg d "$DST" '{Src:$s, Dst:$d, Type:"tcp4", SrcPort:40000, DstPort:8080, TTL:17, Payload:"abc"}')"
check "tcp4-created" "$code $(head -c 300 "$tmp/post.json")" test "$code" = 201
TCPU=$(jq -r .UUID "$tmp/post.json") TCPT=$(jq -r .TrackingID "$tmp/post.json")
post "$(jq -cn --arg s "$SRC" --arg m "$MACB" '{Src:$s, DstIP:"fd79::2", DstMAC:$m, Type:"udp6", SrcPort:5353, DstPort:9999, Count:2, IncrementPayload:10}')"
check "udp6-created (DstIP and DstMAC given, no Dst node)" "$code $(head -c 300 "$tmp/post.json")" test "$code" = 201
post "$(jq -cn --arg s "$SRC" --arg d "$DST" '{Src:$s, Dst:$d, Type:"icmp6", ICMPID:7}')"
check "icmp6-created" "$code $(head -c 300 "$tmp/post.json")" test "$code" = 201
sleep 2
kill -INT "$TCPD" 2>/dev/null
wait "$TCPD" 2>/dev/null
TS="tshark -r $tmp/injb.pcap -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
# (the injected frames only: host2's own replies leave with checksums left to offload)
bad=$($TS -Y 'eth.src != '"$MACB"' && (ip.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad")' 2>/dev/null | wc -l)
n=$($TS -Y 'eth.src != '"$MACB" 2>/dev/null | wc -l)
check "tshark-checksums (no bad checksum among the $n injected frames)" "$bad bad; $($TS 2>&1 | head -5)" \
	sh -c "[ '$bad' = 0 ] && [ '$n' -ge 9 ]"
echos=$($TS -Y 'icmp.type == 8 && icmp.ident == 4242 && data.data == 736b79646976652d696e6a656374' 2>/dev/null | wc -l)
check "tshark-icmp4 (5 echo requests, id 4242, the payload asked)" "$echos" test "$echos" = 5
syn=$($TS -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.srcport == 40000 && tcp.dstport == 8080 && ip.ttl == 17 && tcp.len == 3' 2>/dev/null | wc -l)
check "tshark-tcp4 (one SYN 40000 -> 8080, TTL 17, 3 bytes of payload)" "$syn" test "$syn" = 1
udp=$($TS -Y '!icmpv6 && ipv6.dst == fd79::2 && udp.srcport == 5353 && udp.dstport == 9999' -T fields -e udp.length 2>/dev/null | tr '\n' ' ')
# 56 random letters then 10 more: UDP lengths 8 + 56 and 8 + 66
check "tshark-udp6 (two datagrams, the payload 10 bytes longer the second time)" "'$udp'" \
	test "$udp" = "64 74 "
echo6=$($TS -Y 'icmpv6.type == 128 && icmpv6.echo.identifier == 7 && ipv6.hlim == 64' 2>/dev/null | wc -l)
check "tshark-icmp6 (an echo request, id 7, hop limit 64 by default)" "$echo6" test "$echo6" = 1

# ---- Pcap replay (Skydive's pcap.go): the 5 echo requests tcpdump saw, sent again ----
tcpdump -r "$tmp/injb.pcap" -w "$tmp/replay.pcap" 'icmp[icmptype] == icmp-echo and icmp[4:2] == 4242' 2>/dev/null
out=$(client injection create --src "$SRC" --pcap "$tmp/replay.pcap" --interval 50 2>&1)
RT=$(echo "$out" | jq -r '.TrackingID' 2>/dev/null)
check "pcap-create (the first frame's TrackingID: the first injection's flow)" "$(echo "$out" | head -c 300)" \
	test "$RT" = "$TID"
expect "pcap-replayed (the file once: that flow now has 10 echos and 10 replies at each end)" 20 "$FLOWS" \
	'(map(.Metric.ABPackets) | add) == 20 and (map(.Metric.BAPackets) | add) == 20'
check "pcap-agent-log (5 frames of the file sent)" "$(logs)" \
	sh -c "grep -q 'inject: .*: 5 pcap frames on inja' '$tmp/agent1.log'"
"$PYTHON" - "$tmp/rawip.pcap" <<'PY'
import struct, sys
ip = bytes([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 79, 1, 1, 10, 79, 1, 2])
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)
                              + struct.pack("<IIII", 0, 0, 20, 20) + ip)
PY
refused_pcap() { # NAME FILE GREP
	post "$(jq -cn --arg s "$SRC" --arg p "$(base64 -w0 "$2")" '{Src:$s, Type:"icmp4", Pcap:$p}')"
	if [ "$code" = 400 ] && jq -r .Error "$tmp/post.json" | grep -q "$3"; then ok "$1"
	else ko "$1" "$code $(head -c 300 "$tmp/post.json")"; fi
}
refused_pcap "pcap-raw-ip-refused (only Ethernet frames)" "$tmp/rawip.pcap" "only Ethernet frames"
refused_pcap "pcap-not-a-capture" /etc/hostname "not a capture file"

# ---- 3. the resource ----
# (the three made through the API have no TTL: they stay until deleted; the client's has
# Skydive's Interval x Count + 5 s)
l=$(client injection list 2>&1)
check "list (the injections, by UUID)" "$(echo "$l" | head -c 300)" \
	sh -c "echo '$l' | jq -e 'length >= 3 and has(\"$TCPU\") and .[\"$TCPU\"].Type == \"tcp4\"' >/dev/null"
g=$(client injection get "$TCPU" 2>&1)
check "get" "$(echo "$g" | head -c 300)" \
	sh -c "echo '$g' | jq -e '.TrackingID == \"$TCPT\" and .SrcPort == 40000' >/dev/null"
st=$(api "http://127.0.0.1:$PORT/api/status" | jq -c '.Injections')
check "status (Injections: 7 created, the agent's replies 'injecting')" "$st" \
	sh -c "echo '$st' | jq -e '.Created == 7 and .StartsSent == 7 and .ErrorReplies == 0 and .Nodes[\"$TCPU\"][] == \"injecting\"' >/dev/null"
client injection delete "$TCPU" >"$tmp/del.out" 2>&1
check "delete" "$(cat "$tmp/del.out")" test $? = 0
code=$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/injectpacket/$TCPU")
check "deleted-404" "GET after DELETE: $code" test "$code" = 404
for _ in $(seq 100); do
	c=$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/injectpacket/$IUUID")
	[ "$c" = 404 ] && break
	sleep 0.2
done
check "client-ttl (the client's injection expires: Interval x Count + 5 s)" "GET: $c" test "$c" = 404
post "$(jq -cn --arg s "$SRC" --arg d "$DST" '{Src:$s, Dst:$d, Type:"icmp4"}')" "X-Resource-TTL: 1s"
TTLU=$(jq -r .UUID "$tmp/post.json")
for _ in $(seq 30); do
	c=$(api -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/injectpacket/$TTLU")
	[ "$c" = 404 ] && break
	sleep 0.2
done
check "ttl-expiry (X-Resource-TTL: 1s removes it)" "GET: $c" test "$c" = 404

# ---- 4. refused, with the reason ----
refused() { # NAME BODY GREP
	post "$2"
	if [ "$code" = 400 ] && jq -r .Error "$tmp/post.json" | grep -q "$3"; then ok "$1"
	else ko "$1" "$code $(head -c 300 "$tmp/post.json")"; fi
}
refused "bad-type (Skydive's reason)" "$(jq -cn --arg s "$SRC" '{Src:$s, DstIP:"10.79.1.2", Type:"sctp4"}')" \
	"given type is not supported"
refused "bad-mode" "$(jq -cn --arg s "$SRC" '{Src:$s, DstIP:"10.79.1.2", Type:"icmp4", Mode:"burst"}')" \
	"given mode is not supported"
refused "no-source-node" '{"Src": "G.V().Has('"'"'Name'"'"', '"'"'nothere'"'"')", "DstIP": "10.79.1.2", "Type": "icmp4"}' \
	"Not able to find a source node"
refused "no-destination" "$(jq -cn --arg s "$SRC" '{Src:$s, Type:"icmp4"}')" "give Dst or DstIP"
refused "unknown-field" "$(jq -cn --arg s "$SRC" '{Src:$s, DstIP:"10.79.1.2", Type:"icmp4", Burst:3}')" \
	"unknown field 'Burst'"
refused "bad-ip (an IPv4 address for icmp6)" "$(jq -cn --arg s "$SRC" '{Src:$s, DstIP:"10.79.1.2", DstMAC:"02:00:00:00:00:01", Type:"icmp6"}')" \
	"is not an IPv6 address"
refused "pcap-not-base64" "$(jq -cn --arg s "$SRC" '{Src:$s, Type:"icmp4", Pcap:"%%%"}')" "Pcap is not base64"
refused "bad-gremlin (the query's error)" '{"Src": "G.V().Has(", "DstIP": "10.79.1.2", "Type": "icmp4"}' "Src query"
client injection create --src "$SRC" --pcap /etc/hostname >"$tmp/pcap.out" 2>&1
rc=$?
check "client-pcap-refused (not a capture file: exit 2, said so)" "$rc $(cat "$tmp/pcap.out")" \
	sh -c "[ $rc = 2 ] && grep -q 'not a capture file' '$tmp/pcap.out'"
code=$(api -o "$tmp/put.json" -w '%{http_code}' -XPUT "http://127.0.0.1:$PORT/api/injectpacket/$TTLU" -d '{}')
check "not-updatable (PUT: 405)" "$code" test "$code" = 405

stop_all
check clean-exit "daemons' exit statuses:$bad_exit $(grep -h 'ERROR: \|runtime error' "$tmp"/*.log | head -3)" \
	sh -c "[ -z '$bad_exit' ] && ! grep -q 'ERROR: AddressSanitizer\|runtime error' '$tmp'/*.log"
finish
