#!/usr/bin/python3
"""model.py - an independent Python model of the flow engine (docs/FLOWS.md).

usage: /usr/bin/python3 tests/golden/model.py PCAP [--layer-key-mode L2|L3]
           [--node-tid TID] [--capture-id ID] [--rawpacket-limit N] [--extra-tcp-metric]
           [--app-port udp:5000=FOO]... [--bpf EXPR] [--kept-frames]

Prints the flows of PCAP as a JSON array, as `skydive flows --read` should.
With --kept-frames it prints instead the 0-based indices of the frames that
--rawpacket-limit N keeps (used by tests/integration/tcpdump_readback.sh).

It is written from the contract (docs/FLOWS.md, the comments of
src/decode/decode.h, reference/skydive-compat.md sections c, g, g2), not from
the C code: frames are dissected by scapy and the result is mapped to
gopacket's layer names and decoding rules (one layer per MPLS label, one
split after the bottom-of-stack label, a
"Fragment" layer for IP fragments, application layers by UDP/TCP port ...).
--bpf is applied by libpcap through tcpdump (same filter semantics as the C
code), then the filtered file is modelled."""
import argparse
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile

import xxhash
from scapy.config import conf

conf.verb = 0
from scapy.packet import NoPayload, Padding, Raw  # noqa: E402
from scapy.layers.l2 import ARP, CookedLinux, Dot1AD, Dot1Q, Ether, GRE  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,  # noqa: E402
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, _ICMPv6)
from scapy.layers.dns import DNS  # noqa: E402
from scapy.layers.sctp import SCTP  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402
from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.contrib.geneve import GENEVE  # noqa: E402

# flow.proto ICMPType
ICMP_UNKNOWN, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_NEIGHBOR, ICMP_ADDRESS_MASK, ICMP_INFO, \
    ICMP_PARAM_PROBLEM, ICMP_REDIRECT, ICMP_ROUTER, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED, \
    ICMP_TIMESTAMP, ICMP_PACKET_TOO_BIG = range(13)
ICMP_TYPE_NAMES = ["UNKNOWN", "DESTINATION_UNREACHABLE", "ECHO", "NEIGHBOR", "ADDRESS_MASK", "INFO",
                   "PARAMETER_PROBLEM", "REDIRECT", "ROUTER", "SOURCE_QUENCH", "TIME_EXCEEDED",
                   "TIMESTAMP", "PACKET_TOO_BIG"]

ICMPV4_FLOW_TYPE = {0: ICMP_ECHO, 8: ICMP_ECHO, 3: ICMP_DEST_UNREACH, 4: ICMP_SOURCE_QUENCH,
                    5: ICMP_REDIRECT, 9: ICMP_ROUTER, 10: ICMP_ROUTER, 11: ICMP_TIME_EXCEEDED,
                    12: ICMP_PARAM_PROBLEM, 13: ICMP_TIMESTAMP, 14: ICMP_TIMESTAMP, 15: ICMP_INFO,
                    16: ICMP_INFO, 17: ICMP_ADDRESS_MASK, 18: ICMP_ADDRESS_MASK}
ICMPV6_FLOW_TYPE = {1: ICMP_DEST_UNREACH, 2: ICMP_PACKET_TOO_BIG, 3: ICMP_TIME_EXCEEDED,
                    4: ICMP_PARAM_PROBLEM, 128: ICMP_ECHO, 129: ICMP_ECHO, 133: ICMP_ROUTER,
                    134: ICMP_ROUTER, 135: ICMP_NEIGHBOR, 136: ICMP_NEIGHBOR, 137: ICMP_REDIRECT}
# gopacket decodes the ICMPv6 message body as its own layer for these types
ICMPV6_SUBLAYER = {128: "ICMPv6Echo", 129: "ICMPv6Echo", 133: "ICMPv6RouterSolicitation",
                   134: "ICMPv6RouterAdvertisement", 135: "ICMPv6NeighborSolicitation",
                   136: "ICMPv6NeighborAdvertisement", 137: "ICMPv6Redirect"}
