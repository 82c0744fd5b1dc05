#!/usr/bin/python3
"""check.py - our flows' extra layers against tshark's decoding of the same pcap.

usage: check.py FLOWS.json TSHARK.json

FLOWS.json: `skydive flows --read X --extra-layer DNS --extra-layer DHCPv4
--extra-layer VRRP`; TSHARK.json: `tshark -T json -o tcp.desegment_tcp_streams:FALSE
-r X` (no TCP reassembly: a DNS message must be whole in its segment, as ours),
or, against `skydive flows --reassemble-tcp`, tshark's TCP reassembly (a DNS
message is shown in the frame that completed it; several in one frame: the
last one counts, as the latest message does).
For each flow of ours, the frames of the same endpoints are taken from tshark,
and the layer Skydive would keep is built from tshark's fields by Skydive's
rules (flow/flow.go: DHCPv4 and VRRP of the flow's first packet, DNS of its
latest packet that has a whole DNS message; flow/layers/dns.go: the record
types kept, gopacket's names of types, classes, opcodes and response codes,
Go's JSON names and omitempty). Prints `ok`/`FAIL` per flow and layer, then
`N passed, M failed`."""
import base64
import json
import sys

# gopacket layers/dns.go String() tables
TYPES = {1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
         10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
         28: "AAAA", 33: "SRV", 41: "OPT", 256: "URI"}
CLASSES = {1: "IN", 2: "CS", 3: "CH", 4: "HS", 255: "Any"}
OPCODES = {0: "Query", 1: "Inverse Query", 2: "Status", 4: "Notify", 5: "Update"}
RCODES = ["No Error", "Format Error", "Server Failure ", "Non-Existent Domain", "Not Implemented",
          "Query Refused", "Name Exists when it should not", "RR Set Exists when it should not",
          "RR Set that should exist does not", "Server Not Authoritative for zone",
          "Name not contained in zone"]
# flow/layers/dns.go toFlowDNSResourceRecord: the record types a flow keeps
KEPT = {"A", "AAAA", "SOA", "SRV", "MX", "TXT", "HINFO", "NS", "CNAME", "PTR", "OPT"}


def multi(pairs):
    """tshark repeats a key (two TXT strings): keep every value."""
    d = {}
    for k, v in pairs:
        if k in d:
            if not isinstance(d[k], list) or not d.get("__multi_" + k):
                d[k] = [d[k]]
                d["__multi_" + k] = True
            d[k].append(v)
        else:
            d[k] = v
    return d


def vals(d, k):
    v = d.get(k)
    if v is None:
        return []
    return v if d.get("__multi_" + k) else [v]


def clean(o):
    """Go's omitempty: zero numbers, false, "" and empty lists go; a message
    that is there stays, even empty."""
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items()
                if not (v in (0, False, "", None) or v == [])}
    if isinstance(o, list):
        return [clean(x) for x in o]
    return o


def name(s):
    return "" if s in (None, "<Root>") else s


def record(r):
    t = int(r["dns.resp.type"])
    tn = TYPES.get(t, "Unknown")
    if tn not in KEPT:
        return None
    nm = r.get("dns.resp.name")
    if nm is None and "dns.srv.service" in r:  # tshark splits an SRV owner name
        nm = ".".join(x for x in (r.get("dns.srv.service"), r.get("dns.srv.proto"),
                                  r.get("dns.srv.name")) if x)
    e = {"name": name(nm), "type": tn, "class": CLASSES.get(int(r["dns.resp.class"], 16), "Unknown"),
         "TTL": int(r["dns.resp.ttl"]), "data_length": int(r["dns.resp.len"])}
    if tn in ("A", "AAAA"):
        e["IP"] = r.get("dns.a") or r.get("dns.aaaa")
    elif tn == "NS":
        e["NS"] = name(r.get("dns.ns"))
    elif tn == "CNAME":
        e["c_name"] = name(r.get("dns.cname"))
    elif tn == "PTR":
        e["PTR"] = name(r.get("dns.ptr.domain_name"))
    elif tn in ("TXT", "HINFO"):
        e["TXTs"] = vals(r, "dns.txt")
    elif tn == "SOA":
        e["SOA"] = {"m_name": name(r.get("dns.soa.mname")), "r_name": name(r.get("dns.soa.rname")),
                    "serial": int(r["dns.soa.serial_number"]),
                    "refresh": int(r["dns.soa.refresh_interval"]),
                    "retry": int(r["dns.soa.retry_interval"]),
                    "expire": int(r["dns.soa.expire_limit"]),
                    "minimum": int(r["dns.soa.minimum_ttl"])}
    elif tn == "SRV":
        e["SRV"] = {"priority": int(r["dns.srv.priority"]), "weight": int(r["dns.srv.weight"]),
                    "port": int(r["dns.srv.port"]), "name": name(r.get("dns.srv.target"))}
    elif tn == "MX":
        e["MX"] = {"preference": int(r["dns.mx.preference"]),
                   "name": name(r.get("dns.mx.mail_exchange"))}
    return e


