#!/bin/bash
# live_capture.sh - `skydive flows --interface` on a veth inside test namespaces:
# afpacket (1 and 2 fanout workers) and pcap types, BPF, raw packets read back
# by tcpdump, errors for a missing interface or namespace.
# Never touches the root namespace's interfaces: two namespaces of its own.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
P=sklc$$
A=${P}a B=${P}b
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

if [ "$(id -u)" != 0 ]; then
	ko root "live capture tests need root (network namespaces)"
	echo "$pass passed, $fail failed"; exit 1
fi
ip netns add "$A" && ip netns add "$B" &&
	ip link add eth0 netns "$A" type veth peer name eth0 netns "$B" &&
	ip -n "$A" addr add 10.231.0.1/24 dev eth0 && ip -n "$B" addr add 10.231.0.2/24 dev eth0 &&
	ip -n "$A" link set eth0 up && ip -n "$B" link set eth0 up ||
	{ ko setup "cannot build the test namespaces"; echo "$pass passed, $fail failed"; exit 1; }
# Resolve ARP first so the captures below see only what they are meant to.
ip netns exec "$A" ping -c 1 -W 2 10.231.0.2 >/dev/null 2>&1

# capture NAME PINGS ARGS...: starts a capture in $B, pings from $A, waits for it.
capture() {
	local name=$1 n=$2; shift 2
	"$SKYDIVE" flows --interface eth0 --netns "$B" --duration 4 "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	local pid=$!
	sleep 1
	ip netns exec "$A" ping -c "$n" -i 0.2 -W 2 10.231.0.2 >/dev/null 2>&1
	wait $pid
}

# icmp_counts FILE: "ABPackets BAPackets" of the 10.231.0.1 -> .2 ICMP flow(s), summed.
icmp_counts() {
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
ab = ba = n = 0
for f in json.load(open(sys.argv[1])):
    if f.get("Application") == "ICMPv4" and f.get("Network", {}).get("A") == "10.231.0.1":
        ab += f["Metric"].get("ABPackets", 0); ba += f["Metric"].get("BAPackets", 0); n += 1
        if not f["Metric"].get("RTT"): print("no RTT"); sys.exit()
print(ab, ba, n)
PY
}

for type in afpacket pcap; do
	capture "$type" 5 --type "$type" --bpf icmp
	got=$(icmp_counts "$tmp/$type.out" 2>&1)
	if [ "$got" = "5 5 1" ]; then ok "$type-icmp-flow"; else ko "$type-icmp-flow" "expected one flow with 5/5 packets and an RTT, got '$got' ($(head -c 200 "$tmp/$type.err"))"; fi
	other=$(/usr/bin/python3 -c "import json,sys; print(sum(1 for f in json.load(open(sys.argv[1])) if f.get('Application')!='ICMPv4'))" "$tmp/$type.out" 2>&1)
	if [ "$other" = 0 ]; then ok "$type-bpf"; else ko "$type-bpf" "$other non-ICMP flows passed the icmp filter"; fi
done

capture fanout 6 --type afpacket --workers 2 --stats
got=$(icmp_counts "$tmp/fanout.out" 2>&1)
# Fanout hashes both directions of a flow to one worker: still one flow.
if [ "$got" = "6 6 1" ]; then ok afpacket-fanout-2-workers; else ko afpacket-fanout-2-workers "got '$got'"; fi
if grep -q "^capture: received [0-9]*, dropped by the kernel 0" "$tmp/fanout.err"; then ok capture-stats; else ko capture-stats "$(tail -2 "$tmp/fanout.err")"; fi

capture raw 3 --bpf icmp --rawpacket-limit 2 --format pcap -o "$tmp/raw.pcap"
n=$(tcpdump -nn -r "$tmp/raw.pcap" 2>/dev/null | grep -c "ICMP echo")
if [ "$n" = 2 ]; then ok raw-packets-tcpdump; else ko raw-packets-tcpdump "tcpdump read $n ICMP packets, expected 2 (first 2 of the flow)"; fi

"$SKYDIVE" flows --interface nosuch0 --netns "$B" --duration 1 >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "no interface nosuch0 in namespace $B" "$tmp/e"; then ok missing-interface; else ko missing-interface "exit $rc: $(cat "$tmp/e")"; fi
"$SKYDIVE" flows --interface eth0 --netns "${P}none" --duration 1 >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "network namespace /var/run/netns/${P}none" "$tmp/e"; then ok missing-netns; else ko missing-netns "exit $rc: $(cat "$tmp/e")"; fi
"$SKYDIVE" flows --interface eth0 --netns "$B" --type pcap --workers 2 >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 2 ] && grep -q "needs --type afpacket" "$tmp/e"; then ok workers-need-afpacket; else ko workers-need-afpacket "exit $rc"; fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