SCTP_CHUNK_NAMES = {0: "SCTPData", 1: "SCTPInit", 2: "SCTPInitAck", 3: "SCTPSack", 4: "SCTPHeartbeat",
                    5: "SCTPHeartbeatAck", 6: "SCTPAbort", 7: "SCTPShutdown", 8: "SCTPShutdownAck",
                    9: "SCTPError", 10: "SCTPCookieEcho", 11: "SCTPCookieAck",
                    14: "SCTPShutdownComplete"}
# gopacket's port -> layer maps, restricted to the layers the contract lists
# (decode.h); destination port first, then source port.
UDP_PORT_LAYER = {53: "DNS", 67: "DHCPv4", 68: "DHCPv4", 546: "DHCPv6", 547: "DHCPv6", 123: "NTP",
                  6343: "SFlow", 4789: "VXLAN", 6081: "Geneve"}
TCP_PORT_LAYER = {53: "DNS"}

FLOW_PROTO = {"eth": "ETHERNET", 4: "IPV4", 6: "IPV6", "tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}
EP_IPV4, EP_IPV6, EP_MAC, EP_TCP, EP_UDP, EP_SCTP = 1, 2, 3, 4, 5, 6
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10


class Segment:
    """One packet of the tunnel sequence, with the fields the flow engine uses."""

    def __init__(self, offset):
        self.offset = offset
        self.names = []
        self.eth = None          # (src bytes, dst bytes)
        self.vlans = []          # outer..inner
        self.ip = None           # (ver, src bytes, dst bytes, ttl)
        self.l4 = None           # ("udp"|"tcp"|"sctp", sport, dport, tcp flags)
        self.icmp = None         # (ver, wire type, code, id)
        self.tunnel = None       # "VXLAN"/"Geneve"/"GRE"/"MPLS"
        self.tunnel_id = 0
        self.length = 0


def u16(b, off):
    return struct.unpack_from(">H", b, off)[0]


def dissect(linktype, data, wirelen):
    """Returns the list of segments of one frame (gopacket + Skydive splitting)."""
    if linktype == 1:
        pkt = Ether(data)
    elif linktype == 113:
        pkt = CookedLinux(data)
    elif linktype in (101, 12, 14):
        if not data:
            return []
        pkt = IP(data) if data[0] >> 4 == 4 else IPv6(data)
    else:
        raise SystemExit("model: unsupported link type %d" % linktype)
    total = len(data)
    segs = [Segment(0)]
    cur = segs[0]
    split_pending = False
    layer = pkt
    while layer is not None and not isinstance(layer, (NoPayload, Raw, Padding)):
        off = total - len(bytes(layer))
        if split_pending:
            cur = Segment(off)
            segs.append(cur)
            split_pending = False
        nxt = layer.payload
        avail = total - off
        if avail < min_header(layer, data, off, avail):
            break  # gopacket: DecodeFailure, the path ends before this layer
        if isinstance(layer, CookedLinux):
            pass  # LinuxSLL: not shown in LayersPath, no Link
        elif isinstance(layer, Ether):
            cur.names.append("Ethernet")
            if cur.eth is None:
                cur.eth = (bytes.fromhex(layer.src.replace(":", "")), bytes.fromhex(layer.dst.replace(":", "")))
        elif isinstance(layer, (Dot1Q, Dot1AD)):
            cur.names.append("Dot1Q")
            cur.vlans.append(layer.vlan)
        elif isinstance(layer, ARP):
            cur.names.append("ARP")
            break
        elif isinstance(layer, MPLS):
            # Our deliberate difference from Skydive (docs/FLOWS.md): a label
            # stack is one segment, split after the bottom-of-stack label, so
            # no flow without endpoints is made for the labels in between.
            cur.names.append("MPLS")
            if layer.s:
                cur.tunnel = "MPLS"
                split_pending = True
        elif isinstance(layer, IP):
            cur.names.append("IPv4")
            if cur.ip is None or cur.ip[0] == 6:  # the first IPv4, else IPv6
                cur.ip = (4, ipaddress.IPv4Address(layer.src).packed, ipaddress.IPv4Address(layer.dst).packed, layer.ttl)
            if layer.flags.MF or layer.frag:
                cur.names.append("Fragment")
                break
        elif isinstance(layer, IPv6):
            cur.names.append("IPv6")
            if cur.ip is None:
                cur.ip = (6, ipaddress.IPv6Address(layer.src).packed, ipaddress.IPv6Address(layer.dst).packed, layer.hlim)
        elif isinstance(layer, IPv6ExtHdrHopByHop):
            cur.names.append("IPv6HopByHop")
        elif isinstance(layer, IPv6ExtHdrDestOpt):
            cur.names.append("IPv6Destination")
        elif isinstance(layer, IPv6ExtHdrRouting):
            cur.names.append("IPv6Routing")
        elif isinstance(layer, IPv6ExtHdrFragment):
            cur.names.append("IPv6Fragment")
            cur.names.append("Fragment")  # gopacket: always a Fragment layer after it
            break
        elif isinstance(layer, ICMP):
            cur.names.append("ICMPv4")
            if cur.icmp is None:
                cur.icmp = (4, data[off], data[off + 1], u16(data, off + 4))
            break
        elif isinstance(layer, _ICMPv6):
            t = data[off]
            cur.names.append("ICMPv6")
            if t in ICMPV6_SUBLAYER:
                cur.names.append(ICMPV6_SUBLAYER[t])
            if cur.icmp is None:
                ident = u16(data, off + 4) if t in (128, 129) else 0
                cur.icmp = (6, t, data[off + 1], ident)
            break
        elif isinstance(layer, TCP):
            cur.names.append("TCP")
            if cur.l4 is None or cur.l4[0] == "sctp":
                cur.l4 = ("tcp", layer.sport, layer.dport, int(layer.flags) & 0xFF)
            if isinstance(nxt, (NoPayload, Padding)):
                break  # gopacket adds no layer for an empty payload
            app = TCP_PORT_LAYER.get(layer.dport) or TCP_PORT_LAYER.get(layer.sport)
            if app == "DNS" and isinstance(nxt, DNS) and len(bytes(nxt)) - len(bytes(nxt.payload)) >= 12:
                cur.names.append("DNS")
            break
        elif isinstance(layer, UDP):
            cur.names.append("UDP")
            if cur.l4 is None or cur.l4[0] != "udp":
                cur.l4 = ("udp", layer.sport, layer.dport, 0)
            if isinstance(nxt, (NoPayload, Padding)):
                break  # gopacket adds no layer for an empty payload
            app = UDP_PORT_LAYER.get(layer.dport) or UDP_PORT_LAYER.get(layer.sport)
            if app in ("VXLAN", "Geneve"):
                if not isinstance(nxt, (VXLAN, GENEVE)):
                    raise SystemExit("model: %s payload not dissected by scapy" % app)
            elif app == "DNS":
                if isinstance(nxt, DNS) and len(bytes(nxt)) - len(bytes(nxt.payload)) >= 12:
                    cur.names.append("DNS")
                break  # (an undecodable DNS payload ends the path at UDP)
            elif app is not None:
                raise SystemExit("model: %s over UDP is not modelled" % app)
            else:
                break
        elif isinstance(layer, SCTP):
            cur.names.append("SCTP")
            if cur.l4 is None:
                cur.l4 = ("sctp", layer.sport, layer.dport, 0)
            chunk = nxt  # gopacket: one layer per chunk
            while not isinstance(chunk, (NoPayload, Padding, Raw)):
                cur.names.append(SCTP_CHUNK_NAMES.get(chunk.type, "SCTPUnknownChunkType"))
                if chunk.type == 0:
                    break  # gopacket: what follows a DATA chunk is its payload
                chunk = chunk.payload
            break
        elif isinstance(layer, GRE):
            cur.names.append("GRE")
            if layer.key_present:
                cur.tunnel_id = layer.key
            if isinstance(nxt, MPLS):
                pass  # GRE followed by MPLS: split at the MPLS layer only
            else:
                cur.tunnel = "GRE"
                split_pending = True
        elif isinstance(layer, VXLAN):
            cur.names.append("VXLAN")
            cur.tunnel = "VXLAN"
            cur.tunnel_id = layer.vni
            split_pending = True
        elif isinstance(layer, GENEVE):
            cur.names.append("Geneve")
            cur.tunnel = "Geneve"
            cur.tunnel_id = layer.vni
            split_pending = True
        elif isinstance(layer, DNS):
            cur.names.append("DNS")
            break
        else:
            raise SystemExit("model: layer %s is not modelled" % type(layer).__name__)
        layer = nxt
    if split_pending:  # a tunnel header with nothing after it
        pass
    for s in segs:
        s.length = wirelen - s.offset
    return segs


def min_header(layer, data, off, avail):
    """Bytes gopacket needs to decode this layer (truncated captures)."""
    if isinstance(layer, CookedLinux):
        return 16
    if isinstance(layer, Ether):
        return 14
    if isinstance(layer, (Dot1Q, Dot1AD, MPLS)):
        return 4
    if isinstance(layer, ARP):
        return 8 + 2 * (layer.hwlen + layer.plen) if avail >= 8 else 8
    if isinstance(layer, IP):
        return max(20, (data[off] & 0x0F) * 4) if avail >= 1 else 20
    if isinstance(layer, IPv6):
        return 40
    if isinstance(layer, (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting)):
        return 8 * (data[off + 1] + 1) if avail >= 2 else 2
    if isinstance(layer, IPv6ExtHdrFragment):
        return 8
    if isinstance(layer, ICMP):
        return 8
    if isinstance(layer, _ICMPv6):
        return 8 if avail >= 1 and data[off] in (128, 129) else 4
    if isinstance(layer, TCP):
        return max(20, (data[off + 12] >> 4) * 4) if avail >= 13 else 20
    if isinstance(layer, UDP):
        return 8
    if isinstance(layer, SCTP):
        return 12
    if isinstance(layer, GRE):
        if avail < 2:
            return 4
        flags = data[off]
        return 4 + 4 * (bool(flags & 0x80) or bool(flags & 0x40)) + 4 * bool(flags & 0x20) + 4 * bool(flags & 0x10)
    if isinstance(layer, VXLAN):
        return 8
    if isinstance(layer, GENEVE):
        return 8 + 4 * (data[off] & 0x3F) if avail >= 1 else 8
    if isinstance(layer, DNS):
        return 12
    return 0


# --- identity ---------------------------------------------------------------
def be64(v):
    return struct.pack(">Q", v)


def keys(seg, l2mode, parent_uuid):
    """Returns (table key, L2 key, L3 key) as in docs/FLOWS.md "Identity"."""
    has_eth = seg.eth is not None
    has_ip = seg.ip is not None
    use_mac = (l2mode and has_eth) or not has_ip
    swap = False
    ip_rule = not use_mac
    if use_mac and has_eth:
        src, dst = seg.eth
        if src > dst:
            swap = True
        elif src == dst and has_ip:
            ip_rule = True
    if ip_rule and has_ip:
        _, src, dst, _ = seg.ip
        if src > dst:
            swap = True
        elif src == dst and seg.l4 is not None:
            swap = struct.pack(">H", seg.l4[1]) > struct.pack(">H", seg.l4[2])

    h = xxhash.xxh64(seed=0)

    def pair(a, b, t):
        if swap:
            a, b = b, a
        h.update(a)
        h.update(b)
        h.update(be64(t))

    if has_ip:
        ver, src, dst, _ = seg.ip
        pair(src, dst, EP_IPV4 if ver == 4 else EP_IPV6)
    if seg.l4 is not None:
        kind, sport, dport, _ = seg.l4
        if kind == "udp" and seg.tunnel in ("VXLAN", "Geneve"):
            h.update(struct.pack(">I", seg.tunnel_id))
            h.update(struct.pack(">H", dport))
            h.update(be64(0))
        else:
            pair(struct.pack(">H", sport), struct.pack(">H", dport),
                 {"tcp": EP_TCP, "udp": EP_UDP, "sctp": EP_SCTP}[kind])
    if seg.icmp is not None:
        h.update(struct.pack(">I", icmp_key_value(seg)))
        h.update(be64(0))
    l3 = h.intdigest()
    if use_mac and has_eth:
        pair(seg.eth[0], seg.eth[1], EP_MAC)
    l2 = h.intdigest()
    h.update(parent_uuid.encode())
    return h.intdigest(), l2, l3


def icmp_flow_type(seg):
    ver, t, code, ident = seg.icmp
    return (ICMPV4_FLOW_TYPE if ver == 4 else ICMPV6_FLOW_TYPE).get(t, ICMP_UNKNOWN)


def icmp_key_value(seg):
    ver, t, code, ident = seg.icmp
    ft = icmp_flow_type(seg)
    if ver == 4:
        return (ft << 24 | code << 16 | ident) & 0xFFFFFFFF
    if ft == ICMP_ECHO:
        return ICMP_ECHO << 24 | ident
    return (ft << 24 | code << 16) & 0xFFFFFFFF


def hexid(v):
    return "%x" % v


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def ip_str(ver, b):
    return str(ipaddress.IPv4Address(b)) if ver == 4 else ipaddress.IPv6Address(b).compressed


# --- flows ------------------------------------------------------------------
class Flow:
    def __init__(self, seg, ts_ns, key, l2, l3, parent_uuid, opts):
        self.seg0 = seg
        self.start_ns = self.last_ns = ts_ns
        self.l2, self.l3 = l2, l3
        self.parent_uuid = parent_uuid
        start_ms = ts_ns // 1000000
        h = xxhash.xxh64(seed=key)
        h.update(be64(start_ms))
        h.update(opts.node_tid.encode())
        self.uuid = hexid(h.intdigest())
        self.path = "/".join(seg.names)
        self.app = seg.names[-1] if seg.names else ""
        if seg.l4 is not None and seg.l4[0] in ("tcp", "udp"):
            for port in (seg.l4[1], seg.l4[2]):
                name = opts.app_ports.get((seg.l4[0], port))
                if name is not None:
                    self.app = name
                    break
        self.ab_p = self.ab_b = self.ba_p = self.ba_b = 0
        self.rtt = 0
        self.rtt_state = None
        self.finish = None
        self.raw = 0
        self.tcpm = {} if (opts.extra_tcp and seg.l4 is not None and seg.l4[0] == "tcp") else None
        self.l2mode = opts.l2mode
        self.frames = []

    def is_ab(self, seg):
        """FLOWS.md "Counters": the MACs decide where they identify the flow
        (L2 mode with Ethernet, or no IP: the key's rule) and differ, else the
        addresses when they differ, else the ports. When nothing tells the two
        ends apart (a ping to 127.0.0.1 on lo, the [MPLS] segment between two
        labels) every packet has the same source as the first one: AB."""
        f = self.seg0
        if f.eth is not None and (self.l2mode or f.ip is None) and f.eth[0] != f.eth[1]:
            return seg.eth[0] == f.eth[0]
        if f.ip is not None and f.ip[1] != f.ip[2]:
            return seg.ip[1] == f.ip[1]
        if f.l4 is not None and f.l4[1] != f.l4[2]:
            return seg.l4[1] == f.l4[1]
        return True

    def update(self, seg, ts_ns, frame_idx, opts):
        ab = self.is_ab(seg)
        self.last_ns = ts_ns
        if ab:
            self.ab_p += 1
            self.ab_b += seg.length
        else:
            self.ba_p += 1
            self.ba_b += seg.length
        # RTT: Skydive's updateRTT (flow/flow.go), on this packet's own
        # layers whatever its direction: an ICMPv4/ICMPv6 echo request starts
        # a measurement when none is pending, the next echo reply ends it; a
        # TCP segment with SYN starts one, the next SYN+ACK or RST ends it.
        # Every end replaces the RTT. Nothing else (UDP, SCTP, ARP, the outer
        # segment of a tunnel) has one.
        f = self.seg0
        start = stop = False
        if seg.icmp is not None:
            ver, t = seg.icmp[0], seg.icmp[1]
            start = t == (8 if ver == 4 else 128)
            stop = t == (0 if ver == 4 else 129)
        elif seg.l4 is not None and seg.l4[0] == "tcp":
            flags = seg.l4[3]
            start = bool(flags & TCP_SYN)
            stop = bool((flags & TCP_SYN and flags & TCP_ACK) or flags & TCP_RST)
        if self.rtt_state is None:
            if start:
                self.rtt_state = ts_ns
        elif stop:
            self.rtt = ts_ns - self.rtt_state
            self.rtt_state = None
        # FinishType and TCPMetric
        if seg.l4 is not None and seg.l4[0] == "tcp" and f.l4 is not None and f.l4[0] == "tcp":
            flags = seg.l4[3]
            if flags & TCP_RST:
                self.finish = "TCP_RST"
            elif flags & TCP_FIN and self.finish != "TCP_RST":
                self.finish = "TCP_FIN"
            if self.tcpm is not None:
                d = "AB" if ab else "BA"
                ms = ts_ns // 1000000
                if flags & TCP_SYN:
                    if d + "SynStart" not in self.tcpm:
                        self.tcpm[d + "SynStart"] = ms
                        self.tcpm[d + "SynTTL"] = seg.ip[3]
                elif flags & TCP_FIN:
                    self.tcpm[d + "FinStart"] = ms
                elif flags & TCP_RST:
                    self.tcpm[d + "RstStart"] = ms
        # raw packets
        if opts.raw_limit == -1 or self.raw < opts.raw_limit:
            self.raw += 1
            self.frames.append(frame_idx)

    def to_json(self, opts):
        f = self.seg0
        o = {"UUID": self.uuid, "LayersPath": self.path}
        if self.app:
            o["Application"] = self.app
        if f.eth is not None:
            link = {"Protocol": "ETHERNET", "A": mac_str(f.eth[0]), "B": mac_str(f.eth[1])}
            lid = 0
            for vid in reversed(f.vlans):
                lid = (lid << 12) | vid
            if lid:
                link["ID"] = lid
            o["Link"] = link
        if f.ip is not None:
            net = {"Protocol": FLOW_PROTO[f.ip[0]], "A": ip_str(f.ip[0], f.ip[1]), "B": ip_str(f.ip[0], f.ip[2])}
            if f.tunnel_id:  # VXLAN / Geneve VNI or GRE key of this segment
                net["ID"] = f.tunnel_id
            o["Network"] = net
            if f.l4 is not None:
                tp = {"Protocol": FLOW_PROTO[f.l4[0]]}
                if f.l4[1]:
                    tp["A"] = f.l4[1]
                if f.l4[2]:
                    tp["B"] = f.l4[2]
                o["Transport"] = tp
            if f.icmp is not None:
                ic = {}
                ft = icmp_flow_type(f)
                if ft:
                    ic["Type"] = ICMP_TYPE_NAMES[ft]
                if f.icmp[2]:
                    ic["Code"] = f.icmp[2]
                ident = f.icmp[3] if (f.icmp[0] == 4 or ft == ICMP_ECHO) else 0
                if ident:
                    ic["ID"] = ident
                o["ICMP"] = ic
        start, last = self.start_ns // 1000000, self.last_ns // 1000000
        m = {}
        for k, v in (("ABPackets", self.ab_p), ("ABBytes", self.ab_b), ("BAPackets", self.ba_p), ("BABytes", self.ba_b)):
            if v:
                m[k] = v
        m["Start"] = start
        m["Last"] = last
        o["LastUpdateMetric"] = dict(m)
        if self.rtt:
            m["RTT"] = self.rtt
        o["Metric"] = m
        if self.tcpm is not None:
            o["TCPMetric"] = dict(self.tcpm)
        o["Start"] = start
        o["Last"] = last
        o["TrackingID"] = hexid(self.l2)
        o["L3TrackingID"] = hexid(self.l3)
        o["ParentUUID"] = self.parent_uuid
        if opts.node_tid:
            o["NodeTID"] = opts.node_tid
        if opts.capture_id:
            o["CaptureID"] = opts.capture_id
        o["RawPacketsCaptured"] = self.raw
        if self.finish:
            o["FinishType"] = self.finish
        return o


def read_pcap(path):
    """Yields (linktype, [(ts_ns, data, wirelen)]) of a classic pcap."""
    with open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack_from("<I", buf, 0)[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
        magic = struct.unpack_from(">I", buf, 0)[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack_from(e + "I", buf, 20)[0] & 0x0FFFFFFF
    recs = []
    pos = 24
    while pos + 16 <= len(buf):
        sec, frac, caplen, wirelen = struct.unpack_from(e + "IIII", buf, pos)
        pos += 16
        if pos + caplen > len(buf):
            break
        ts = sec * 1000000000 + (frac if nano else frac * 1000)
        recs.append((ts, buf[pos:pos + caplen], wirelen))
        pos += caplen
    return linktype, recs


class Opts:
    pass


def run(path, opts):
    linktype, recs = read_pcap(path)
    table = {}
    order = []
    for idx, (ts, data, wirelen) in enumerate(recs):
        segs = dissect(linktype, data, wirelen)
        parent = ""
        for seg in segs:
            key, l2, l3 = keys(seg, opts.l2mode, parent)
            fl = table.get(key)
            if fl is None:
                fl = Flow(seg, ts, key, l2, l3, parent, opts)
                table[key] = fl
                order.append(fl)
            fl.update(seg, ts, idx, opts)
            parent = fl.uuid
    return order


def parse_args(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--layer-key-mode", default="L2", choices=["L2", "L3"])
    ap.add_argument("--node-tid", default="")
    ap.add_argument("--capture-id", default="")
    ap.add_argument("--rawpacket-limit", type=int, default=0)
    ap.add_argument("--header-size", type=int, default=256)
    ap.add_argument("--extra-tcp-metric", action="store_true")
    ap.add_argument("--app-port", action="append", default=[])
    ap.add_argument("--bpf", default=None)
    ap.add_argument("--kept-frames", action="store_true")
    a = ap.parse_args(argv)
    o = Opts()
    o.l2mode = a.layer_key_mode == "L2"
    o.node_tid = a.node_tid
    o.capture_id = a.capture_id
    o.raw_limit = a.rawpacket_limit
    o.extra_tcp = a.extra_tcp_metric
    o.app_ports = {}
    for spec in a.app_port:
        proto, rest = spec.split(":", 1)
        port, name = rest.split("=", 1)
        o.app_ports[(proto.lower(), int(port))] = name.upper()
    return a, o


def main(argv):
    a, opts = parse_args(argv)
    path = a.pcap
    tmp = None
    if a.bpf:
        fd, tmp = tempfile.mkstemp(suffix=".pcap")
        os.close(fd)
        subprocess.run(["tcpdump", "-r", path, "-w", tmp, a.bpf], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path = tmp
    try:
        flows = run(path, opts)
    finally:
        if tmp:
            os.unlink(tmp)
    if a.kept_frames:
        kept = sorted({i for fl in flows for i in fl.frames})
        print(" ".join(str(i) for i in kept))
        return
    out = [fl.to_json(opts) for fl in flows]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
