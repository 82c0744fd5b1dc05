#!/bin/bash
# ebpf_capture.sh - the ebpf capture type on a real kernel (issue 5 item 4), as
# root, in network namespaces of our own (prefix skeb<pid>): an allinone in the
# root namespace watching /var/run/netns; namespaces A and B joined by a veth;
#   skydive client capture create --gremlin "G.V().Has('Name','<veth in A>')" --type ebpf
# -> the program is loaded (bpftool prog show name skydive_flow) and the
# Captures entry says RawPackets "not supported", KernelFlowDropped 0;
# ping from B to A 5 times -> one ICMPv4 flow with 5/5 packets at the analyzer,
# NodeTID of the veth; a BPF filter is refused; capture delete -> the entry is
# gone and no program of ours stays loaded.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
P=skeb$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

stop_all() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	pids=()
}
cleanup() {
	stop_all
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "ebpf_capture: needs root (network namespaces, BPF)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq ping bpftool; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done

# Our programs (by name) loaded now: "id id ..." or "".
our_progs() { bpftool -j prog show 2>/dev/null | jq -r '[.[] | select(.name == "skydive_flow") | .id] | join(" ")'; }
before=$(our_progs)

A=${P}a B=${P}b VA=${P}va VB=${P}vb
ip netns add "$A" && ip netns add "$B" || { echo "FAIL setup: ip netns add"; echo "0 passed, 1 failed"; exit 1; }
ip link add "$VA" netns "$A" type veth peer name "$VB" netns "$B"
ip -n "$A" addr add 10.79.1.1/24 dev "$VA"
ip -n "$B" addr add 10.79.1.2/24 dev "$VB"
ip -n "$A" link set "$VA" up
ip -n "$B" link set "$VB" up

# below the ephemeral range (32768-60999): no outgoing connection holds it
PORT=$((20000 + $$ % 12000))
export SKYDIVE_FLOW_UPDATE=1
q() {
	curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
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
client() { SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
logs() { tail -c 600 "$tmp/allinone.log" | tr '\n' ' '; }

SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" allinone --listen "127.0.0.1:$PORT" \
	--host-id "${P}host" >"$tmp/allinone.log" 2>&1 &
pids+=($!)

EACH="G.V().Has('Name','$VA')"
if wait_jq 15 "$EACH" 'length == 1 and .[0].Metadata.State == "UP"'; then
	ok "topology ($VA in namespace $A at the analyzer)"
else
	ko "topology" "$(q "$EACH" | head -c 200); $(logs)"
	echo "$pass passed, $fail failed"
	exit 1
fi
TID=$(q "$EACH" | jq -r '.[0].Metadata.TID')

# The analyzer refuses it at creation (400 with the reason); nothing reaches the agent.
out=$(client capture create --gremlin "$EACH" --type ebpf --bpf icmp 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "capture type ebpf does not take a BPFFilter" &&
	[ "$(client capture list 2>/dev/null | jq 'length')" = 0 ]; then
	ok "bpf-filter-refused (400 at creation: ebpf takes no BPF filter)"
else
	ko "bpf-filter-refused" "rc $rc: $(echo "$out" | head -c 200)"
fi

out=$(client capture create --gremlin "$EACH" --type ebpf 2>&1)
uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
if [ -n "$uuid" ] && [ "$uuid" != null ]; then
	ok "capture-create (--type ebpf)"
else
	ko "capture-create" "$(echo "$out" | head -c 300)"
	echo "$pass passed, $fail failed"
	exit 1
fi
ENTRY=".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid\")) | .[0]"
entry() { q "$EACH" | jq -c "$ENTRY"; }
if wait_jq 15 "$EACH" "$ENTRY | .State == \"active\" and .Type == \"ebpf\" and .RawPackets == \"not supported\" and .KernelFlowDropped == 0"; then
	ok "captures-metadata (active, RawPackets not supported, KernelFlowDropped 0)"
else
	ko "captures-metadata" "$(entry); $(logs)"
fi
loaded=$(our_progs)
if [ -n "$loaded" ] && [ "$loaded" != "$before" ]; then
	ok "program-loaded (bpftool prog show: skydive_flow id $loaded)"
else
	ko "program-loaded" "before '$before', now '$loaded'"
fi

# An afpacket capture of the peer veth (namespace B) sees the same packets:
# its flow is the reference (same TrackingID across nodes, as in Skydive).
PEER="G.V().Has('Name','$VB')"
out=$(client capture create --gremlin "$PEER" --type afpacket 2>&1)
uuid2=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
wait_jq 15 "$PEER" ".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid2\" and .State == \"active\")) | length == 1" ||
	ko "afpacket-alongside" "$out"
PTID=$(q "$PEER" | jq -r '.[0].Metadata.TID')

ip netns exec "$B" ping -c 5 -i 0.2 -W 1 10.79.1.1 >/dev/null 2>&1 || ko "ping" "no reply"
icmp_of() { # CAPTURE_UUID NODE_TID
	echo "[.[] | select(.CaptureID == \"$1\" and .NodeTID == \"$2\" and .Application == \"ICMPv4\" and
	([.Network.A, .Network.B] | sort) == [\"10.79.1.1\", \"10.79.1.2\"])]"
}
ICMP=$(icmp_of "$uuid" "$TID")
if wait_jq 15 "G.Flows()" "$ICMP | length == 1 and .[0].Metric.ABPackets == 5 and .[0].Metric.BAPackets == 5 and .[0].Network.A == \"10.79.1.2\""; then
	f=$(q "G.Flows()" | jq -c "$ICMP | .[0] | {LayersPath, A: .Network.A, AB: .Metric.ABPackets, BA: .Metric.BAPackets, ABBytes: .Metric.ABBytes, TrackingID}")
	ok "icmp-flow (5/5 packets, A = the pinger, NodeTID of $VA: $f)"
else
	ko "icmp-flow" "$(q "G.Flows()" | jq -c "$ICMP" | head -c 600); $(entry)"
fi
if wait_jq 10 "G.Flows()" "$ICMP | .[0] | .LayersPath == \"Ethernet/IPv4/ICMPv4\" and .Metric.ABBytes == 490 and .Metric.BABytes == 490 and .Link.A != null and .TrackingID != null"; then
	ok "icmp-flow-fields (LayersPath, bytes 5 x 98, Link, TrackingID)"
else
	ko "icmp-flow-fields" "$(q "G.Flows()" | jq -c "$ICMP" | head -c 600)"
fi
# Same identity and counters as afpacket; RTT and times are what differs.
SAME='{TrackingID, L3TrackingID, ParentUUID, LayersPath, Application, Link, Network, ICMP,
	M: (.Metric | {ABPackets, BAPackets, ABBytes, BABytes})}'
if wait_jq 10 "G.Flows()" "$(icmp_of "$uuid2" "$PTID") | length == 1 and .[0].Metric.BAPackets == 5"; then
	e=$(q "G.Flows()" | jq -cS "$ICMP | .[0] | $SAME")
	a=$(q "G.Flows()" | jq -cS "$(icmp_of "$uuid2" "$PTID") | .[0] | $SAME")
	if [ "$e" = "$a" ]; then
		ok "same-as-afpacket (TrackingID, L3TrackingID, path, Link, Network, ICMP, counters)"
	else
		ko "same-as-afpacket" "ebpf $e afpacket $a"
	fi
else
	ko "same-as-afpacket" "no afpacket flow: $(q "G.Flows()" | jq -c "$(icmp_of "$uuid2" "$PTID")" | head -c 300)"
fi
[ -n "${DEBUG:-}" ] && q "G.Flows()" | jq -c ".[] | {CaptureID, Application, NodeTID, Network}" >&2
client capture delete "$uuid2" >/dev/null 2>&1

if wait_jq 10 "$EACH" "$ENTRY | .PacketsReceived >= 10"; then
	ok "stats (PacketsReceived $(entry | jq .PacketsReceived))"
else
	ko "stats" "$(entry)"
fi

out=$(client capture delete "$uuid" 2>&1)
if wait_jq 15 "$EACH" "$ENTRY | . == null"; then
	ok "capture-delete (Captures entry gone)"
else
	ko "capture-delete" "$out; $(entry)"
fi
gone=1
for _ in $(seq 30); do
	[ "$(our_progs)" = "$before" ] && { gone=0; break; }
	sleep 0.2
done
if [ $gone = 0 ]; then
	ok "program-unloaded (no skydive_flow program left)"
else
	ko "program-unloaded" "still loaded: $(our_progs)"
fi

stop_all
if grep -qE "ERROR|AddressSanitizer|runtime error" "$tmp/allinone.log"; then
	ko "clean-exit" "$(grep -m3 -E "ERROR|AddressSanitizer|runtime error" "$tmp/allinone.log")"
else
	ok "clean-exit"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
