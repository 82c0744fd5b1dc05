#!/bin/bash
# reasm_agent.sh - IPDefrag and ReassembleTCP of an agent capture, checked
# against tshark on tcpdump's capture of the same interface. As root, in
# namespaces of our own (prefix skra<pid>; nothing is created or captured in
# the root namespace): host1 and host2 linked by a veth (MTU 1500); an
# allinone (analyzer + agent) in host1; a capture on host1's eth0 created by
# `skydive client capture create --ip-defrag --reassemble-tcp`, while tcpdump
# writes the same interface to a pcap. Traffic: `ping -s 4000 -c 2` (3
# fragments each way, per ping), one 5000-byte UDP datagram, one HTTP GET of
# 20000 bytes over TCP. Then, from the analyzer's flows (G.At(...).Flows()):
# the ICMP and UDP flows' packets, bytes, IPMetric and ports equal what tshark
# (-o ip.defragment:TRUE) reassembles from the pcap; the TCP flow's stream
# bytes equal tshark's `-z follow,tcp`. A capture with IPDefrag on an ebpf
# capture type is refused with a clear error.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PY=${PYTHON:-/usr/bin/python3}
P=skra$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq tcpdump tshark ping; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

H1=${P}h1 H2=${P}h2
ip netns add "$H1"
ip netns add "$H2"
ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2"
for ns in $H1 $H2; do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$H1" addr add 10.78.1.1/24 dev eth0
ip -n "$H2" addr add 10.78.1.2/24 dev eth0
ip -n "$H1" link set eth0 up
ip -n "$H2" link set eth0 up

PORT=8083
export SKYDIVE_FLOW_UPDATE=1
mkdir -p "$tmp/data"
ip netns exec "$H1" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
	"$SKYDIVE" allinone --listen "127.0.0.1:$PORT" --host-id host1 --netns-run-path '' \
	>"$tmp/allinone.log" 2>&1 &
pids+=($!)
q() {
	ip netns exec "$H1" curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_jq() {
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
client() { ip netns exec "$H1" env SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }

# (before the capture: its probes are not part of the test)
# an HTTP server of a 20000-byte file in host2
mkdir -p "$tmp/www"
head -c 20000 /dev/urandom >"$tmp/www/blob"
ip netns exec "$H2" "$PY" -m http.server 8000 --bind 10.78.1.2 --directory "$tmp/www" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do ip netns exec "$H1" curl -s -o /dev/null -m 1 http://10.78.1.2:8000/ && break; sleep 0.1; done
if ! wait_jq 20 "G.V().Has('Name','eth0')" 'length == 1'; then
	ko topology "$(tail -c 300 "$tmp/allinone.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi
out=$(client capture create --gremlin "G.V().Has('Name', 'eth0')" --bpf "not tcp port $PORT" \
	--ip-defrag --reassemble-tcp 2>&1)
uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
[ -n "$uuid" ] && [ "$uuid" != null ] && ok capture-create || ko capture-create "$(echo "$out" | head -c 300)"
wait_jq 15 "G.V().Has('Name','eth0')" "[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$uuid\" and .State == \"active\")] | length == 1" &&
	ok capture-active || ko capture-active "$(tail -c 300 "$tmp/allinone.log")"

ip netns exec "$H1" tcpdump -i eth0 -s 0 -U -w "$tmp/eth0.pcap" "not tcp port $PORT" 2>"$tmp/tcpdump.err" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done

ip netns exec "$H1" ping -s 4000 -c 2 -i 0.3 10.78.1.2 >/dev/null 2>&1 || ko ping "no reply to ping -s 4000"
ip netns exec "$H1" "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes(5000), ('10.78.1.2', 9999))"
ip netns exec "$H1" curl -s -o "$tmp/got" "http://10.78.1.2:8000/blob"
cmp -s "$tmp/got" "$tmp/www/blob" || ko http "the download differs"
sleep 3 # two flow updates
kill -INT "${pids[2]}" 2>/dev/null
wait "${pids[2]}" 2>/dev/null

flows() { q "G.At('-1s', 1000).Flows().Has('CaptureID', '$uuid')"; }
wait_jq 15 "G.At('-1s', 1000).Flows().Has('CaptureID', '$uuid').Has('Transport.B', 8000)" 'length >= 1' ||
	ko flows "$(flows | head -c 300)"
flows >"$tmp/flows.json"
q "G.At('-1s', 1000).Flows().Has('CaptureID', '$uuid').Has('IPMetric.Fragments', GT(0))" >"$tmp/gremlin.json"

"$PY" - "$tmp/flows.json" "$tmp/eth0.pcap" "$tmp/gremlin.json" >"$tmp/check.out" 2>&1 <<'PYEOF'
import json, subprocess, sys
flows = json.load(open(sys.argv[1]))
pcap = sys.argv[2]
gremlin = json.load(open(sys.argv[3]))
def ok(n, c, why):
    print(("ok %s" % n) if c else ("FAIL %s: %s" % (n, why)))
def ts(opts, fields, yf):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=;", "-E", "occurrence=a", "-E", "aggregator=,"]
    for o in opts: cmd += ["-o", o]
    cmd += ["-Y", yf]
    for f in fields: cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, l.split(";"))) for l in out.splitlines() if l]
