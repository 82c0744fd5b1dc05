#!/bin/bash
# capture_bench.sh - live capture: how many replayed packets does `skydive flows`
# capture and account (afpacket with 1 and 2 fanout workers, pcap) next to
# tcpdump, and at what CPU cost per packet?
#
# Root only. Builds its own two namespaces (cb<pid>tx, cb<pid>rx) linked by a veth
# (eth0 in each), IPv6 off in both (no stray packets); nothing is created in, or
# captured on, the machine's own namespace, and a trap deletes everything.
# genpcap (../shared/bench/genpcap.c) is built into a temp dir and writes
# MTU-sized traffic (frames 60..1518 bytes, 1518 = 1514 + a 802.1Q tag, which a
# veth of MTU 1500 accepts; no GSO frames). For each rate and repeat, every tool
# in turn captures on eth0 of the rx namespace (pinned to CAP_CPUS) while
# `tcpreplay --preload-pcap` sends the same pcap from the tx namespace (pinned to
# TX_CPU) at the same rate; then the tool gets SIGINT and reports its counters.
#
# Knobs (environment):
#   PACKETS=1000000 FLOWS=50000  the pcap (genpcap -n -f)
#   RATES="top 200000"           tcpreplay --topspeed ("top") or --pps=N
#   REPEATS=2                    runs per (rate, tool)
#   TOOLS="afp1 afp2 pcap tcpdump tcpdump-s256"
#                                afp1/afp2: skydive flows --type afpacket --workers 1/2;
#                                pcap: skydive flows --type pcap; tcpdump: tcpdump -w
#                                /dev/null (default snaplen, 262144); tcpdump-s256: the
#                                same with -s 256 (skydive's default header size)
#   TX_CPU=0 CAP_CPUS=1          cores for tcpreplay and for the capturing tool
#                                (CAP_CPUS=none: no pinning)
#   SKYDIVE=<repo>/build/skydive GENPCAP_SRC=<repo>/../shared/bench/genpcap.c
#   WORKDIR (default mktemp -d), KEEP=1 keeps it
# Output: one table line per run, then medians per (rate, tool) and the target
# check "afpacket captures at least the share tcpdump does, at lower CPU per packet".
# Exit status: 0 whatever the target says; 1 when a tool failed; 2 on a setup error.
set -u
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SKYDIVE=${SKYDIVE:-$REPO/build/skydive}
GENPCAP_SRC=${GENPCAP_SRC:-$REPO/../shared/bench/genpcap.c}
PACKETS=${PACKETS:-1000000}
FLOWS=${FLOWS:-50000}
RATES=${RATES:-"top 200000"}
REPEATS=${REPEATS:-2}
TOOLS=${TOOLS:-"afp1 afp2 pcap tcpdump tcpdump-s256"}
TX_CPU=${TX_CPU:-0}
CAP_CPUS=${CAP_CPUS:-1}
KEEP=${KEEP:-0}
P=cb$$
TX=${P}tx RX=${P}rx

die() { echo "capture_bench.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET)"
for t in ip gcc tcpdump taskset awk sort; do command -v $t >/dev/null || die "missing tool: $t"; done
command -v tcpreplay >/dev/null || die "missing tcpreplay (apt-get install tcpreplay)"
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install time)"
[ -x "$SKYDIVE" ] || die "no skydive binary at $SKYDIVE (make first, or set SKYDIVE)"
[ -f "$GENPCAP_SRC" ] || die "genpcap source not found: $GENPCAP_SRC"
if [ "$(nproc)" -lt 2 ]; then TX_CPU=0 CAP_CPUS=${CAP_CPUS/1/0}; fi
if [ "$CAP_CPUS" = none ]; then CPIN=(); else CPIN=(taskset -c "$CAP_CPUS"); fi

