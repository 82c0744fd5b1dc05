#!/usr/bin/python3
"""gen_pcaps.py - writes the small deterministic pcaps of the golden tests.

usage: /usr/bin/python3 tests/golden/gen_pcaps.py OUTDIR

Every file is built from fixed MACs, addresses, ports, ids and timestamps, so
two runs write byte-identical files. Each file covers one layer, tunnel or flow
engine rule (see the comment above each generator). The pcaps are written by a
tiny writer of our own (classic libpcap, microsecond timestamps) so that the
link type, captured length and wire length of each record are chosen here."""
import os
import struct
import sys

from scapy.config import conf

conf.verb = 0
from scapy.layers.l2 import ARP, CookedLinux, Dot1AD, Dot1Q, Ether, GRE  # noqa: E402
from scapy.layers.inet import ICMP, IP, IPOption_NOP, IPOption_RR, IPOption_Router_Alert, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,  # noqa: E402
                                ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6PacketTooBig, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, PadN, RouterAlert)
from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.sctp import SCTP, SCTPChunkCookieEcho, SCTPChunkData, SCTPChunkInit, SCTPChunkInitAck  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402
from scapy.contrib.mpls import MPLS  # noqa: E402
from scapy.contrib.geneve import GENEVE, GeneveOptions  # noqa: E402

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113

T0 = 1700000000  # every file starts at T0 seconds + a few microseconds

# Fixed hosts. MAC and IP orders disagree on purpose (H1's MAC > H2's MAC but
# 10.0.0.1 < 10.0.0.2) so that the L2 key's MAC-based swap is exercised.
M1 = "02:00:00:00:00:0a"
M2 = "02:00:00:00:00:02"
MR = "02:00:00:00:00:fe"
MR2 = "02:00:00:00:00:fd"
BCAST = "ff:ff:ff:ff:ff:ff"
IP1 = "10.0.0.1"
IP2 = "10.0.0.2"
IPR = "10.0.0.254"


