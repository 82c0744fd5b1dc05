#!/bin/bash
# bench.sh - how fast and how small is `skydive flows` next to well-known flow
# tools, on one core, on the same synthetic pcaps?
#
# Builds genpcap (../shared/bench/genpcap.c next to the repo, never copied into
# it) into a temporary work dir, generates deterministic pcaps, then for each:
# times `skydive flows --read P ... -o /dev/null` (full JSON output included),
# the peer flow tools exactly as ../shared/bench/peers.sh runs them
# (softflowd, argus, nfpcapd, pmacctd, ndpiReader, optionally tshark) and
# `tcpdump -r P -w /dev/null` as the floor, all pinned to one core with taskset.
# Prints a table and the targets (>= 3x packets/s of the fastest peer,
# <= 1.5x tcpdump time, <= 200 bytes per flow) with PASS/MISS, and writes the
# same text to bench/results/latest.txt. See bench/README.md.
#
# Knobs (environment):
#   SIZES="2000000:50000 5000000:500000"  packets:flows per pcap (SIZES="" with MEM1M=1:
#                     the memory run only)
#   RUNS=3            runs per tool and pcap; the median is reported
#   SKIP="..."        tools to skip: softflowd argus nfpcapd pmacctd ndpiReader tshark tcpdump
#                     (tshark is always skipped unless INCLUDE_TSHARK=1: it takes minutes)
#   INCLUDE_TSHARK=1  also run tshark -z conv (slow)
#   MEM1M=1           also run skydive alone on a 1,000,000-flow pcap (MEM1M_SIZE,
#                     default 3000000:1000000) and report its peak RSS and bytes/flow
#   CORE=1            CPU core everything is pinned to (default 1, or 0 on a 1-CPU box);
#                     CORE=none disables pinning
#   MAX_FLOWS=N       skydive --max-flows (default: 2 x flows of the pcap, at least 1024)
#   KEYMODE=L2        skydive --layer-key-mode
#   SKYDIVE=path      binary under test (default <repo>/build/skydive)
#   BUILD=0           do not run `make` first (default: make -C <repo>, keep going with the
#                     existing binary if make fails)
#   GENPCAP_SRC=path  genpcap.c (default <repo>/../shared/bench/genpcap.c)
#   WORKDIR=dir       work dir (default: mktemp -d); KEEP=1 keeps it afterwards
# Exit status: 0 whatever the targets say; 1 when skydive failed or any tool crashed
# (killed by a signal), 2 on a setup error.
set -u
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GENPCAP_SRC=${GENPCAP_SRC:-$REPO/../shared/bench/genpcap.c}
SKYDIVE=${SKYDIVE:-$REPO/build/skydive}
SIZES=${SIZES-"2000000:50000 5000000:500000"}
RUNS=${RUNS:-3}
SKIP=${SKIP:-}
INCLUDE_TSHARK=${INCLUDE_TSHARK:-0}
MEM1M=${MEM1M:-0}
MEM1M_SIZE=${MEM1M_SIZE:-3000000:1000000}
KEYMODE=${KEYMODE:-L2}
MAX_FLOWS=${MAX_FLOWS:-}
BUILD=${BUILD:-1}
KEEP=${KEEP:-0}
RESDIR=$REPO/bench/results
[ "$INCLUDE_TSHARK" = 1 ] || SKIP="$SKIP tshark"
case $RUNS in '' | *[!0-9]* | 0) echo "RUNS must be a positive integer" >&2; exit 2 ;; esac

NCPU=$(nproc)
if [ -z "${CORE:-}" ]; then
	if [ "$NCPU" -gt 1 ]; then CORE=1; else CORE=0; fi
fi
if [ "$CORE" = none ]; then PIN=(); else PIN=(taskset -c "$CORE"); fi

