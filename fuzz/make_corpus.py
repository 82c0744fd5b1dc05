#!/usr/bin/python3
"""make_corpus.py - writes the seed corpus of fuzz/fuzz_decode.c into
fuzz/corpus/decode/: one small frame per protocol, tunnel and link type, plus
a few truncated and malformed ones. Each file is a selector byte (link type,
see the table in fuzz_decode.c) followed by the frame.

Usage: /usr/bin/python3 fuzz/make_corpus.py [outdir]   (needs python3-scapy)
"""
import os
import struct
import sys

from scapy.all import (ARP, BOOTP, DHCP, DNS, DNSQR, GRE, Dot3, ICMP, IP, LLC, NTP, SCTP,
                       STP, TCP, UDP, VXLAN, CookedLinux, Dot1AD, Dot1Q, Ether,
                       ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                       ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6ND_RS,
                       ICMPv6PacketTooBig, ICMPv6DestUnreach, IPOption_RR,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw,
                       SCTPChunkData, SCTPChunkInit, SCTPChunkSACK,
                       SCTPChunkHeartbeatReq, SCTPChunkAbort, SCTPChunkCookieEcho,
                       SCTPChunkShutdown, SCTPChunkError, raw)
from scapy.layers.dhcp6 import DHCP6_Solicit
from scapy.layers.vrrp import VRRP
from scapy.contrib.mpls import MPLS
from scapy.contrib.geneve import GENEVE
from scapy.contrib.igmp import IGMP
from scapy.contrib.lldp import (LLDPDUChassisID, LLDPDUEndOfLLDPDU, LLDPDUPortID,
                                LLDPDUTimeToLive)
from scapy.contrib.erspan import ERSPAN_II

# selector byte -> link type (index in fuzz_decode.c's table)
ETH, SLL, SLL2, NULL, LOOP, RAW, IPV4, IPV6, DLT12, DLT14 = range(10)

A, B = "00:11:22:33:44:55", "66:77:88:99:aa:bb"
C, D = "02:00:00:00:00:0c", "02:00:00:00:00:0d"
IA, IB, IC, ID = "10.0.0.1", "10.0.0.2", "192.168.7.3", "192.168.7.4"
I6A, I6B = "2001:db8::1", "2001:db8::2"


def eth(t=0x0800):
    return Ether(src=A, dst=B, type=t)


def ip4(**kw):
    return IP(src=IA, dst=IB, **kw)


def ip6(**kw):
    return IPv6(src=I6A, dst=I6B, **kw)


def inner_tcp():
    return Ether(src=C, dst=D) / IP(src=IC, dst=ID) / TCP(sport=33000, dport=8080, flags="S")


TLS_HELLO = bytes([0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03]) + b"\x00" * 32
SFLOW = struct.pack(">IIIIIII", 5, 1, 0x0a000001, 0, 1, 1000, 0)


def sll(proto):
    return struct.pack(">HHH8sH", 0, 1, 6, bytes.fromhex("001122334455") + b"\0\0", proto)


def sll2(proto):
    return struct.pack(">HHIHBB8s", proto, 0, 2, 1, 0, 6, bytes.fromhex("001122334455") + b"\0\0")


def lldp():
    return (Ether(src=A, dst="01:80:c2:00:00:0e", type=0x88cc) /
            LLDPDUChassisID(subtype=4, id=A) / LLDPDUPortID(subtype=7, id="eth0") /
            LLDPDUTimeToLive(ttl=120) / LLDPDUEndOfLLDPDU())


def tlv(t, v):
    return struct.pack(">H", t << 9 | len(v)) + v


def lldp_full():
    """Every TLV the LLDP probe reads: names, management address, 802.1 PVID /
    PPVID / VLAN name / VID digest / management VID / link aggregation, 802.3 MTU."""
    mac = bytes.fromhex("020000000001")
    body = (tlv(1, b"\x04" + mac) + tlv(2, b"\x05swp1") + tlv(3, struct.pack(">H", 120)) +
            tlv(4, b"uplink") + tlv(5, b"sw1") + tlv(6, b"a switch") +
            tlv(7, struct.pack(">HH", 0x14, 0x04)) +
            tlv(8, b"\x05\x01\xc0\x00\x02\x01\x02\x00\x00\x00\x03\x00") +
            tlv(127, b"\x00\x80\xc2\x01" + struct.pack(">H", 10)) +
            tlv(127, b"\x00\x80\xc2\x02\x06" + struct.pack(">H", 20)) +
            tlv(127, b"\x00\x80\xc2\x03" + struct.pack(">HB", 10, 4) + b"prod") +
            tlv(127, b"\x00\x80\xc2\x05" + struct.pack(">I", 0xdeadbeef)) +
            tlv(127, b"\x00\x80\xc2\x06" + struct.pack(">H", 99)) +
            tlv(127, b"\x00\x80\xc2\x07\x03" + struct.pack(">I", 7)) +
            tlv(127, b"\x00\x12\x0f\x04" + struct.pack(">H", 9216)) + tlv(0, b""))
    return raw(Ether(src=A, dst="01:80:c2:00:00:0e", type=0x88cc)) + body


