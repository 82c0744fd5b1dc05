#!/bin/bash
# capture_targets.sh - the capture targets (Target/TargetType) end to end, as
# root, in two namespaces of our own (prefix sktg<pid>: A and B linked by a
# veth eth0 <-> eth0; nothing is created or captured in the root namespace).
# `skydive allinone` runs in A and captures A's eth0:
#  1. netflowv5: a real nfcapd in A (127.0.0.1) collects what the capture
#     exports; after 3 pings, 4 UDP datagrams of 100 bytes, a TCP exchange and
#     an IPv6 ping, nfdump's records, added up per direction, equal the flows
#     the analyzer shows (addresses, ports, protocol, packets, layer 3 bytes),
#     the pings and datagrams have the counts and sizes the test sent, nfdump
#     sees no sequence failure, the record times are within the test's window,
#     and the IPv6 flow is counted as skipped in the Captures entry.
#  2. erspanv1: tshark on A's lo records what the capture sends to 127.0.0.1;
#     tshark decodes ERSPAN type II (version 1, session 1, Index = eth0's
#     IfIndex), and the frames inside equal, byte for byte and in order, what a
#     tcpdump of eth0 with the capture's BPF filter recorded.
#  3. refusals: an unknown TargetType and a TargetType without Target get a
#     400 naming what is accepted; an IPv6 ERSPAN target puts the capture in
#     state error with the reason.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
# ok, ko, finish, tmp, pids (here: allinone, nfcapd, tshark, tcpdump), SKYDIVE
. "$(dirname "$0")/lib/harness.sh"
PY=$PYTHON
P=sktg$$
A=${P}a B=${P}b
chmod 755 "$tmp" # tshark's dumpcap may drop privileges before writing
aio=""

