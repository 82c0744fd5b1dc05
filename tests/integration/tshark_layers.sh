#!/bin/bash
# tshark_layers.sh - extra layers (ExtraLayers: DNS, DHCPv4, VRRP) checked field
# by field against tshark on the same pcaps.
#
#   tests/integration/tshark_layers.sh
#
# tests/integration/xlayers/gen.py writes DNS (UDP and TCP), DHCP and VRRP v2/v3
# pcaps; `skydive flows --read X --extra-layer DNS --extra-layer DHCPv4
# --extra-layer VRRP` gives our flows, `tshark -T json` (TCP reassembly off: a
# DNS message must be whole in one segment, as ours) the decoded fields, and
# xlayers/check.py builds the layer Skydive keeps from tshark's fields by
# Skydive's rules and compares. Then with --reassemble-tcp: DNS over TCP
# read from the reassembled streams (dns.pcap and dns_tcp.pcap: answers split
# at the length prefix and in the body, out of order, retransmitted, two per
# segment) against tshark's own TCP reassembly (its default, with out-of-order
# segments reassembled too), and the framer's counters. Then: no layer
# without the option, a layer only when asked for, and an unknown layer name
# refused.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
here=$root/tests/integration

if ! command -v tshark >/dev/null; then
	ko tshark "tshark not installed"
	finish
fi
if ! "$PYTHON" "$here/xlayers/gen.py" "$tmp" 2>"$tmp/gen.err"; then
	ko gen "$(head -c 300 "$tmp/gen.err")"
	finish
fi

all="--extra-layer DNS --extra-layer DHCPv4 --extra-layer VRRP"
for p in dns dhcp vrrp; do
	# shellcheck disable=SC2086
	if ! "$SKYDIVE" flows --read "$tmp/$p.pcap" $all >"$tmp/$p.flows" 2>"$tmp/$p.err"; then
		ko "$p" "skydive flows failed: $(head -c 300 "$tmp/$p.err")"
		continue
	fi
	if ! tshark -n -T json -o tcp.desegment_tcp_streams:FALSE -r "$tmp/$p.pcap" >"$tmp/$p.tshark" \
		2>"$tmp/$p.terr"; then
		ko "$p" "tshark failed: $(head -c 300 "$tmp/$p.terr")"
		continue
	fi
	out=$("$PYTHON" "$here/xlayers/check.py" "$tmp/$p.flows" "$tmp/$p.tshark" 2>&1)
	# each flow's result is one check of this suite
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "$p: ${line#ok }" ;;
		"FAIL "*) ko "$p: ${line#FAIL }" "differs from tshark" ;;
		"    "*) echo "$line" ;;
		*" passed, "*) ;;
		*) ko "$p" "check.py: $line" ;;
		esac
	done <<<"$out"
done

# DNS over TCP from the reassembled streams, against tshark reassembling.
for p in dns dns_tcp; do
	if ! "$SKYDIVE" flows --read "$tmp/$p.pcap" --reassemble-tcp --extra-layer DNS --stats \
		>"$tmp/$p.rflows" 2>"$tmp/$p.rstats"; then
		ko "reasm $p" "skydive flows failed: $(head -c 300 "$tmp/$p.rstats")"
		continue
	fi
	if ! tshark -n -T json -o tcp.reassemble_out_of_order:TRUE -r "$tmp/$p.pcap" \
		>"$tmp/$p.rtshark" 2>"$tmp/$p.rterr"; then
		ko "reasm $p" "tshark failed: $(head -c 300 "$tmp/$p.rterr")"
		continue
	fi
	out=$("$PYTHON" "$here/xlayers/check.py" "$tmp/$p.rflows" "$tmp/$p.rtshark" 2>&1)
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "reasm $p: ${line#ok }" ;;
		"FAIL "*) ko "reasm $p: ${line#FAIL }" "differs from tshark" ;;
		"    "*) echo "$line" ;;
		*" passed, "*) ;;
		*) ko "reasm $p" "check.py: $line" ;;
		esac
	done <<<"$out"
done
# dns_tcp.pcap holds 8 messages (4 queries, 4 answers: gen.py): each
# framed, none skipped; nothing left to the one-segment rule
if grep -qE 'DNS over TCP messages from the streams 8, skipped: too big 0, no room 0, cut by a hole 0, unfinished at the end 0; streams out of sync after a hole 0' "$tmp/dns_tcp.rstats" &&
	! grep -q 'not whole in one segment' "$tmp/dns_tcp.rstats"; then
	ok reasm_counters
else
	ko reasm_counters "$(cat "$tmp/dns_tcp.rstats")"
fi
# without --reassemble-tcp the split answers are counted, not decoded
"$SKYDIVE" flows --read "$tmp/dns_tcp.pcap" --extra-layer DNS --stats >/dev/null 2>"$tmp/nstats"
if grep -qE 'DNS over TCP not whole in one segment [1-9]' "$tmp/nstats" &&
	! grep -q 'messages from the streams' "$tmp/nstats"; then
	ok no_reasm_partial
else
	ko no_reasm_partial "$(cat "$tmp/nstats")"
fi

# Without the option, no layer; with one layer, only that one.
"$SKYDIVE" flows --read "$tmp/dns.pcap" >"$tmp/none.json" 2>/dev/null
if grep -q '"DNS":{' "$tmp/none.json"; then
	ko no_option "a DNS layer without --extra-layer"
else
	ok no_option
fi
"$SKYDIVE" flows --read "$tmp/dhcp.pcap" --extra-layer DNS >"$tmp/only.json" 2>/dev/null
if grep -q '"DHCPv4":{' "$tmp/only.json"; then
	ko only_asked "DHCPv4 kept when only DNS was asked for"
else
	ok only_asked
fi
# DNS over TCP answered in two segments: counted as needing reassembly.
"$SKYDIVE" flows --read "$tmp/dns.pcap" --extra-layer DNS --stats >/dev/null 2>"$tmp/stats"
if grep -qE 'DNS over TCP not whole in one segment [1-9]' "$tmp/stats"; then
	ok tcp_partial_counted
else
	ko tcp_partial_counted "$(cat "$tmp/stats")"
fi
if "$SKYDIVE" flows --read "$tmp/dns.pcap" --extra-layer HTTP >/dev/null 2>"$tmp/bad"; then
	ko unknown_layer "--extra-layer HTTP accepted"
elif grep -q "not supported" "$tmp/bad"; then
	ok unknown_layer
else
	ko unknown_layer "no clear error: $(cat "$tmp/bad")"
fi

finish