die() { echo "bench.sh: $*" >&2; exit 2; }
for t in gcc bc awk; do command -v $t >/dev/null || die "missing tool: $t"; done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install time)"
[ ${#PIN[@]} -eq 0 ] || command -v taskset >/dev/null || die "missing taskset (util-linux)"
[ -f "$GENPCAP_SRC" ] || die "genpcap source not found: $GENPCAP_SRC (set GENPCAP_SRC)"

skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
need_tool() { # tool binaries...: skip the tool with a note when one is missing
	local name=$1 b; shift
	for b in "$@"; do
		if ! command -v "$b" >/dev/null; then
			echo "bench.sh: $b not installed: skipping $name" >&2
			SKIP="$SKIP $name"
			return
		fi
	done
}
need_tool tcpdump tcpdump
need_tool softflowd softflowd
need_tool argus argus racount
need_tool nfpcapd nfpcapd nfdump
need_tool pmacctd pmacctd
need_tool ndpiReader ndpiReader
skip tshark || need_tool tshark tshark

if [ -n "${WORKDIR:-}" ]; then
	W=$WORKDIR
	mkdir -p "$W" || die "cannot create $W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/skydive-bench.XXXXXX") || die "mktemp failed"
fi
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RESDIR"
REPORT=$W/report.txt
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
sayf() { printf "$@" | tee -a "$REPORT"; }
note() { echo "bench.sh: $*" >&2; }

# ---- build ------------------------------------------------------------------
if [ "$BUILD" != 0 ]; then
	note "make -C $REPO"
	if ! make -s -C "$REPO" >"$W/make.log" 2>&1; then
		tail -20 "$W/make.log" >&2
		if [ -x "$SKYDIVE" ]; then
			note "make failed: benchmarking the existing $SKYDIVE"
		else
			die "make failed and $SKYDIVE does not exist"
		fi
	fi
fi
[ -x "$SKYDIVE" ] || die "binary under test not found: $SKYDIVE (run make, or set SKYDIVE)"
gcc -O2 -o "$W/genpcap" "$GENPCAP_SRC" || die "cannot build genpcap"

CRASHED=0
SKY_FAILED=0

# ---- measuring --------------------------------------------------------------
# run NAME CMD...: runs CMD RUNS times (NRUNS overrides) pinned to $CORE, stdout+stderr
# -> $W/NAME.out (last run kept), with $PRE eval'ed before each run and the page
# cache of $P warmed. Sets MED_WALL MED_CPU MED_RSS (medians; RSS in KiB) and STATUS.
run() {
	local name=$1; shift
	local n=${NRUNS:-$RUNS} i e u s m x rc walls=() cpus=() rsss=()
	STATUS=ok
	for ((i = 0; i < n; i++)); do
		[ -n "${PRE:-}" ] && eval "$PRE"
		[ -n "${P:-}" ] && cat "$P" >/dev/null
		/usr/bin/time -f '%e %U %S %M %x' -o "$W/$name.time" "${PIN[@]}" "$@" >"$W/$name.out" 2>&1
		rc=$?
		if grep -q 'terminated by signal' "$W/$name.time"; then
			STATUS="signal $(grep -o 'signal [0-9]*' "$W/$name.time" | awk '{print $2}')"
			CRASHED=1
		elif [ "$rc" -ne 0 ]; then
			STATUS="exit $rc"
		fi
		read -r e u s m x < <(tail -n 1 "$W/$name.time") || true
		walls+=("${e:-0}"); cpus+=("$(echo "${u:-0} + ${s:-0}" | bc)"); rsss+=("${m:-0}")
	done
	MED_WALL=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(((n + 1) / 2))p")
	MED_CPU=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(((n + 1) / 2))p")
	MED_RSS=$(printf '%s\n' "${rsss[@]}" | sort -g | sed -n "$(((n + 1) / 2))p")
}

declare -A WALL CPU RSS REC ST
HDR_FMT='%-10s %-15s %8s %8s %8s %9s %8s %8s %8s  %s\n'
header() {
	sayf "$HDR_FMT" pcap tool wall_s cpu_s rss_MiB records ns/p_cpu ns/p_wal Mpkt/s status
}
# row LABEL TOOL RECORDS: prints the medians of the last run() and keeps them under TOOL
row() {
	WALL[$2]=$MED_WALL; CPU[$2]=$MED_CPU; RSS[$2]=$MED_RSS; REC[$2]=$3; ST[$2]=$STATUS
	awk -v l="$1" -v t="$2" -v w="$MED_WALL" -v c="$MED_CPU" -v m="$MED_RSS" -v r="$3" \
	    -v n="$N" -v st="$STATUS" \
	    'BEGIN { wd = w > 0 ? w : 0.005;
		     printf "%-10s %-15s %8.2f %8.2f %8.1f %9s %8.0f %8.0f %8.3f  %s\n",
			    l, t, w, c, m / 1024, r == "" ? "?" : r, c * 1e9 / n, w * 1e9 / n,
			    n / wd / 1e6, st }' | tee -a "$REPORT"
}
label() { awk -v n="$1" -v f="$2" 'BEGIN { printf "%gM/%gk", n / 1e6, f / 1e3 }'; }
maxflows() { if [ -n "$MAX_FLOWS" ]; then echo "$MAX_FLOWS"; else echo $(($1 * 2 > 1024 ? $1 * 2 : 1024)); fi; }
passmiss() { # CONDITION: PASS/MISS, or N/A when skydive's last measured run failed
	if [ "${ST[skydive]:-ok}" != ok ]; then echo "N/A (skydive failed: ${ST[skydive]})"
	elif [ "$(echo "$1" | bc -l)" = 1 ]; then echo PASS; else echo MISS; fi
}

