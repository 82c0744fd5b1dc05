#!/bin/bash
# tshark_reasm.sh - IPDefrag and ReassembleTCP of `skydive flows` checked
# against tshark's reassembly on the same pcaps.
#
#   tests/integration/tshark_reasm.sh
#
# tests/integration/reasm/gen.py writes fragmented traffic (ping -s 4000
# shaped ICMP, shuffled and duplicated UDP fragments, an incomplete datagram,
# IPv6 fragments) and TCP connections (a segment out of order and a
# retransmission; a hole never filled); reasm/check.py runs `skydive flows
# --read X --ip-defrag` / `--reassemble-tcp` and compares each reassembled
# flow's packets, bytes, IPMetric and TCPMetric with what tshark
# (-o ip.defragment:TRUE, -z follow,tcp) says of the same frames.
# No namespace, no root needed. One `ok NAME` / `FAIL NAME: reason` line per
# check, then `N passed, M failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v tshark >/dev/null; then
	echo "FAIL tshark: tshark not installed"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! "$PYTHON" "$here/reasm/gen.py" "$tmp" 2>"$tmp/gen.err"; then
	echo "FAIL gen: $(head -c 300 "$tmp/gen.err")"
	echo "0 passed, 1 failed"
	exit 1
fi
"$PYTHON" "$here/reasm/check.py" "$SKYDIVE" "$tmp" 2>"$tmp/check.err" | tee "$tmp/out"
rc=${PIPESTATUS[0]}
if [ -s "$tmp/check.err" ] && [ "$rc" != 0 ]; then
	echo "FAIL check: $(head -c 500 "$tmp/check.err")"
	echo "x" >>"$tmp/out.fail"
fi
pass=$(grep -c '^ok ' "$tmp/out")
fail=$(grep -c '^FAIL ' "$tmp/out")
[ -s "$tmp/out.fail" ] && fail=$((fail + 1))
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$rc" = 0 ]