class Pcap:
    """Collects (time_us, bytes, wirelen) records; write() emits the file."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=65535):
        self.linktype = linktype
        self.snaplen = snaplen
        self.recs = []

    def add(self, t_us, pkt, caplen=None, pad=0):
        data = bytes(pkt)
        if pad and len(data) < pad:
            data += b"\x00" * (pad - len(data))
        wirelen = len(data)
        if caplen is not None:
            data = data[:caplen]
        ts = T0 * 1000000 + t_us
        if self.recs:
            assert ts > self.recs[-1][0], "timestamps must increase"
        self.recs.append((ts, data, wirelen))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, self.snaplen, self.linktype))
            for ts, data, wirelen in self.recs:
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(data), wirelen))
                f.write(data)


def payload(n, seed=0):
    return bytes((seed + i) & 0xFF for i in range(n))


def eth(src=M1, dst=M2, **kw):
    return Ether(src=src, dst=dst, **kw)


# --- ICMPv4 ---------------------------------------------------------------
def icmp4():
    """Echo id 7 twice (one flow: request and reply share the key), echo id 8
    (another flow), and a destination unreachable from the router (its own
    flow, ICMP ID = bytes 4-5 of the header = 0). Sub-millisecond times check
    the ms truncation and the ns RTT."""
    p = Pcap()
    data = payload(56)
    p.add(500, eth(M1, M2) / IP(src=IP1, dst=IP2, id=101, ttl=64) / ICMP(type=8, id=7, seq=1) / data)
    p.add(1250, eth(M2, M1) / IP(src=IP2, dst=IP1, id=201, ttl=64) / ICMP(type=0, id=7, seq=1) / data)
    p.add(1000500, eth(M1, M2) / IP(src=IP1, dst=IP2, id=102, ttl=64) / ICMP(type=8, id=7, seq=2) / data)
    p.add(1001900, eth(M2, M1) / IP(src=IP2, dst=IP1, id=202, ttl=64) / ICMP(type=0, id=7, seq=2) / data)
    p.add(1500000, eth(M1, M2) / IP(src=IP1, dst=IP2, id=103, ttl=64) / ICMP(type=8, id=8, seq=1) / data[:20])
    p.add(1500800, eth(M2, M1) / IP(src=IP2, dst=IP1, id=203, ttl=64) / ICMP(type=0, id=8, seq=1) / data[:20])
    quoted = IP(src=IP1, dst="10.0.0.9", id=104, ttl=1) / UDP(sport=33434, dport=33435) / payload(12)
    p.add(2000000, eth(MR, M1) / IP(src=IPR, dst=IP1, id=301, ttl=255) / ICMP(type=3, code=3) / bytes(quoted)[:28])
    return p


def icmp4_types():
    """Other ICMPv4 types: Type from the flow enum, ID = bytes 4-5 of the
    header whatever the type (as gopacket). Timestamp request and reply share
    a flow (both TIMESTAMP); an unknown type has no Type in the JSON."""
    p = Pcap()
    quoted = bytes(IP(src=IP1, dst="10.0.0.9", id=104, ttl=1) / UDP(sport=33434, dport=33435))[:28]
    p.add(100, eth(MR, M1) / IP(src=IPR, dst=IP1, id=1) / ICMP(type=11, code=0) / quoted)
    p.add(300, eth(M1, M2) / IP(src=IP1, dst=IP2, id=2) / ICMP(type=13, id=0x55, seq=1, ts_ori=1, ts_rx=0, ts_tx=0))
    p.add(800, eth(M2, M1) / IP(src=IP2, dst=IP1, id=3) / ICMP(type=14, id=0x55, seq=1, ts_ori=1, ts_rx=2, ts_tx=3))
    p.add(1000, eth(MR, M1) / IP(src=IPR, dst=IP1, id=4) / ICMP(type=5, code=1, gw="10.0.0.253") / quoted)
    p.add(1200, eth(M1, M2) / IP(src=IP1, dst=IP2, id=5) / ICMP(type=42, code=1, id=0x0102, seq=3))
    return p


# --- TCP -------------------------------------------------------------------
def tcp_conv(p, t, c_mac, s_mac, c_ip, s_ip, cport, sport, c_ttl=64, s_ttl=64, end="fin"):
    """A TCP connection: handshake, data both ways, then FIN both ways (or a
    client FIN answered by a RST)."""
    cs, ss = 1000, 5000

    def c(flags, seq, ack, data=b"", dt=0):
        return eth(c_mac, s_mac) / IP(src=c_ip, dst=s_ip, id=1 + seq % 1000, ttl=c_ttl) / \
            TCP(sport=cport, dport=sport, flags=flags, seq=seq, ack=ack, window=64240) / data

    def s(flags, seq, ack, data=b""):
        return eth(s_mac, c_mac) / IP(src=s_ip, dst=c_ip, id=2 + seq % 1000, ttl=s_ttl) / \
            TCP(sport=sport, dport=cport, flags=flags, seq=seq, ack=ack, window=65160) / data

    req, resp = payload(100, 1), payload(300, 2)
    p.add(t + 0, c("S", cs, 0))
    p.add(t + 230, s("SA", ss, cs + 1))
    p.add(t + 410, c("A", cs + 1, ss + 1))
    p.add(t + 1000, c("PA", cs + 1, ss + 1, req))
    p.add(t + 1300, s("A", ss + 1, cs + 101))
    p.add(t + 2500, s("PA", ss + 1, cs + 101, resp))
    p.add(t + 2700, c("A", cs + 101, ss + 301))
    p.add(t + 5000, c("FA", cs + 101, ss + 301))
    if end == "fin":
        p.add(t + 5200, s("FA", ss + 301, cs + 102))
        p.add(t + 5400, c("A", cs + 102, ss + 302))
    else:
        p.add(t + 5200, s("R", ss + 301, 0))


def tcp():
    """Handshake + data + FIN both ways: TCP_FIN, RTT = SYN -> SYN/ACK."""
    p = Pcap()
    tcp_conv(p, 1000, M1, M2, IP1, IP2, 34567, 80)
    return p


def tcp_ttl():
    """A connection with different TTLs per direction, closed by a client FIN
    and a server RST: with --extra-tcp-metric every TCPMetric field but
    BAFinStart/ABRstStart is set; FinishType TCP_RST (a RST after a FIN)."""
    p = Pcap()
    tcp_conv(p, 3000, M1, M2, IP1, IP2, 41000, 8080, c_ttl=64, s_ttl=57, end="rst")
    return p


def tcp_midstream():
    """Captures that miss the start of a connection: the first packet's source
    is A even when it is the server. Without any SYN there is no TCP RTT; a
    SYN/ACK first starts a measurement (Skydive's updateRTT) that nothing
    ends (no later SYN/ACK or RST): no RTT either."""
    p = Pcap()
    # data first, then the rest of the conversation
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=1) / TCP(sport=42000, dport=80, flags="PA", seq=10, ack=20) / payload(30))
    p.add(400, eth(M2, M1) / IP(src=IP2, dst=IP1, id=2) / TCP(sport=80, dport=42000, flags="A", seq=20, ack=40))
    p.add(900, eth(M2, M1) / IP(src=IP2, dst=IP1, id=3) / TCP(sport=80, dport=42000, flags="FA", seq=20, ack=40))
    # the SYN was missed: the first packet is the server's SYN/ACK
    p.add(2000, eth(M2, M1) / IP(src=IP2, dst=IP1, id=4, ttl=61) / TCP(sport=80, dport=42001, flags="SA", seq=5, ack=6))
    p.add(2300, eth(M1, M2) / IP(src=IP1, dst=IP2, id=5, ttl=64) / TCP(sport=42001, dport=80, flags="A", seq=6, ack=6))
    p.add(2600, eth(M1, M2) / IP(src=IP1, dst=IP2, id=6, ttl=64) / TCP(sport=42001, dport=80, flags="PA", seq=6, ack=6) / payload(5))
    return p


def tcp_rst():
    """A SYN answered by RST/ACK (closed port: Skydive's updateRTT ends the
    measurement at the RST, RTT = SYN to RST), then a full connection ended by
    FIN from the client and RST from the server (RTT = SYN to SYN/ACK; the RST
    has nothing pending)."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=11, ttl=64) / TCP(sport=40001, dport=81, flags="S", seq=77))
    p.add(350, eth(M2, M1) / IP(src=IP2, dst=IP1, id=12, ttl=64) / TCP(sport=81, dport=40001, flags="RA", seq=0, ack=78))
    tcp_conv(p, 10000, M1, M2, IP1, IP2, 40002, 80, end="rst")
    return p


def rtt():
    """Skydive's updateRTT (flow/flow.go) case by case. TCP: a retransmitted
    SYN does not restart (RTT from the first SYN to the SYN/ACK); a capture
    that starts at the SYN/ACK measures from it to a later RST. ICMPv4 echo:
    a second request while one is pending is ignored, a reply with nothing
    pending too, and each reply replaces the RTT (the last pair is kept).
    ICMPv6 echo: an unanswered request leaves the previous RTT. UDP both ways
    and an ICMP timestamp exchange: no RTT."""
    p = Pcap()

    def t4(t, fwd, sp, flags):
        if fwd:
            return p.add(t, eth(M1, M2) / IP(src=IP1, dst=IP2, id=t % 65536) / TCP(sport=sp, dport=80, flags=flags, seq=100))
        return p.add(t, eth(M2, M1) / IP(src=IP2, dst=IP1, id=t % 65536) / TCP(sport=80, dport=sp, flags=flags, seq=900, ack=101))

    t4(100, 1, 43001, "S")
    t4(1100, 1, 43001, "S")      # retransmitted: ignored
    t4(1350, 0, 43001, "SA")     # RTT 1250 us
    t4(1500, 1, 43001, "A")
    t4(3000, 0, 43002, "SA")     # capture starts here: starts a measurement
    t4(3100, 1, 43002, "A")
    t4(3900, 0, 43002, "R")      # RTT 900 us
    d = payload(24)

    def e4(t, fwd, typ, seq):
        if fwd:
            return p.add(t, eth(M1, M2) / IP(src=IP1, dst=IP2, id=t % 65536) / ICMP(type=typ, id=21, seq=seq) / d)
        return p.add(t, eth(M2, M1) / IP(src=IP2, dst=IP1, id=t % 65536) / ICMP(type=typ, id=21, seq=seq) / d)

    e4(5000, 1, 8, 1)
    e4(6000, 1, 8, 2)            # pending: ignored
    e4(6100, 0, 0, 1)            # RTT 1100 us
    e4(6200, 0, 0, 2)            # nothing pending: ignored
    e4(7000, 1, 8, 3)
    e4(7300, 0, 0, 3)            # RTT 300 us replaces it
    p.add(8000, eth(M1, M2) / IPv6(src=V6A, dst=V6B) / ICMPv6EchoRequest(id=0x77, seq=1, data=d))
    p.add(8050, eth(M2, M1) / IPv6(src=V6B, dst=V6A) / ICMPv6EchoReply(id=0x77, seq=1, data=d))
    p.add(9000, eth(M1, M2) / IPv6(src=V6A, dst=V6B) / ICMPv6EchoRequest(id=0x77, seq=2, data=d))  # RTT stays 50 us
    p.add(10000, eth(M1, M2) / IP(src=IP1, dst=IP2, id=5) / UDP(sport=40100, dport=5002) / payload(10))
    p.add(10200, eth(M2, M1) / IP(src=IP2, dst=IP1, id=6) / UDP(sport=5002, dport=40100) / payload(10))
    p.add(11000, eth(M1, M2) / IP(src=IP1, dst=IP2, id=7) / ICMP(type=13, id=0x56, seq=1, ts_ori=1, ts_rx=0, ts_tx=0))
    p.add(11400, eth(M2, M1) / IP(src=IP2, dst=IP1, id=8) / ICMP(type=14, id=0x56, seq=1, ts_ori=1, ts_rx=2, ts_tx=3))
    return p


# --- UDP, DNS ---------------------------------------------------------------
def udp():
    """Plain UDP both ways, payload sizes differ per packet; the 1-byte one is
    padded to 60 bytes on the wire (bytes count the padding)."""
    p = Pcap()
    for i, (t, fwd, n) in enumerate([(100, 1, 10), (600, 0, 200), (900, 1, 33), (5000, 1, 1), (5999, 0, 70)]):
        if fwd:
            pkt = eth(M1, M2) / IP(src=IP1, dst=IP2, id=20 + i) / UDP(sport=40000, dport=5001) / payload(n, i)
        else:
            pkt = eth(M2, M1) / IP(src=IP2, dst=IP1, id=20 + i) / UDP(sport=5001, dport=40000) / payload(n, i)
        p.add(t, pkt, pad=60)
    return p


def dns():
    """Two DNS exchanges on udp/53 (two client ports: two flows). LayersPath
    ends with DNS for the query (port 53 is the destination) and Application
    is DNS."""
    p = Pcap()
    srv = "10.0.0.53"
    for n, (sport, name, t) in enumerate([(53000, "example.com", 100), (53001, "example.org", 20000)]):
        q = DNS(id=0x1000 + n, rd=1, qd=DNSQR(qname=name, qtype="A"))
        r = DNS(id=0x1000 + n, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype="A"),
                an=DNSRR(rrname=name, type="A", ttl=300, rdata="93.184.216.%d" % (34 + n)))
        p.add(t, eth(M1, MR) / IP(src=IP1, dst=srv, id=30 + n) / UDP(sport=sport, dport=53) / q)
        p.add(t + 1733, eth(MR, M1) / IP(src=srv, dst=IP1, id=40 + n) / UDP(sport=53, dport=sport) / r)
    # port 53 without a DNS message: Ethernet padding is not a payload (TCP SYN
    # and empty UDP, both padded to 60 bytes), and 3 bytes are too short for
    # a DNS header (gopacket's decode failure ends the path at UDP)
    p.add(30000, eth(M1, MR) / IP(src=IP1, dst=srv, id=50) / TCP(sport=53002, dport=53, flags="S"), pad=60)
    p.add(30500, eth(M1, MR) / IP(src=IP1, dst=srv, id=51) / UDP(sport=53003, dport=53), pad=60)
    p.add(31000, eth(M1, MR) / IP(src=IP1, dst=srv, id=52) / UDP(sport=53004, dport=53) / b"\x01\x02\x03")
    return p


