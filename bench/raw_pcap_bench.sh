#!/usr/bin/env bash
# raw_pcap_bench.sh - time and memory of the RawPackets() PCAP download (POST /api/topology,
# Accept: application/vnd.tcpdump.pcap) of N raw packets, for one or two analyzer binaries
# in the same run: each imports the same pcap (POST /api/pcap?rawpacketlimit=-1, memory
# store) and answers the download R times; we report the download's wall time (curl) and
# the analyzer's peak RSS before and after the downloads (VmHWM), plus /usr/bin/time -v's
# maximum resident set of the whole analyzer run.
#   bench/raw_pcap_bench.sh [N] [R] BIN [BIN2]     (N = 200000 packets, R = 3)
# Run it under the shared lock (it starts daemons):
#   flock /tmp/skydive-it.lock bench/raw_pcap_bench.sh 200000 3 /tmp/base/skydive build/skydive
set -u
N=${1:-200000}
R=${2:-3}
shift 2
tmp=$(mktemp -d /tmp/skydive-rawbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# N UDP packets of 2000 flows, 128-byte frames, ns times (not whole us)
python3 - "$tmp/in.pcap" "$N" <<'EOF'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
out = open(path, 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
t = 1700000000 * 10**9
flows = 2000
for k in range(n):
    f = k % flows
    payload = bytes([k & 0xff]) * 86
    udp = struct.pack('!HHHH', 10000 + f, 53, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0,
                     bytes([10, 1, f // 250, f % 250 + 1]), bytes([10, 255, 0, 1]))
    frame = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00' + ip + udp
    t += 1234567
    out.write(struct.pack('<IIII', t // 10**9, t % 10**9, len(frame), len(frame)) + frame)
EOF
port=$((20000 + RANDOM % 20000))
for bin in "$@"; do
	d=$tmp/run
	rm -rf "$d"
	mkdir -p "$d"
	SKYDIVE_ANALYZER_ALLOW_ROOT=true SKYDIVE_ANALYZER_DATA_DIR="$d/data" \
		SKYDIVE_ANALYZER_FLOW_RAW_MAX_BYTES=$((1 << 30)) \
		SKYDIVE_ANALYZER_GREMLIN_TIMEOUT=120s \
		/usr/bin/time -v -o "$d/time" "$bin" analyzer --listen "127.0.0.1:$port" 2>"$d/log" &
	tpid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/api/status" && break
		sleep 0.1
	done
	apid=$(pgrep -P "$tpid" | head -1)
	imp=$(curl -s -XPOST --data-binary @"$tmp/in.pcap" \
		"http://127.0.0.1:$port/api/pcap?rawpacketlimit=-1")
	hwm0=$(awk '/VmHWM/ {print $2}' "/proc/$apid/status")
	times=
	for _ in $(seq 1 "$R"); do
		t=$(curl -s -o "$d/out.pcap" -w '%{time_total}' -XPOST \
			"http://127.0.0.1:$port/api/topology" -H 'Content-Type: application/json' \
			-H 'Accept: application/vnd.tcpdump.pcap' \
			--data '{"GremlinQuery":"G.Flows().RawPackets()"}')
		times="$times $t"
	done
	hwm1=$(awk '/VmHWM/ {print $2}' "/proc/$apid/status")
	npk=$(tcpdump -r "$d/out.pcap" 2>/dev/null | wc -l)
	magic=$(od -An -tx4 -N4 "$d/out.pcap" | tr -d ' ')
	kill "$apid"
	wait "$tpid"
	echo "$bin: import $imp"
	echo "  download x$R: s$times; pcap $(stat -c %s "$d/out.pcap") bytes, $npk packets, magic $magic"
	echo "  analyzer VmHWM after import ${hwm0} kB, after downloads ${hwm1} kB (+$((hwm1 - hwm0)) kB)"
	echo "  /usr/bin/time -v: $(grep -E 'Maximum resident' "$d/time" | sed 's/^\s*//')"
done