# skydive_runs LABEL MAXFLOWS FLOWS: runs skydive once on $P with --stats -o FILE (to count
# the flows: SKY_FLOWS), then RUNS times with the JSON to /dev/null (the measured
# run, row "skydive"), and prints the -o FILE run as row "skydive-o-file".
skydive_runs() {
	local l=$1 mf=$2 fw fc fr fs # $3: generated flows
	local args=(flows --read "$P" --max-flows "$mf" --layer-key-mode "$KEYMODE" --no-progress)
	PRE="rm -f $W/sky.json" NRUNS=1 run skydive_file "$SKYDIVE" "${args[@]}" --stats -o "$W/sky.json"
	[ "$STATUS" = ok ] || { SKY_FAILED=1; note "skydive -o FILE failed ($STATUS):"; tail -5 "$W/skydive_file.out" >&2; }
	fw=$MED_WALL fc=$MED_CPU fr=$MED_RSS fs=$STATUS
	SKY_FLOWS=$(grep -c '^{' "$W/sky.json" 2>/dev/null)
	# not exactly F flows: how many outer flows per generated flow (own client MAC 02:00:..)
	CK_TOT=$SKY_FLOWS CK_OUTER=? CK_INNER=? CK_DISTINCT=? CK_SPLIT=? CK_BAD=? CK_NOMAC=?
	[ "$SKY_FLOWS" = "$3" ] ||
		read -r CK_TOT CK_OUTER CK_INNER CK_DISTINCT CK_SPLIT CK_BAD CK_NOMAC < <(flow_census "$W/sky.json" 2>/dev/null)
	for v in CK_TOT CK_OUTER CK_INNER CK_DISTINCT CK_SPLIT CK_BAD CK_NOMAC; do
		[ -n "${!v}" ] || printf -v "$v" 0
	done
	[ -n "$SKY_FLOWS" ] || SKY_FLOWS=0
	SKY_JSON_OK=yes
	[ "$(head -c 1 "$W/sky.json" 2>/dev/null)" = "[" ] && [ "$(tail -n 1 "$W/sky.json" 2>/dev/null)" = "]" ] ||
		SKY_JSON_OK="NO (not a [ ... ] array)"
	SKY_JSON_BYTES=$(stat -c %s "$W/sky.json" 2>/dev/null || echo 0)
	rm -f "$W/sky.json"
	SKY_STATS=$(grep -v '^[[:space:]]*$' "$W/skydive_file.out" | tail -n 3)

	PRE="" run skydive "$SKYDIVE" "${args[@]}" -o /dev/null
	[ "$STATUS" = ok ] || { SKY_FAILED=1; note "skydive failed ($STATUS):"; tail -5 "$W/skydive.out" >&2; }
	row "$l" skydive "$SKY_FLOWS"
	local keep=("${WALL[skydive]}" "${CPU[skydive]}" "${RSS[skydive]}" "${ST[skydive]}")
	MED_WALL=$fw MED_CPU=$fc MED_RSS=$fr STATUS=$fs
	row "$l" skydive-o-file "$SKY_FLOWS"
	WALL[skydive]=${keep[0]} CPU[skydive]=${keep[1]} RSS[skydive]=${keep[2]} ST[skydive]=${keep[3]}
	if grep -q 'dropped because' "$W/skydive.out" "$W/skydive_file.out"; then
		say "  WARNING: $(grep -h 'dropped because' "$W/skydive_file.out" "$W/skydive.out" | head -1)"
	fi
}

git_state() {
	local h
	if h=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
		git -C "$REPO" diff --quiet HEAD -- src 2>/dev/null && echo "$h" || echo "$h + uncommitted src changes"
	else
		echo "no commit yet"
	fi
}

