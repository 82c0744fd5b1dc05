#!/usr/bin/python3
"""gen.py - pcaps for the IPDefrag / ReassembleTCP cross-check with tshark.

usage: /usr/bin/python3 gen.py OUTDIR

frag.pcap: IPv4 ICMP echo request/reply of 4000 bytes (3 fragments each, as
  `ping -s 4000` over a 1500 MTU), a UDP datagram of 5000 bytes whose
  fragments come last-first and shuffled, an IPv4 UDP datagram with one
  duplicated fragment, an incomplete datagram (its last fragment never
  comes), and an IPv6 UDP datagram of 3000 bytes in 3 fragments.
tcp.pcap: a TCP connection whose client stream has one segment out of order
  and a retransmission, the server answering in 3 segments.
tcp_hole.pcap: a client stream with a hole that never fills (a lost segment
  the capture did not see), then FIN.
Fixed addresses, ids and times: two runs write the same files."""
import os
import random
import sys

from scapy.config import conf

conf.verb = 0
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment  # noqa: E402
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.utils import wrpcap  # noqa: E402

M1, M2 = "02:00:00:00:01:01", "02:00:00:00:01:02"
A, B = "10.9.0.1", "10.9.0.2"
A6, B6 = "2001:db8:9::1", "2001:db8:9::2"
T0 = 1700000000.0


def stamp(pkts, t0=T0, step=0.001):
    for i, p in enumerate(pkts):
        p.time = t0 + i * step
    return pkts


def frag_pcap(path):
    out = []
    data = bytes(range(256)) * 16
    # ping -s 4000: 4008-byte ICMP message, 1480-byte fragments
    for src, dst, sm, dm, t in [(A, B, M1, M2, 8), (B, A, M2, M1, 0)]:
        pkt = IP(src=src, dst=dst, id=0x1001 if t == 8 else 0x2001) / ICMP(type=t, id=77, seq=1) / data[:4000]
        out += [Ether(src=sm, dst=dm) / f for f in fragment(pkt, fragsize=1480)]
    # UDP 5000 bytes, fragments shuffled (last first)
    pkt = IP(src=A, dst=B, id=0x3001) / UDP(sport=41000, dport=6000) / (data * 2)[:5000]
    fr = [Ether(src=M1, dst=M2) / f for f in fragment(pkt, fragsize=1200)]
    random.Random(7).shuffle(fr)
    fr.sort(key=lambda f: 0 if not f[IP].flags.MF else 1)
    out += fr
    # UDP datagram with its first fragment sent twice
    pkt = IP(src=A, dst=B, id=0x4001) / UDP(sport=41001, dport=6000) / data[:2000]
    fr = [Ether(src=M1, dst=M2) / f for f in fragment(pkt, fragsize=1000)]
    out += [fr[0], fr[0].copy()] + fr[1:]
    # incomplete: the last fragment never comes
    pkt = IP(src=A, dst=B, id=0x5001) / UDP(sport=41002, dport=6000) / data[:3000]
    fr = [Ether(src=M1, dst=M2) / f for f in fragment(pkt, fragsize=1000)]
    out += fr[:-1]
    # IPv6 UDP 3000 bytes
    pkt = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=0xabc) / UDP(sport=42000, dport=7000) / data[:3000]
    out += [Ether(src=M1, dst=M2) / f for f in fragment6(pkt, 1280)]
    wrpcap(path, stamp(out))


def seg(src, dst, sm, dm, sp, dp, seq, ack, flags, load=b""):
    return Ether(src=sm, dst=dm) / IP(src=src, dst=dst, id=1) / TCP(sport=sp, dport=dp, seq=seq, ack=ack, flags=flags, window=65535) / load


def tcp_pcap(path, hole):
    c = lambda seq, ack, fl, load=b"": seg(A, B, M1, M2, 43000, 80, seq, ack, fl, load)  # noqa: E731
    s = lambda seq, ack, fl, load=b"": seg(B, A, M2, M1, 80, 43000, seq, ack, fl, load)  # noqa: E731
    ci, si = 1000, 900000
    msg = bytes((i * 13) & 0xff for i in range(3000))
    p = [c(ci, 0, "S"), s(si, ci + 1, "SA"), c(ci + 1, si + 1, "A")]
    chunks = [msg[i:i + 500] for i in range(0, 3000, 500)]
    offs = [ci + 1 + i * 500 for i in range(6)]
    if hole:
        # segment 2 never seen
        order = [0, 1, 3, 4, 5]
    else:
        # segment 3 before 2, then a retransmission of 1
        order = [0, 1, 3, 2, 1, 4, 5]
    for i in order:
        p.append(c(offs[i], si + 1, "PA", chunks[i]))
    reply = msg[:1400]
    for i in range(0, 1400, 700):
        p.append(s(si + 1 + i, ci + 3001, "PA", reply[i:i + 700]))
    p += [c(ci + 3001, si + 1401, "FA"), s(si + 1401, ci + 3002, "FA"), c(ci + 3002, si + 1402, "A")]
    wrpcap(path, stamp(p))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    frag_pcap(os.path.join(out, "frag.pcap"))
    tcp_pcap(os.path.join(out, "tcp.pcap"), hole=False)
    tcp_pcap(os.path.join(out, "tcp_hole.pcap"), hole=True)


if __name__ == "__main__":
    main()
