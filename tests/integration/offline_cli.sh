#!/bin/bash
# offline_cli.sh - `skydive flows` as a user meets it: pcapng input, help,
# and a clear message with exit status 2 for every bad option.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

"$PYTHON" "$root/tests/golden/gen_pcaps.py" "$tmp/p" >/dev/null 2>&1 || ko gen "gen_pcaps.py failed"

# pcapng: the same flows as the pcap it was converted from.
for n in tcp vxlan icmp6 qinq; do
	editcap -F pcapng "$tmp/p/$n.pcap" "$tmp/$n.pcapng" 2>/dev/null
	"$SKYDIVE" flows --read "$tmp/p/$n.pcap" >"$tmp/a.json" 2>/dev/null
	"$SKYDIVE" flows --read "$tmp/$n.pcapng" >"$tmp/b.json" 2>/dev/null
	if [ -s "$tmp/a.json" ] && cmp -s "$tmp/a.json" "$tmp/b.json"; then
		ok "pcapng-$n"
	else
		ko "pcapng-$n" "flows from the pcapng differ from the pcap's"
	fi
done

# A pcapng truncated inside a block: flows so far, then an error with an offset.
head -c 300 "$tmp/tcp.pcapng" >"$tmp/cut.pcapng"
"$SKYDIVE" flows --read "$tmp/cut.pcapng" >"$tmp/o" 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "offset" "$tmp/e" && "$PYTHON" -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/o"; then
	ok pcapng-truncated
else
	ko pcapng-truncated "exit $rc, stderr: $(head -c 200 "$tmp/e")"
fi

# Help on every entry point.
for cmd in "--help" "flows --help" "help"; do
	if $SKYDIVE $cmd >"$tmp/o" 2>&1 && grep -q "Usage" "$tmp/o"; then ok "help: $cmd"; else ko "help: $cmd" "no usage text or non-zero exit"; fi
done

# expect_usage NAME "message part" ARGS...: exit 2 and the message on stderr.
expect_usage() {
	local name=$1 want=$2; shift 2
	"$SKYDIVE" "$@" >"$tmp/o" 2>"$tmp/e"
	local rc=$?
	if [ $rc = 2 ] && grep -qi -- "$want" "$tmp/e"; then
		ok "$name"
	else
		ko "$name" "exit $rc, stderr: $(head -c 200 "$tmp/e")"
	fi
}
P=$tmp/p/tcp.pcap
expect_usage no-read "give either --read FILE" flows
expect_usage bad-bpf "invalid BPF filter 'tcp port': " flows --read "$P" --bpf "tcp port"
expect_usage bad-key-mode "expected L2 or L3" flows --read "$P" --layer-key-mode L4
expect_usage bad-format "expected json or pcap" flows --read "$P" --format xml
expect_usage bad-header-size "14..65535" flows --read "$P" --header-size 5
expect_usage bad-raw-limit "integer in -1" flows --read "$P" --rawpacket-limit -2
expect_usage pcap-needs-limit "set --rawpacket-limit" flows --read "$P" --format pcap
expect_usage bad-app-port "PROTO:PORT=NAME" flows --read "$P" --app-port 80
expect_usage bad-option "Run 'skydive flows --help'" flows --read "$P" --frobnicate
expect_usage unknown-command "unknown command" frobnicate
SKYDIVE_FLOW_EXPIRE=abc expect_usage bad-env "SKYDIVE_FLOW_EXPIRE" flows --read "$P"

"$SKYDIVE" flows --read "$tmp/missing.pcap" >/dev/null 2>"$tmp/e"
rc=$?
if [ $rc = 1 ] && grep -q "No such file" "$tmp/e"; then ok missing-file; else ko missing-file "exit $rc: $(cat "$tmp/e")"; fi

# Every role answers --help without starting.
for cmd in analyzer agent allinone client; do
	if timeout 5 "$SKYDIVE" $cmd --help >"$tmp/o" 2>&1 && grep -qi "usage" "$tmp/o"; then ok "help: $cmd"; else ko "help: $cmd" "no usage text, or it did not return"; fi
done

# --stats reports the counters.
"$SKYDIVE" flows --read "$P" --stats -o /dev/null 2>"$tmp/e"
if grep -q "^packets [0-9]*, bytes" "$tmp/e"; then ok stats; else ko stats "$(cat "$tmp/e")"; fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
