#!/bin/bash
# sflow_bench.sh - the sFlow v5 collector's per-datagram work on one core: sflow_parse()
# alone, and sflow_parse() + flow_table_feed() (decode_packet + flow table) of each sampled
# header, minus the socket; on the real OVS 3.1 datagram (tests/unit/sflow_ovs.h) and on a
# synthetic datagram of 8 flow samples with 128-byte headers. See bench/sflow_bench.c.
#
#   bench/sflow_bench.sh
#   DATAGRAMS=2000000 FLOWS=100000 bench/sflow_bench.sh
# Knobs: DATAGRAMS (1000000 per run), FLOWS (10000: distinct flows the synthetic samples
#   cycle over), CORE (1, or 0 on a 1-CPU machine; none = no pinning), BUILD (build dir).
# Prints the bench's "key value" lines, then how many busy switch ports one core collects
# for. Exit 0; 1 if the bench failed, 2 on a setup error.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATAGRAMS=${DATAGRAMS:-1000000}
FLOWS=${FLOWS:-10000}
if [ -z "${CORE:-}" ]; then
	if [ "$(nproc)" -gt 1 ]; then CORE=1; else CORE=0; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi

make -s "$BUILD/libskydive.a" || { echo "sflow_bench.sh: make failed" >&2; exit 2; }
# the libraries the Makefile links with (LDLIBS)
LIBS=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
	make -s --no-print-directory -f Makefile -f - print-ldlibs BUILD="$BUILD")
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/sflow_bench" \
	bench/sflow_bench.c "$BUILD/libskydive.a" $LIBS -lpthread -lm ||
	{ echo "sflow_bench.sh: cannot build sflow_bench" >&2; exit 2; }

echo "# sflow_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), core ${CORE}"
out=$("${PIN[@]}" "$BUILD/sflow_bench" -n "$DATAGRAMS" -f "$FLOWS") ||
	{ echo "$out"; echo "sflow_bench.sh: the bench failed" >&2; exit 1; }
echo "$out"
get() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
echo
echo "# a busy switch port: 10 Gbit/s of 1000-byte packets is 1.25 Mpps; at sampling 1:1000"
echo "# that is 1250 samples/s, i.e. ~160 datagrams/s of 8 samples. One core collects for:"
for k in synth_parse synth_feed ovs_parse ovs_feed; do
	r=$(get "${k}_samples_per_s")
	printf '#   %-11s %12s samples/s / 1250 = %8s ports\n' "$k" "${r:-?}" \
		"$(awk -v r="${r:-0}" 'BEGIN {printf "%.0f", r / 1250}')"
done
echo "# (*_feed: the collector's per-datagram work without the socket: recv() and the BPF filter not included)"
exit 0