# --- ARP --------------------------------------------------------------------
def arp():
    """A broadcast request (its own flow: dst MAC ff:..), the reply, then a
    unicast refresh request and its reply, in the same flow as the first
    reply. Frames padded to 60 bytes: bytes are the wire length."""
    p = Pcap()
    p.add(100, eth(M1, BCAST) / ARP(op=1, hwsrc=M1, psrc=IP1, hwdst="00:00:00:00:00:00", pdst=IP2), pad=60)
    p.add(400, eth(M2, M1) / ARP(op=2, hwsrc=M2, psrc=IP2, hwdst=M1, pdst=IP1), pad=60)
    p.add(3000000, eth(M1, M2) / ARP(op=1, hwsrc=M1, psrc=IP1, hwdst=M2, pdst=IP2), pad=60)
    p.add(3000250, eth(M2, M1) / ARP(op=2, hwsrc=M2, psrc=IP2, hwdst=M1, pdst=IP1), pad=60)
    return p


# --- VLANs ------------------------------------------------------------------
def vlan():
    """802.1Q VLAN 100 (with a priority on the reply: Link.ID is the VID only)."""
    p = Pcap()
    d = payload(32)
    p.add(100, eth(M1, M2) / Dot1Q(vlan=100) / IP(src="10.1.0.1", dst="10.1.0.2", id=1) / ICMP(type=8, id=9, seq=1) / d)
    p.add(700, eth(M2, M1) / Dot1Q(vlan=100, prio=5) / IP(src="10.1.0.2", dst="10.1.0.1", id=2) / ICMP(type=0, id=9, seq=1) / d)
    return p