flen = {int(r["frame.number"]): int(r["frame.len"]) for r in ts([], ["frame.number", "frame.len"], "frame")}
# reassembled datagrams: one packet each, the bytes of all their fragments
want = {}
for r in ts(["ip.defragment:TRUE"], ["ip.src", "udp.srcport", "udp.dstport", "icmp.ident", "ip.fragment"], "ip.fragment"):
    fr = [int(x) for x in r["ip.fragment"].split(",")]
    key = ("icmp", int(r["icmp.ident"].split(",")[0])) if r["icmp.ident"] else ("udp", int(r["udp.srcport"]), int(r["udp.dstport"]))
    w = want.setdefault(key, [0, 0, 0])
    w[0] += 1
    w[1] += sum(flen[n] for n in fr)
    w[2] += len(fr) - 1
got = {}
for f in flows:
    if "ICMP" in f and f["ICMP"].get("Type") == "ECHO":
        k = ("icmp", f["ICMP"].get("ID", 0))
    elif f.get("Transport", {}).get("Protocol") == "UDP":
        k = ("udp", f["Transport"]["A"], f["Transport"]["B"])
    else:
        continue
    m = f["Metric"]
    got[k] = [m.get("ABPackets", 0) + m.get("BAPackets", 0), m.get("ABBytes", 0) + m.get("BABytes", 0),
              f.get("IPMetric", {}).get("Fragments", 0)]
ok("fragmented-datagrams", len(want) == 2 and want.get(next(iter(want))) is not None,
   "tshark reassembled %s" % want)
for k, w in sorted(want.items()):
    ok("defrag-%s" % (k,), got.get(k) == w, "ours [packets, bytes, Fragments] %s, tshark %s" % (got.get(k), w))
ok("gremlin-IPMetric.Fragments", len(gremlin) == len(want), "Has('IPMetric.Fragments', GT(0)) gave %d flows" % len(gremlin))
# TCP: the stream bytes of tshark's follow
out = subprocess.run(["tshark", "-n", "-r", pcap, "-q", "-z", "follow,tcp,raw,0"], capture_output=True, text=True).stdout
n = [0, 0]
for line in out.split("=" * 67)[1].splitlines():
    s = line.strip()
    if s and ":" not in s and all(c in "0123456789abcdef" for c in s):
        n[1 if line.startswith("\t") else 0] += len(s) // 2
tcp = [f for f in flows if f.get("Transport", {}).get("B") == 8000]
tm = tcp[0].get("TCPMetric", {}) if tcp else {}
ok("reassembled-tcp", tcp and [tm.get("ABBytes", 0), tm.get("BABytes", 0)] == n and tm.get("ABSawStart") == 1
   and tm.get("BASawEnd") == 1 and n[1] > 20000,
   "ours %s, tshark follow AB/BA bytes %s" % (tm, n))
PYEOF
cat "$tmp/check.out"
pass=$((pass + $(grep -c '^ok ' "$tmp/check.out")))
fail=$((fail + $(grep -c '^FAIL ' "$tmp/check.out")))
grep -q '^Traceback' "$tmp/check.out" && ko check "the comparison failed to run"
# The capture's counters in its Captures metadata: the datagrams made whole
# and the fragments taken are tshark's count of the same.
nd=$(tshark -n -r "$tmp/eth0.pcap" -o ip.defragment:TRUE -Y ip.fragment -T fields -e frame.number 2>/dev/null | wc -l)
nf=$(tshark -n -r "$tmp/eth0.pcap" -o ip.defragment:FALSE -Y "ip.flags.mf == 1 or ip.frag_offset > 0" -T fields -e frame.number 2>/dev/null | wc -l)
if wait_jq 10 "G.V().Has('Name','eth0')" "[.[] | .Metadata.Captures // [] | .[] | select(.ID == \"$uuid\" and .IPDefrag.Reassembled == $nd and .IPDefrag.Fragments == $nf and .IPDefrag.FragmentErrors == 0 and .ReassembleTCP.HolesBufferFull == 0)] | length == 1"; then
	ok "capture-counters ($nd datagrams of $nf fragments)"
else
	ko capture-counters "tshark: $nd datagrams, $nf fragments; ours $(q "G.V().Has('Name','eth0')" | jq -c '[.[] | .Metadata.Captures]' | head -c 600)"
fi
client capture delete "$uuid" >/dev/null 2>&1
wait_jq 15 "G.V().Has('Name','eth0')" "[.[] | .Metadata.Captures // [] | .[]] | length == 0" || ko capture-delete "still there"
out=$(client capture create --gremlin "G.V().Has('Name', 'eth0')" --type ebpf --ip-defrag 2>&1)
euuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
# The agent refuses it; the analyzer's status names the node's error.
refused=0
if [ -n "$euuid" ] && [ "$euuid" != null ]; then
	for _ in $(seq 50); do
		ip netns exec "$H1" curl -s -m 5 "http://127.0.0.1:$PORT/api/status" | jq -c . |
			grep -q "$euuid.*error: capture type ebpf does not support IPDefrag" && { refused=1; break; }
		sleep 0.3
	done
fi
[ $refused = 1 ] && ok ebpf-defrag-refused ||
	ko ebpf-defrag-refused "$out; $(ip netns exec "$H1" curl -s -m 5 "http://127.0.0.1:$PORT/api/status" | jq -c . | grep -o "$euuid.\{0,200\}")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
