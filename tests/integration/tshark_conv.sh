#!/bin/bash
# tshark_conv.sh - cross-checks `skydive flows` against tshark's conversations.
#
#   tests/integration/tshark_conv.sh
#
# For the golden pcaps without tunnels (tshark counts an inner packet with the
# whole frame's length, and splits a VXLAN outer flow by source port) plus one
# pcap of /work/shared/bench/genpcap.c (2000 flows: TCP/UDP/ICMP, IPv6, 802.1Q),
# runs `skydive flows --read X --layer-key-mode L3` (tshark ignores MACs) and
#   `tshark -n -q -r X -z conv,tcp -z conv,udp -z conv,ip -z conv,ipv6`:
# - the number of conversations per table equals the number of our TCP / UDP
#   flows and of distinct IPv4 / IPv6 address pairs of our flows;
# - for each conversation, frames in both directions are equal (our A/B
#   against tshark's address A/B, whichever way round), and bytes too
#   (tshark prints "20 kB" past 9999 bytes: then the exact bytes come from a
#   per-frame `tshark -T fields` pass, aggregated here, see the "bytes" test).
# Pcaps with IP fragments skip the tcp/udp tables (tshark decodes ports in a
# first fragment) and the ipv6 table (tshark's IPv6 tap skips a non-first
# fragment, even with ipv6.defragment off); the "bytes" test still covers
# them from tshark's per-frame fields.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
GENPCAP_SRC=${GENPCAP_SRC:-$root/../shared/bench/genpcap.c}
[ -f "$GENPCAP_SRC" ] || GENPCAP_SRC=/work/shared/bench/genpcap.c

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

if ! command -v tshark >/dev/null; then
	ko tshark "tshark not installed"
	echo "$pass passed, $fail failed"
	exit 1
fi
if ! "$PYTHON" "$root/tests/golden/gen_pcaps.py" "$tmp/pcaps" 2>"$tmp/gen.err"; then
	ko gen_pcaps "$(head -c 300 "$tmp/gen.err")"
fi
pcaps="icmp4 icmp4_types tcp tcp_midstream tcp_rst tcp_ttl udp dns vlan qinq ipv4_options ipv4_frag icmp6 icmp6_nd ipv6_ext ipv6_frag sctp sll rawip l2l3 appport snaplen"
list=""
for p in $pcaps; do list="$list $tmp/pcaps/$p.pcap"; done
if [ -f "$GENPCAP_SRC" ] && gcc -O2 -o "$tmp/genpcap" "$GENPCAP_SRC" 2>"$tmp/gcc.err"; then
	if "$tmp/genpcap" -q -n 20000 -f 2000 -o "$tmp/pcaps/genpcap.pcap"; then
		list="$list $tmp/pcaps/genpcap.pcap"
	else
		ko genpcap "genpcap failed"
	fi
else
	ko genpcap "cannot build $GENPCAP_SRC: $(head -c 300 "$tmp/gcc.err" 2>/dev/null)"
fi

for f in $list; do
	name=$(basename "$f")
	# (inside this loop, results are only printed: they are counted below)
	if [ ! -x "$SKYDIVE" ]; then
		echo "FAIL $name: $SKYDIVE not found"
		continue
	fi
	if ! timeout 120 "$SKYDIVE" flows --read "$f" --layer-key-mode L3 >"$tmp/ours.json" 2>"$tmp/err"; then
		echo "FAIL $name: skydive failed: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
		continue
	fi
	tshark -n -q -o ip.defragment:FALSE -o ipv6.defragment:FALSE -r "$f" -z conv,tcp -z conv,udp -z conv,ip -z conv,ipv6 >"$tmp/conv.txt" 2>/dev/null
	tshark -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE -r "$f" -T fields -E occurrence=f -E separator=/t -e frame.len -e ip.src -e ip.dst \
		-e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e icmp.type -e icmpv6.type \
		>"$tmp/fields.txt" 2>/dev/null
	frag=0
	case "$name" in *frag*) frag=1 ;; esac
	"$PYTHON" - "$tmp/ours.json" "$tmp/conv.txt" "$tmp/fields.txt" "$name" "$frag" <<'EOF'
import json
import re
import sys

ours_path, conv_path, fields_path, name, frag = sys.argv[1:6]
frag = frag == "1"
flows = json.load(open(ours_path))


def ep(addr, port=None):
    return addr if port is None else "%s:%s" % (addr, port)


# our conversations: key -> {(src, dst): [frames, bytes]}
ours = {"ip": {}, "ipv6": {}, "tcp": {}, "udp": {}}


def add(table, a, b, fab, bab, fba, bba):
    key = frozenset((a, b)) if a != b else frozenset((a,))
    d = ours[table].setdefault(key, {})
    for (s, t, fr, by) in ((a, b, fab, bab), (b, a, fba, bba)):
        cur = d.setdefault((s, t), [0, 0])
        cur[0] += fr
        cur[1] += by


for f in flows:
    if f.get("ParentUUID"):
        continue  # inner flows of tunnels: not in these pcaps
    net = f.get("Network")
    if not net:
        continue
    m = f.get("Metric", {})
    fab, bab, fba, bba = m.get("ABPackets", 0), m.get("ABBytes", 0), m.get("BAPackets", 0), m.get("BABytes", 0)
    table = "ip" if net["Protocol"] == "IPV4" else "ipv6"
    add(table, net["A"], net["B"], fab, bab, fba, bba)
    tp = f.get("Transport")
    if tp and tp["Protocol"] in ("TCP", "UDP"):
        add(tp["Protocol"].lower(), ep(net["A"], tp.get("A", 0)), ep(net["B"], tp.get("B", 0)), fab, bab, fba, bba)