def qinq():
    """QinQ: 802.1ad outer tag 100, 802.1Q inner tag 200: Link.ID = (200<<12)|100."""
    p = Pcap()
    p.add(100, eth(M1, M2, type=0x88A8) / Dot1AD(vlan=100) / Dot1Q(vlan=200) /
          IP(src="10.2.0.1", dst="10.2.0.2", id=1) / UDP(sport=40000, dport=5001) / payload(20))
    p.add(900, eth(M2, M1, type=0x88A8) / Dot1AD(vlan=100) / Dot1Q(vlan=200) /
          IP(src="10.2.0.2", dst="10.2.0.1", id=2) / UDP(sport=5001, dport=40000) / payload(40))
    return p


# --- MPLS -------------------------------------------------------------------
def mpls():
    """One MPLS label carrying an ICMP echo (labels differ per direction),
    then a 2-label stack carrying UDP between two other routers: every MPLS
    layer ends a segment, as gopacket makes one layer per label."""
    p = Pcap()
    d = payload(24)
    p.add(100, eth(M1, M2, type=0x8847) / MPLS(label=1000, s=1, ttl=64) /
          IP(src="10.3.0.1", dst="10.3.0.2", id=1) / ICMP(type=8, id=11, seq=1) / d)
    p.add(450, eth(M2, M1, type=0x8847) / MPLS(label=2000, s=1, ttl=64) /
          IP(src="10.3.0.2", dst="10.3.0.1", id=2) / ICMP(type=0, id=11, seq=1) / d)
    p.add(2000, eth(MR, MR2, type=0x8847) / MPLS(label=3000, s=0, ttl=64) / MPLS(label=4000, s=1, ttl=64) /
          IP(src="10.3.1.1", dst="10.3.1.2", id=3) / UDP(sport=40000, dport=5001) / payload(50))
    p.add(2600, eth(MR2, MR, type=0x8847) / MPLS(label=3001, s=0, ttl=64) / MPLS(label=4001, s=1, ttl=64) /
          IP(src="10.3.1.2", dst="10.3.1.1", id=4) / UDP(sport=5001, dport=40000) / payload(10))
    return p


# --- IPv4 options and fragments ---------------------------------------------
def ipv4_options():
    """IPv4 with options (IHL 10) carrying UDP: ports are read after the options."""
    p = Pcap()
    opts = [IPOption_Router_Alert(), IPOption_NOP(), IPOption_RR(routers=["0.0.0.0"] * 3)]
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=5, options=opts) / UDP(sport=40000, dport=5001) / payload(16))
    p.add(350, eth(M2, M1) / IP(src=IP2, dst=IP1, id=6) / UDP(sport=5001, dport=40000) / payload(16))
    return p


