#!/bin/bash
# ebpf_bench.sh - ebpf against afpacket on the same replayed traffic: CPU per
# packet of a `skydive allinone` capturing with each type, side by side in one run.
#
# Root only. Two namespaces of our own (eb<pid>tx, eb<pid>rx) joined by a veth
# (eb<pid>t in tx, eb<pid>r in rx; unique names so the topology query finds one
# node), IPv6 off in both. `skydive allinone` runs in the root namespace (it
# watches /var/run/netns, as in tests/integration/ebpf_capture.sh), pinned to
# CAP_CPU. genpcap (../shared/bench/genpcap.c) writes MTU-sized traffic once.
# For each TYPE in TYPES:
#   skydive client capture create --gremlin "G.V().Has('Name','eb<pid>r')" --type TYPE
#   wait for its Captures entry to be active; CPU0 = utime+stime of the allinone
#   (/proc/PID/stat, all threads); tcpreplay --topspeed the pcap from tx (pinned
#   to TX_CPU); sleep SETTLE s (flows polled and sent); CPU1; read the capture's
#   Captures entry (PacketsReceived) and its flows (sum of ABPackets+BAPackets of
#   G.Flows() with that CaptureID); capture delete.
# The allinone's idle CPU over the same wall time (no capture) is measured first
# and shown, not subtracted.
#
# Knobs (environment):
#   PACKETS=300000 FLOWS=20000   the pcap (genpcap -n -f)
#   TYPES="afpacket ebpf"        capture types, in that order
#   REPEATS=1                    rounds over TYPES
#   SETTLE=3                     seconds after the replay before the 2nd CPU read
#   TX_CPU=0 CAP_CPU=1           cores for tcpreplay and the allinone
#   SKYDIVE=<repo>/build/skydive GENPCAP_SRC=<repo>/../shared/bench/genpcap.c
#   WORKDIR (default mktemp -d), KEEP=1 keeps it
# Output: one line per (round, type), then the ebpf/afpacket ratio of ns/pkt.
# ns/sent, ns/acct = allinone CPU (utime+stime) over the window / packets sent, /
# packets accounted (flow_pkts). sys_cpu, sysns/sent = busy CPU of the whole machine
# (/proc/stat, all CPUs, incl. tcpreplay and softirq) over the same window: the BPF
# program and the AF_PACKET copy run in softirq, charged to whatever task is on the
# CPU, so only this column shows the in-kernel side.
# Exit status: 0 if every run gave numbers; 1 if one failed; 2 on a setup error.
set -u
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SKYDIVE=${SKYDIVE:-$REPO/build/skydive}
GENPCAP_SRC=${GENPCAP_SRC:-$REPO/../shared/bench/genpcap.c}
PACKETS=${PACKETS:-300000}
FLOWS=${FLOWS:-20000}
TYPES=${TYPES:-"afpacket ebpf"}
REPEATS=${REPEATS:-1}
SETTLE=${SETTLE:-3}
TX_CPU=${TX_CPU:-0}
CAP_CPU=${CAP_CPU:-1}
KEEP=${KEEP:-0}
P=eb$$
TX=${P}tx RX=${P}rx VT=${P}t VR=${P}r

