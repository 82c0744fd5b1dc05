#!/usr/bin/python3
"""check.py - IPDefrag and ReassembleTCP of `skydive flows` against tshark.

usage: check.py SKYDIVE PCAPDIR

Every expected value comes from tshark on the same pcap (reassembly on for
what is reassembled, off for each frame's own fields), turned into Skydive's
counters by the rules of docs/FLOWS.md; prints `ok NAME` / `FAIL NAME: why`
lines and exits non-zero on a failure."""
import json
import subprocess
import sys

SKYDIVE, DIR = sys.argv[1], sys.argv[2]
fails = 0


def ok(name, cond, why=""):
    global fails
    if cond:
        print("ok " + name)
    else:
        fails += 1
        print("FAIL %s: %s" % (name, why))


def tshark(pcap, fields, opts=(), yfilter=None):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=;", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for o in opts:
        cmd += ["-o", o]
    if yfilter:
        cmd += ["-Y", yfilter]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [dict(zip(fields, line.split(";"))) for line in out.splitlines() if line]


def flows(pcap, *opts):
    out = subprocess.run([SKYDIVE, "flows", "--read", pcap] + list(opts), check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def num(s, default=0):
    return int(s) if s not in ("", None) else default


# ---- IP defragmentation ----------------------------------------------------
frag = DIR + "/frag.pcap"
# Each frame's own fields (reassembly off): offset, length, more-fragments.
raw = {}
for r in tshark(frag, ["frame.number", "frame.len", "ip.frag_offset", "ip.flags.mf", "ip.len",
                       "ip.hdr_len", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.plen"],
                ["ip.defragment:FALSE", "ipv6.defragment:FALSE"]):
    n = int(r["frame.number"])
    if r["ip.len"]:
        off = num(r["ip.frag_offset"]) * 8  # tshark gives 8-byte units
        ln = int(r["ip.len"]) - int(r["ip.hdr_len"])
    else:
        off = num(r["ipv6.fraghdr.offset"]) * 8  # tshark gives 8-byte units
        ln = int(r["ipv6.plen"]) - 8
    raw[n] = (int(r["frame.len"]), off, ln)

# The reassembled datagrams, on the frame that completed each.
want = {}  # (proto, src, dst, sport, dport / icmp id) -> [packets, bytes, fragments, errors]
for r in tshark(frag, ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport",
                       "udp.dstport", "icmp.ident", "ip.fragment", "ipv6.fragment"],
                ["ip.defragment:TRUE", "ipv6.defragment:TRUE"], "udp or icmp"):
    frames = [int(x) for x in (r["ip.fragment"] or r["ipv6.fragment"]).split(",") if x]
    if not frames:
        continue  # not fragmented
    # Our rule: a fragment overlapping one already held is refused.
    held, acc = [], []
    for n in sorted(frames):
        _, off, ln = raw[n]
        if any(off < o + l and o < off + ln for (o, l) in held):
            continue
        held.append((off, ln))
        acc.append(n)
    src = r["ip.src"] or r["ipv6.src"]
    dst = r["ip.dst"] or r["ipv6.dst"]
    if r["icmp.ident"]:
        key = ("icmp", tuple(sorted([src, dst])), int(r["icmp.ident"].split(",")[0]))
    else:
        key = ("udp", src, dst, int(r["udp.srcport"]), int(r["udp.dstport"]))
    w = want.setdefault(key, [0, 0, 0, 0])
    w[0] += 1
    w[1] += sum(raw[n][0] for n in acc)
    w[2] += len(acc) - 1
    w[3] += len(frames) - len(acc)


def fkey(f):
    if "ICMP" in f:
        return ("icmp", tuple(sorted([f["Network"]["A"], f["Network"]["B"]])), f["ICMP"].get("ID", 0))
    if f.get("Transport", {}).get("Protocol") == "UDP":
        return ("udp", f["Network"]["A"], f["Network"]["B"], f["Transport"]["A"], f["Transport"]["B"])
    return None


got = {}
for f in flows(frag, "--ip-defrag"):
    k = fkey(f)
    if k:
        m, im = f["Metric"], f.get("IPMetric", {})
        got[k] = [m.get("ABPackets", 0) + m.get("BAPackets", 0), m.get("ABBytes", 0) + m.get("BABytes", 0),
                  im.get("Fragments", 0), im.get("FragmentErrors", 0)]
ok("frag_flows", set(got) == set(want), "ours %s, tshark %s" % (sorted(got), sorted(want)))
for k in sorted(want):
    g = got.get(k)
    ok("frag %s" % (k,), g == want[k], "ours %s, tshark's [packets, bytes, Fragments, FragmentErrors] %s" % (g, want[k]))
ok("frag_v6_present", any(k[0] == "udp" and ":" in k[1] for k in want), "no IPv6 datagram reassembled by tshark")
# Without the option: no transport decoded from fragments (Skydive's default).
plain = flows(frag)
ok("no_defrag_without_option",
   not any(fkey(f) in want for f in plain if f.get("Transport")) and not any("IPMetric" in f for f in plain),
   "a fragmented datagram got its ports or IPMetric without --ip-defrag")


# ---- TCP reassembly ---------------------------------------------------------
def follow_bytes(pcap):
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-q", "-z", "follow,tcp,raw,0"], check=True,
                         capture_output=True, text=True).stdout
    n = [0, 0]
    body = out.split("=" * 67)[1] if "=" * 67 in out else out
    for line in body.splitlines():
        s = line.strip()
        if not s or ":" in s or not all(c in "0123456789abcdef" for c in s):
            continue
        n[1 if line.startswith("\t") else 0] += len(s) // 2
    return n


