#!/bin/bash
# run.sh - golden tests of `skydive flows --read`.
#
#   tests/golden/run.sh [--regen] [CASE...]
#
# Writes the pcaps of gen_pcaps.py into a temporary directory, runs
# `$SKYDIVE flows --read PCAP OPTIONS` for each case of cases.txt and compares
# its JSON with expected/CASE.json field by field (compare.py). One line per
# case, `ok NAME` or `FAIL NAME: reason` (the differences follow, indented),
# then `N passed, M failed`; the exit status is non-zero when a case failed.
# One more test checks that model.py still gives the committed expected files.
#
# --regen rewrites expected/*.json from model.py (the independent model of
# docs/FLOWS.md); review the diff before committing it.
#
# SKYDIVE defaults to build/skydive of the repository; PYTHON to /usr/bin/python3
# (it needs scapy and xxhash).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
TIMEOUT=${TIMEOUT:-60}

regen=0
if [ "${1:-}" = "--regen" ]; then
	regen=1
	shift
fi
only=" $* "

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$PYTHON" "$here/gen_pcaps.py" "$tmp/pcaps" 2>"$tmp/gen.err"; then
	echo "FAIL gen_pcaps: $(head -c 500 "$tmp/gen.err")"
	echo "0 passed, 1 failed"
	exit 1
fi

pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

model_stale=""
while read -r name pcap opts; do
	case "$name" in "" | \#*) continue ;; esac
	if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then
		continue
	fi
	eval "set -- $opts"
	in="$tmp/pcaps/$pcap"
	exp="$here/expected/$name.json"
	if [ $regen = 1 ]; then
		mkdir -p "$here/expected"
		if "$PYTHON" "$here/model.py" "$in" "$@" >"$tmp/model.json" 2>"$tmp/model.err"; then
			mv "$tmp/model.json" "$exp"
			ok "$name (regenerated)"
		else
			ko "$name" "model.py failed: $(head -c 300 "$tmp/model.err")"
		fi
		continue
	fi
	if [ ! -f "$exp" ]; then
		ko "$name" "no $exp (run tests/golden/run.sh --regen)"
		continue
	fi
	# The model must still produce the committed file (else it is stale).
	if "$PYTHON" "$here/model.py" "$in" "$@" >"$tmp/model.json" 2>/dev/null; then
		if ! "$PYTHON" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
			"$tmp/model.json" "$exp"; then
			model_stale="$model_stale $name"
		fi
	else
		model_stale="$model_stale $name(model-error)"
	fi
	if [ ! -x "$SKYDIVE" ]; then
		ko "$name" "$SKYDIVE not found or not executable"
		continue
	fi
	timeout "$TIMEOUT" "$SKYDIVE" flows --read "$in" "$@" >"$tmp/out.json" 2>"$tmp/err"
	rc=$?
	if [ $rc != 0 ]; then
		ko "$name" "exit status $rc: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
		continue
	fi
	"$PYTHON" "$here/compare.py" "$exp" "$tmp/out.json" "$pcap" >"$tmp/diff"
	rc=$?
	if [ $rc = 0 ]; then
		ok "$name"
	else
		n=$(wc -l <"$tmp/diff")
		ko "$name" "$n difference(s): $(head -n 1 "$tmp/diff")"
		head -n 40 "$tmp/diff" | sed 's/^/    /'
		[ "$n" -gt 40 ] && echo "    ... $((n - 40)) more"
	fi
done <"$here/cases.txt"

if [ $regen = 0 ] && [ "$only" = "  " ]; then
	if [ -z "$model_stale" ]; then
		ok "model-matches-expected"
	else
		ko "model-matches-expected" "model.py output differs from expected/ for:$model_stale (run --regen and review)"
	fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
