#!/bin/bash
# store_durable.sh - the analyzer's flow store on disk (analyzer.data_dir/flows): flows and
# raw packets imported with POST /api/pcap survive kill -9 (flows and the RawPackets PCAP
# compare equal before and after), kill -9 in the middle of an import keeps what was
# durable before it, a torn segment tail is cut and a corrupted block skipped with log
# lines naming the file and offset (the rest served), raw packets number on after a restart
# and stay within analyzer.flow.raw_max_bytes (oldest raw files evicted, flows kept), and a
# full disk (a 2 MB tmpfs) counts drops in /api/status while the analyzer keeps answering,
# then writes again once space returns; a log written by the build before segment version
# 2 is read as it was. One `ok NAME` / `FAIL NAME: reason` line per check.
set -u
. "$(dirname "$0")/lib/harness.sh"
mnt=
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
apid=

# gen FILE NFLOWS PKTS SEED: a pcap (ns timestamps, every other frame cut to 60 of its
# 200 bytes: caplen < wirelen) of NFLOWS UDP flows of PKTS packets each
gen() {
	"$PYTHON" - "$@" <<'EOF'
import struct, sys
path, nflows, pkts, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = open(path, 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
t = 1700000000 * 10**9 + seed * 10**12
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
for p in range(pkts):
    for f in range(nflows):
        src = bytes([10, seed, f // 250, f % 250 + 1]); dst = bytes([10, 255, 0, 1])
        payload = bytes([(f + p) & 0xff]) * 158
        udp = struct.pack('!HHHH', 10000 + f, 53, 8 + len(payload), 0) + payload
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), p, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        frame = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + udp
        cap = frame if (p + f) % 2 == 0 else frame[:60]
        t += 1234567  # ns: not a whole number of ms or us
        out.write(struct.pack('<IIII', t // 10**9, t % 10**9, len(cap), len(frame)) + cap)
EOF
}

# start DATA_DIR LOG [ENV...]: the analyzer on $PORT with its data in DATA_DIR
start() {
	local data=$1 log=$2; shift 2
	env SKYDIVE_ANALYZER_DATA_DIR="$data" "$@" "$SKYDIVE" analyzer --listen "127.0.0.1:$PORT" 2>>"$log" &
	apid=$!
	pids=("$apid")
	wait_api "$PORT"
}
kill9() { kill -9 "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; pids=(); }
query() { # GREMLIN [ACCEPT]: the answer of POST /api/topology on stdout
	curl -s -XPOST "$URL/api/topology" -H 'Content-Type: application/json' ${2:+-H "Accept: $2"} \
		--data "$("$PYTHON" -c 'import json,sys; print(json.dumps({"GremlinQuery": sys.argv[1]}))' "$1")"
}
storage() { curl -s "$URL/api/status" | "$PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["Flows"]["Storage"]))'; }
# drained: until every accepted record is written (the flusher: at most 1 s)
drained() {
	for _ in $(seq 1 50); do
		storage | jtest 'j["Pending"]==0 and j["FlowStates"]>0' && return 0
		sleep 0.1
	done
	return 1
}
import() { # FILE [LIMIT]: POST /api/pcap
	curl -s -XPOST --data-binary @"$1" "$URL/api/pcap?rawpacketlimit=${2:-0}"
}
sorted_flows() { # the flows by UUID, as canonical JSON
	query "G.Flows()" | "$PYTHON" -c 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin), key=lambda f: f["UUID"]), sort_keys=True))'
}
count() { query "G.Flows().Count()"; }

gen "$tmp/a.pcap" 40 3 1
gen "$tmp/b.pcap" 25 2 2
gen "$tmp/c.pcap" 10 2 4
gen "$tmp/big.pcap" 3000 20 3

# ---- kill -9 after ingest: flows and raw packets byte for byte ----------------------
D=$tmp/d1
if ! start "$D" "$tmp/a1.log"; then ko start "$(head -c 400 "$tmp/a1.log")"; finish; fi
ok start
import "$tmp/a.pcap" -1 >"$tmp/o"
check import-a "$(cat "$tmp/o")" jtest 'j["Flows"]==40 and j["RawPackets"]==120' <"$tmp/o"
check drained "$(storage)" drained
sorted_flows >"$tmp/before.json"
query "G.Flows().RawPackets()" application/vnd.tcpdump.pcap >"$tmp/before.pcap"
check flows-before "$(head -c 200 "$tmp/before.json")" jtest 'len(j)==40' <"$tmp/before.json"
tcpdump -nn -r "$tmp/before.pcap" 2>/dev/null | wc -l >"$tmp/n"
check pcap-before "tcpdump read $(cat "$tmp/n") packets, want 120" test "$(cat "$tmp/n")" = 120
# the PCAP keeps the wire length of the frames cut to 60 bytes
tcpdump -nn -r "$tmp/before.pcap" -e 2>/dev/null | grep -c "length 200" >"$tmp/n"
check pcap-wirelen "$(cat "$tmp/n") frames of wire length 200, want 120" test "$(cat "$tmp/n")" = 120
# ... and the capture's nanosecond times (a nanosecond pcap: gen's times are not whole us)
tcpdump --nano -tt -nn -r "$tmp/before.pcap" 2>/dev/null | cut -d' ' -f1 >"$tmp/ts"
"$PYTHON" -c 'for k in range(1, 121): t = 1700000000 * 10**9 + 10**12 + k * 1234567; print("%d.%09d" % (t // 10**9, t % 10**9))' >"$tmp/ts.want"
check pcap-nanosecond "$(diff "$tmp/ts.want" "$tmp/ts" | head -4)" cmp -s "$tmp/ts.want" "$tmp/ts"
# tshark: 60 frames cut (capture length 60, frame length 200), 60 whole
if command -v tshark >/dev/null; then
	tshark -n -r "$tmp/before.pcap" -T fields -e frame.len -e frame.cap_len 2>/dev/null |
		sort | uniq -c | awk '{print $1, $2, $3}' >"$tmp/tl"
	printf '60 200 200\n60 200 60\n' >"$tmp/tl.want"
	check pcap-tshark-lengths "$(cat "$tmp/tl")" cmp -s "$tmp/tl.want" "$tmp/tl"
fi
kill9
check restart "$(tail -3 "$tmp/a1.log")" start "$D" "$tmp/a1.log"
sorted_flows >"$tmp/after.json"
check flows-after "$(head -c 300 "$tmp/after.json")" cmp -s "$tmp/before.json" "$tmp/after.json"
query "G.Flows().RawPackets()" application/vnd.tcpdump.pcap >"$tmp/after.pcap"
check pcap-after "$(cmp "$tmp/before.pcap" "$tmp/after.pcap" 2>&1)" cmp -s "$tmp/before.pcap" "$tmp/after.pcap"
ip=10.1.0.7
query "G.Flows().Has('Network','$ip')" >"$tmp/o"
check indexed-after "$(head -c 300 "$tmp/o")" jtest "len(j)==1 and j[0]['Network']['A']=='$ip'" <"$tmp/o"
query "G.At(1703000000000, 3600).Flows().Count()" >"$tmp/o"
check window-after "$(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
query "G.At(1700001060000, 3600).Flows().Count()" >"$tmp/o"
check window-file-time "$(cat "$tmp/o")" jtest 'j==40' <"$tmp/o"
storage >"$tmp/o"
check status-range "$(cat "$tmp/o")" jtest 'j["Persistent"] and j["Segments"]>=1 and j["BytesOnDisk"]>0 and 1700001000000<=j["From"]<=j["To"]<1700001000000+60000' <"$tmp/o"

# ---- kill -9 in the middle of an import ------------------------------------------------
import "$tmp/big.pcap" 0 >/dev/null &
ipid=$!
sleep 0.3
kill9
wait "$ipid" 2>/dev/null
check restart-mid "$(tail -3 "$tmp/a1.log")" start "$D" "$tmp/a1.log"
query "G.Flows().Has('Network', '10.255.0.1').Has('Transport.A', LT(10040))" >/dev/null
# the 40 flows of a.pcap are all there, as they were
query "G.Flows()" | "$PYTHON" -c '
import json,sys
want = {f["UUID"]: f for f in json.load(open(sys.argv[1]))}
got = {f["UUID"]: f for f in json.load(sys.stdin) if f["UUID"] in want}
sys.exit(0 if got == want else 1)' "$tmp/before.json"
check mid-import-kept "flows of a.pcap differ after kill -9 during an import" test $? = 0
grep -E "ERROR|Sanitizer|runtime error" "$tmp/a1.log" >"$tmp/o"
check no-crash-log "$(head -3 "$tmp/o")" test ! -s "$tmp/o"
kill9

# ---- a torn tail and a corrupted block -------------------------------------------------
D=$tmp/d2
start "$D" "$tmp/a2.log" SKYDIVE_ANALYZER_STORAGE_FSYNC=always
import "$tmp/a.pcap" >/dev/null
drained
import "$tmp/b.pcap" >/dev/null
drained
import "$tmp/c.pcap" >/dev/null
drained
kill9
seg=$(ls "$D"/flows/*.seg | head -1)
size=$(stat -c %s "$seg")
truncate -s $((size - 10)) "$seg"
start "$D" "$tmp/a2.log"
grep "torn tail cut" "$tmp/a2.log" >"$tmp/o"
check torn-log "$(tail -2 "$tmp/a2.log")" grep -q "$seg: torn tail cut at offset [0-9]" "$tmp/o"
count >"$tmp/o"
check torn-served "count $(cat "$tmp/o"): a.pcap's 40, b.pcap's 25 and fewer than 10 of c.pcap" jtest '65<=j<75' <"$tmp/o"
query "G.Flows().Has('Network.A','10.1.0.1').Count()" >"$tmp/o"
check torn-a-kept "$(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"
check torn-file-cut "size $(stat -c %s "$seg"), was $size" test "$(stat -c %s "$seg")" -lt $((size - 10))
kill9
# one byte in the first block's payload
printf '\xff' | dd of="$seg" bs=1 seek=100 conv=notrunc 2>/dev/null
start "$D" "$tmp/a2.log"
grep "corrupted block" "$tmp/a2.log" >"$tmp/o"
check corrupt-log "$(tail -2 "$tmp/a2.log")" grep -q "$seg: corrupted block at offset 0 skipped" "$tmp/o"
count >"$tmp/o"
check corrupt-served "count $(cat "$tmp/o"): fewer than a.pcap's 40, b.pcap's 25" jtest '25<=j<65' <"$tmp/o"
query "G.Flows().Has('Network.A','10.2.0.1').Count()" >"$tmp/o"
check corrupt-b-kept "$(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"
storage >"$tmp/o"
check corrupt-status "$(cat "$tmp/o")" jtest 'j["CorruptBlocks"]==1 and j["TornBytes"]==0' <"$tmp/o"
kill9

# ---- raw packets: Index goes on after a restart; analyzer.flow.raw_max_bytes on disk ----
D=$tmp/d4
start "$D" "$tmp/a4.log"
import "$tmp/a.pcap" -1 >/dev/null
drained
kill9
start "$D" "$tmp/a4.log"
# the same capture again: the same flows (same keys and start, so the same UUIDs) get 3
# more packets each, after the 3 they had before the restart
import "$tmp/a.pcap" -1 >"$tmp/o"
check raw-reimport "$(cat "$tmp/o")" jtest 'j["Flows"]==40 and j["RawPackets"]==120' <"$tmp/o"
drained
query "G.Flows().RawPackets()" >"$tmp/raw.json"
"$PYTHON" -c '
import json,sys
flows = {}
for o in json.load(open(sys.argv[1])):
    for u, pk in o.items():
        flows.setdefault(u, []).extend(p["Index"] for p in pk)
bad = [(u, ix) for u, ix in flows.items() if ix != list(range(1, 7))]
print("%d flows, %d with other indexes than 1..6: %s" % (len(flows), len(bad), bad[:2]))
sys.exit(0 if len(flows) == 40 and not bad else 1)' "$tmp/raw.json" >"$tmp/o"
check raw-index-continues "$(cat "$tmp/o")" test $? = 0
query "G.Flows().RawPackets()" application/vnd.tcpdump.pcap >"$tmp/raw.pcap"
tcpdump -nn -r "$tmp/raw.pcap" 2>/dev/null | wc -l >"$tmp/n"
check raw-restart-pcap "tcpdump read $(cat "$tmp/n") packets, want 240" test "$(cat "$tmp/n")" = 240
if command -v tshark >/dev/null; then
	tshark -n -r "$tmp/raw.pcap" 2>/dev/null | wc -l >"$tmp/n"
	check raw-restart-tshark "tshark read $(cat "$tmp/n") packets, want 240" test "$(cat "$tmp/n")" = 240
fi
kill9
# 60000 packets of big.pcap into a 64 KiB raw bound: the oldest raw files go, not the flows
D=$tmp/d5
start "$D" "$tmp/a5.log" SKYDIVE_ANALYZER_FLOW_RAW_MAX_BYTES=65536
import "$tmp/big.pcap" -1 >"$tmp/o"
check raw-bound-import "$(head -c 300 "$tmp/o")" jtest 'j["Flows"]==3000 and j["RawPackets"]==60000' <"$tmp/o"
drained
for _ in $(seq 1 30); do storage | jtest 'j["Pending"]==0 and j["EvictedRawSegments"]>0 and j["RawBytesOnDisk"]<=j["RawMaxBytes"]' && break; sleep 0.1; done
storage >"$tmp/o"
check raw-bound-evicted "$(cat "$tmp/o")" jtest 'j["RawMaxBytes"]==65536 and 0<j["RawBytesOnDisk"]<=65536 and j["EvictedRawSegments"]>0 and j["RawPackets"]+j["EvictedRawPackets"]==60000 and j["FlowStates"]>=3000' <"$tmp/o"
held=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["RawPackets"])' "$tmp/o")
query "G.Flows().Count()" >"$tmp/o"
check raw-bound-flows-kept "$(cat "$tmp/o")" jtest 'j==3000' <"$tmp/o"
query "G.Flows().RawPackets()" application/vnd.tcpdump.pcap >"$tmp/raw.pcap"
tcpdump -nn -r "$tmp/raw.pcap" 2>/dev/null | wc -l >"$tmp/n"
check raw-bound-pcap "tcpdump read $(cat "$tmp/n") packets, the store holds $held" test "$(cat "$tmp/n")" = "$held"
kill9

# ---- a log of segment version 1 ---------------------------------------------------------
# data/seg_v1 was written by the build before segment version 2 (288-byte records, four
# strings; commit 18f24db): POST /api/pcap of `gen t.pcap 20 3 1`, 20 UDP flows of 3
# frames of 200 bytes A->B (10.1.0.x:10000+f -> 10.255.0.1:53). Read as they were.
mkdir -p "$tmp/v1/flows" && chmod 700 "$tmp/v1" "$tmp/v1/flows"
cp "$(dirname "$0")/data/seg_v1/"*.seg "$tmp/v1/flows/" && chmod 600 "$tmp/v1/flows/"*
start "$tmp/v1" "$tmp/v1.log"
query "G.At(1700001100, 2000).Flows()" >"$tmp/o"
check v1-segment-read "$(head -c 300 "$tmp/o"); $(grep -i 'skip\|cut\|corrupt' "$tmp/v1.log" | head -3)" \
	jtest 'len(j)==20 and all(f["Metric"]["ABPackets"]==3 and f["Metric"]["ABBytes"]==600 and f["Network"]["A"].startswith("10.1.0.") and f["Network"]["B"]=="10.255.0.1" and f["Transport"]["B"]==53 and 10000<=f["Transport"]["A"]<10020 for f in j) and len({f["Transport"]["A"] for f in j})==20' <"$tmp/o"
kill9

# ---- disk full ------------------------------------------------------------------------
mnt=$tmp/small
mkdir -p "$mnt"
if mount -t tmpfs -o size=2m tmpfs "$mnt" 2>"$tmp/e"; then
	start "$mnt" "$tmp/a3.log"
	import "$tmp/a.pcap" -1 >/dev/null
	drained
	dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null # until ENOSPC
	import "$tmp/big.pcap" -1 >"$tmp/o"
	check full-import "$(head -c 300 "$tmp/o")" jtest 'j["Flows"]==3000' <"$tmp/o"
	for _ in $(seq 1 30); do storage | jtest 'j["WriteErrors"]>0' && break; sleep 0.1; done
	storage >"$tmp/o"
	check full-counted "$(cat "$tmp/o")" jtest 'j["WriteErrors"]>0 and j["DroppedFlows"]+j["DroppedRaw"]>0 and "No space" in j["LastError"]' <"$tmp/o"
	check full-alive "the analyzer died" kill -0 "$apid"
	count >"$tmp/o"
	check full-answers "$(cat "$tmp/o")" jtest 'j>=40' <"$tmp/o"
	errs=$(storage | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["WriteErrors"])')
	rm -f "$mnt/filler"
	import "$tmp/b.pcap" >/dev/null
	drained
	storage >"$tmp/o"
	check full-resumes "$(cat "$tmp/o")" jtest "j['WriteErrors']==$errs and j['Pending']==0" <"$tmp/o"
	kill9
	start "$mnt" "$tmp/a3.log"
	query "G.Flows().Has('Network.A','10.2.0.1').Count()" >"$tmp/o"
	check full-after-restart "b.pcap's flow after the disk had room: $(cat "$tmp/o")" jtest 'j==1' <"$tmp/o"
	kill9
	umount "$mnt" && mnt=
else
	ko tmpfs "cannot mount a tmpfs: $(cat "$tmp/e")"
fi
finish