def dns_layer(frame, dns):
    # the header's flags word as tshark read it (its tree omits answer-only
    # flags of a query)
    fl = int(dns["dns.flags"], 16)
    rc = fl & 0xf
    e = {"ID": int(dns["dns.id"], 16), "QR": bool(fl & 0x8000),
         "op_code": OPCODES.get((fl >> 11) & 0xf, "Unknown"),
         "AA": bool(fl & 0x400), "TC": bool(fl & 0x200), "RD": bool(fl & 0x100),
         "RA": bool(fl & 0x80), "z": (fl >> 4) & 7,  # gopacket's Z: z, AD and CD
         "response_code": RCODES[rc] if rc < len(RCODES) else "Unknown",
         "q_d_count": int(dns["dns.count.queries"]), "a_n_count": int(dns["dns.count.answers"]),
         "n_s_count": int(dns["dns.count.auth_rr"]), "a_r_count": int(dns["dns.count.add_rr"])}
    e["questions"] = [{"name": name(q.get("dns.qry.name")),
                       "type": TYPES.get(int(q["dns.qry.type"]), "Unknown"),
                       "class": CLASSES.get(int(q["dns.qry.class"], 16), "Unknown")}
                      for q in dns.get("Queries", {}).values()]
    for sec, key in (("answers", "Answers"), ("authorities", "Authoritative nameservers"),
                     ("additionals", "Additional records")):
        e[sec] = [x for x in (record(r) for r in dns.get(key, {}).values()) if x]
    sec, _, frac = frame["frame.time_epoch"].partition(".")
    e["timestamp"] = {"seconds": int(sec), "nanos": int((frac + "000000000")[:9])}
    return clean(e)


def dhcp_layer(d):
    def fixed(s, n):
        return base64.b64encode(s.encode().ljust(n, b"\0")).decode()
    return clean({"hardware_len": int(d["dhcp.hw.len"]), "hardware_opts": int(d["dhcp.hops"]),
                  "secs": int(d["dhcp.secs"]), "flags": int(d["dhcp.flags"], 16),
                  "server_name": fixed(d.get("dhcp.server", ""), 64),
                  "file": fixed(d.get("dhcp.file", ""), 128)})


def vrrp_layer(v):
    adv = int(v.get("vrrp.adver_int") or v.get("vrrp.short_adver_int"))
    return clean({"version": int(v["vrrp.typever_tree"]["vrrp.version"]),
                  "virtual_rtrID": int(v["vrrp.virt_rtr_id"]), "priority": int(v["vrrp.prio"]),
                  "adver_int": adv & 0xff})  # gopacket reads one byte (v3: the low byte)


def endpoints(layers):
    net = layers.get("ip") or layers.get("ipv6") or {}
    a = net.get("ip.src") or net.get("ipv6.src")
    b = net.get("ip.dst") or net.get("ipv6.dst")
    tr = layers.get("udp") or layers.get("tcp") or {}
    pa = tr.get("udp.srcport") or tr.get("tcp.srcport")
    pb = tr.get("udp.dstport") or tr.get("tcp.dstport")
    return frozenset([(a, int(pa) if pa else 0), (b, int(pb) if pb else 0)])


def diff(path, a, b, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(path + "." + k, a.get(k), b.get(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff("%s[%d]" % (path, i), x, y, out)
    elif a != b:
        out.append("%s: ours %r, tshark %r" % (path, a, b))


def main():
    flows = json.load(open(sys.argv[1]))
    frames = json.load(open(sys.argv[2]), object_pairs_hook=multi)
    passed = failed = 0
    for fl in flows:
        tp = fl.get("Transport", {})
        key = frozenset([(fl["Network"]["A"], tp.get("A", 0)), (fl["Network"]["B"], tp.get("B", 0))])
        mine = [f["_source"]["layers"] for f in frames if endpoints(f["_source"]["layers"]) == key]
        want = {}
        first = mine[0] if mine else {}
        if "dhcp" in first:
            want["DHCPv4"] = dhcp_layer(first["dhcp"])
        if "vrrp" in first:
            want["VRRPv2"] = vrrp_layer(first["vrrp"])
        for fr in mine:
            ds = fr.get("dns")
            for d in (ds if isinstance(ds, list) else [ds]):
                if d and "dns.flags" in d and not ({"_ws.malformed", "_ws.unreassembled"} & (set(fr) | set(d))):
                    want["DNS"] = dns_layer(fr["frame"], d)
        name_ = "%s %s:%s-%s:%s" % (fl["LayersPath"], fl["Network"]["A"], tp.get("A", ""),
                                    fl["Network"]["B"], tp.get("B", ""))
        if not want:
            print("FAIL %s: tshark decodes no extra layer for this flow" % name_)
            failed += 1
            continue
        for layer in ("DHCPv4", "DNS", "VRRPv2"):
            if layer not in want and layer not in fl:
                continue
            out = []
            diff(layer, fl.get(layer), want.get(layer), out)
            if out:
                print("FAIL %s %s" % (name_, layer))
                for o in out:
                    print("    " + o)
                failed += 1
            else:
                print("ok %s %s" % (name_, layer))
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