stop_pid() { # PID [SIGNAL]: signal, then wait for it (SIGKILL after 5 s)
	local pid=$1 sig=${2:-TERM}
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
cleanup() {
	for p in "${pids[@]}"; do stop_pid "$p"; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: capture_targets needs root (network namespaces)"
	fail=1
	finish
fi
for tool in ip curl jq ping nfcapd nfdump tshark tcpdump ss $PY; do
	command -v $tool >/dev/null || { ko setup "$tool missing"; finish; }
done

now_ms() { date +%s%3N; }
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }
q() {
	inA curl -s -m 5 -XPOST "http://$API/api/topology" -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_for() { # TIMEOUT_S QUERY JQ_FILTER
	local end=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -le "$end" ]; do
		q "$2" | jq -e "$3" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
wait_file() { # TIMEOUT_S FILE PATTERN: until FILE has a line matching PATTERN
	local end=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -le "$end" ]; do
		grep -q "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
client() { inA env SKYDIVE_ANALYZERS=$API "$SKYDIVE" client "$@"; }
sanitizer_clean() { ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$1"; }

# ---- the lab ---------------------------------------------------------------
for ns in $A $B; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add eth0 netns "$A" type veth peer name eth0 netns "$B"
ip -n "$A" addr add 10.203.0.1/24 dev eth0
ip -n "$B" addr add 10.203.0.2/24 dev eth0
ip -n "$A" addr add fd00:203::1/64 dev eth0 nodad
ip -n "$B" addr add fd00:203::2/64 dev eth0 nodad
ip -n "$A" link set eth0 up
ip -n "$B" link set eth0 up

API=127.0.0.1:8082
# Flows reach the analyzer (and the NetFlow collector) every second.
ip netns exec "$A" env SKYDIVE_FLOW_UPDATE=1 "$SKYDIVE" allinone --listen "$API" --host-id "${P}host" \
	--netns-run-path '' >"$tmp/allinone.log" 2>&1 &
aio=$!
pids+=($aio)
NODE="G.V().Has('Name','eth0')"
if ! wait_for 15 "$NODE" 'length == 1'; then
	ko allinone-up "no node eth0; log: $(tail -c 300 "$tmp/allinone.log")"
	finish
fi
ifindex=$(q "$NODE" | jq -r '.[0].Metadata.IfIndex')
ENTRY='[.[0].Metadata.Captures // [] | .[]]'

# create NAME FLAGS...: sets uuid once the capture is active on eth0
create() {
	local name=$1 out
	shift
	out=$(client capture create --gremlin "$NODE" "$@" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$uuid" ] || [ "$uuid" = null ]; then
		ko "$name-create" "$(echo "$out" | head -c 300)"
		return 1
	fi
	if wait_for 15 "$NODE" "$ENTRY | map(select(.ID == \"$uuid\" and .State == \"active\")) | length == 1"; then
		ok "$name-active"
	else
		ko "$name-active" "$(q "$NODE" | jq -c "$ENTRY" | head -c 300); $(tail -c 300 "$tmp/allinone.log")"
		return 1
	fi
}
delete() { # NAME
	client capture delete "$uuid" >/dev/null 2>&1
	wait_for 15 "$NODE" "$ENTRY | map(select(.ID == \"$uuid\")) | length == 0" ||
		ko "$1-delete" "$(q "$NODE" | jq -c "$ENTRY" | head -c 300)"
}

# traffic BASE: 3 echo requests with 56 bytes of data (84-byte IPv4
# packets), 4 UDP datagrams of 100 bytes (128-byte packets) from port BASE+1
# to BASE+2, where B listens, one TCP connection from BASE+4 to BASE+3
# carrying 1000 bytes (the ports differ per part: a TIME_WAIT stays).
traffic() {
	local base=$1
	inB $PY -c '
import socket, sys
b = int(sys.argv[1])
u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("10.203.0.2", b + 2)); u.settimeout(10)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("10.203.0.2", b + 3)); t.listen(1); t.settimeout(10)
print("ready", flush=True)
c, _ = t.accept(); n = 0
while n < 1000:
    d = c.recv(4096)
    if not d: break
    n += len(d)
c.sendall(b"ok"); c.close()
for _ in range(4): u.recv(200)
' "$base" >"$tmp/server.log" 2>&1 &
	local srv=$!
	wait_file 5 "$tmp/server.log" ready || ko traffic-server "$(cat "$tmp/server.log")"
	inA ping -c 3 -i 0.2 -W 2 10.203.0.2 >/dev/null || ko traffic-ping "no reply"
	inA $PY -c '
import socket, sys
b = int(sys.argv[1])
u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("10.203.0.1", b + 1))
for _ in range(4): u.sendto(b"x" * 100, ("10.203.0.2", b + 2))
t = socket.create_connection(("10.203.0.2", b + 3), timeout=10, source_address=("10.203.0.1", b + 4))
t.sendall(b"y" * 1000); t.shutdown(socket.SHUT_WR)
while t.recv(100): pass
t.close()
' "$base" || ko traffic-udp-tcp "client failed"
	wait "$srv" 2>/dev/null
}

# ---- 1. netflowv5 ------------------------------------------------------------
mkdir -p "$tmp/nf"
ip netns exec "$A" nfcapd -w "$tmp/nf" -b 127.0.0.1 -p 2055 -t 3600 >"$tmp/nfcapd.log" 2>&1 &
nfcapd=$!
pids+=($nfcapd)
for _ in $(seq 50); do inA ss -Huln "sport = :2055" | grep -q . && break; sleep 0.1; done
if create netflow --target 127.0.0.1:2055 --target-type netflowv5; then
	t0=$(now_ms)
	traffic 40000
	inA ping -6 -c 2 -i 0.2 -W 2 fd00:203::2 >/dev/null || ko netflow-ping6 "no reply"
	t1=$(now_ms)
	IC='map(select(.Network.A == "10.203.0.1" and .Network.B == "10.203.0.2"))'
	# The analyzer has the pings and the datagrams; then one more update.
	FL="G.Flows().Has('CaptureID','$uuid')"
	if wait_for 15 "$FL" "($IC | map(select(.Application == \"ICMPv4\" and .Metric.ABPackets == 3 and .Metric.BAPackets == 3)) | length == 1) and ($IC | map(select(.Application == \"UDP\" and .Metric.ABPackets == 4)) | length == 1)"; then
		ok "netflow-analyzer-flows (the pings and datagrams at the analyzer)"
	else
		ko netflow-analyzer-flows "$(q "$FL" | jq -c 'map({Application, Network, Metric})' | head -c 600)"
	fi
	sleep 2
	q "$FL" >"$tmp/flows.json"
	if wait_for 10 "$NODE" "$ENTRY | .[0] | .TargetType == \"netflowv5\" and .Target == \"127.0.0.1:2055\" and .TargetSent > 0 and .TargetSendErrors == 0 and .TargetDropped == 0 and .TargetSkippedIPv6 >= 1"; then
		ok "netflow-entry (records sent, no error, the IPv6 flow skipped and counted)"
	else
		ko netflow-entry "$(q "$NODE" | jq -c "$ENTRY" | head -c 400)"
	fi
	delete netflow # the last records leave with the flows
	sleep 1
fi
stop_pid "$nfcapd"
TZ=UTC nfdump -R "$tmp/nf" -N -q -o "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt" >"$tmp/nfdump.txt" 2>"$tmp/nfdump.err"
nfdump -R "$tmp/nf" -I >"$tmp/nfdump-stat.txt" 2>&1
$PY - "$tmp/flows.json" "$tmp/nfdump.txt" "$t0" "$t1" >"$tmp/compare.txt" 2>&1 <<'EOF'
import calendar, json, sys, time
flows, nf, t0, t1 = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PROTO = {"TCP": 6, "UDP": 17, "SCTP": 132}
want = {}  # (sa, da, sp, dp, proto) -> [packets, bytes], one per direction
for f in flows:
    n = f.get("Network")
    if not n or n["Protocol"] != "IPV4":
        continue
    t = f.get("Transport")
    proto = PROTO[t["Protocol"]] if t else 1  # ICMPv4 flows have no transport
    pa, pb = (t["A"], t["B"]) if t else (0, 0)
    m = f["Metric"]
    l2 = 14 if f.get("Link") else 0
    for k, p, b in (((n["A"], n["B"], pa, pb, proto), m.get("ABPackets", 0), m.get("ABBytes", 0)),
                    ((n["B"], n["A"], pb, pa, proto), m.get("BAPackets", 0), m.get("BABytes", 0))):
        if p:  # flows of one 5-tuple (ICMP ids) add up, as nfdump's records do
            w = want.setdefault(k, [0, 0])
            w[0] += p; w[1] += b - l2 * p
got, times = {}, []
NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1}
for line in open(nf):
    c = [x.strip() for x in line.split("|")]
    if len(c) != 9:
        continue
    ts, te, sa, da, sp, dp, pr, pkt, byt = c
    proto = int(pr) if pr.isdigit() else NAMES.get(pr, pr)
    if proto == 1:
        sp = dp = "0"  # nfdump shows ICMP type.code in the ports
    k = (sa, da, int(sp), int(dp.split(".")[0]) if proto != 1 else 0, proto)
    g = got.setdefault(k, [0, 0])
    g[0] += int(pkt); g[1] += int(byt)
    for s in (ts, te):
        sec, _, ms = s.partition(".")
        times.append(calendar.timegm(time.strptime(sec, "%Y-%m-%d %H:%M:%S")) * 1000 + int(ms or 0))