# flow_census JSON: "total outer inner distinct split bad nomac" over skydive's JSON lines:
# outer = no ParentUUID, inner = tunnel payload flows; distinct = distinct genpcap client
# MACs among outer flows; split = generated flows seen as several outer flows, at least
# one of them decoded as a tunnel (VXLAN/Geneve); bad = other generated flows seen more
# than once; nomac = outer flows without a genpcap client MAC.
flow_census() {
	awk '
	/^\{/ {
		tot++
		if (index($0, "\"ParentUUID\":\"\"") == 0) { inner++; next }
		outer++
		mac = ""
		if (match($0, /"Link":\{[^}]*\}/)) {
			link = substr($0, RSTART, RLENGTH)
			if (match(link, /02:00:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]/))
				mac = substr(link, RSTART, RLENGTH)
		}
		if (mac == "") { nomac++; next }
		n[mac]++
		if ($0 !~ /"LayersPath":"[^"]*(Geneve|VXLAN)/) plain[mac]++
	}
	END {
		for (m in n) {
			d++
			if (n[m] > 1) { if (plain[m] + 0 < n[m]) nsplit++; else bad++ }
		}
		print tot + 0, outer + 0, inner + 0, d + 0, nsplit + 0, bad + 0, nomac + 0
	}' "$1"
}

# flow_check LABEL F: prints the flow-count cross-check of the last skydive_runs
flow_check() {
	local l=$1 f=$2 line
	if [ "${REC[skydive]:-}" = "$f" ]; then
		say "  flow-count check: skydive reported $f flows = $f generated  OK (exact)"
		return
	fi
	say "  flow-count check: skydive reported ${REC[skydive]:-?} flows for $f generated: $CK_OUTER outer +" \
		"$CK_INNER inner (tunnel payload) flows; outer flows cover $CK_DISTINCT distinct generated flows;"
	if [ "$CK_SPLIT" != 0 ]; then
		say "    $CK_SPLIT generated flows split into $((CK_OUTER - CK_DISTINCT + CK_SPLIT)) because their random client port is a tunnel"
		say "    port (4789/8472 VXLAN, 6081 Geneve): packets decode as a tunnel as in gopacket (by port,"
		say "    too short ones not), and a tunnel flow is keyed on VNI + destination port;"
	fi
	say "    $CK_BAD generated flows seen 2+ times otherwise; $CK_NOMAC outer flows without a genpcap MAC"
	if [ "$CK_DISTINCT" = "$f" ] && [ "$CK_BAD" = 0 ] && [ "$CK_NOMAC" = 0 ]; then
		line="$l flow count: skydive ${REC[skydive]} = $f generated + $((CK_OUTER - f)) from $CK_SPLIT flows split by tunnel ports + $CK_INNER inner  OK (explained)"
	else
		line="$l flow count: skydive ${REC[skydive]:-?} != generated $f (outer $CK_OUTER, distinct $CK_DISTINCT, other repeats $CK_BAD, no MAC $CK_NOMAC)  MISMATCH"
	fi
	say "  $line"; SUMMARY+=("$line")
}