def ipv4_frag():
    """A 1800-byte ICMP echo and its reply, each in 2 fragments, plus a
    fragmented UDP datagram: no transport is decoded from fragments, so all
    fragments between the two hosts are one Fragment flow; an unfragmented
    ping between the same hosts is its own flow."""
    p = Pcap()
    t = 100
    for (src, dst, sm, dm, icmp_type, ipid) in [(IP1, IP2, M1, M2, 8, 900), (IP2, IP1, M2, M1, 0, 901)]:
        whole = IP(src=src, dst=dst, id=ipid) / ICMP(type=icmp_type, id=21, seq=1) / payload(1800)
        raw = bytes(whole)
        hl = 20
        body = raw[hl:]
        first, second = body[:1480], body[1480:]
        f1 = IP(src=src, dst=dst, id=ipid, flags="MF", frag=0, proto=1) / first
        f2 = IP(src=src, dst=dst, id=ipid, flags=0, frag=1480 // 8, proto=1) / second
        p.add(t, eth(sm, dm) / f1)
        p.add(t + 20, eth(sm, dm) / f2)
        t += 700
    whole = IP(src=IP1, dst=IP2, id=902) / UDP(sport=40000, dport=5001) / payload(2000)
    body = bytes(whole)[20:]
    for i, off in enumerate(range(0, len(body), 800)):
        chunk = body[off:off + 800]
        mf = "MF" if off + 800 < len(body) else 0
        p.add(t + i * 10, eth(M1, M2) / IP(src=IP1, dst=IP2, id=902, flags=mf, frag=off // 8, proto=17) / chunk)
    t += 1000
    p.add(t, eth(M1, M2) / IP(src=IP1, dst=IP2, id=903) / ICMP(type=8, id=22, seq=1) / payload(8))
    p.add(t + 300, eth(M2, M1) / IP(src=IP2, dst=IP1, id=904) / ICMP(type=0, id=22, seq=1) / payload(8))
    return p


# --- IPv6 -------------------------------------------------------------------
V6A = "2001:db8::1:0:0:1"       # RFC 5952: the leftmost longest zero run is compressed
V6B = "2001:db8:0:1::2"
LL_A = "fe80::a"
LL_B = "fe80::2"


def icmp6():
    """ICMPv6 echo request/reply twice (identifier 0x1234) plus a second
    identifier: flows keyed by ECHO<<24 | Identifier."""
    p = Pcap()
    d = payload(32)
    p.add(100, eth(M1, M2) / IPv6(src=V6A, dst=V6B, hlim=64) / ICMPv6EchoRequest(id=0x1234, seq=1, data=d))
    p.add(600, eth(M2, M1) / IPv6(src=V6B, dst=V6A, hlim=64) / ICMPv6EchoReply(id=0x1234, seq=1, data=d))
    p.add(1000100, eth(M1, M2) / IPv6(src=V6A, dst=V6B, hlim=64) / ICMPv6EchoRequest(id=0x1234, seq=2, data=d))
    p.add(1000900, eth(M2, M1) / IPv6(src=V6B, dst=V6A, hlim=64) / ICMPv6EchoReply(id=0x1234, seq=2, data=d))
    p.add(2000000, eth(M1, M2) / IPv6(src=V6A, dst=V6B, hlim=64) / ICMPv6EchoRequest(id=0x99, seq=1, data=d[:8]))
    return p


def icmp6_nd():
    """Neighbor solicitation to the solicited-node multicast address and the
    advertisement back (different address pairs: two flows, Type NEIGHBOR)."""
    p = Pcap()
    p.add(100, eth(M1, "33:33:ff:00:00:02") / IPv6(src=LL_A, dst="ff02::1:ff00:2", hlim=255) /
          ICMPv6ND_NS(tgt=LL_B) / ICMPv6NDOptSrcLLAddr(lladdr=M1))
    p.add(420, eth(M2, M1) / IPv6(src=LL_B, dst=LL_A, hlim=255) /
          ICMPv6ND_NA(tgt=LL_B, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=M2))
    # router solicitation / advertisement (Type ROUTER), a packet too big
    p.add(1000, eth(M1, "33:33:00:00:00:02") / IPv6(src=LL_A, dst="ff02::2", hlim=255) /
          ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=M1))
    p.add(1500, eth(MR, "33:33:00:00:00:01") / IPv6(src="fe80::1", dst="ff02::1", hlim=255) /
          ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=MR))
    big = bytes(IPv6(src=V6A, dst=V6B) / UDP(sport=40000, dport=5001) / payload(100))
    p.add(2000, eth(MR, M1) / IPv6(src="2001:db8::fe", dst=V6A, hlim=64) / ICMPv6PacketTooBig(mtu=1280) / big)
    return p


def ipv6_ext():
    """IPv6 with hop-by-hop, destination and routing headers before UDP; the
    reply has no extension header and is in the same flow."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IPv6(src=V6A, dst=V6B) /
          IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")]) /
          IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")]) /
          IPv6ExtHdrRouting(type=0, segleft=0, addresses=["2001:db8::99"]) /
          UDP(sport=40000, dport=5001) / payload(20))
    p.add(800, eth(M2, M1) / IPv6(src=V6B, dst=V6A) / UDP(sport=5001, dport=40000) / payload(30))
    return p


def ipv6_frag():
    """A UDP datagram in two IPv6 fragments (Fragment flow, no ports) and an
    unfragmented answer (UDP flow)."""
    p = Pcap()
    whole = UDP(sport=40000, dport=5001) / payload(1600)
    whole = IPv6(src=V6A, dst=V6B) / whole
    body = bytes(whole)[40:]
    first, second = body[:1448], body[1448:]
    p.add(100, eth(M1, M2) / IPv6(src=V6A, dst=V6B) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xABCD) / first)
    p.add(130, eth(M1, M2) / IPv6(src=V6A, dst=V6B) / IPv6ExtHdrFragment(nh=17, offset=1448 // 8, m=0, id=0xABCD) / second)
    p.add(900, eth(M2, M1) / IPv6(src=V6B, dst=V6A) / UDP(sport=5001, dport=40000) / payload(12))
    return p


# --- SCTP -------------------------------------------------------------------
def sctp():
    """SCTP INIT and INIT ACK: LayersPath .../SCTP/SCTPInit, one flow, RTT by
    the first-packet-to-other-direction rule."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=50) / SCTP(sport=40000, dport=38412, tag=0) /
          SCTPChunkInit(init_tag=0x11111111, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1))
    p.add(1100, eth(M2, M1) / IP(src=IP2, dst=IP1, id=51) / SCTP(sport=38412, dport=40000, tag=0x11111111) /
          SCTPChunkInitAck(init_tag=0x22222222, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1))
    # another association whose first packet bundles COOKIE ECHO and DATA:
    # one layer per chunk in LayersPath
    p.add(3000, eth(M1, M2) / IP(src=IP1, dst=IP2, id=52) / SCTP(sport=40001, dport=38412, tag=0x33333333) /
          SCTPChunkCookieEcho(cookie=b"0123456789abcdef") / SCTPChunkData(tsn=1, stream_id=0, stream_seq=0, proto_id=0, data=b"hello!!!"))
    return p