def seeds():
    s = {}
    # Ethernet, VLANs, link-level protocols
    s["eth_ipv4_tcp"] = (ETH, eth() / ip4() / TCP(sport=40000, dport=80, flags="S"))
    s["eth_ipv4_udp"] = (ETH, eth() / ip4() / UDP(sport=5000, dport=5001) / Raw(b"x" * 8))
    s["eth_ipv4_options"] = (ETH, eth() / ip4(options=[IPOption_RR(routers=[IC])]) /
                             TCP(sport=1, dport=22))
    s["eth_ipv4_frag_mf"] = (ETH, eth() / ip4(flags="MF", proto=17) / Raw(b"\0" * 24))
    s["eth_ipv4_frag_off"] = (ETH, eth() / ip4(frag=100, proto=17) / Raw(b"\0" * 24))
    s["eth_padding"] = (ETH, raw(eth() / ip4() / TCP(dport=443)) + b"\x16\x03\x01\x00\x05\x00")
    s["eth_dot1q"] = (ETH, Ether(src=A, dst=B) / Dot1Q(vlan=42, prio=5) / ip4() / UDP())
    s["eth_qinq"] = (ETH, Ether(src=A, dst=B) / Dot1AD(vlan=100) / Dot1Q(vlan=200) / ip4() / UDP())
    s["eth_qinq_9100"] = (ETH, raw(Ether(src=A, dst=B, type=0x9100) / Dot1Q(vlan=100) /
                                  Dot1Q(vlan=200) / ip4() / TCP()))
    s["eth_arp"] = (ETH, Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=IA, pdst=IB))
    s["eth_llc_stp"] = (ETH, Dot3(src=A, dst="01:80:c2:00:00:00") / LLC() / STP())
    s["eth_lldp"] = (ETH, lldp())
    s["eth_lldp_full"] = (ETH, lldp_full())
    s["eth_lldp_truncated"] = (ETH, lldp_full()[:60])
    s["eth_unknown_type"] = (ETH, raw(eth(0x88b5)) + b"\0" * 20)
    # IPv6 and extension headers
    s["eth_ipv6_tcp"] = (ETH, eth(0x86dd) / ip6() / TCP(sport=3000, dport=443) / Raw(TLS_HELLO))
    s["eth_ipv6_ext"] = (ETH, eth(0x86dd) / ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() /
                         IPv6ExtHdrDestOpt() / UDP(sport=546, dport=547) / DHCP6_Solicit())
    s["eth_ipv6_frag_atomic"] = (ETH, eth(0x86dd) / ip6() / IPv6ExtHdrFragment(offset=0, m=0) /
                                 UDP(sport=1000, dport=2000))
    s["eth_ipv6_frag"] = (ETH, eth(0x86dd) / ip6() / IPv6ExtHdrFragment(offset=185, m=1, nh=17) /
                          Raw(b"\0" * 16))
    s["eth_6in4"] = (ETH, eth() / ip4() / ip6() / TCP(sport=7, dport=8))
    s["eth_4in6"] = (ETH, eth(0x86dd) / ip6() / IP(src=IC, dst=ID) / UDP(sport=9, dport=10))
    # ICMP
    s["eth_icmp_echo"] = (ETH, eth() / ip4() / ICMP(type=8, id=0xbeef, seq=1) / Raw(b"ping"))
    s["eth_icmp_unreach"] = (ETH, eth() / ip4() / ICMP(type=3, code=1) / IP(src=IB, dst=IA) /
                             UDP(dport=53))
    s["eth_icmp_timestamp"] = (ETH, eth() / ip4() / ICMP(type=13) / Raw(b"\0" * 12))
    s["eth_icmpv6_echo"] = (ETH, eth(0x86dd) / ip6() / ICMPv6EchoRequest(id=0x4242))
    s["eth_icmpv6_echo_reply"] = (ETH, eth(0x86dd) / ip6() / ICMPv6EchoReply(id=0x4242))
    s["eth_icmpv6_ns"] = (ETH, eth(0x86dd) / ip6() / ICMPv6ND_NS(tgt=I6B))
    s["eth_icmpv6_na"] = (ETH, eth(0x86dd) / ip6() / ICMPv6ND_NA(tgt=I6A))
    s["eth_icmpv6_rs"] = (ETH, eth(0x86dd) / ip6() / ICMPv6ND_RS())
    s["eth_icmpv6_ra"] = (ETH, eth(0x86dd) / ip6() / ICMPv6ND_RA())
    s["eth_icmpv6_redirect"] = (ETH, eth(0x86dd) / ip6() / ICMPv6ND_Redirect(tgt=I6A, dst=I6B))
    s["eth_icmpv6_toobig"] = (ETH, eth(0x86dd) / ip6() / ICMPv6PacketTooBig() / ip6() / UDP())
    s["eth_icmpv6_unreach"] = (ETH, eth(0x86dd) / ip6() / ICMPv6DestUnreach() / ip6() / UDP())
    # other IP protocols
    s["eth_igmp"] = (ETH, eth() / ip4() / IGMP(type=0x16, gaddr="239.1.1.1"))
    s["eth_vrrp"] = (ETH, eth() / IP(src=IA, dst="224.0.0.18") / VRRP(vrid=7, addrlist=[IC]))
    # SCTP, one seed per chunk kind
    for name, chunk in [("data", SCTPChunkData(data=b"hello")), ("init", SCTPChunkInit()),
                        ("sack", SCTPChunkSACK()), ("heartbeat", SCTPChunkHeartbeatReq()),
                        ("abort", SCTPChunkAbort()), ("cookie", SCTPChunkCookieEcho()),
                        ("shutdown", SCTPChunkShutdown()), ("error", SCTPChunkError())]:
        s["eth_sctp_" + name] = (ETH, eth() / ip4() / SCTP(sport=2905, dport=3868) / chunk)
    # applications
    s["eth_dns"] = (ETH, eth() / ip4() / UDP(sport=40000, dport=53) / DNS(qd=DNSQR(qname="a.b")))
    s["eth_dns_tcp"] = (ETH, eth() / ip4() / TCP(sport=40000, dport=53, flags="PA") /
                        Raw(b"\x00\x1d" + raw(DNS(qd=DNSQR(qname="a.b")))))
    s["eth_dhcpv4"] = (ETH, eth() / ip4() / UDP(sport=68, dport=67) / BOOTP(chaddr=A) /
                       DHCP(options=[("message-type", "discover"), "end"]))
    s["eth_ntp"] = (ETH, eth() / ip4() / UDP(sport=123, dport=123) / NTP())
    s["eth_sflow"] = (ETH, eth() / ip4() / UDP(sport=50000, dport=6343) / Raw(SFLOW))
    s["eth_tls"] = (ETH, eth() / ip4() / TCP(sport=50000, dport=443, flags="PA") / Raw(TLS_HELLO))
    s["eth_tls_not"] = (ETH, eth() / ip4() / TCP(sport=50000, dport=443, flags="PA") /
                        Raw(b"GET / HTTP/1.1\r\n"))
    # tunnels
    s["eth_vxlan"] = (ETH, eth() / ip4() / UDP(sport=49152, dport=4789) / VXLAN(vni=0xabcdef) /
                      inner_tcp())
    s["eth_vxlan_8472"] = (ETH, eth() / ip4() / UDP(sport=49152, dport=8472) / VXLAN(vni=1) /
                           inner_tcp())
    s["eth_geneve"] = (ETH, eth() / ip4() / UDP(sport=40000, dport=6081) /
                       GENEVE(vni=0x123456, proto=0x6558, optionlen=2, options=b"\x01\x02\x03\x01" +
                              b"\xde\xad\xbe\xef") / inner_tcp())
    s["eth_geneve_ipv4"] = (ETH, eth() / ip4() / UDP(sport=40000, dport=6081) /
                            GENEVE(vni=77, proto=0x0800) / IP(src=IC, dst=ID) / ICMP())
    s["eth_gre_ipv4"] = (ETH, eth() / ip4() / GRE(chksum_present=1, key_present=1, seqnum_present=1,
                                                  key=0x12345678, seqence_number=9) /
                         IP(src=IC, dst=ID) / ICMP(id=0x77))
    s["eth_gre_eth"] = (ETH, eth(0x86dd) / ip6() / GRE(proto=0x6558) / inner_tcp())
    s["eth_gre_mpls"] = (ETH, eth() / ip4() / GRE(key_present=1, key=555, proto=0x8847) /
                         MPLS(label=16, s=0) / MPLS(label=17, s=1) / IP(src=IC, dst=ID) / TCP(dport=179))
    s["eth_gre_erspan"] = (ETH, eth() / ip4() / GRE(seqnum_present=1, proto=0x88be) /
                           ERSPAN_II(vlan=100, session_id=1) / inner_tcp())
    s["eth_gre_routing"] = (ETH, eth() / ip4(proto=47) /
                            Raw(bytes.fromhex("40000800" "00000000" "08000004" "c0a80703" "00000000") +
                                raw(IP(src=IC, dst=ID) / UDP())))
    s["eth_gre_pptp"] = (ETH, eth() / ip4(proto=47) /
                         Raw(bytes.fromhex("3081880b" "00100020" "00000001" "00000002") +
                             b"\xff\x03\x00\x21" + b"\0" * 12))
    s["eth_mpls_ipv4"] = (ETH, eth(0x8847) / MPLS(label=100, s=0) / MPLS(label=200, s=1) / ip4() /
                          UDP())
    s["eth_mpls_eth"] = (ETH, eth(0x8848) / MPLS(label=300, s=1) / inner_tcp())
    s["eth_mpls_in_ip"] = (ETH, eth() / ip4(proto=137) / MPLS(label=300, s=1) / IP(src=IC, dst=ID) /
                           UDP())
    deep = inner_tcp()
    for i in range(4):
        deep = Ether(src=A, dst=B) / IP(src=IA, dst=IB) / UDP(sport=1000 + i, dport=4789) / \
            VXLAN(vni=10 + i) / deep
    s["eth_vxlan_too_deep"] = (ETH, deep)
    # other link types
    s["sll_ipv4_dhcp"] = (SLL, sll(0x0800) + raw(ip4() / UDP(sport=68, dport=67) / BOOTP() /
                                              DHCP(options=[("message-type", "request"), "end"])))
    s["sll_cooked_scapy"] = (SLL, CookedLinux(proto=0x86dd) / ip6() / TCP())
    s["sll2_ipv6"] = (SLL2, sll2(0x86dd) + raw(ip6() / TCP(sport=443, dport=50000, flags="FA")))
    s["sll2_arp"] = (SLL2, sll2(0x0806) + raw(ARP()))
    s["null_ipv4"] = (NULL, struct.pack("<I", 2) + raw(ip4() / UDP(sport=100, dport=200)))
    s["null_ipv6"] = (NULL, struct.pack("<I", 30) + raw(ip6() / UDP(sport=100, dport=200)))
    s["loop_ipv6"] = (LOOP, struct.pack(">I", 24) + raw(ip6() / ICMPv6EchoRequest()))
    s["loop_ipv4"] = (LOOP, struct.pack(">I", 2) + raw(ip4() / TCP()))
    s["raw_ipv4"] = (RAW, ip4() / TCP(flags="R"))
    s["raw_ipv6"] = (RAW, ip6() / UDP(sport=123, dport=123) / NTP())
    s["linktype_ipv4"] = (IPV4, ip4() / UDP(dport=53) / DNS())
    s["linktype_ipv6"] = (IPV6, ip6() / IPv6ExtHdrHopByHop() / ICMPv6ND_NS(tgt=I6B))
    s["dlt12_ipv4"] = (DLT12, ip4() / ICMP())
    s["dlt14_ipv6"] = (DLT14, ip6() / TCP())
    # truncated and malformed frames; selector + 10 claims a longer wire length
    full = raw(Ether(src=A, dst=B) / Dot1Q(vlan=7) / ip4() / UDP(sport=49152, dport=4789) / VXLAN(vni=99) /
               inner_tcp())
    for cut in (10, 16, 30, 44, 50, 60, 80, 100):
        s["trunc_vxlan_%d" % cut] = (ETH + 10, full[:cut])
    s["trunc_tcp_options"] = (ETH + 20, raw(eth() / ip4() / TCP(options=[("MSS", 1460)]))[:50])
    s["bad_ipv4_ihl"] = (ETH, raw(eth()) + b"\x44" + raw(ip4() / TCP())[1:])
    s["bad_ipv4_totlen"] = (ETH, raw(eth()) + raw(ip4(len=10) / TCP()))
    s["ipv4_tso_len0"] = (ETH, raw(eth()) + raw(ip4() / TCP(dport=443) / Raw(TLS_HELLO))[:2] +
                          b"\0\0" + raw(ip4() / TCP(dport=443) / Raw(TLS_HELLO))[4:])
    s["bad_udp_len"] = (ETH, raw(eth() / ip4() / UDP(sport=1, dport=53, len=5) / Raw(b"\0" * 12)))
    s["bad_tcp_doff"] = (ETH, raw(eth() / ip4() / TCP(dataofs=4)))
    s["bad_sctp_chunk_len"] = (ETH, raw(eth() / ip4() / SCTP() / SCTPChunkInit(len=2)))
    s["bad_loopback_family"] = (NULL, b"\x01\x02\x03\x04" + raw(ip4()))
    s["bad_vrrp_v3"] = (ETH, raw(eth() / ip4() / VRRP(version=3)))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                              "corpus", "decode")
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, (sel, pkt) in sorted(seeds().items()):
        frame = pkt if isinstance(pkt, bytes) else raw(pkt)
        with open(os.path.join(out, "seed_" + name), "wb") as f:
            f.write(bytes([sel]) + frame)
        n += 1
    print("wrote %d seeds to %s" % (n, out))


if __name__ == "__main__":
    main()
