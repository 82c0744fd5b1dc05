#!/usr/bin/python3
"""gen.py - pcaps of the extra-layer cross-check (tshark_layers.sh).

usage: /usr/bin/python3 tests/integration/xlayers/gen.py OUTDIR

dns.pcap: DNS over UDP and TCP (A, AAAA, CNAME, NS, MX, TXT, SRV, PTR, SOA,
NXDOMAIN, a query left unanswered, AD/CD bits in Z); dns_tcp.pcap: DNS over TCP
as only TCP reassembly reads it (answers split at the length prefix and in the
body, segments out of order and retransmitted, two queries and two answers
sharing segments); dhcp.pcap: discover, offer,
request, ack; vrrp.pcap: VRRPv2 and VRRPv3 (IPv4 and IPv6) adverts. Fixed
values, so two runs write identical files (the Pcap writer of
tests/golden/gen_pcaps.py)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "golden"))
from gen_pcaps import Pcap, eth  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA, DNSRRSRV  # noqa: E402
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.vrrp import VRRP, VRRPv3  # noqa: E402

C = "10.0.0.1"
S = "10.0.0.53"
MC = "02:00:00:00:00:0a"
MS = "02:00:00:00:00:35"


def q(t, p, sport, dns):
    p.add(t, eth(MC, MS) / IP(src=C, dst=S) / UDP(sport=sport, dport=53) / dns)


def r(t, p, sport, dns):
    p.add(t, eth(MS, MC) / IP(src=S, dst=C) / UDP(sport=53, dport=sport) / dns)


def dns():
    p = Pcap()
    # A behind a CNAME, with NS authority and glue: one flow, the response wins
    q(100, p, 40000, DNS(id=0x1234, rd=1, qd=DNSQR(qname="www.example.com", qtype="A")))
    r(900, p, 40000, DNS(id=0x1234, qr=1, aa=1, rd=1, ra=1,
                         qd=DNSQR(qname="www.example.com", qtype="A"),
                         an=DNSRR(rrname="www.example.com", type="CNAME", ttl=300, rdata="example.com")
                         / DNSRR(rrname="example.com", type="A", ttl=60, rdata="93.184.216.34"),
                         ns=DNSRR(rrname="example.com", type="NS", ttl=86400, rdata="ns1.example.com"),
                         ar=DNSRR(rrname="ns1.example.com", type="A", ttl=86400, rdata="192.0.2.53")))
    # AAAA, AD and CD set (gopacket's Z is the 3 bits: z, AD, CD)
    q(2000, p, 40001, DNS(id=0x2222, rd=1, ad=1, cd=1, qd=DNSQR(qname="v6.example.com", qtype="AAAA")))
    r(2500, p, 40001, DNS(id=0x2222, qr=1, rd=1, ra=1, ad=1,
                          qd=DNSQR(qname="v6.example.com", qtype="AAAA"),
                          an=DNSRR(rrname="v6.example.com", type="AAAA", ttl=120, rdata="2001:db8::1")))
    # NXDOMAIN with the zone's SOA
    q(3000, p, 40002, DNS(id=0x3333, rd=1, qd=DNSQR(qname="nx.example.com", qtype="A")))
    r(3400, p, 40002, DNS(id=0x3333, qr=1, rd=1, ra=1, rcode=3,
                          qd=DNSQR(qname="nx.example.com", qtype="A"),
                          ns=DNSRRSOA(rrname="example.com", ttl=900, mname="ns1.example.com",
                                      rname="hostmaster.example.com", serial=2024010101,
                                      refresh=7200, retry=3600, expire=1209600, minimum=300)))
    # MX, TXT (two strings), SRV, PTR in one answer
    q(4000, p, 40003, DNS(id=0x4444, rd=1, qd=DNSQR(qname="example.com", qtype="MX")))
    r(4300, p, 40003, DNS(id=0x4444, qr=1, rd=1, ra=1,
                          qd=DNSQR(qname="example.com", qtype="MX"),
                          an=DNSRR(rrname="example.com", type="MX", ttl=3600,
                                  rdata=struct.pack(">H", 10) + b"\x04mail\x07example\x03com\x00")
                          / DNSRR(rrname="example.com", type="TXT", ttl=3600, rdata=[b"v=spf1 -all", b"hello world"])
                          / DNSRRSRV(rrname="_sip._udp.example.com", ttl=600, priority=5, weight=20, port=5060,
                                     target="sip.example.com")
                          / DNSRR(rrname="34.216.184.93.in-addr.arpa", type="PTR", ttl=600,
                                  rdata="www.example.com")))
    # a query nobody answers; a refused one (opcode 0, rcode 5)
    q(5000, p, 40004, DNS(id=0x5555, rd=0, qd=DNSQR(qname="lonely.example.com", qtype="TXT")))
    q(6000, p, 40005, DNS(id=0x6666, rd=1, qd=DNSQR(qname="example.org", qtype="A")))
    r(6100, p, 40005, DNS(id=0x6666, qr=1, rd=1, rcode=5, qd=DNSQR(qname="example.org", qtype="A")))
    # DNS over TCP: query and answer each in one segment, after the 2-byte length
    qm = bytes(DNS(id=0x7777, rd=1, qd=DNSQR(qname="tcp.example.com", qtype="A")))
    rm = bytes(DNS(id=0x7777, qr=1, rd=1, ra=1, qd=DNSQR(qname="tcp.example.com", qtype="A"),
                   an=DNSRR(rrname="tcp.example.com", type="A", ttl=30, rdata="198.51.100.7")))
    p.add(7000, eth(MC, MS) / IP(src=C, dst=S) / TCP(sport=40010, dport=53, flags="PA", seq=1000, ack=5000)
          / (struct.pack(">H", len(qm)) + qm))
    p.add(7300, eth(MS, MC) / IP(src=S, dst=C) / TCP(sport=53, dport=40010, flags="PA", seq=5000,
                                                     ack=1000 + 2 + len(qm)) / (struct.pack(">H", len(rm)) + rm))
    # DNS over TCP: the answer split over two segments (needs reassembly: the
    # flow keeps the query)
    qm = bytes(DNS(id=0x8888, rd=1, qd=DNSQR(qname="split.example.com", qtype="A")))
    rm = bytes(DNS(id=0x8888, qr=1, rd=1, ra=1, qd=DNSQR(qname="split.example.com", qtype="A"),
                   an=DNSRR(rrname="split.example.com", type="A", ttl=30, rdata="198.51.100.8")))
    wire = struct.pack(">H", len(rm)) + rm
    p.add(8000, eth(MC, MS) / IP(src=C, dst=S) / TCP(sport=40011, dport=53, flags="PA", seq=2000, ack=6000)
          / (struct.pack(">H", len(qm)) + qm))
    p.add(8200, eth(MS, MC) / IP(src=S, dst=C) / TCP(sport=53, dport=40011, flags="A", seq=6000,
                                                     ack=2000 + 2 + len(qm)) / wire[:20])
    p.add(8300, eth(MS, MC) / IP(src=S, dst=C) / TCP(sport=53, dport=40011, flags="PA", seq=6020,
                                                     ack=2000 + 2 + len(qm)) / wire[20:])
    return p


def tcp_conn(p, t, sport, cseq, sseq):
    """A handshake; returns the segment makers of client and server."""
    def c(t_, payload, seq, flags="PA"):
        p.add(t_, eth(MC, MS) / IP(src=C, dst=S) / TCP(sport=sport, dport=53, flags=flags, seq=seq,
                                                       ack=sseq + 1) / payload)

    def s(t_, payload, seq, flags="PA"):
        p.add(t_, eth(MS, MC) / IP(src=S, dst=C) / TCP(sport=53, dport=sport, flags=flags, seq=seq,
                                                       ack=cseq + 1) / payload)
    c(t, b"", cseq, "S")
    p.add(t + 10, eth(MS, MC) / IP(src=S, dst=C) / TCP(sport=53, dport=sport, flags="SA", seq=sseq,
                                                       ack=cseq + 1))
    return c, s


def framed(m):
    return struct.pack(">H", len(m)) + m


def dns_tcp():
    p = Pcap()
    # the answer split after its length's first byte, then in the body
    qm = framed(bytes(DNS(id=0x9001, rd=1, qd=DNSQR(qname="prefix.example.com", qtype="A"))))
    rm = framed(bytes(DNS(id=0x9001, qr=1, rd=1, ra=1, qd=DNSQR(qname="prefix.example.com", qtype="A"),
                          an=DNSRR(rrname="prefix.example.com", type="A", ttl=30, rdata="198.51.100.9")
                          / DNSRR(rrname="prefix.example.com", type="A", ttl=30, rdata="198.51.100.10"))))
    c, s = tcp_conn(p, 1000, 40020, 100, 700)
    c(1100, qm, 101)
    s(1200, rm[:1], 701, "A")
    s(1300, rm[1:30], 702, "A")
    s(1400, rm[30:], 701 + 30)
    # the answer's second part first, then its first part, sent twice
    qm = framed(bytes(DNS(id=0x9002, rd=1, qd=DNSQR(qname="late.example.com", qtype="AAAA"))))
    rm = framed(bytes(DNS(id=0x9002, qr=1, rd=1, ra=1, qd=DNSQR(qname="late.example.com", qtype="AAAA"),
                          an=DNSRR(rrname="late.example.com", type="AAAA", ttl=300, rdata="2001:db8::9"))))
    c, s = tcp_conn(p, 2000, 40021, 200, 900)
    c(2100, qm, 201)
    s(2200, rm[25:], 901 + 25)
    s(2300, rm[:25], 901, "A")
    s(2400, rm[:25], 901, "A")
    # two queries in one segment (RFC 7766 pipelining), two answers whose
    # segments cut the first answer's body: the flow keeps the second answer
    q1 = framed(bytes(DNS(id=0x9003, rd=1, qd=DNSQR(qname="one.example.com", qtype="A"))))
    q2 = framed(bytes(DNS(id=0x9004, rd=1, qd=DNSQR(qname="two.example.com", qtype="MX"))))
    r1 = framed(bytes(DNS(id=0x9003, qr=1, rd=1, ra=1, qd=DNSQR(qname="one.example.com", qtype="A"),
                          an=DNSRR(rrname="one.example.com", type="A", ttl=60, rdata="203.0.113.1"))))
    r2 = framed(bytes(DNS(id=0x9004, qr=1, rd=1, ra=1, qd=DNSQR(qname="two.example.com", qtype="MX"),
                          an=DNSRR(rrname="two.example.com", type="MX", ttl=3600,
                                   rdata=struct.pack(">H", 5) + b"\x02mx\x03two\x07example\x03com\x00"))))
    wire = r1 + r2
    c, s = tcp_conn(p, 3000, 40022, 300, 1100)
    c(3100, q1 + q2, 301)
    s(3200, wire[:20], 1101, "A")
    s(3300, wire[20:], 1101 + 20)
    return p


def dhcp():
    p = Pcap()
    cm = "02:00:00:00:00:c1"
    sm = "02:00:00:00:00:5e"
    chaddr = bytes.fromhex("0200000000c1")

    def client(t, secs, mtype, xid):
        p.add(t, eth(cm, "ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
              / UDP(sport=68, dport=67)
              / BOOTP(op=1, chaddr=chaddr, xid=xid, secs=secs, flags=0x8000)
              / DHCP(options=[("message-type", mtype), ("hostname", b"client1"), "end"]))

    def server(t, secs, mtype, xid):
        p.add(t, eth(sm, "ff:ff:ff:ff:ff:ff") / IP(src="10.0.0.254", dst="255.255.255.255")
              / UDP(sport=67, dport=68)
              / BOOTP(op=2, chaddr=chaddr, xid=xid, secs=secs, yiaddr="10.0.0.77", siaddr="10.0.0.254",
                      sname=b"boot-server", file=b"pxelinux.0", hops=1)
              / DHCP(options=[("message-type", mtype), ("server_id", "10.0.0.254"),
                              ("lease_time", 3600), "end"]))
    client(1000, 2, "discover", 0xabcdef01)
    server(1500, 0, "offer", 0xabcdef01)
    client(3000, 5, "request", 0xabcdef01)  # same flow as the discover: its fields stay
    server(3200, 7, "ack", 0xabcdef01)
    return p


def vrrp():
    p = Pcap()
    m1 = "00:00:5e:00:01:07"
    # VRRPv2: first advert of the flow is kept (the second has another priority)
    p.add(1000, eth(m1, "01:00:5e:00:00:12") / IP(src="10.0.0.2", dst="224.0.0.18", ttl=255, proto=112)
          / VRRP(vrid=7, priority=200, adv=1, addrlist=["10.0.0.100", "10.0.0.101"]))
    p.add(2000, eth(m1, "01:00:5e:00:00:12") / IP(src="10.0.0.2", dst="224.0.0.18", ttl=255, proto=112)
          / VRRP(vrid=7, priority=150, adv=1, addrlist=["10.0.0.100", "10.0.0.101"]))
    # VRRPv3 over IPv4, 100 centiseconds
    p.add(3000, eth("00:00:5e:00:01:09", "01:00:5e:00:00:12")
          / IP(src="10.0.0.3", dst="224.0.0.18", ttl=255, proto=112)
          / VRRPv3(vrid=9, priority=120, adv=100, addrlist=["10.0.0.109"]))
    # VRRPv3 over IPv6, 1000 centiseconds (gopacket keeps the low byte)
    p.add(4000, eth("00:00:5e:00:02:0a", "33:33:00:00:00:12")
          / IPv6(src="fe80::2", dst="ff02::12", hlim=255, nh=112)
          / VRRPv3(vrid=10, priority=254, adv=1000, ipcount=1, addrlist=["fe80::100"]))
    return p


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, gen in (("dns", dns), ("dns_tcp", dns_tcp), ("dhcp", dhcp), ("vrrp", vrrp)):
        gen().write(os.path.join(out, name + ".pcap"))


if __name__ == "__main__":
    main()