# tshark's conversation tables
titles = {"IPv4 Conversations": "ip", "IPv6 Conversations": "ipv6", "TCP Conversations": "tcp",
          "UDP Conversations": "udp"}
theirs = {"ip": [], "ipv6": [], "tcp": [], "udp": []}
table = None
row = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+ \S+)\s+(\d+)\s+([\d,]+ \S+)\s+(\d+)\s+([\d,]+ \S+)")
for line in open(conv_path):
    line = line.rstrip("\n")
    if line.strip() in titles:
        table = titles[line.strip()]
        continue
    mm = row.match(line)
    if mm and table:
        a, b = mm.group(1), mm.group(2)
        # tshark: "<-" = frames/bytes B -> A, "->" = A -> B
        theirs[table].append((a, b, int(mm.group(5)), mm.group(6), int(mm.group(3)), mm.group(4)))


def unit_ok(printed, value):
    """tshark prints exact "N bytes", or a truncated/rounded "N kB" / "N MB"."""
    num, unit = printed.rsplit(" ", 1)
    num = int(num.replace(",", ""))
    if unit == "bytes":
        return num == value
    div = {"kB": 1000, "MB": 1000000, "GB": 1000000000}.get(unit)
    if div is None:
        return False
    return num in (value // div, (value + div // 2) // div)


results = []


def check(table):
    tname = "%s conv,%s" % (name, table)
    if not theirs[table] and not ours[table]:
        return
    errs = []
    if frag and table in ("tcp", "udp", "ipv6"):
        return  # tshark's taps skip non-first IPv6 fragments; "bytes" checks them
    if len(theirs[table]) != len(ours[table]):
        errs.append("%d conversations in tshark, %d in our flows" % (len(theirs[table]), len(ours[table])))
    seen = set()
    for (a, b, fab, bab, fba, bba) in theirs[table]:
        key = frozenset((a, b)) if a != b else frozenset((a,))
        seen.add(key)
        d = ours[table].get(key)
        if d is None:
            errs.append("%s <-> %s: not in our flows" % (a, b))
            continue
        oab = d.get((a, b), [0, 0])
        oba = d.get((b, a), [0, 0]) if a != b else [0, 0]
        if a == b:
            oab = [sum(v[0] for v in d.values()), sum(v[1] for v in d.values())]
            fab, fba = fab + fba, 0
        if oab[0] != fab or oba[0] != fba:
            errs.append("%s <-> %s: frames %s->%s tshark %d ours %d, %s->%s tshark %d ours %d"
                        % (a, b, a, b, fab, oab[0], b, a, fba, oba[0]))
        if not unit_ok(bab, oab[1]) or (a != b and not unit_ok(bba, oba[1])):
            errs.append("%s <-> %s: bytes %s->%s tshark %s ours %d, %s->%s tshark %s ours %d"
                        % (a, b, a, b, bab, oab[1], b, a, bba, oba[1]))
    for key in ours[table]:
        if key not in seen:
            errs.append("%s: in our flows, not in tshark" % " <-> ".join(sorted(key)))
    results.append((tname, errs))


for t in ("ip", "ipv6", "tcp", "udp"):
    check(t)

# exact bytes per conversation from tshark's per-frame fields
exact = {"ip": {}, "ipv6": {}, "tcp": {}, "udp": {}}
for line in open(fields_path):
    cols = line.rstrip("\n").split("\t")
    cols += [""] * (11 - len(cols))
    flen, s4, d4, s6, d6, ts, td, us, ud, icmp4, icmp6 = cols[:11]
    if not flen:
        continue
    flen = int(flen)
    if s4:
        src, dst, t = s4, d4, "ip"
    elif s6:
        src, dst, t = s6, d6, "ipv6"
    else:
        continue
    exact[t].setdefault((src, dst), [0, 0])
    exact[t][(src, dst)][0] += 1
    exact[t][(src, dst)][1] += flen
    if frag or icmp4 or icmp6:
        continue  # (the ports of an ICMP error are those of the quoted packet)
    if ts:
        k = (ep(src, ts), ep(dst, td))
        exact["tcp"].setdefault(k, [0, 0])
        exact["tcp"][k][0] += 1
        exact["tcp"][k][1] += flen
    elif us:
        k = (ep(src, us), ep(dst, ud))
        exact["udp"].setdefault(k, [0, 0])
        exact["udp"][k][0] += 1
        exact["udp"][k][1] += flen
errs = []
for t in exact:
    for (s, d), (fr, by) in sorted(exact[t].items()):
        key = frozenset((s, d)) if s != d else frozenset((s,))
        dd = ours[t].get(key, {})
        if s == d:
            o = [sum(v[0] for v in dd.values()), sum(v[1] for v in dd.values())]
        else:
            o = dd.get((s, d), [0, 0])
        if o != [fr, by]:
            errs.append("%s %s -> %s: tshark %d frames %d bytes, ours %d frames %d bytes" % (t, s, d, fr, by, o[0], o[1]))
results.append(("%s bytes" % name, errs))

for tname, errs in results:
    if errs:
        print("FAIL %s: %d difference(s): %s" % (tname, len(errs), errs[0]))
        for e in errs[:20]:
            print("    " + e)
    else:
        print("ok %s" % tname)
EOF
done >"$tmp/results.txt"
cat "$tmp/results.txt"
pass=$((pass + $(grep -c '^ok ' "$tmp/results.txt")))
fail=$((fail + $(grep -c '^FAIL ' "$tmp/results.txt")))
echo "$pass passed, $fail failed"
[ $fail = 0 ]