for name in ("tcp", "tcp_hole"):
    pcap = "%s/%s.pcap" % (DIR, name)
    rows = tshark(pcap, ["ip.src", "tcp.seq_raw", "tcp.len", "tcp.flags.syn", "tcp.flags.fin",
                         "tcp.analysis.out_of_order", "tcp.analysis.retransmission",
                         "tcp.analysis.lost_segment"])
    client = rows[0]["ip.src"]
    exp = {}
    for d, mine in (("AB", True), ("BA", False)):
        rr = [r for r in rows if (r["ip.src"] == client) == mine]
        data = [r for r in rr if int(r["tcp.len"]) > 0 and not r["tcp.analysis.retransmission"]]
        # holes: the bytes between the SYN and the FIN no segment brought
        start = end = None
        ranges = []
        for r in rr:
            seq, ln = int(r["tcp.seq_raw"]), int(r["tcp.len"])
            if r["tcp.flags.syn"] == "1":
                start = seq + 1
            if r["tcp.flags.fin"] == "1":
                end = seq
            if ln:
                ranges.append((seq, seq + ln))
        gaps, skipped, at = 0, 0, start
        for a, b in sorted(ranges):
            if a > at:
                gaps += 1
                skipped += a - at
            at = max(at, b)
        if end is not None and end > at:
            gaps += 1
            skipped += end - at
        exp[d + "Packets"] = len(data)
        exp[d + "SegmentOutOfOrder"] = sum(1 for r in rr if r["tcp.analysis.out_of_order"])
        exp[d + "SegmentSkipped"] = gaps
        exp[d + "SegmentSkippedBytes"] = skipped
        exp[d + "SawStart"] = int(any(r["tcp.flags.syn"] == "1" for r in rr))
        exp[d + "SawEnd"] = int(any(r["tcp.flags.fin"] == "1" for r in rr))
    fb = follow_bytes(pcap)
    if name == "tcp":  # tshark's follow has every byte: no hole
        exp["ABBytes"], exp["BABytes"] = fb
    else:  # the bytes around the hole: the distinct segments'
        for d, mine in (("AB", True), ("BA", False)):
            exp[d + "Bytes"] = sum(int(r["tcp.len"]) for r in rows if (r["ip.src"] == client) == mine
                                   and not r["tcp.analysis.retransmission"])
    fl = [f for f in flows(pcap, "--reassemble-tcp") if f.get("Transport", {}).get("Protocol") == "TCP"]
    ok(name + "_one_flow", len(fl) == 1, "%d TCP flows" % len(fl))
    if not fl:
        continue
    tm = fl[0].get("TCPMetric", {})
    exp = {k: v for k, v in exp.items() if v}  # zero is absent, as Skydive's omitempty
    ok(name + "_tcpmetric", tm == exp, "ours %s, from tshark %s" % (tm, exp))
    both = [f for f in flows(pcap, "--reassemble-tcp", "--extra-tcp-metric")
            if f.get("Transport", {}).get("Protocol") == "TCP"]
    ok(name + "_with_extra", both and all(both[0]["TCPMetric"].get(k) == v for k, v in exp.items())
       and "ABSynStart" in both[0]["TCPMetric"], "ExtraTCPMetric and ReassembleTCP together: %s" % (both and both[0].get("TCPMetric")))
    extra = [f for f in flows(pcap, "--extra-tcp-metric") if f.get("Transport", {}).get("Protocol") == "TCP"]
    ok(name + "_extra_only", extra and not any(k.endswith("Packets") or "Segment" in k
                                               for k in extra[0].get("TCPMetric", {})),
       "segment counters without --reassemble-tcp")

sys.exit(1 if fails else 0)
