#!/usr/bin/python3
# Writes samples/sample.pcap: pings, a TCP handshake, DNS, a VLAN-tagged UDP
# packet and a VXLAN-encapsulated ping. Deterministic (fixed timestamps).
import os, sys
from scapy.all import DNS, DNSQR, ICMP, IP, TCP, UDP, VXLAN, Dot1Q, Ether, Raw, wrpcap

t = 1700000000.0
a = lambda: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
b = lambda: Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
pk = []
def add(p, ts):
    p.time = ts
    pk.append(p)
for i in range(3):
    add(a() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=7, seq=i), t + i)
    add(b() / IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0, id=7, seq=i), t + i + 0.0012)
add(a() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=80, flags="S"), t + 5)
add(b() / IP(src="10.0.0.2", dst="10.0.0.1") / TCP(sport=80, dport=40000, flags="SA"), t + 5.0003)
add(a() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=80, flags="A"), t + 5.0004)
add(a() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5353, dport=53) / DNS(qd=DNSQR(qname="example.org")), t + 6)
add(a() / Dot1Q(vlan=100) / IP(src="10.0.0.1", dst="10.0.0.9") / UDP(sport=1, dport=2) / Raw(b"x" * 10), t + 7)
inner = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP(src="192.168.0.1", dst="192.168.0.2") / ICMP(id=3)
add(a() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=33333, dport=4789) / VXLAN(vni=42) / inner, t + 8)
wrpcap(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.pcap"), pk)