# ---- machine ----------------------------------------------------------------
say "skydive flow engine benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "machine: nproc=$NCPU  cpu=\"$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)\"  kernel=$(uname -r)  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
if [ ${#PIN[@]} -eq 0 ]; then
	say "pinning: none (CORE=none): multi-threaded tools may use several cores"
else
	say "pinning: every command runs under 'taskset -c $CORE' (single core: threads and child"
	say "         processes of a tool share that one core; cpu_s is user+sys of all of them)"
fi
say "binary:  $SKYDIVE ($(stat -c %s "$SKYDIVE") bytes, built $(date -u -r "$SKYDIVE" '+%Y-%m-%d %H:%M:%S UTC'), repo $(git_state))"
say "skydive: flows --read P --max-flows M --layer-key-mode $KEYMODE --no-progress -o /dev/null  (full JSON)"
say "runs:    $RUNS per tool and pcap, median reported; page cache warmed before every run"
say "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start; other busy processes skew wall times"
say "sizes:   $SIZES$([ "$MEM1M" = 1 ] && echo "  + memory run $MEM1M_SIZE")   skipped: $(echo $SKIP)"
say ""

# ---- tiny pcap: fixed costs (skydive RSS baseline, pmacctd sleeps) ----------
TINY=$W/tiny.pcap
"$W/genpcap" -q -n 1000 -f 100 -o "$TINY" || die "genpcap failed"
declare -A TINY_RSS
tiny_rss() { # MAXFLOWS: T_RSS = skydive's peak RSS (KiB) on the tiny pcap with that --max-flows
	local mf=$1
	if [ -z "${TINY_RSS[$mf]:-}" ]; then
		P=$TINY PRE="" run skydive_tiny "$SKYDIVE" flows --read "$TINY" --max-flows "$mf" \
			--layer-key-mode "$KEYMODE" --no-progress -o /dev/null
		[ "$STATUS" = ok ] || { SKY_FAILED=1; note "skydive failed on the tiny pcap ($STATUS)"; }
		TINY_RSS[$mf]=$MED_RSS
	fi
	T_RSS=${TINY_RSS[$mf]}
}
PMACCT_FIXED=""

pm_conf() { # pcap -> $W/pm.conf (as peers.sh)
	cat >"$W/pm.conf" <<EOC
daemonize: false
pcap_savefile: $1
plugins: print
aggregate: src_host, dst_host, src_port, dst_port, proto, vlan
print_output: csv
print_output_file: $W/pm.csv
print_refresh_time: 3600
print_output_file_append: true
plugin_pipe_size: 10240000
plugin_buffer_size: 102400
EOC
}

SUMMARY=()
PEERS=(softflowd nfpcapd argus ndpiReader pmacctd)

# ---- main sizes -------------------------------------------------------------
for sz in $SIZES; do
	N=${sz%%:*}; F=${sz##*:}
	case "$N$F" in *[!0-9]*) die "bad size '$sz' (want packets:flows)" ;; esac
	P=$W/bench_${N}_${F}.pcap
	L=$(label "$N" "$F")
	MF=$(maxflows "$F")
	note "generating $L ($N packets, $F flows)"
	"$W/genpcap" -n "$N" -f "$F" -o "$P" 2>"$W/genpcap.log" || die "genpcap failed: $(cat "$W/genpcap.log")"
	sync
	unset WALL CPU RSS REC ST; declare -A WALL CPU RSS REC ST
	say "== pcap $L: $(cat "$W/genpcap.log" | sed 's/^genpcap: //'), $(stat -c %s "$P") bytes"
	header

	PRE="" run cat sh -c "cat $P >/dev/null"; row "$L" cat -
	if ! skip tcpdump; then
		PRE="" run tcpdump tcpdump -r "$P" -w /dev/null; row "$L" tcpdump-r-w -
	fi
	note "$L: skydive"
	PRE="" skydive_runs "$L" "$MF" "$F"

	if ! skip softflowd; then
		note "$L: softflowd"
		# as peers.sh: NetFlow v9 to a closed local UDP port; -m above the flow count;
		# softflowd 1.1.0 hangs after EOF with some -c paths; /tmp/sf.ctl works
		PRE="" run softflowd timeout 900 softflowd -r "$P" -n 127.0.0.1:9995 -v 9 -m 4000000 -d \
			-p /tmp/sf.pid -c /tmp/sf.ctl
		row "$L" softflowd "$(awk '/^Flows expired:/ {print $3}' "$W/softflowd.out")"
	fi
	if ! skip argus; then
		note "$L: argus"
		PRE="rm -f $W/argus.out.ra" run argus argus -X -r "$P" -w "$W/argus.out.ra"
		row "$L" argus "$(racount -r "$W/argus.out.ra" 2>/dev/null | awk '$1 == "sum" {print $2}')"
		rm -f "$W/argus.out.ra"
	fi
	if ! skip nfpcapd; then
		note "$L: nfpcapd"
		PRE="rm -rf $W/nfp; mkdir $W/nfp" run nfpcapd nfpcapd -B 4194304 -r "$P" -w "$W/nfp"
		row "$L" nfpcapd "$(nfdump -R "$W/nfp" -I 2>/dev/null | awk -F': ' '$1 == "Flows" {print $2}')"
		rm -rf "$W/nfp"
	fi
	if ! skip pmacctd; then
		note "$L: pmacctd"
		pm_conf "$P"
		PRE="rm -f $W/pm.csv" run pmacctd pmacctd -f "$W/pm.conf"
		row "$L" pmacctd "$(grep -vc "^VLAN," "$W/pm.csv" 2>/dev/null)"
	fi
	if ! skip ndpiReader; then
		note "$L: ndpiReader"
		PRE="rm -f $W/ndpi.csv" run ndpiReader ndpiReader -i "$P" -C "$W/ndpi.csv"
		row "$L" ndpiReader "$(awk '/Unique flows:/ {print $3}' "$W/ndpiReader.out")"
	fi
	if ! skip tshark; then
		note "$L: tshark (slow)"
		PRE="" run tshark tshark -n -q -r "$P" -z conv,tcp -z conv,udp -z conv,ip -z conv,ipv6
		row "$L" tshark-conv "$(grep -c '<->' "$W/tshark.out")"
	fi

	# fixed costs on the tiny pcap (same --max-flows as above for skydive)
	tiny_rss "$MF"
	if ! skip pmacctd && [ -z "$PMACCT_FIXED" ]; then
		pm_conf "$TINY"
		P=$TINY PRE="rm -f $W/pm.csv" run pmacctd_tiny pmacctd -f "$W/pm.conf"
		PMACCT_FIXED=$MED_WALL
	fi
	P=$W/bench_${N}_${F}.pcap

	# single-threaded tools should use ~all of their wall time as CPU on the pinned core
	for t in tcpdump-r-w skydive; do
		[ -n "${WALL[$t]:-}" ] || continue
		if [ "$(echo "${WALL[$t]} > 0.3 && ${WALL[$t]} > 1.15 * ${CPU[$t]}" | bc)" = 1 ]; then
			say "  WARNING: $t used only $(echo "100 * ${CPU[$t]} / ${WALL[$t]}" | bc)% of its wall time as CPU:" \
				"core $CORE is busy with something else (load: $(cut -d' ' -f1-3 /proc/loadavg)); wall times are noisy"
			break
		fi
	done

	# ---- skydive against the others ----
	say ""
	say "skydive on $L: ${N} packets, ${F} generated flows, --max-flows $MF"
	say "  skydive --stats: $(echo "$SKY_STATS" | tr '\n' ' ')"
	say "  JSON output: $SKY_JSON_BYTES bytes, array framing ok: $SKY_JSON_OK"
	flow_check "$L" "$F"
	SW=${WALL[skydive]}; SC=${CPU[skydive]}
	[ "$(echo "$SW > 0" | bc)" = 1 ] || SW=0.005
	[ "$(echo "$SC > 0" | bc)" = 1 ] || SC=0.005
	say "  skydive packets/s vs each peer (= peer time / skydive time; > 1: skydive faster):"
	FAST="" FASTW=""
	for t in "${PEERS[@]}" tshark-conv; do
		[ -n "${WALL[$t]:-}" ] || continue
		extra=""
		if [ "$t" = pmacctd ] && [ -n "$PMACCT_FIXED" ]; then
			extra=$(awk -v w="${WALL[$t]}" -v f="$PMACCT_FIXED" -v s="$SW" \
				'BEGIN { a = w - f; if (a < 0.005) a = 0.005;
					 printf "  (pmacctd minus its %.2f s fixed sleeps: %.2fx)", f, a / s }')
		fi
		sayf '    %-12s wall %7.2fx   cpu %7.2fx%s%s\n' "$t" \
			"$(echo "${WALL[$t]} / $SW" | bc -l)" \
			"$(echo "${CPU[$t]} / $SC" | bc -l)" "$extra" \
			"$([ "${ST[$t]}" = ok ] || echo "   [${ST[$t]}]")"
		[ "$t" = tshark-conv ] && continue
		[ "${ST[$t]}" = ok ] || continue
		if [ -z "$FASTW" ] || [ "$(echo "${WALL[$t]} < $FASTW" | bc)" = 1 ]; then
			FAST=$t FASTW=${WALL[$t]}
		fi
	done
	if [ -n "$FAST" ]; then
		R=$(echo "$FASTW / $SW" | bc -l)
		line=$(printf '%s >= 3x packets/s of the fastest peer (%s, %.2f s wall): %.2fx  %s' \
			"$L" "$FAST" "$FASTW" "$R" "$(passmiss "$R >= 3")")
	else
		line="$L >= 3x packets/s of the fastest peer: no peer ran  N/A"
	fi
	say "  $line"; SUMMARY+=("$line")
	if [ -n "${WALL[tcpdump-r-w]:-}" ]; then
		TW=${WALL[tcpdump-r-w]}
		[ "$(echo "$TW > 0" | bc)" = 1 ] || TW=0.005
		R=$(echo "${WALL[skydive]} / $TW" | bc -l)
		line=$(printf '%s <= 1.5x tcpdump time (tcpdump -r -w /dev/null %.2f s, skydive %.2f s): %.2fx  %s' \
			"$L" "$TW" "${WALL[skydive]}" "$R" "$(passmiss "$R <= 1.5")")
	else
		line="$L <= 1.5x tcpdump time: tcpdump skipped  N/A"
	fi
	say "  $line"; SUMMARY+=("$line")
	BPF=$(echo "(${RSS[skydive]} - $T_RSS) * 1024 / $F" | bc -l)
	line=$(printf '%s <= 200 bytes per flow ((%.1f - %.1f MiB baseline) / %s flows): %.0f B  %s' \
		"$L" "$(echo "${RSS[skydive]} / 1024" | bc -l)" "$(echo "$T_RSS / 1024" | bc -l)" "$F" "$BPF" \
		"$(passmiss "$BPF <= 200")")
	say "  $line"; SUMMARY+=("$line")
	say ""
	rm -f "$P"
done

# ---- 1 M concurrent flows (memory only) -------------------------------------
if [ "$MEM1M" = 1 ]; then
	N=${MEM1M_SIZE%%:*}; F=${MEM1M_SIZE##*:}
	P=$W/mem_${N}_${F}.pcap
	L=$(label "$N" "$F")
	MF=$(maxflows "$F")
	note "memory run $L"
	"$W/genpcap" -n "$N" -f "$F" -o "$P" 2>"$W/genpcap.log" || die "genpcap failed: $(cat "$W/genpcap.log")"
	unset WALL CPU RSS REC ST; declare -A WALL CPU RSS REC ST
	say "== memory: pcap $L: $(sed 's/^genpcap: //' "$W/genpcap.log"), $(stat -c %s "$P") bytes"
	header
	PRE="" skydive_runs "$L" "$MF" "$F"
	tiny_rss "$MF"
	say "  skydive --stats: $(echo "$SKY_STATS" | tr '\n' ' ')"
	flow_check "$L" "$F"
	BPF=$(echo "(${RSS[skydive]} - $T_RSS) * 1024 / $F" | bc -l)
	line=$(printf '%s %s concurrent flows: peak RSS %.1f MiB (baseline %.1f MiB), %.0f bytes/flow  %s (<= 200)' \
		"$L" "$F" "$(echo "${RSS[skydive]} / 1024" | bc -l)" "$(echo "$T_RSS / 1024" | bc -l)" "$BPF" \
		"$(passmiss "$BPF <= 200")")
	say "  $line"; SUMMARY+=("$line")
	say ""
	rm -f "$P"
fi

# ---- summary ----------------------------------------------------------------
say "Targets (informational; from the issue):"
for s in "${SUMMARY[@]}"; do say "  $s"; done
say ""
say "records: skydive = JSON flow objects (lines starting with '{' of the -o FILE run);"
say "softflowd = expired bidirectional flows; argus = bidirectional records (+2 mgmt, ICMP echo"
say "keyed per seq); nfpcapd = unidirectional (ICMP/DNS per packet); pmacctd = unidirectional"
say "aggregates; ndpiReader = bidirectional flows; tshark = conversations tcp+udp+ip+ipv6."
say "ns/p_cpu = (user+sys) / packets, ns/p_wal = wall / packets, Mpkt/s = packets / wall."
say "skydive-o-file is one run writing the JSON to a file (to count flows), not a median."
say "bytes per flow = (skydive peak RSS - its peak RSS on a 1000-packet/100-flow pcap) / flows."
[ -z "$PMACCT_FIXED" ] || say "pmacctd sleeps ~$PMACCT_FIXED s whatever the input (measured on the tiny pcap)."
[ "$SKY_FAILED" = 0 ] || say "SKYDIVE FAILED in at least one run (see the status column)"
[ "$CRASHED" = 0 ] || say "A TOOL CRASHED (killed by a signal) in at least one run"

cp "$REPORT" "$RESDIR/latest.txt"
note "results written to $RESDIR/latest.txt"
[ "$KEEP" = 1 ] && note "work dir kept: $W"
[ "$SKY_FAILED" = 0 ] && [ "$CRASHED" = 0 ] || exit 1
exit 0