# --- Tunnels ----------------------------------------------------------------
OUT1, OUT2 = "192.168.0.1", "192.168.0.2"
VM1, VM2 = "02:00:00:00:01:a1", "02:00:00:00:01:a2"


def gre():
    """GRE with key 1234 carrying an ICMP echo both ways: outer flow
    Ethernet/IPv4/GRE with Network.ID 1234, inner IPv4/ICMPv4 flow whose
    ParentUUID is the outer UUID and whose bytes exclude the outer headers."""
    p = Pcap()
    d = payload(40)
    p.add(100, eth(M1, M2) / IP(src=OUT1, dst=OUT2, id=1) / GRE(key_present=1, key=1234, proto=0x0800) /
          IP(src="10.9.0.1", dst="10.9.0.2", id=11) / ICMP(type=8, id=5, seq=1) / d)
    # (the reply's GRE header also has a checksum and a sequence number: 16 bytes)
    p.add(640, eth(M2, M1) / IP(src=OUT2, dst=OUT1, id=2) /
          GRE(chksum_present=1, key_present=1, seqnum_present=1, key=1234, seqence_number=7, proto=0x0800) /
          IP(src="10.9.0.2", dst="10.9.0.1", id=12) / ICMP(type=0, id=5, seq=1) / d)
    return p


def gre_eth():
    """GRE without key carrying Ethernet (0x6558): the inner flow has a Link."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IP(src=OUT1, dst=OUT2, id=1) / GRE(proto=0x6558) /
          Ether(src=VM1, dst=VM2) / IP(src="10.9.1.1", dst="10.9.1.2", id=21) / UDP(sport=40000, dport=5001) / payload(30))
    p.add(500, eth(M2, M1) / IP(src=OUT2, dst=OUT1, id=2) / GRE(proto=0x6558) /
          Ether(src=VM2, dst=VM1) / IP(src="10.9.1.2", dst="10.9.1.1", id=22) / UDP(sport=5001, dport=40000) / payload(60))
    return p


def vxlan():
    """VXLAN VNI 42 carrying an ICMP ping both ways. The VTEPs use different
    outer UDP source ports per direction; the outer key uses VNI + destination
    port, so both directions are ONE outer flow (Transport.A = 50000)."""
    p = Pcap()
    d = payload(56)
    for i, (t, fwd) in enumerate([(100, 1), (520, 0), (1000100, 1), (1000480, 0)]):
        if fwd:
            pkt = eth(M1, M2) / IP(src=OUT1, dst=OUT2, id=60 + i) / UDP(sport=50000, dport=4789) / VXLAN(vni=42, flags=0x08) / \
                Ether(src=VM1, dst=VM2) / IP(src=IP1, dst=IP2, id=70 + i) / ICMP(type=8, id=3, seq=1 + i // 2) / d
        else:
            pkt = eth(M2, M1) / IP(src=OUT2, dst=OUT1, id=60 + i) / UDP(sport=50001, dport=4789) / VXLAN(vni=42, flags=0x08) / \
                Ether(src=VM2, dst=VM1) / IP(src=IP2, dst=IP1, id=70 + i) / ICMP(type=0, id=3, seq=1 + i // 2) / d
        p.add(t, pkt)
    return p


def vxlan6():
    """VXLAN over IPv6 (VNI 7) carrying an IPv6 ping."""
    p = Pcap()
    o1, o2 = "2001:db8:ff::1", "2001:db8:ff::2"
    d = payload(16)
    p.add(100, eth(M1, M2) / IPv6(src=o1, dst=o2) / UDP(sport=50000, dport=4789) / VXLAN(vni=7, flags=0x08) /
          Ether(src=VM1, dst=VM2) / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=77, seq=1, data=d))
    p.add(330, eth(M2, M1) / IPv6(src=o2, dst=o1) / UDP(sport=50001, dport=4789) / VXLAN(vni=7, flags=0x08) /
          Ether(src=VM2, dst=VM1) / IPv6(src="fd00::2", dst="fd00::1") / ICMPv6EchoReply(id=77, seq=1, data=d))
    return p


def geneve():
    """Geneve VNI 77 carrying Ethernet/IPv4/UDP both ways (different outer
    source ports: one outer flow)."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IP(src=OUT1, dst=OUT2, id=1) / UDP(sport=51000, dport=6081) / GENEVE(vni=77, proto=0x6558) /
          Ether(src=VM1, dst=VM2) / IP(src="10.8.0.1", dst="10.8.0.2", id=31) / UDP(sport=40000, dport=5001) / payload(25))
    # (with an 8-byte option: the inner packet starts 8 bytes later)
    p.add(777, eth(M2, M1) / IP(src=OUT2, dst=OUT1, id=2) / UDP(sport=51001, dport=6081) /
          GENEVE(vni=77, proto=0x6558, optionlen=2, options=[GeneveOptions(classid=0x0102, type=0x80, length=1, data=b"\x00\x00\x00\x2a")]) /
          Ether(src=VM2, dst=VM1) / IP(src="10.8.0.2", dst="10.8.0.1", id=32) / UDP(sport=5001, dport=40000) / payload(5))
    return p


