#!/bin/bash
# tcpdump_readback.sh - raw packets written as pcap, read back by tcpdump and
# tshark; corrupt and truncated input files.
#
#   tests/integration/tcpdump_readback.sh
#
# 1. `skydive flows --read X --rawpacket-limit N [--header-size H] --format pcap
#    -o OUT`: OUT is read back with `tcpdump -nn -tt -xx -r` and `tshark -r`
#    and checked packet for packet against what the limit keeps (the first N
#    packets of each flow, as computed by tests/golden/model.py; a tunnelled
#    frame once): count, order, timestamps, wire length, captured bytes =
#    the input frame truncated to H, and the link type.
# 2. --rawpacket-limit -1 --header-size 65535 gives back the input: the output
#    of `tcpdump -nn -tt -e -r` is identical for the input and for OUT.
# 3. Truncated / corrupt files: exit status non-zero, an error message naming
#    the byte offset of the broken record, and on standard output the flows of
#    the packets read before it (compared with the model on those packets).
#    Plus: a bad magic fails, a header-only file gives [], stdin works.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
golden=$root/tests/golden
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

if ! "$PYTHON" "$golden/gen_pcaps.py" "$tmp/pcaps" 2>"$tmp/gen.err"; then
	ko gen_pcaps "$(head -c 300 "$tmp/gen.err")"
	echo "$pass passed, $fail failed"
	exit 1
fi
if [ ! -x "$SKYDIVE" ]; then
	ko skydive "$SKYDIVE not found"
	echo "$pass passed, $fail failed"
	exit 1
fi

# Python helper: expected records of the output pcap, and checks of tcpdump /
# tshark / our own reading of OUT against them.
cat >"$tmp/check.py" <<'EOF'
import re
import struct
import subprocess
import sys


