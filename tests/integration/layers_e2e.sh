#!/bin/bash
# layers_e2e.sh - extra layers through the agent, the analyzer's store and Gremlin,
# as root, in a network namespace of our own (prefix skxl<pid>): an allinone in
# namespace "host" holding eth0 (a veth to "peer");
#   skydive client capture create --gremlin "G.V().Has('Name','eth0')" --type pcapsocket
#       --extra-layer DNS --extra-layer DHCPv4 --extra-layer VRRP
# the pcaps of tests/integration/xlayers/gen.py are sent to the capture's socket
# (nc -N), and the analyzer's flows (G.At(1700001000, 1000).Flows(): history around the pcaps' times, tests/golden/gen_pcaps.py T0; the pcaps' flows leave the live view once the agent's table expires them; JSON through the agent's protobuf
# and the store's records) are compared field by field with tshark's decoding of the
# same pcaps (xlayers/check.py, as tshark_layers.sh does for `skydive flows`);
# Gremlin reads the layers' fields (Has('DNS.ID', ...), Has('DNS.ResponseCode',
# ...), Has('DHCPv4.Secs', ...)); a capture of type ebpf with ExtraLayers is
# refused by the agent with a clear error. A second capture with ReassembleTCP
# reads DNS over TCP from the streams (xlayers/gen.py dns_tcp.pcap) and is
# compared with tshark's reassembly, its DNSOverTCP* counters checked.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
here=$root/tests/integration
P=skxl$$
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
	echo "layers_e2e: needs root (network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq nc tshark timeout; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing"; echo "0 passed, 1 failed"; exit 1; }
done
if ! "$PYTHON" "$here/xlayers/gen.py" "$tmp/pcaps" 2>"$tmp/gen.err"; then
	ko gen "$(head -c 300 "$tmp/gen.err")"
	finish
fi

H=${P}host R=${P}peer
for ns in $H $R; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add eth0 netns "$H" type veth peer name eth0 netns "$R"
ip -n "$H" link set eth0 up
ip -n "$R" link set eth0 up
HX="ip netns exec $H"

PORT=8094
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
	--host-id xlhost --netns-run-path '' >"$tmp/allinone.log" 2>&1 &
pids+=($!)

EACH="G.V().Has('Name','eth0')"
if ! wait_jq 15 "$EACH" 'length == 1'; then
	ko "topology" "$(q "$EACH" | head -c 200); $(logs)"
	finish
fi

# --header-size 1024: the frames are cut to the capture's header size (256 by
# default, Skydive's DefaultCaptureLength) before decoding, and a DNS answer or
# a DHCP message longer than that is not decoded (gopacket refuses it too)
out=$(client capture create --gremlin "$EACH" --type pcapsocket --header-size 1024 \
	--extra-layer DNS --extra-layer DHCPv4 --extra-layer VRRP 2>&1)
uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
if [ -n "$uuid" ] && [ "$uuid" != null ]; then
	ok "capture-create (pcapsocket, three extra layers)"
else
	ko "capture-create" "$(echo "$out" | head -c 300)"
	finish
fi
ENTRY=".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid\")) | .[0]"
if ! wait_jq 15 "$EACH" "$ENTRY | .State == \"active\" and (.PCAPSocket // \"\" | length > 0)"; then
	ko "capture-active" "$(q "$EACH" | jq -c "$ENTRY"); $(logs)"
	finish