# --- Other link types ---------------------------------------------------------
def sll():
    """Linux cooked capture (linktype 113): no Link, LinuxSLL not in
    LayersPath, key from the IP layer even in L2 mode."""
    p = Pcap(LINKTYPE_LINUX_SLL)

    def hdr(pkttype, mac, proto):
        return CookedLinux(pkttype=pkttype, lladdrtype=1, lladdrlen=6,
                           src=bytes.fromhex(mac.replace(":", "")) + b"\x00\x00", proto=proto)
    d = payload(16)
    p.add(100, hdr(4, M1, 0x0800) / IP(src=IP1, dst=IP2, id=1) / ICMP(type=8, id=31, seq=1) / d)
    p.add(300, hdr(0, M2, 0x0800) / IP(src=IP2, dst=IP1, id=2) / ICMP(type=0, id=31, seq=1) / d)
    p.add(900, hdr(4, M1, 0x0800) / IP(src=IP1, dst=IP2, id=3) / UDP(sport=40000, dport=5001) / payload(9))
    p.add(1500, hdr(4, M1, 0x86DD) / IPv6(src=V6A, dst=V6B) / UDP(sport=40000, dport=5001) / payload(9))
    return p


def rawip():
    """Raw IP (linktype 101): IPv4 UDP both ways and an IPv6 ping."""
    p = Pcap(LINKTYPE_RAW)
    p.add(100, IP(src=IP2, dst=IP1, id=1) / UDP(sport=5001, dport=40000) / payload(10))
    p.add(250, IP(src=IP1, dst=IP2, id=2) / UDP(sport=40000, dport=5001) / payload(99))
    p.add(700, IPv6(src=V6B, dst=V6A) / ICMPv6EchoRequest(id=7, seq=1, data=payload(8)))
    p.add(950, IPv6(src=V6A, dst=V6B) / ICMPv6EchoReply(id=7, seq=1, data=payload(8)))
    return p


# --- Key modes, application ports, TTLs, loopback, snaplen -------------------
def l2l3():
    """One UDP conversation whose frames use two MAC pairs (the path changed
    router): two flows in L2 mode (same L3TrackingID), one in L3 mode."""
    p = Pcap()

    def f(t, sm, dm, fwd, n):
        if fwd:
            p.add(t, eth(sm, dm) / IP(src=IP1, dst=IP2, id=t % 65536) / UDP(sport=40000, dport=5001) / payload(n))
        else:
            p.add(t, eth(sm, dm) / IP(src=IP2, dst=IP1, id=t % 65536) / UDP(sport=5001, dport=40000) / payload(n))
    f(100, M1, MR, 1, 10)
    f(300, MR, M1, 0, 20)
    f(2000, M1, MR2, 1, 30)
    f(2500, MR2, M1, 0, 40)
    f(3000, M1, MR, 1, 50)
    return p


def appport():
    """Application port map (run with --app-port udp:5000=FOO --app-port
    udp:6000=bar --app-port tcp:40003=src): source port first, else
    destination, names upper-cased; a udp: entry does not apply to TCP."""
    p = Pcap()
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=1) / UDP(sport=40000, dport=5000) / payload(8))
    p.add(200, eth(M1, M2) / IP(src=IP1, dst=IP2, id=2) / UDP(sport=5000, dport=6000) / payload(8))
    p.add(300, eth(M1, M2) / IP(src=IP1, dst=IP2, id=3) / UDP(sport=40002, dport=6000) / payload(8))
    p.add(400, eth(M1, M2) / IP(src=IP1, dst=IP2, id=4) / TCP(sport=40003, dport=5000, flags="S"))
    p.add(500, eth(M2, M1) / IP(src=IP2, dst=IP1, id=5) / UDP(sport=5000, dport=40000) / payload(8))
    p.add(600, eth(M1, M2) / IP(src=IP1, dst=IP2, id=6) / TCP(sport=40004, dport=5000, flags="S"))
    return p