def read_pcap(path):
    buf = open(path, "rb").read()
    magic = struct.unpack_from("<I", buf, 0)[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    magic = struct.unpack_from(e + "I", buf, 0)[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack_from(e + "I", buf, 20)[0] & 0x0FFFFFFF
    recs, pos = [], 24
    while pos + 16 <= len(buf):
        sec, frac, caplen, wirelen = struct.unpack_from(e + "IIII", buf, pos)
        pos += 16
        ts = sec * 10**9 + (frac if nano else frac * 1000)
        recs.append((ts, buf[pos:pos + caplen], wirelen))
        pos += caplen
    return linktype, recs


def tcpdump_records(path):
    """(timestamp string, captured bytes) per packet, as tcpdump -tt -xx prints them."""
    out = subprocess.run(["tcpdump", "-nn", "-tt", "-xx", "-r", path], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("tcpdump failed: " + out.stderr.strip()[:200])
    recs = []
    for line in out.stdout.splitlines():
        m = re.match(r"^\t0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4} ?)+)", line)
        if m and recs:
            recs[-1][1].extend(bytes.fromhex(m.group(1).replace(" ", "")))
        elif re.match(r"^\d+\.\d{6} ", line):  # (a tunnel's inner packet continues on a new line)
            recs.append([line.split(" ", 1)[0], bytearray()])
    return recs, out.stderr


def tshark_records(path):
    out = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch",
                          "-e", "frame.len", "-e", "frame.cap_len"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("tshark failed: " + out.stderr.strip()[:200])
    return [l.split("\t") for l in out.stdout.splitlines() if l.strip()]


def main():
    inp, outp, kept, hs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    kept = [int(x) for x in kept.split()]
    lt_in, recs_in = read_pcap(inp)
    exp = [(recs_in[i][0], recs_in[i][1][:hs], recs_in[i][2]) for i in kept]
    errs = []
    lt_out, recs_out = read_pcap(outp)
    if lt_out != lt_in:
        errs.append("link type %d, input has %d" % (lt_out, lt_in))
    # our own reading of the file
    if len(recs_out) != len(exp):
        errs.append("%d packets, expected %d (frames %s of the input)" % (len(recs_out), len(exp), kept))
    for n, (e, g) in enumerate(zip(exp, recs_out)):
        if e != g:
            what = []
            if e[0] != g[0]:
                what.append("time %d expected %d" % (g[0], e[0]))
            if e[2] != g[2]:
                what.append("wire length %d expected %d" % (g[2], e[2]))
            if e[1] != g[1]:
                what.append("%d captured bytes expected %d%s" % (len(g[1]), len(e[1]),
                            "" if len(e[1]) != len(g[1]) else " (contents differ)"))
            errs.append("packet %d: %s" % (n + 1, ", ".join(what)))
            break
    # tcpdump
    try:
        td, _ = tcpdump_records(outp)
        if len(td) != len(exp):
            errs.append("tcpdump reads %d packets, expected %d" % (len(td), len(exp)))
        for n, (e, (ts, data)) in enumerate(zip(exp, td)):
            ets = "%d.%06d" % (e[0] // 10**9, (e[0] % 10**9) // 1000)
            if ts != ets or bytes(data) != e[1]:
                errs.append("tcpdump packet %d: time %s bytes %d, expected %s bytes %d%s"
                            % (n + 1, ts, len(data), ets, len(e[1]),
                               " (contents differ)" if len(data) == len(e[1]) else ""))
                break
    except SystemExit as err:
        errs.append(str(err))
    # tshark
    try:
        ts = tshark_records(outp)
        if len(ts) != len(exp):
            errs.append("tshark reads %d packets, expected %d" % (len(ts), len(exp)))
        for n, (e, row) in enumerate(zip(exp, ts)):
            ets = "%d.%09d" % (e[0] // 10**9, e[0] % 10**9)
            if row != [ets, str(e[2]), str(len(e[1]))]:
                errs.append("tshark packet %d: %s, expected %s" % (n + 1, row, [ets, str(e[2]), str(len(e[1]))]))
                break
    except SystemExit as err:
        errs.append(str(err))
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)


main()
EOF

# --- 1. first N packets of each flow, truncated to the header size ----------
#        NAME            PCAP      LIMIT HEADER-SIZE
while read -r name pcap limit hs; do
	in="$tmp/pcaps/$pcap.pcap"
	kept=$("$PYTHON" "$golden/model.py" "$in" --rawpacket-limit "$limit" --kept-frames 2>"$tmp/model.err")
	if [ $? != 0 ]; then
		ko "$name" "model.py failed: $(head -c 200 "$tmp/model.err")"
		continue
	fi
	args=(flows --read "$in" --rawpacket-limit "$limit" --format pcap -o "$tmp/out.pcap")
	[ "$hs" != - ] && args+=(--header-size "$hs")
	rm -f "$tmp/out.pcap"
	if ! timeout 60 "$SKYDIVE" "${args[@]}" >"$tmp/stdout" 2>"$tmp/err"; then
		ko "$name" "skydive ${args[*]} failed: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		continue
	fi
	[ "$hs" = - ] && hs=256
	if "$PYTHON" "$tmp/check.py" "$in" "$tmp/out.pcap" "$kept" "$hs" >"$tmp/check.out" 2>&1; then
		ok "$name"
	else
		ko "$name" "$(head -n 1 "$tmp/check.out")"
		sed -n '2,10p' "$tmp/check.out" | sed 's/^/    /'
	fi
done <<'EOF'
limit3_tcp          tcp       3  -
limit1_tcp_hs60     tcp       1  60
limit2_icmp4_hs40   icmp4     2  40
limit1_vxlan        vxlan     1  -
limit1_vxlan_hs64   vxlan     1  64
limit2_mpls         mpls      2  -
limit1_dns_hs14     dns       1  14
limit1_sll          sll       1  -
limit1_rawip_hs30   rawip     1  30
limit2_snaplen      snaplen   2  -
limit1_frag         ipv4_frag 1  100
limit5_l2l3         l2l3      5  -
EOF

# --- 2. every packet, whole frames: the input again -----------------------
for p in icmp4 tcp udp vxlan geneve gre mpls ipv4_frag ipv6_ext sll rawip snaplen qinq arp; do
	name="all_$p"
	in="$tmp/pcaps/$p.pcap"
	rm -f "$tmp/out.pcap"
	if ! timeout 60 "$SKYDIVE" flows --read "$in" --rawpacket-limit -1 --header-size 65535 --format pcap \
		-o "$tmp/out.pcap" >/dev/null 2>"$tmp/err"; then
		ko "$name" "skydive failed: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		continue
	fi
	tcpdump -nn -tt -e -r "$in" >"$tmp/a.txt" 2>"$tmp/a.err"
	tcpdump -nn -tt -e -r "$tmp/out.pcap" >"$tmp/b.txt" 2>"$tmp/b.err"
	la=$(sed 's/.*link-type/link-type/; s/, snapshot length.*//' "$tmp/a.err")
	lb=$(sed 's/.*link-type/link-type/; s/, snapshot length.*//' "$tmp/b.err")
	if [ "$la" != "$lb" ]; then
		ko "$name" "tcpdump: $lb, input: $la"
	elif ! cmp -s "$tmp/a.txt" "$tmp/b.txt"; then
		ko "$name" "tcpdump -r output differs from the input's ($(wc -l <"$tmp/b.txt") lines vs $(wc -l <"$tmp/a.txt")): $(diff "$tmp/a.txt" "$tmp/b.txt" | sed -n 2p)"
	else
		ok "$name"
	fi
done

# --- 3. corrupt and truncated input files --------------------------------------
# cut FILE N BYTES_INTO_RECORD OUT: keeps N whole records, then BYTES of the next
# one; prints the byte offset of that (broken) record.
cat >"$tmp/cut.py" <<'EOF'
import struct
import sys
src, n, extra, dst, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
buf = bytearray(open(src, "rb").read())
pos = 24
for _ in range(n):
    caplen = struct.unpack_from("<I", buf, pos + 8)[0]
    pos += 16 + caplen
if mode == "cut":
    buf = buf[:pos + extra]
elif mode == "caplen":  # an impossible captured length in the record header
    struct.pack_into("<I", buf, pos + 8, 0x7FFFFFF0)
elif mode == "head":  # (n records kept, for the model)
    buf = buf[:pos]
open(dst, "wb").write(buf)
print(pos)
EOF

corrupt_case() { # NAME PCAP RECORDS BYTES MODE
	local name=$1 pcap=$2 n=$3 extra=$4 mode=$5
	local in="$tmp/pcaps/$pcap.pcap"
	local bad="$tmp/bad.pcap"
	local off size
	off=$("$PYTHON" "$tmp/cut.py" "$in" "$n" "$extra" "$bad" "$mode")
	size=$(stat -c %s "$bad")
	"$PYTHON" "$tmp/cut.py" "$in" "$n" 0 "$tmp/head.pcap" head >/dev/null
	"$PYTHON" "$golden/model.py" "$tmp/head.pcap" >"$tmp/expected.json"
	timeout 60 "$SKYDIVE" flows --read "$bad" >"$tmp/out.json" 2>"$tmp/err"
	local rc=$?
	if [ $rc = 0 ]; then
		ko "$name" "exit status 0 for a file broken at byte $off"
		return
	fi
	if [ $rc -ge 124 ]; then
		ko "$name" "exit status $rc (timeout or signal)"
		return
	fi
	# the message must name an offset between the broken record and the end
	local named
	named=$(grep -o -i -E 'offset[^0-9]{0,12}[0-9]+' "$tmp/err" | grep -o -E '[0-9]+$' | head -n 1)
	if [ -z "$named" ]; then
		ko "$name" "no offset in the error message: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		return
	fi
	if [ "$named" -lt "$off" ] || [ "$named" -gt "$size" ]; then
		ko "$name" "error names offset $named, the broken record is at $off (file size $size): $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		return
	fi
	if ! "$PYTHON" "$golden/compare.py" "$tmp/expected.json" "$tmp/out.json" "$name" >"$tmp/diff"; then
		ko "$name" "flows of the $n packets before the error: $(head -n 1 "$tmp/diff")"
		sed -n '2,6p' "$tmp/diff" | sed 's/^/    /'
		return
	fi
	ok "$name"
}
corrupt_case truncated_data tcp 5 30 cut           # cut inside the 6th record's data
corrupt_case truncated_header tcp 3 9 cut          # cut inside the 4th record's header
corrupt_case truncated_vxlan vxlan 2 60 cut        # tunnels: outer and inner flows so far
corrupt_case bad_caplen icmp4 2 0 caplen           # 3rd record claims a 2 GB frame

# bad magic
head -c 200 "$tmp/pcaps/tcp.pcap" | "$PYTHON" -c 'import sys; b=bytearray(sys.stdin.buffer.read()); b[0:4]=b"XXXX"; sys.stdout.buffer.write(b)' >"$tmp/magic.pcap"
timeout 60 "$SKYDIVE" flows --read "$tmp/magic.pcap" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
if [ $rc != 0 ] && [ $rc -lt 124 ] && [ -s "$tmp/err" ]; then ok bad_magic; else ko bad_magic "exit status $rc, stderr: $(head -c 200 "$tmp/err")"; fi

# a file that ends in the global header
head -c 10 "$tmp/pcaps/tcp.pcap" >"$tmp/short.pcap"
timeout 60 "$SKYDIVE" flows --read "$tmp/short.pcap" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
if [ $rc != 0 ] && [ $rc -lt 124 ] && [ -s "$tmp/err" ]; then ok short_global_header; else ko short_global_header "exit status $rc, stderr: $(head -c 200 "$tmp/err")"; fi

# a header-only file: no packet, no flow, success
head -c 24 "$tmp/pcaps/tcp.pcap" >"$tmp/empty.pcap"
if timeout 60 "$SKYDIVE" flows --read "$tmp/empty.pcap" >"$tmp/out.json" 2>"$tmp/err" &&
	"$PYTHON" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != [])' "$tmp/out.json"; then
	ok header_only
else
	ko header_only "expected [] and exit 0, got: $(head -c 100 "$tmp/out.json") $(head -c 200 "$tmp/err")"
fi

# standard input: same flows as the file
"$PYTHON" "$golden/model.py" "$tmp/pcaps/vxlan.pcap" >"$tmp/expected.json"
if timeout 60 "$SKYDIVE" flows --read - <"$tmp/pcaps/vxlan.pcap" >"$tmp/out.json" 2>"$tmp/err" &&
	"$PYTHON" "$golden/compare.py" "$tmp/expected.json" "$tmp/out.json" stdin >"$tmp/diff"; then
	ok stdin
else
	ko stdin "$(head -n 1 "$tmp/diff" 2>/dev/null) $(head -c 200 "$tmp/err")"
fi

# truncated file read from a pipe: the offset is still known for pcap
"$PYTHON" "$tmp/cut.py" "$tmp/pcaps/tcp.pcap" 5 30 "$tmp/bad.pcap" cut >"$tmp/off"
timeout 60 "$SKYDIVE" flows --read - <"$tmp/bad.pcap" >"$tmp/out.json" 2>"$tmp/err"
rc=$?
if [ $rc != 0 ] && [ $rc -lt 124 ] && grep -q -i -E "offset[^0-9]{0,12}$(cat "$tmp/off")" "$tmp/err"; then
	ok truncated_stdin
else
	ko truncated_stdin "exit status $rc, expected offset $(cat "$tmp/off") in: $(head -c 200 "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
