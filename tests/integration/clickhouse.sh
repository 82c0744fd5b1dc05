#!/bin/bash
# clickhouse.sh - flow history in ClickHouse (docs/DEPLOY.md "Flow history in ClickHouse"),
# against two real ClickHouse servers (Debian's clickhouse-server) this test starts on
# loopback, and analyzers configured with analyzer.flow.backend -> storage.<name>.driver
# clickhouse:
#   - flows imported into one analyzer (POST /api/pcap) are rows of the table, found by
#     G.At() on that analyzer, on a second analyzer sharing the table, and on the first
#     after a restart with an empty data directory (ClickHouse is the history);
#   - Has('Network', IP) and Metrics() over G.At() answer from ClickHouse;
#   - ClickHouse down: the states wait in the batch (Pending, Retries, Connected false),
#     G.At() fails with a reason naming ClickHouse, and everything is written once the
#     server is back; with a small max_buffer_size, what did not fit is counted
#     (DroppedFlows) and written + dropped = sent;
#   - retention (max_age) drops the day partitions older than it, and keeps the rest;
#   - a cluster of two shards (ClickHouse's remote_servers, a Distributed table made by
#     the analyzer): rows spread over both servers, G.At() sees them all;
#   - Skydive's other drivers (elasticsearch) are refused at start with a clear message.
# The expected figures come from the generated pcaps (NFLOWS UDP flows of PKTS packets).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
chpids=()
ko() { echo "FAIL $1: ${2:0:300}"; fail=$((fail + 1)); } # reasons cut: answers are long
cleanup() {
	for p in "${pids[@]}" "${chpids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v clickhouse-server >/dev/null; then
	echo "FAIL setup: clickhouse-server missing (scripts/install-deps.sh installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---- two ClickHouse servers, one cluster "sk2" of two shards -----------------------------
declare -A CHHTTP CHTCP CHPID
for s in a b; do
	CHHTTP[$s]=$(free_port)
	CHTCP[$s]=$(free_port)
done
. "$(dirname "$0")/lib/clickhouse.sh"
# ch_up NAME: server NAME (a or b), in cluster sk2 of both
ch_up() {
	ch_start "$tmp/ch-$1" "${CHHTTP[$1]}" "${CHTCP[$1]}" "  <remote_servers>
    <sk2>
      <shard><replica><host>127.0.0.1</host><port>${CHTCP[a]}</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>${CHTCP[b]}</port></replica></shard>
    </sk2>
  </remote_servers>" || return 1
	CHPID[$1]=$CH_PID
	chpids+=("$CH_PID")
}
ch_stop() { kill -9 "${CHPID[$1]}" 2>/dev/null; wait "${CHPID[$1]}" 2>/dev/null; }
sql() { # NAME SQL: the answer of server NAME
	curl -s "http://127.0.0.1:${CHHTTP[$1]}/" --data-binary "$2"
}
for s in a b; do
	ch_up $s || { ko "clickhouse-$s" "did not start"; finish; }
done
ok "clickhouse-servers (two, on loopback)"

# ---- analyzers -----------------------------------------------------------------------------
# gen FILE NFLOWS PKTS T0_S X: a pcap of NFLOWS UDP flows 10.X.0.N:10000+N-1 -> 10.255.0.1:53
# of PKTS packets of 200 bytes each, at T0_S
gen() {
	"$PYTHON" - "$@" <<'EOF'
import struct, sys
path, nflows, pkts, t0, x = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = open(path, 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
for p in range(pkts):
    for f in range(nflows):
        src = bytes([10, x, f // 250, f % 250 + 1]); dst = bytes([10, 255, 0, 1])
        payload = bytes([(f + p) & 0xff]) * 158
        udp = struct.pack('!HHHH', 10000 + f, 53, 8 + len(payload), 0) + payload
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), p, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        frame = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + udp
        out.write(struct.pack('<IIII', t0, p * 1000 + f, len(frame), len(frame)) + frame)
EOF
}
# conf FILE TABLE HOSTS [EXTRA_YAML]: an analyzer configuration with the backend
conf() {
	cat >"$1" <<EOF
analyzer:
  flow:
    backend: mych
storage:
  mych:
    driver: clickhouse
    hosts: [$3]
    database: sktest
    table: $2
    bulk_maxdelay: 1
${4:-}
EOF
}
declare -A APORT APID
# an_start NAME CONF [ENV...]: analyzer NAME with its own (empty) data directory
an_start() {
	local n=$1 c=$2; shift 2
	APORT[$n]=${APORT[$n]:-$(free_port)}
	mkdir -p "$tmp/an-$n"
	env SKYDIVE_ANALYZER_DATA_DIR="$tmp/an-$n/data-$RANDOM" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
		SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$@" "$SKYDIVE" analyzer -c "$c" \
		--listen "127.0.0.1:${APORT[$n]}" --host-id "an$n" >>"$tmp/an-$n.log" 2>&1 &
	APID[$n]=$!
	pids+=($!)
	wait_api "${APORT[$n]}"
}
# an_stop NAME: SIGTERM; a non-zero exit is kept in bad_exit (checked at the end)
bad_exit=""
an_stop() {
	kill -TERM "${APID[$1]}" 2>/dev/null
	wait "${APID[$1]}" 2>/dev/null || bad_exit="$bad_exit an$1:$?"
}
q() { # NAME GREMLIN
	curl -s -m 20 -XPOST "http://127.0.0.1:${APORT[$1]}/api/topology" -H 'Content-Type: application/json' \
		-d "$(jq -cn --arg q "$2" '{GremlinQuery:$q}')"
}
backend() { curl -s "http://127.0.0.1:${APORT[$1]}/api/status" | jq -c '.Flows.Storage.Backend'; }
import() { curl -s -XPOST --data-binary @"$2" "http://127.0.0.1:${APORT[$1]}/api/pcap"; }
# until NAME JQ [S]: until the backend status satisfies JQ (S seconds, 15 by default)
until_backend() {
	local end=$(($(date +%s) + ${3:-15}))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(backend "$1" | jq -r "$2" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}

T1=1700000000 # 2023-11-14: old days for the retention check
T2=$(($(date +%s) - 120))
gen "$tmp/a.pcap" 40 3 $T1 100
gen "$tmp/b.pcap" 25 2 $T2 101
gen "$tmp/c.pcap" 30 4 $((T2 + 7)) 102
gen "$tmp/d.pcap" 200 2 $((T2 + 13)) 103
# the flows of a pcap in G.At() around its time; SUM: total packets of those flows
AT() { echo "G.At($(($1 + 60)), 600).Flows()"; }
jsum='([.[] | .Metric.ABPackets + .Metric.BAPackets] | add)'

# ---- 1. one analyzer: rows in ClickHouse, G.At() from there ------------------------------
conf "$tmp/a.yml" flows "http://127.0.0.1:${CHHTTP[a]}"
an_start 1 "$tmp/a.yml" || { ko "analyzer-start" "$(tail -c 400 "$tmp/an-1.log")"; finish; }
out=$(import 1 "$tmp/a.pcap")
check import-a "$out" test "$(echo "$out" | jq -c '[.Flows, .Packets]')" = "[40,120]"
if until_backend 1 '.Inserted == 40 and .Pending == 0'; then ok "inserted (40 states written)"; else ko inserted "$(backend 1)"; fi
check table-rows "$(sql a 'SELECT count(), uniq(UUID), sum(ABPackets) FROM sktest.flows')" \
	test "$(sql a 'SELECT count(), uniq(UUID), sum(ABPackets) FROM sktest.flows')" = "$(printf '40\t40\t120')"
# the columns are Skydive's field names: a flow of the pcap, found by SQL
check table-columns "$(sql a "SELECT Application, TransportA, TransportB, IPVersion FROM sktest.flows WHERE TransportA = 10007")" \
	test "$(sql a "SELECT Application, TransportA, TransportB, IPVersion FROM sktest.flows WHERE TransportA = 10007")" = "$(printf 'DNS\t10007\t53\t4')"
q 1 "$(AT $T1)" | jq -S 'sort_by(.UUID)' >"$tmp/a1.json"
check at-40 "$(head -c 300 "$tmp/a1.json")" test "$(jq "length, $jsum" "$tmp/a1.json" | tr '\n' ' ')" = "40 120 "
# a flow by its address: Network 10.100.0.8 is flow 7 of a.pcap
o=$(q 1 "$(AT $T1).Has('Network', '10.100.0.8')")
check at-network "$o" test "$(echo "$o" | jq -c '[length, .[0].Transport.A, .[0].Metric.ABPackets]')" = "[1,10007,3]"
o=$(q 1 "$(AT $T1).Has('Network', '10.100.0.8').Metrics()")
check at-metrics "$o" test "$(echo "$o" | jq -c '[.[0][] | length] + [.[0][][0].ABPackets]')" = "[1,3]"
o=$(q 1 "G.At($(($T1 + 60)), 600).Flows().Has('Network', '10.100.0.8').Count()")
check at-count "$o" test "$o" = 1

# ---- 2. another analyzer on the same table; the first restarted empty -------------------
an_start 2 "$tmp/a.yml" || ko "analyzer2-start" "$(tail -c 400 "$tmp/an-2.log")"
q 2 "$(AT $T1)" | jq -S 'sort_by(.UUID)' >"$tmp/a2.json"
check other-analyzer "$(diff "$tmp/a1.json" "$tmp/a2.json" | head -5)" cmp -s "$tmp/a1.json" "$tmp/a2.json"
an_stop 1
an_start 1 "$tmp/a.yml" || ko "analyzer-restart" "$(tail -c 400 "$tmp/an-1.log")"
q 1 "$(AT $T1)" | jq -S 'sort_by(.UUID)' >"$tmp/a3.json"
check after-restart "$(diff "$tmp/a1.json" "$tmp/a3.json" | head -5)" cmp -s "$tmp/a1.json" "$tmp/a3.json"

# ---- 3. ClickHouse down, then back -------------------------------------------------------
ch_stop a
out=$(import 1 "$tmp/b.pcap")
check import-b-down "$out" test "$(echo "$out" | jq -c '[.Flows, .Packets]')" = "[25,50]"
if until_backend 1 '.Pending == 25 and .Retries >= 1 and .Connected == false'; then
	ok "down-pending (25 states wait, retried, Connected false)"
else
	ko down-pending "$(backend 1)"
fi
o=$(q 1 "$(AT $T2)")
check down-query-refused "$o" grep -q "flow history unavailable: .*127.0.0.1:${CHHTTP[a]}" <<<"$o"
ch_up a || ko "clickhouse-restart" "did not start"
if until_backend 1 '.Inserted == 25 and .Pending == 0 and .Connected' 20; then
	ok "back-written (the 25 waiting states written once ClickHouse is back)"
else
	ko back-written "$(backend 1)"
fi
o=$(q 1 "$(AT $T2)")
check back-at "$o" test "$(echo "$o" | jq -c "[length, $jsum]")" = "[25,50]"
an_stop 1

# a small buffer while ClickHouse is down: what does not fit is counted, not lost silently
cat >"$tmp/small.yml" <<EOF
analyzer:
  flow:
    backend: mych
    max_buffer_size: 20
storage:
  mych:
    driver: clickhouse
    hosts: [http://127.0.0.1:${CHHTTP[a]}]
    database: sktest
    table: flows
EOF
an_start 3 "$tmp/small.yml" || ko "analyzer3-start" "$(tail -c 400 "$tmp/an-3.log")"
ch_stop a
out=$(import 3 "$tmp/d.pcap")
check import-d-down "$out" test "$(echo "$out" | jq -c '.Flows')" = 200
until_backend 3 '.DroppedFlows > 0' 5
ch_up a || ko "clickhouse-restart2" "did not start"
if until_backend 3 '.Pending == 0 and .Inserted + .DroppedFlows == 200 and .DroppedFlows > 0' 20; then
	ok "small-buffer-counted (written + dropped = 200, drops > 0: $(backend 3 | jq -c '[.Inserted, .DroppedFlows]'))"
else
	ko small-buffer-counted "$(backend 3)"
fi
n=$(sql a "SELECT count() FROM sktest.flows WHERE Start >= $(((T2 + 13) * 1000)) AND Start < $(((T2 + 14) * 1000))")
check small-buffer-rows "rows $n, want $(backend 3 | jq .Inserted)" test "$n" = "$(backend 3 | jq .Inserted)"
an_stop 3
an_stop 2

# ---- 4. retention: the day partitions older than max_age go --------------------------------
days_before=$(sql a "SELECT count() FROM sktest.flows WHERE Day = toDate($T1)")
check old-rows-there "$days_before rows of $T1's day" test "$days_before" = 40
cat >>"$tmp/a.yml" <<EOF
    max_age: 30d
EOF
an_start 4 "$tmp/a.yml" || ko "analyzer4-start" "$(tail -c 400 "$tmp/an-4.log")"
for _ in $(seq 1 50); do
	[ "$(sql a "SELECT count() FROM sktest.flows WHERE Day = toDate($T1)")" = 0 ] && break
	sleep 0.2
done
check retention-dropped "$(sql a "SELECT partition, sum(rows) FROM system.parts WHERE table = 'flows' AND active GROUP BY partition")" \
	test "$(sql a "SELECT count() FROM sktest.flows WHERE Day = toDate($T1)")" = 0
check retention-kept "$(sql a "SELECT count() FROM sktest.flows")" \
	test "$(sql a "SELECT count() FROM sktest.flows WHERE Start >= $((T2 * 1000)) AND Start < $(((T2 + 1) * 1000))")" = 25
check retention-logged "$(grep -c dropped "$tmp/an-4.log")" grep -q "day 2023-11-14 dropped" "$tmp/an-4.log"
an_stop 4

# ---- 5. two shards: a Distributed table over both servers ----------------------------------
# (with ClickHouse's default user named: HTTP basic authentication)
conf "$tmp/c.yml" dflows "http://127.0.0.1:${CHHTTP[a]}, http://127.0.0.1:${CHHTTP[b]}" "    cluster: sk2
    username: default
    password: \"\""
an_start 5 "$tmp/c.yml" || ko "analyzer5-start" "$(tail -c 400 "$tmp/an-5.log")"
out=$(import 5 "$tmp/c.pcap")
check import-c "$out" test "$(echo "$out" | jq -c '[.Flows, .Packets]')" = "[30,120]"
until_backend 5 '.Inserted == 30 and .Pending == 0' || ko shard-inserted "$(backend 5)"
na=$(sql a "SELECT count() FROM sktest.dflows_local")
nb=$(sql b "SELECT count() FROM sktest.dflows_local")
check shards-spread "shard a $na rows, shard b $nb" test "$((na + nb))" = 30 -a "$na" -gt 0 -a "$nb" -gt 0
check distributed-sql "$(sql b 'SELECT count() FROM sktest.dflows')" test "$(sql b 'SELECT count() FROM sktest.dflows')" = 30
o=$(q 5 "$(AT $((T2 + 7)))")
check shards-at "$(echo "$o" | head -c 300)" test "$(echo "$o" | jq -c "[length, $jsum]")" = "[30,120]"
# Has() pushed down (PREWHERE on the Keys) through the Distributed table: the flows of one
# address, as many as the unfiltered answer holds
ip=$(echo "$o" | jq -r '.[0].Network.A')
want=$(echo "$o" | jq --arg ip "$ip" '[.[] | select(.Network.A == $ip or .Network.B == $ip)] | length')
o2=$(q 5 "$(AT $((T2 + 7))).Has('Network', '$ip')")
check shards-at-has "Has('Network', '$ip'): $(echo "$o2" | head -c 200), want $want" \
	test "$(echo "$o2" | jq length)" = "$want" -a "${want:-0}" -gt 0
an_stop 5

# a wrong password: ClickHouse refuses, and the analyzer says so (the credentials are sent)
conf "$tmp/pw.yml" flows "http://127.0.0.1:${CHHTTP[a]}" "    username: default
    password: wrong"
an_start 6 "$tmp/pw.yml" || ko "analyzer6-start" "$(tail -c 400 "$tmp/an-6.log")"
if until_backend 6 '.SchemaReady == false and (.LastError | test("(?i)password"))' 10; then
	ok "wrong-password-said ($(backend 6 | jq -r .LastError | cut -c1-120))"
else
	ko wrong-password-said "$(backend 6)"
fi
an_stop 6

# ---- 6. Skydive's other drivers: refused at start ------------------------------------------
cat >"$tmp/es.yml" <<EOF
analyzer:
  flow:
    backend: myelasticsearch
storage:
  myelasticsearch:
    driver: elasticsearch
EOF
P6=$(free_port)
SKYDIVE_ANALYZER_DATA_DIR="$tmp/an-es" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true timeout 10 "$SKYDIVE" \
	analyzer -c "$tmp/es.yml" --listen "127.0.0.1:$P6" >"$tmp/es.log" 2>&1
rc=$?
check elasticsearch-refused "exit $rc: $(tail -c 300 "$tmp/es.log")" \
	grep -q "storage.myelasticsearch.driver 'elasticsearch' is not supported" "$tmp/es.log"
check elasticsearch-exit "exit $rc" test "$rc" != 0 -a "$rc" != 124

check clean-exit "exits:$bad_exit" test -z "$bad_exit"
finish