print("want", sorted(want.items()))
print("got ", sorted(got.items()))
ok = want == got and len(want) > 0
exp = {("10.203.0.1", "10.203.0.2", 0, 0, 1): [3, 252], ("10.203.0.2", "10.203.0.1", 0, 0, 1): [3, 252],
       ("10.203.0.1", "10.203.0.2", 40001, 40002, 17): [4, 512]}
setup = all(got.get(k) == v for k, v in exp.items())
tcp = got.get(("10.203.0.1", "10.203.0.2", 40004, 40003, 6), [0, 0])
setup = setup and tcp[1] >= 1000 + 3 * 40  # the data, the SYN, FIN, an ACK at least
window = all(t0 - 2000 <= t <= t1 + 4000 for t in times) and times
print("equal", ok, "setup", setup, "window", bool(window), min(times or [0]) - t0, max(times or [0]) - t1)
sys.exit(0 if ok and setup and window else 1)
EOF
rc=$?
if [ $rc = 0 ]; then
	ok "netflow-nfdump (nfdump's records = the analyzer's flows per direction; pings 3x84 B, datagrams 4x128 B; times in the test's window)"
else
	ko netflow-nfdump "$(tail -c 900 "$tmp/compare.txt"); $(head -c 200 "$tmp/nfdump.err")"
fi
seqf=$(awk -F': *' '/Sequence failures/ {print $2}' "$tmp/nfdump-stat.txt")
if [ "$seqf" = 0 ]; then
	ok "netflow-sequence (nfdump: 0 sequence failures)"
else
	ko netflow-sequence "$(tr '\n' ' ' <"$tmp/nfdump-stat.txt" | head -c 400)"
fi

# ---- 2. erspanv1 ---------------------------------------------------------------
ip netns exec "$A" tshark -n -i lo -f "ip proto 47" -w "$tmp/erspan.pcap" >"$tmp/tshark.log" 2>&1 &
tsh=$!
pids+=($tsh)
ip netns exec "$A" tcpdump -n -U -s 0 -i eth0 -w "$tmp/eth0.pcap" ip >"$tmp/tcpdump.log" 2>&1 &
tcd=$!
pids+=($tcd)
wait_file 10 "$tmp/tshark.log" "Capturing on" || ko erspan-tshark "$(head -c 300 "$tmp/tshark.log")"
wait_file 10 "$tmp/tcpdump.log" "listening on" || ko erspan-tcpdump "$(head -c 300 "$tmp/tcpdump.log")"
if create erspan --bpf ip --target 127.0.0.1:1 --target-type erspanv1; then
	traffic 40010
	# 3 requests + 3 replies + 4 datagrams + the TCP segments: at least 10 frames
	if wait_for 10 "$NODE" "$ENTRY | .[0] | .TargetType == \"erspanv1\" and .TargetSent >= 10 and .TargetSent == .PacketsReceived and .TargetSendErrors == 0 and .TargetDropped == 0"; then
		ok "erspan-entry (every captured frame sent, no error)"
	else
		ko erspan-entry "$(q "$NODE" | jq -c "$ENTRY" | head -c 400)"
	fi
	sleep 1
	delete erspan