W=${WORKDIR:-$(mktemp -d)}
mkdir -p "$W"
cap_pid=
cleanup() {
	[ -n "$cap_pid" ] && kill -KILL "$cap_pid" 2>/dev/null
	ip netns del "$TX" 2>/dev/null
	ip netns del "$RX" 2>/dev/null
	[ "$KEEP" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the lab -----------------------------------------------------------------
ip netns add "$TX" || die "cannot create namespace $TX"
ip netns add "$RX" || die "cannot create namespace $RX"
for ns in $TX $RX; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add eth0 netns "$TX" type veth peer name eth0 netns "$RX" || die "cannot create the veth"
for ns in $TX $RX; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
done

gcc -O2 -o "$W/genpcap" "$GENPCAP_SRC" || die "cannot build genpcap"
"$W/genpcap" -n "$PACKETS" -f "$FLOWS" -o "$W/t.pcap" >/dev/null 2>&1 || die "genpcap failed"

echo "# capture_bench $(date -u +%FT%TZ) kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# pcap: $PACKETS packets, $FLOWS flows, $(stat -c %s "$W/t.pcap") bytes (frames <= 1518 B)"
echo "# tcpreplay --preload-pcap on CPU $TX_CPU; capture tools on CPU(s) $CAP_CPUS; $REPEATS repeat(s)"
echo "# skydive $($SKYDIVE version 2>/dev/null | head -1)"
printf '%-7s %-13s %8s %9s %9s %9s %8s %7s %7s %7s\n' rate tool sent_pps sent captured accounted kdrop share% cpu_s ns/pkt
fail=0
: >"$W/rows"

# run_tool TOOL RATE: one capture while tcpreplay sends the pcap
run_tool() {
	local tool=$1 rate=$2 cmd=() rflag
	case $tool in
	afp1) cmd=("$SKYDIVE" flows -i eth0 --netns "$RX" --type afpacket --stats --no-progress -o /dev/null) ;;
	afp2) cmd=("$SKYDIVE" flows -i eth0 --netns "$RX" --type afpacket --workers 2 --stats --no-progress -o /dev/null) ;;
	pcap) cmd=("$SKYDIVE" flows -i eth0 --netns "$RX" --type pcap --stats --no-progress -o /dev/null) ;;
	tcpdump) cmd=(ip netns exec "$RX" tcpdump -i eth0 -n -w /dev/null) ;;
	tcpdump-s256) cmd=(ip netns exec "$RX" tcpdump -i eth0 -n -s 256 -w /dev/null) ;;
	*) echo "capture_bench.sh: unknown tool $tool" >&2; return 1 ;;
	esac
	[ "$rate" = top ] && rflag=--topspeed || rflag=--pps=$rate
	"${CPIN[@]}" /usr/bin/time -f 'TIME %U %S' -o "$W/time" "${cmd[@]}" >/dev/null 2>"$W/err" &
	cap_pid=$!
	# ready when it says so (skydive: "capturing on", tcpdump: "listening on")
	for _ in $(seq 50); do
		grep -qE 'capturing on|listening on' "$W/err" && break
		sleep 0.1
	done
	sleep 0.3
	ip netns exec "$TX" taskset -c "$TX_CPU" tcpreplay -i eth0 --preload-pcap $rflag "$W/t.pcap" \
		>"$W/replay" 2>&1
	sleep 1.5 # let the ring drain (block timeouts)
	# SIGINT the tool itself (/usr/bin/time forwards nothing: signal its child)
	pkill -INT -P "$cap_pid" 2>/dev/null # ip netns exec execs tcpdump: same pid
	wait "$cap_pid"
	local rc=$?
	cap_pid=
	local sent captured accounted kdrop cpu pps
	sent=$(awk '/Successful packets:/ {print $3}' "$W/replay")
	pps=$(awk '/Rated:/ {printf "%.0f", $(NF-1)}' "$W/replay")
	cpu=$(awk '/^TIME/ {printf "%.3f", $2 + $3}' "$W/time")
	case $tool in
	tcpdump*)
		captured=$(awk '/packets captured/ {print $1}' "$W/err")
		accounted=$captured
		kdrop=$(awk '/dropped by kernel/ {print $1}' "$W/err")
		;;
	*)
		captured=$(sed -n 's/^capture: received \([0-9]*\), dropped by the kernel \([0-9]*\).*/\1/p' "$W/err")
		kdrop=$(sed -n 's/^capture: received \([0-9]*\), dropped by the kernel \([0-9]*\).*/\2/p' "$W/err")
		accounted=$(sed -n 's/^packets \([0-9]*\), bytes.*/\1/p' "$W/err")
		;;
	esac
	if [ -z "$sent" ] || [ -z "$captured" ] || [ -z "$cpu" ] || [ "$rc" -gt 128 ]; then
		echo "capture_bench.sh: $tool at $rate failed (rc $rc): $(tail -c 300 "$W/err" | tr '\n' ' ') / $(tail -c 200 "$W/replay" | tr '\n' ' ')" >&2
		fail=1
		return 1
	fi
	local share nspp
	share=$(awk -v c="$captured" -v s="$sent" 'BEGIN {printf "%.1f", s ? 100 * c / s : 0}')
	nspp=$(awk -v t="$cpu" -v c="$accounted" 'BEGIN {printf "%.0f", c ? t * 1e9 / c : 0}')
	printf '%-7s %-13s %8s %9s %9s %9s %8s %7s %7s %7s\n' "$rate" "$tool" "${pps:-?}" "$sent" "$captured" \
		"$accounted" "${kdrop:-?}" "$share" "$cpu" "$nspp"
	echo "$rate $tool $sent $captured $accounted ${kdrop:-0} $share $cpu $nspp" >>"$W/rows"
}

for rate in $RATES; do
	for r in $(seq "$REPEATS"); do
		for tool in $TOOLS; do
			run_tool "$tool" "$rate"
		done
	done
done

# ---- medians and the target ---------------------------------------------------
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo
echo "# medians over $REPEATS repeat(s)"
printf '%-7s %-13s %8s %9s\n' rate tool share% ns/pkt
for rate in $RATES; do
	for tool in $TOOLS; do
		sh=$(awk -v r="$rate" -v t="$tool" '$1 == r && $2 == t {print $7}' "$W/rows" | median)
		ns=$(awk -v r="$rate" -v t="$tool" '$1 == r && $2 == t {print $9}' "$W/rows" | median)
		printf '%-7s %-13s %8s %9s\n' "$rate" "$tool" "${sh:--}" "${ns:--}"
		echo "$rate $tool ${sh:-} ${ns:-}" >>"$W/med"
	done
done
echo
echo "# target: afpacket captures at least the share tcpdump does, at lower CPU per packet"
for rate in $RATES; do
	for afp in afp1 afp2; do
		for td in tcpdump tcpdump-s256; do
			awk -v r="$rate" -v a="$afp" -v d="$td" '
				$1 == r && $2 == a {as = $3; an = $4}
				$1 == r && $2 == d {ds = $3; dn = $4}
				END {
					if (as == "" || ds == "") exit
					ok = (as + 0 >= ds + 0 - 0.05) && (an + 0 < dn + 0)
					printf "%-7s %s vs %-13s share %s%% vs %s%%, %s vs %s ns/pkt: %s\n",
						r, a, d, as, ds, an, dn, ok ? "PASS" : "MISS"
				}' "$W/med"
		done
	done
done
exit $fail
