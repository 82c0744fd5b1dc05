#!/bin/bash
# reasm_bench.sh - what do IPDefrag and ReassembleTCP cost on the packet path,
# and what memory do they hold under a flood?
#
# Offline, one core: `skydive flows --read P -o /dev/null` on genpcap's pcap
# (../shared/bench/genpcap.c, built into the work dir: TCP/UDP/ICMP mix, v4/v6,
# VLANs, no fragments) with the options off, --ip-defrag, --reassemble-tcp and
# both, next to main's build (MAIN_SKYDIVE, or built from `git archive main`
# into the work dir) on the same pcap in the same run. ns/packet = user+sys
# CPU time / packets, median of RUNS. Then two floods (reasm_flood.py): N first
# fragments never completed, and TCP connections whose every segment comes
# after a hole; for each, peak RSS with the option and without, and the
# reassembler's own peak of bytes held (its --stats line) against its bound
# (IP fragments 4 MiB, TCP segments 8 MiB: flow/ipdefrag.h, flow/tcp_reasm.h).
#
# Knobs: PACKETS=2000000 FLOWS=50000 (genpcap), FLOOD=1000000 (flood frames),
#   RUNS=3, CORE=1 (CORE=none: no pinning), SKYDIVE=<repo>/build/skydive,
#   MAIN_SKYDIVE=path (default: build main in the work dir), MAIN_REF=main,
#   GENPCAP_SRC, WORKDIR, KEEP=1.
# Output: a table (also bench/results/reasm.txt). Exit 0, 1 if a run failed,
# 2 on a setup error.
set -u
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SKYDIVE=${SKYDIVE:-$REPO/build/skydive}
GENPCAP_SRC=${GENPCAP_SRC:-$REPO/../shared/bench/genpcap.c}
PACKETS=${PACKETS:-2000000}
FLOWS=${FLOWS:-50000}
FLOOD=${FLOOD:-1000000}
RUNS=${RUNS:-3}
CORE=${CORE:-1}
MAIN_REF=${MAIN_REF:-main}
KEEP=${KEEP:-0}
PY=${PYTHON:-/usr/bin/python3}

die() { echo "reasm_bench.sh: $*" >&2; exit 2; }
[ -x "$SKYDIVE" ] || die "no skydive binary at $SKYDIVE"
[ -x /usr/bin/time ] || die "missing /usr/bin/time"
[ -f "$GENPCAP_SRC" ] || die "genpcap source not found: $GENPCAP_SRC"
if [ "$(nproc)" -lt 2 ] && [ "$CORE" != none ]; then CORE=0; fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi
W=${WORKDIR:-$(mktemp -d)}
mkdir -p "$W"
trap '[ "$KEEP" = 1 ] || rm -rf "$W"' EXIT

gcc -O2 -o "$W/genpcap" "$GENPCAP_SRC" || die "cannot build genpcap"
"$W/genpcap" -n "$PACKETS" -f "$FLOWS" -o "$W/mix.pcap" >/dev/null || die "genpcap failed"
"$PY" "$REPO/bench/reasm_flood.py" frag "$FLOOD" "$W/fragflood.pcap" || die "flood pcap"
"$PY" "$REPO/bench/reasm_flood.py" tcp "$FLOOD" "$W/tcpflood.pcap" || die "flood pcap"

MAIN=${MAIN_SKYDIVE:-}
if [ -z "$MAIN" ]; then
	mkdir -p "$W/main"
	git -C "$REPO" archive "$MAIN_REF" | tar -x -C "$W/main" || die "git archive $MAIN_REF"
	make -C "$W/main" UI=0 -j2 build/skydive >"$W/main.log" 2>&1 || die "cannot build $MAIN_REF (see $W/main.log)"
	MAIN=$W/main/build/skydive
fi
failed=0

# median of RUNS: "cpu_seconds max_rss_kb"
measure() {
	local bin=$1 pcap=$2
	shift 2
	local i out
	for i in $(seq "$RUNS"); do
		out=$("${PIN[@]}" /usr/bin/time -f "%U %S %M" "$bin" flows --read "$pcap" -o /dev/null "$@" 2>&1 >/dev/null | tail -1)
		echo "$out" | awk 'NF == 3 { printf "%.4f %d\n", $1 + $2, $3 }'
	done | sort -n | awk -v r="$RUNS" 'NR == int((r + 1) / 2) { print }'
}

# The variants take turns within each run (the machine's load then weighs on
# them alike); each one's median is reported.
VARIANTS=("main|$MAIN|" "this, off|$SKYDIVE|" "this, --ip-defrag|$SKYDIVE|--ip-defrag"
	"this, --reassemble-tcp|$SKYDIVE|--reassemble-tcp"
	"this, both|$SKYDIVE|--ip-defrag --reassemble-tcp")
for run in $(seq "$RUNS"); do
	for k in "${!VARIANTS[@]}"; do
		IFS='|' read -r name bin opts <<<"${VARIANTS[$k]}"
		# shellcheck disable=SC2086
		"${PIN[@]}" /usr/bin/time -f "%U %S %M" "$bin" flows --read "$W/mix.pcap" -o /dev/null \
			$opts 2>&1 >/dev/null | tail -1 | awk -v k="$k" 'NF == 3 { printf "%d %.4f %d\n", k, $1 + $2, $3 }' >>"$W/times"
	done
done
{
echo "reasm_bench: $PACKETS packets, $FLOWS flows (genpcap), $RUNS runs, core $CORE; $(date -u +%FT%TZ)"
printf "%-28s %10s %10s %10s\n" "build / options" "cpu s" "ns/packet" "peak RSS"
for k in "${!VARIANTS[@]}"; do
	IFS='|' read -r name bin opts <<<"${VARIANTS[$k]}"
	r=$(awk -v k="$k" '$1 == k { print $2, $3 }' "$W/times" | sort -n |
		awk -v r="$RUNS" 'NR == int((r + 1) / 2) { print }')
	[ -n "$r" ] || { failed=1; echo "$name: failed"; continue; }
	read -r cpu rss <<<"$r"
	printf "%-28s %10s %10.1f %8d KB\n" "$name" "$cpu" "$(echo "$cpu * 1000000000 / $PACKETS" | bc -l)" "$rss"
done
echo
echo "floods ($FLOOD frames): peak RSS with the option and without; the reassembler's peak held"
for v in "fragment flood|$W/fragflood.pcap|--ip-defrag|peak bytes held" \
	"reassembly flood|$W/tcpflood.pcap|--reassemble-tcp|peak bytes held"; do
	IFS='|' read -r name pcap opt key <<<"$v"
	on=$(measure "$SKYDIVE" "$pcap" "$opt")
	off=$(measure "$SKYDIVE" "$pcap")
	held=$("$SKYDIVE" flows --read "$pcap" -o /dev/null --stats "$opt" 2>&1 | grep -o "$key [0-9]*" | awk '{ print $NF }')
	st=$("$SKYDIVE" flows --read "$pcap" -o /dev/null --stats "$opt" 2>&1 | tail -1)
	printf "%-18s on: %s KB, off: %s KB, held peak %s bytes\n    %s\n" "$name" "${on#* }" "${off#* }" "$held" "$st"
done
} | tee "$REPO/bench/results/reasm.txt"
exit $failed