def loopback():
    """Capture on lo: equal (zero) MACs and equal addresses, so the key's swap
    and the AB/BA direction fall back to the ports. Then a ping of 127.0.0.1:
    nothing tells the ends apart (every packet is AB), and the echo RTT goes
    from the request to the reply."""
    p = Pcap()
    z = "00:00:00:00:00:00"
    lo = "127.0.0.1"

    def c(t, flags, seq, ack, data=b""):
        p.add(t, eth(z, z) / IP(src=lo, dst=lo, id=t % 65536) / TCP(sport=45000, dport=8080, flags=flags, seq=seq, ack=ack) / data)

    def s(t, flags, seq, ack, data=b""):
        p.add(t, eth(z, z) / IP(src=lo, dst=lo, id=t % 65536) / TCP(sport=8080, dport=45000, flags=flags, seq=seq, ack=ack) / data)
    c(100, "S", 1, 0)
    s(140, "SA", 9, 2)
    c(170, "A", 2, 10)
    c(300, "PA", 2, 10, payload(10))
    s(330, "PA", 10, 12, payload(500))
    c(360, "FA", 12, 510)
    s(390, "FA", 510, 13)
    p.add(1000, eth(z, z) / IP(src=lo, dst=lo, id=1) / ICMP(type=8, id=44, seq=1) / payload(16))
    p.add(1040, eth(z, z) / IP(src=lo, dst=lo, id=2) / ICMP(type=0, id=44, seq=1) / payload(16))
    return p


def truncated():
    """Frames cut inside a header (caplen < header): the layers decoded so far
    stay usable (gopacket ends the path with a decode failure, so LayersPath
    stops before the cut header and the flow has no Transport / ICMP)."""
    p = Pcap(snaplen=38)
    # TCP cut after 4 bytes of its header: Ethernet/IPv4, no ports
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=1) / TCP(sport=40000, dport=80, flags="S"), caplen=38)
    p.add(300, eth(M2, M1) / IP(src=IP2, dst=IP1, id=2) / TCP(sport=80, dport=40000, flags="SA"), caplen=38)
    # UDP cut after 4 bytes: same IP pair and MACs, so the same flow as the TCP frames
    p.add(500, eth(M1, M2) / IP(src=IP1, dst=IP2, id=3) / UDP(sport=40000, dport=5001) / payload(100), caplen=38)
    # ICMP echo cut after 4 bytes (no identifier), another address pair
    p.add(700, eth(M1, M2) / IP(src=IP1, dst="10.0.0.3", id=4) / ICMP(type=8, id=9, seq=1) / payload(40), caplen=38)
    # IPv4 header itself cut: Ethernet only, a flow keyed by the MACs
    p.add(900, eth(M1, MR) / IP(src=IP1, dst="10.0.0.4", id=5) / UDP(sport=1, dport=2) / payload(10), caplen=30)
    return p


def vxlan_vlan():
    """VLAN 10 outside, VXLAN VNI 5000, VLAN 20 inside: each segment has its
    own Link.ID (10 outer, 20 inner) and only the outer has Network.ID."""
    p = Pcap()
    for t, fwd in [(100, 1), (450, 0)]:
        if fwd:
            inner = Ether(src=VM1, dst=VM2) / Dot1Q(vlan=20) / IP(src="10.7.0.1", dst="10.7.0.2", id=1) / \
                TCP(sport=40000, dport=22, flags="S", seq=1)
            pkt = eth(M1, M2) / Dot1Q(vlan=10) / IP(src=OUT1, dst=OUT2, id=1) / UDP(sport=49152, dport=4789) / VXLAN(vni=5000, flags=0x08) / inner
        else:
            inner = Ether(src=VM2, dst=VM1) / Dot1Q(vlan=20) / IP(src="10.7.0.2", dst="10.7.0.1", id=2) / \
                TCP(sport=22, dport=40000, flags="SA", seq=100, ack=2)
            pkt = eth(M2, M1) / Dot1Q(vlan=10) / IP(src=OUT2, dst=OUT1, id=2) / UDP(sport=49153, dport=4789) / VXLAN(vni=5000, flags=0x08) / inner
        p.add(t, pkt)
    return p


def snaplen():
    """Frames captured with snaplen 96: bytes count the wire length."""
    p = Pcap(snaplen=96)
    p.add(100, eth(M1, M2) / IP(src=IP1, dst=IP2, id=1) / UDP(sport=40000, dport=5001) / payload(1200), caplen=96)
    p.add(400, eth(M2, M1) / IP(src=IP2, dst=IP1, id=2) / UDP(sport=5001, dport=40000) / payload(900), caplen=96)
    p.add(700, eth(M1, M2) / IP(src=IP1, dst=IP2, id=3) / UDP(sport=40000, dport=5001) / payload(20))
    return p


GENERATORS = {
    "icmp4": icmp4, "icmp4_types": icmp4_types, "tcp_midstream": tcp_midstream, "vxlan6": vxlan6, "tcp": tcp, "tcp_ttl": tcp_ttl, "tcp_rst": tcp_rst, "rtt": rtt, "udp": udp, "dns": dns,
    "arp": arp, "vlan": vlan, "qinq": qinq, "mpls": mpls, "ipv4_options": ipv4_options,
    "ipv4_frag": ipv4_frag, "icmp6": icmp6, "icmp6_nd": icmp6_nd, "ipv6_ext": ipv6_ext,
    "ipv6_frag": ipv6_frag, "sctp": sctp, "gre": gre, "gre_eth": gre_eth, "vxlan": vxlan,
    "geneve": geneve, "sll": sll, "rawip": rawip, "l2l3": l2l3, "appport": appport,
    "loopback": loopback, "snaplen": snaplen, "truncated": truncated, "vxlan_vlan": vxlan_vlan,
}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_pcaps.py OUTDIR\n")
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, gen in GENERATORS.items():
        gen().write(os.path.join(out, name + ".pcap"))


if __name__ == "__main__":
    main()