die() { echo "ebpf_bench.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET, BPF)"
for t in ip gcc taskset awk curl jq tcpreplay; do command -v $t >/dev/null || die "missing tool: $t"; done
[ -x "$SKYDIVE" ] || die "no skydive binary at $SKYDIVE (make first, or set SKYDIVE)"
[ -f "$GENPCAP_SRC" ] || die "genpcap source not found: $GENPCAP_SRC"
if [ "$(nproc)" -lt 2 ]; then TX_CPU=0 CAP_CPU=0; fi
HZ=$(getconf CLK_TCK)

W=${WORKDIR:-$(mktemp -d)}
mkdir -p "$W"
ai_pid=
uuid=
PORT=$((20000 + $$ % 20000))
client() { SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client "$@"; }
cleanup() {
	[ -n "$uuid" ] && [ -n "$ai_pid" ] && client capture delete "$uuid" >/dev/null 2>&1
	if [ -n "$ai_pid" ]; then
		kill -TERM "$ai_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$ai_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ai_pid" 2>/dev/null
		wait "$ai_pid" 2>/dev/null
	fi
	ip netns del "$TX" 2>/dev/null
	ip netns del "$RX" 2>/dev/null
	[ "$KEEP" = 1 ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the lab -----------------------------------------------------------------
ip netns add "$TX" || die "cannot create namespace $TX"
ip netns add "$RX" || die "cannot create namespace $RX"
for ns in $TX $RX; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip link add "$VT" netns "$TX" type veth peer name "$VR" netns "$RX" || die "cannot create the veth"
ip -n "$TX" link set "$VT" up
ip -n "$RX" link set "$VR" up

gcc -O2 -o "$W/genpcap" "$GENPCAP_SRC" || die "cannot build genpcap"
"$W/genpcap" -n "$PACKETS" -f "$FLOWS" -o "$W/t.pcap" >/dev/null 2>&1 || die "genpcap failed"

q() {
	curl -s -m 10 -XPOST "http://127.0.0.1:$PORT/api/topology" \
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
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ai_pid/stat"; }
# busy ticks of the whole machine (user nice system irq softirq steal): in-kernel
# work (the BPF program, the AF_PACKET copy, softirq) is charged to whichever task
# runs, often tcpreplay, so the allinone's own CPU does not show it
sys_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

export SKYDIVE_FLOW_UPDATE=${SKYDIVE_FLOW_UPDATE:-1}
SKYDIVE_ANALYZER_DATA_DIR="$W/data" taskset -c "$CAP_CPU" "$SKYDIVE" allinone \
	--listen "127.0.0.1:$PORT" --host-id "${P}host" >"$W/allinone.log" 2>&1 &
ai_pid=$!
NODE="G.V().Has('Name','$VR')"
wait_jq 20 "$NODE" 'length == 1 and .[0].Metadata.State == "UP"' ||
	die "$VR not in the topology: $(tail -c 400 "$W/allinone.log" | tr '\n' ' ')"

echo "# ebpf_bench $(date -u +%FT%TZ) kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# pcap: $PACKETS packets, $FLOWS flows, $(stat -c %s "$W/t.pcap") bytes (frames <= 1518 B)"
echo "# tcpreplay --topspeed --preload-pcap on CPU $TX_CPU; skydive allinone on CPU $CAP_CPU; settle ${SETTLE}s; HZ $HZ"
echo "# skydive $($SKYDIVE version 2>/dev/null | head -1)"

# idle baseline: no capture, a window as long as a replay + settle (~ SETTLE+2 s)
c0=$(cpu_ticks); t0=$(date +%s.%N); sleep $((SETTLE + 2)); c1=$(cpu_ticks); t1=$(date +%s.%N)
idle=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$HZ" 'BEGIN {printf "%.3f s CPU over %.1f s", (b - a) / hz, e - s}')
echo "# allinone idle (no capture): $idle"

printf '%-5s %-9s %9s %9s %9s %9s %8s %7s %9s %9s %8s %9s\n' round type sent_pps sent pkts_rcvd flow_pkts flows cpu_s ns/sent ns/acct sys_cpu sysns/sent
fail=0
: >"$W/rows"
run_type() { # ROUND TYPE
	local r=$1 type=$2 out entry c0 c1 s0 s1 scpu snss sent pps rcvd fpk nfl cpu nss nsa
	out=$(client capture create --gremlin "$NODE" --type "$type" 2>&1)
	uuid=$(echo "$out" | jq -r '.UUID' 2>/dev/null)
	if [ -z "$uuid" ] || [ "$uuid" = null ]; then
		echo "ebpf_bench.sh: capture create --type $type failed: $(echo "$out" | head -c 300)" >&2
		uuid=; fail=1; return 1
	fi
	entry=".[0].Metadata.Captures // [] | map(select(.ID == \"$uuid\")) | .[0]"
	if ! wait_jq 20 "$NODE" "$entry | .State == \"active\""; then
		echo "ebpf_bench.sh: $type capture not active: $(q "$NODE" | jq -c "$entry")" >&2
		client capture delete "$uuid" >/dev/null 2>&1; uuid=; fail=1; return 1
	fi
	sleep 1
	c0=$(cpu_ticks); s0=$(sys_ticks)
	ip netns exec "$TX" taskset -c "$TX_CPU" tcpreplay -i "$VT" --preload-pcap --topspeed "$W/t.pcap" \
		>"$W/replay" 2>&1
	sleep "$SETTLE"
	c1=$(cpu_ticks); s1=$(sys_ticks)
	sent=$(awk '/Successful packets:/ {print $3}' "$W/replay")
	pps=$(awk '/Rated:/ {printf "%.0f", $(NF-1)}' "$W/replay")
	rcvd=$(q "$NODE" | jq -r "$entry | .PacketsReceived // \"?\"")
	# flows of this capture: the Gremlin filter, or jq over all flows if it is not supported
	local fl
	fl=$(q "G.Flows().Has('CaptureID', '$uuid')")
	if ! echo "$fl" | jq -e 'type == "array" and length > 0' >/dev/null 2>&1; then
		fl=$(q "G.Flows()" | jq -c "[.[] | select(.CaptureID == \"$uuid\")]")
	fi
	fpk=$(echo "$fl" | jq '[.[] | .Metric.ABPackets + .Metric.BAPackets] | add // 0')
	nfl=$(echo "$fl" | jq 'length')
	client capture delete "$uuid" >/dev/null 2>&1
	wait_jq 15 "$NODE" "$entry | . == null" || echo "ebpf_bench.sh: $type capture entry still there" >&2
	uuid=
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}')
	if [ -z "$sent" ]; then
		echo "ebpf_bench.sh: tcpreplay failed: $(tail -c 300 "$W/replay" | tr '\n' ' ')" >&2
		fail=1; return 1
	fi
	nss=$(awk -v t="$cpu" -v c="$sent" 'BEGIN {printf "%.0f", c ? t * 1e9 / c : 0}')
	nsa=$(awk -v t="$cpu" -v c="$fpk" 'BEGIN {printf "%.0f", c ? t * 1e9 / c : 0}')
	scpu=$(awk -v a="$s0" -v b="$s1" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}')
	snss=$(awk -v t="$scpu" -v c="$sent" 'BEGIN {printf "%.0f", c ? t * 1e9 / c : 0}')
	printf '%-5s %-9s %9s %9s %9s %9s %8s %7s %9s %9s %8s %9s\n' "$r" "$type" "${pps:-?}" "$sent" "$rcvd" "$fpk" "$nfl" "$cpu" "$nss" "$nsa" "$scpu" "$snss"
	echo "$r $type $sent $rcvd $fpk $nfl $cpu $nss $nsa $scpu $snss" >>"$W/rows"
}
for r in $(seq "$REPEATS"); do
	for type in $TYPES; do
		run_type "$r" "$type"
	done
done

echo
awk '
	{n[$2]++; s[$2] += $8; a[$2] += $9; y[$2] += $11}
	END {
		if (!n["afpacket"] || !n["ebpf"]) exit
		es = s["ebpf"] / n["ebpf"]; as = s["afpacket"] / n["afpacket"]
		ea = a["ebpf"] / n["ebpf"]; aa = a["afpacket"] / n["afpacket"]
		printf "# ebpf / afpacket CPU per packet (mean over rounds): %.2f per sent packet (%.0f vs %.0f ns), %.2f per accounted packet (%.0f vs %.0f ns)\n",
			as ? es / as : 0, es, as, aa ? ea / aa : 0, ea, aa
		ey = y["ebpf"] / n["ebpf"]; ay = y["afpacket"] / n["afpacket"]
		printf "# whole machine (tcpreplay + kernel + allinone) per sent packet: ebpf %.0f ns, afpacket %.0f ns, ratio %.2f\n",
			ey, ay, ay ? ey / ay : 0
	}' "$W/rows"
if grep -qE "AddressSanitizer|runtime error" "$W/allinone.log"; then
	echo "ebpf_bench.sh: allinone log: $(grep -m3 -E "AddressSanitizer|runtime error" "$W/allinone.log")" >&2
	fail=1
fi
exit $fail