fi
ADDR=$(q "$EACH" | jq -r "$ENTRY | .PCAPSocket")
A=${ADDR%:*} N=${ADDR##*:}

# app:count of flows each pcap gives (xlayers/gen.py)
for spec in dns:DNS:8 dhcp:DHCPv4:2 vrrp:VRRP:3; do
	IFS=: read -r p app n <<<"$spec"
	if ! timeout 10 $HX nc -N "$A" "$N" <"$tmp/pcaps/$p.pcap" >/dev/null 2>&1; then
		ko "$p-send" "nc failed"
		continue
	fi
	sel="[.[] | select(.Application == \"$app\")]"
	if ! wait_jq 20 "G.At(1700001000, 1000).Flows()" "$sel | length == $n"; then
		ko "$p-flows" "$(q "G.At(1700001000, 1000).Flows()" | jq -c "$sel | length"); $(logs)"
		continue
	fi
	q "G.At(1700001000, 1000).Flows()" | jq "$sel" >"$tmp/$p.flows"
	tshark -n -T json -o tcp.desegment_tcp_streams:FALSE -r "$tmp/pcaps/$p.pcap" >"$tmp/$p.tshark" 2>/dev/null
	res=$("$PYTHON" "$here/xlayers/check.py" "$tmp/$p.flows" "$tmp/$p.tshark" 2>&1)
	last=$(echo "$res" | tail -1)
	if [ "$last" = "$n passed, 0 failed" ]; then
		ok "$p-analyzer-vs-tshark ($last)"
	else
		ko "$p-analyzer-vs-tshark" "$(echo "$res" | grep -A3 FAIL | head -20)"
	fi
done

# the DNS answer split over two TCP segments is counted in the capture's entry
if wait_jq 10 "$EACH" "$ENTRY | .DNSOverTCPPartial >= 1 and .ExtraLayersNoSlot == 0"; then
	ok "counters (DNSOverTCPPartial $(q "$EACH" | jq -r "$ENTRY | .DNSOverTCPPartial"))"
else
	ko "counters" "$(q "$EACH" | jq -c "$ENTRY")"
fi

# Gremlin fields of the layers (values from gen.py's messages)
count() { q "$1" | jq 'length'; }
[ "$(count "G.At(1700001000, 1000).Flows().Has('DNS.ID', 4660)")" = 1 ] && ok "gremlin DNS.ID" ||
	ko "gremlin DNS.ID" "$(q "G.At(1700001000, 1000).Flows().Has('DNS.ID', 4660)" | head -c 300)"
[ "$(count "G.At(1700001000, 1000).Flows().Has('DNS.ResponseCode', 'Non-Existent Domain')")" = 1 ] &&
	ok "gremlin DNS.ResponseCode" || ko "gremlin DNS.ResponseCode" "$(count "G.At(1700001000, 1000).Flows().Has('DNS.ResponseCode', 'Non-Existent Domain')")"
[ "$(count "G.At(1700001000, 1000).Flows().Has('DHCPv4.Secs', 2)")" = 1 ] && ok "gremlin DHCPv4.Secs" ||
	ko "gremlin DHCPv4.Secs" "$(count "G.At(1700001000, 1000).Flows().Has('DHCPv4.Secs', 2)")"
v=$(q "G.At(1700001000, 1000).Flows().Has('DNS.ID', 4660).Values('DNS.OpCode')" | jq -c .)
[ "$v" = '["Query"]' ] && ok "gremlin Values(DNS.OpCode)" || ko "gremlin Values(DNS.OpCode)" "$v"

# DNS over TCP from the reassembled streams: a second capture with
# ReassembleTCP, dns_tcp.pcap (answers split, out of order, two per segment)
# against tshark's reassembly, and the capture's DNSOverTCP* counters
out=$(client capture create --gremlin "$EACH" --type pcapsocket --header-size 1024 \
	--reassemble-tcp --extra-layer DNS 2>&1)
uuid2=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
ENTRY2=".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid2\")) | .[0]"
if [ -n "$uuid2" ] && [ "$uuid2" != null ] &&
	wait_jq 15 "$EACH" "$ENTRY2 | .State == \"active\" and (.PCAPSocket // \"\" | length > 0)"; then
	ADDR=$(q "$EACH" | jq -r "$ENTRY2 | .PCAPSocket")
	timeout 10 $HX nc -N "${ADDR%:*}" "${ADDR##*:}" <"$tmp/pcaps/dns_tcp.pcap" >/dev/null 2>&1
	sel='[.[] | select(.Transport.A == 40020 or .Transport.A == 40021 or .Transport.A == 40022)]'
	if wait_jq 20 "G.At(1700001000, 1000).Flows()" "$sel | length == 3 and all(.DNS != null)"; then
		q "G.At(1700001000, 1000).Flows()" | jq "$sel" >"$tmp/dns_tcp.flows"
		tshark -n -T json -o tcp.reassemble_out_of_order:TRUE -r "$tmp/pcaps/dns_tcp.pcap" \
			>"$tmp/dns_tcp.tshark" 2>/dev/null
		res=$("$PYTHON" "$here/xlayers/check.py" "$tmp/dns_tcp.flows" "$tmp/dns_tcp.tshark" 2>&1)
		if [ "$(echo "$res" | tail -1)" = "3 passed, 0 failed" ]; then
			ok "dns_tcp-reassembled-vs-tshark"
		else
			ko "dns_tcp-reassembled-vs-tshark" "$(echo "$res" | grep -A3 FAIL | head -20)"
		fi
	else
		ko "dns_tcp-flows" "$(q "G.At(1700001000, 1000).Flows()" | jq -c "$sel" | head -c 400); $(logs)"
	fi
	if wait_jq 10 "$EACH" "$ENTRY2 | .DNSOverTCPMessages == 8 and .DNSOverTCPTooBig == 0 and .DNSOverTCPNoRoom == 0 and .DNSOverTCPHole == 0 and .DNSOverTCPUnfinished == 0 and .DNSOverTCPLostSync == 0 and .DNSOverTCPPartial == 0"; then
		ok "dns_tcp counters (DNSOverTCPMessages 8)"
	else
		ko "dns_tcp counters" "$(q "$EACH" | jq -c "$ENTRY2")"
	fi
else
	ko "dns_tcp capture" "$(echo "$out" | head -c 300); $(q "$EACH" | jq -c "$ENTRY2")"
fi

# ebpf has no packets to decode: refused by the agent, with the reason (the
# analyzer logs the agent's answer)
client capture create --gremlin "$EACH" --type ebpf --extra-layer DNS >/dev/null 2>&1
end=$(($(date +%s) + 15))
while [ "$(date +%s)" -le "$end" ] && ! grep -q 'capture type ebpf does not support ExtraLayers' "$tmp/allinone.log"; do
	sleep 0.3
done
if grep -q 'could not start capture .*capture type ebpf does not support ExtraLayers' "$tmp/allinone.log"; then
	ok "ebpf-refused (the agent's error reaches the analyzer)"
else
	ko "ebpf-refused" "$(logs)"
fi

# the allinone stops cleanly (and, in a sanitizer build, reported nothing)
stop_all
if [ -z "$bad_exit" ] && ! grep -qE 'Sanitizer|runtime error' "$tmp/allinone.log"; then
	ok "clean-exit"
else
	ko "clean-exit" "exit status:$bad_exit; $(grep -m3 -E 'Sanitizer|runtime error' "$tmp/allinone.log")"
fi

finish
