#!/bin/bash
# agents_bench.sh - many agents against one analyzer and against three (issue 14's measure):
# bench/agents_sim.py plays AGENTS agents in one process (Skydive's topology protocol on
# /ws/agent/topology, INTERFACES interface nodes each, RATE counter updates/s each, for
# SECONDS), spread over the analyzers (no peering: each holds its own agents). Per setup it
# prints the messages sent and applied by the analyzers' graph writers (drops: sent -
# applied, and the writers' Overflows), the rate absorbed, and the analyzers' CPU and
# resident memory per agent (from /proc, while the agents are connected). Then the same
# number of agents' flow links (bench/flow_ws_send.c plays them in one process: protobuf
# flow.Message frames on /ws/agent/flow, host ids simflow-0 ...) send FLOW_RATE flow
# updates/s in all for SECONDS, spread over the analyzers: the rate kept, the frames the
# analyzers took in and dropped (Flows.IngestQueue.Dropped), their CPU per agent and per
# flow update. Informational: exit 0; 1 if a setup failed.
#   bench/agents_bench.sh                     200 agents x 10 interfaces, 20 updates/s each;
#                                             flows: 100,000 updates/s in all
#   AGENTS=250 RATE=50 FLOW_RATE=200000 SECONDS_RUN=30 bench/agents_bench.sh
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AGENTS=${AGENTS:-200}
INTERFACES=${INTERFACES:-10}
RATE=${RATE:-20}
SECS=${SECONDS_RUN:-${SECONDS_:-20}}
FLOW_RATE=${FLOW_RATE:-100000} # Akvorado's published rate per analyzer: 100 k flows/s
[ -x "$BUILD/skydive" ] || make -s UI=0 BUILD="$BUILD" "$BUILD/skydive" || exit 1
make -s UI=0 BUILD="$BUILD" "$BUILD/libskydive.a" || exit 1
LIBS=$(echo 'print-ldlibs: ; @echo $(LDLIBS)' |
	make -s --no-print-directory -f Makefile -f - print-ldlibs UI=0 BUILD="$BUILD")
for b in ingest_bench flow_ws_send; do
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -I"$BUILD/gen" -o "$BUILD/$b" bench/$b.c \
		"$BUILD/libskydive.a" $LIBS -lpthread -lm || { echo "agents_bench.sh: cannot build $b" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/agents-bench.XXXXXX)
apids=()
trap 'for p in "${apids[@]}" $CH_PID; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
sum() { awk '{s += $1} END {printf "%.3f", s}'; }

# 100,000 distinct TCP flows, 2 states each, dealt to the links in turn (cycled)
"$BUILD/ingest_bench" -f 100000 -r 2 -o "$tmp/frames.bin" >/dev/null || { echo "agents_bench.sh: cannot encode the flow frames" >&2; exit 1; }
echo "# agents_bench $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg): $AGENTS agents x $INTERFACES interfaces, $RATE updates/s each, ${SECS}s; then their flow links, $FLOW_RATE flow updates/s in all"
declare -A RES FRES
# setups: 1 analyzer; 3 on their own (each holds its agents); 3p: 3 peered (analyzers:
# each other), so each applies every agent's messages: its own and its peers'; ch: one
# analyzer whose flow history is ClickHouse (a private server, when clickhouse-server is
# installed): the flow links' updates written there, counted until ClickHouse has them
SETUPS="1 3 3p"
CH_PID=
if command -v clickhouse-server >/dev/null; then
	. tests/integration/lib/clickhouse.sh
	CHHTTP=$(port)
	if ch_start "$tmp/ch" "$CHHTTP" "$(port)" >"$tmp/ch.start" 2>&1; then
		SETUPS="$SETUPS ch"
	else
		echo "# ClickHouse did not start: $(tail -c 200 "$tmp/ch.start"); the ch setup is skipped"
	fi