fi
sleep 1
stop_pid "$tcd" INT
stop_pid "$tsh" INT
tshark -n -r "$tmp/erspan.pcap" -Y erspan -T json -x >"$tmp/erspan.json" 2>"$tmp/erspan.err"
tshark -n -r "$tmp/eth0.pcap" -T json -x >"$tmp/eth0.json" 2>>"$tmp/erspan.err"
$PY - "$tmp/erspan.json" "$tmp/eth0.json" "$ifindex" >"$tmp/erspan-compare.txt" 2>&1 <<'EOF'
import json, sys
er, eth, ifindex = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
inner, flags, bad = [], [], []
for p in er:
    l = p["_source"]["layers"]
    e = l.get("erspan", {})
    raw = bytes.fromhex(l["frame_raw"][0])
    off = int(l["erspan_raw"][1])  # where tshark found the ERSPAN header
    fields = (e.get("erspan.version"), e.get("erspan.spanid"), e.get("erspan.index"),
              e.get("erspan.truncated"))
    if fields[:3] != ("1", "1", ifindex):
        bad.append(fields)
    inner.append(raw[off + 8:])
    flags.append(fields[3])
full = [bytes.fromhex(p["_source"]["layers"]["frame_raw"][0]) for p in eth]
# The capture keeps 256 bytes of a frame (HeaderSize 0): a longer one is sent
# cut, with the T(runcated) bit set.
ref = [f[:256] for f in full]
if flags != ["1" if len(f) > 256 else "0" for f in full]:
    bad.append(("truncated bits", flags))
if not any(len(f) > 256 for f in full):
    bad.append("no frame longer than 256 bytes: T bit untested")
print("erspan", len(inner), "eth0", len(ref), "bad headers", bad[:3])
for i, (a, b) in enumerate(zip(inner, ref)):
    if a != b:
        print("frame", i, "differs:", a.hex()[:80], b.hex()[:80])
        break
sys.exit(0 if inner == ref and len(ref) >= 10 and not bad else 1)
EOF
if [ $? = 0 ]; then
	ok "erspan-tshark (tshark decodes ERSPAN II v1 session 1 index $ifindex; inner frames = tcpdump's of eth0, cut to 256 bytes with T set)"
else
	ko erspan-tshark "$(tail -c 600 "$tmp/erspan-compare.txt"); $(head -c 200 "$tmp/erspan.err")"
fi

# ---- 3. refusals ---------------------------------------------------------------
out=$(client capture create --gremlin "$NODE" --target 127.0.0.1:9 --target-type ipfix 2>&1)
if echo "$out" | grep -q "netflowv5 or erspanv1"; then
	ok "refuse-unknown-type (names netflowv5 and erspanv1)"
else
	ko refuse-unknown-type "$(echo "$out" | head -c 300)"
fi
code=$(inA curl -s -o "$tmp/r.json" -w '%{http_code}' -XPOST "http://$API/api/capture" \
	-d "{\"GremlinQuery\":\"$NODE\",\"TargetType\":\"netflowv5\"}")
if [ "$code" = 400 ] && grep -q "needs a Target" "$tmp/r.json"; then
	ok "refuse-no-target (400)"
else
	ko refuse-no-target "$code $(head -c 200 "$tmp/r.json")"
fi

# A target the agent cannot open: the capture is in state error, saying why.
out=$(client capture create --gremlin "$NODE" --target "[::1]:1" --target-type erspanv1 2>&1)
uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
if wait_for 15 "$NODE" "$ENTRY | map(select(.ID == \"$uuid\" and .State == \"error\" and (.Error | contains(\"IPv4\")))) | length == 1"; then
	ok "erspan-ipv6-target (state error: needs an IPv4 address)"
else
	ko erspan-ipv6-target "$(q "$NODE" | jq -c "$ENTRY" | head -c 300)"
fi
# Deleting it sends the agent a Stop all the same: the error entry leaves the
# node's Captures (as Skydive's OnDemand client stops every node listing the ID).
client capture delete "$uuid" >/dev/null 2>&1
if wait_for 15 "$NODE" "$ENTRY | map(select(.ID == \"$uuid\")) | length == 0"; then
	ok "error-entry-removed-on-delete"
else
	ko error-entry-removed-on-delete "$(q "$NODE" | jq -c "$ENTRY" | head -c 300)"
fi

stop_pid "$aio"
pids=()
if sanitizer_clean "$tmp/allinone.log"; then
	ok clean-exit
else
	ko clean-exit "$(grep -m3 -E 'Sanitizer|runtime error' "$tmp/allinone.log")"
fi
finish