fi
for n in $SETUPS; do
	ports=() apids=()
	na=${n%p}
	[ "$n" = ch ] && na=1
	for k in $(seq 1 "$na"); do ports+=("$(port)"); done
	cfg=()
	if [ "$n" = 3p ]; then
		printf 'analyzers: [%s]\n' "$(printf '127.0.0.1:%s,' "${ports[@]}" | sed 's/,$//')" >"$tmp/peers.yml"
		cfg=(-c "$tmp/peers.yml")
	elif [ "$n" = ch ]; then
		printf 'analyzer:\n  flow:\n    backend: ch\nstorage:\n  ch:\n    driver: clickhouse\n    hosts: [http://127.0.0.1:%s]\n    database: skagents\n' "$CHHTTP" >"$tmp/ch.yml"
		cfg=(-c "$tmp/ch.yml")
	fi
	for k in $(seq 1 "$na"); do
		p=${ports[$((k - 1))]}
		SKYDIVE_ANALYZER_ALLOW_ROOT=true SKYDIVE_ANALYZER_DATA_DIR="$tmp/d$n-$k" \
			SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
			"$BUILD/skydive" analyzer "${cfg[@]}" --listen "127.0.0.1:$p" --host-id "bench$k" \
			>"$tmp/an$n-$k.log" 2>&1 &
		apids+=($!)
	done
	for p in "${ports[@]}"; do
		for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/api" >/dev/null && break; sleep 0.1; done
	done
	cpu0=$(for a in "${apids[@]}"; do cpu_s "$a"; done | sum)
	rss0=$(for a in "${apids[@]}"; do rss_kb "$a"; done | sum)
	python3 bench/agents_sim.py --ports "$(IFS=,; echo "${ports[*]}")" --agents "$AGENTS" \
		--interfaces "$INTERFACES" --rate "$RATE" --seconds "$SECS" --linger 30 >"$tmp/sim$n" 2>&1 &
	sim=$!
	sleep "$(awk -v s="$SECS" 'BEGIN {print s - 1}')"
	rss1=$(for a in "${apids[@]}"; do rss_kb "$a"; done | sum)
	# the agents stay connected (--linger) once their stats are out
	for _ in $(seq 1 300); do grep -q '^done' "$tmp/sim$n" && break; kill -0 "$sim" 2>/dev/null || break; sleep 0.1; done
	grep -q '^done' "$tmp/sim$n" || { cat "$tmp/sim$n"; exit 1; }
	# until the writers have applied what arrived (the counters stop moving)
	prev=-1
	for _ in $(seq 1 50); do
		app=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '.GraphWriter.Applied'; done | sum)
		[ "$app" = "$prev" ] && break
		prev=$app
		sleep 0.2
	done
	cpu1=$(for a in "${apids[@]}"; do cpu_s "$a"; done | sum)
	# every analyzer's graph: the nodes it holds of the agents it should have (its own, or
	# all of them peered), and their last counters (a lost last update shows here)
	graphs=""
	for p in "${ports[@]}"; do
		graphs="$graphs $(curl -s -XPOST "http://127.0.0.1:$p/api/topology" -H 'Content-Type: application/json' \
			-d '{"GremlinQuery": "G.V().Has('"'"'Type'"'"', Within('"'"'host'"'"', '"'"'device'"'"'))"}' |
			jq -r '"\(length)/\([.[] | .Metadata.Metric.RxPackets // 0] | add // 0)"')"
	done
	kill "$sim" 2>/dev/null
	wait "$sim" 2>/dev/null
	ovf=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '.GraphWriter.Overflows + .WebSocket.SlowClientsDisconnected'; done | sum)
	sent=$(awk '$1 == "messages_sent" {print $2}' "$tmp/sim$n")
	echo
	echo "## $na analyzer(s)$([ "$n" = 3p ] && echo ", peered")$([ "$n" = ch ] && echo ", flow history in ClickHouse")"
	sed 's/^/sim_/' "$tmp/sim$n"
	# peered, each analyzer applies every message once: its agents' and its peers'
	copies=1
	[ "$n" = 3p ] && copies=$na
	en=$(awk '$1 == "expected_nodes" {print $2}' "$tmp/sim$n")
	er=$(awk '$1 == "expected_rx_sum" {print $2}' "$tmp/sim$n")
	echo "graphs_nodes_rx_sum$graphs (each analyzer: nodes/sum of the last RxPackets)"
	# nodes and counters: peered, each analyzer holds all; else they add up to all
	echo "$graphs" | awk -v en="$en" -v er="$er" -v k="$copies" '{
		for (i = 1; i <= NF; i++) { split($i, f, "/"); n += f[1]; r += f[2]; if (k > 1 && (f[1] != en || f[2] != er)) bad++ }
		if (k == 1 && (n != en || r != er)) bad++
		printf "graphs_expected %d/%d: %s\n", en, er, bad ? "MISMATCH" : "every node and last update there" }'
	awk -v s="$sent" -v a="$app" -v o="$ovf" -v c0="$cpu0" -v c1="$cpu1" -v r0="$rss0" -v r1="$rss1" \
		-v n="$AGENTS" -v t="$SECS" -v k="$copies" 'BEGIN {
		if (k > 1) printf "applied %d (each message on each of %d analyzers: %d; what an agent sent before a peering link was up reaches that peer inside its Sync instead)\nwriter_overflows_and_slow_disconnects %d\n", a, k, s * k, o
		else printf "applied %d\ndropped %d\nwriter_overflows_and_slow_disconnects %d\n", a, s - a, o
		printf "absorbed_messages_per_s %.0f\n", a / t
		printf "analyzer_cpu_s %.3f\ncpu_ms_per_agent_per_s %.3f\n", c1 - c0, (c1 - c0) * 1000 / n / t
		printf "analyzer_rss_kb_delta %d\nrss_kb_per_agent %.1f\n", r1 - r0, (r1 - r0) / n }'
	RES[$n]=$(awk -v c0="$cpu0" -v c1="$cpu1" 'BEGIN {print c1 - c0}')

	# ---- the agents' flow links ----
	fr0=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '.Flows.IngestQueue.Dropped // 0'; done | sum)
	cpu2=$(for a in "${apids[@]}"; do cpu_s "$a"; done | sum)
	"$BUILD/flow_ws_send" 127.0.0.1 "$(IFS=,; echo "${ports[*]}")" "$tmp/frames.bin" "$FLOW_RATE" "$SECS" simflow "$AGENTS" >"$tmp/flow$n" 2>&1 &
	fsend=$!
	sleep "$(awk -v s="$SECS" 'BEGIN {print s - 1}')"
	rss2=$(for a in "${apids[@]}"; do rss_kb "$a"; done | sum)
	wait "$fsend" || { cat "$tmp/flow$n"; exit 1; }
	frames=$(awk '$1 == "frames_sent" {print $2}' "$tmp/flow$n")
	# until every frame is taken in: stored (FlowStats Messages) or dropped (IngestQueue)
	for _ in $(seq 1 300); do
		taken=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '[.FlowStats // {} | to_entries[] | select(.key | startswith("simflow-")) | .value.Messages] | add // 0'; done | sum)
		fdrop=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '.Flows.IngestQueue.Dropped // 0'; done | sum)
		awk -v t="$taken" -v d="$fdrop" -v d0="$fr0" -v f="$frames" 'BEGIN {exit !(t + d - d0 >= f)}' && break
		sleep 0.2
	done
	cpu3=$(for a in "${apids[@]}"; do cpu_s "$a"; done | sum)
	stored=$(for p in "${ports[@]}"; do curl -s "http://127.0.0.1:$p/api/status" | jq '[.FlowStats // {} | to_entries[] | select(.key | startswith("simflow-")) | .value.Flows] | add // 0'; done | sum)
	sed 's/^/flow_sender_/' "$tmp/flow$n"
	awk -v f="$frames" -v t="$taken" -v d="$fdrop" -v d0="$fr0" -v s="$stored" -v c2="$cpu2" -v c3="$cpu3" \
		-v r1="$rss1" -v r2="$rss2" -v n="$AGENTS" -v secs="$SECS" 'BEGIN {
		printf "flow_frames_taken %d\nflow_frames_dropped %d\nflow_updates_stored %d\n", t, d - d0, s
		printf "flow_absorbed_updates_per_s %.0f\n", s / secs
		printf "flow_analyzer_cpu_s %.3f\nflow_cpu_ms_per_agent_per_s %.3f\n", c3 - c2, (c3 - c2) * 1000 / n / secs
		printf "flow_updates_per_analyzer_cpu_s %.0f\n", (c3 > c2) ? s / (c3 - c2) : 0
		printf "flow_analyzer_rss_kb_vs_topology %d\n", r2 - r1 }'
	FRES[$n]=$(awk -v c2="$cpu2" -v c3="$cpu3" 'BEGIN {print c3 - c2}')
	if [ "$n" = ch ]; then
		# until the analyzer's batches are in ClickHouse (Pending 0), then its counters
		for _ in $(seq 1 300); do
			b=$(curl -s "http://127.0.0.1:${ports[0]}/api/status" | jq -c '.Flows.Storage.Backend')
			[ "$(echo "$b" | jq '.Pending')" = 0 ] && break
			sleep 0.2
		done
		cpu4=$(cpu_s "${apids[0]}")
		rows=$(curl -s "http://127.0.0.1:$CHHTTP/" --data-binary 'SELECT count() FROM skagents.flows')
		echo "$b" | jq -r --arg rows "$rows" --arg c "$(awk -v a="$cpu2" -v b="$cpu4" 'BEGIN {print b - a}')" \
			'"clickhouse_inserted \(.Inserted)\nclickhouse_dropped \(.DroppedFlows)\nclickhouse_rows \($rows)\nclickhouse_flow_analyzer_cpu_s_until_written \($c)"'
	fi
	for a in "${apids[@]}"; do kill -TERM "$a" 2>/dev/null; done
	wait "${apids[@]}" 2>/dev/null
done
echo
awk -v a="${RES[1]}" -v b="${RES[3]}" 'BEGIN {printf "cpu_ratio_3_vs_1 %.2f (the same load over three analyzers)\n", b / a}'
awk -v a="${RES[3]}" -v b="${RES[3p]}" 'BEGIN {printf "cpu_ratio_peered_vs_not %.2f (three analyzers, each with the whole graph vs its agents only)\n", b / a}'
awk -v a="${FRES[1]}" -v b="${FRES[3]}" 'BEGIN {if (a > 0) printf "flow_cpu_ratio_3_vs_1 %.2f (the same flow load over three analyzers)\n", b / a}'
exit 0
