#!/usr/bin/python3
"""make_reasm_corpus.py - seeds of fuzz_ipdefrag, fuzz_tcp_reasm and
fuzz_dns_tcp (their record formats are in the targets' headers).
usage: make_reasm_corpus.py"""
import hashlib
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def frag(flags, off8, length, ident):
    return struct.pack(">BHHB", flags, off8, length, ident)


def seg(flags, seq, length):
    return struct.pack(">BHH", flags, seq, length)


def answer(ident, ip4):
    """A DNS answer: one question a.example A IN, one A record (RFC 1035)."""
    return (struct.pack(">HHHHHH", ident, 0x8180, 1, 1, 0, 0) + b"\x01a\x07example\x00"
            + struct.pack(">HHHHHIH", 1, 1, 0xc00c, 1, 1, 60, 4) + bytes([192, 0, 2, ip4]))


def framed(m):
    return struct.pack(">H", len(m)) + m


def rec(flags, data, hole=None):
    """A delivery of fuzz_dns_tcp: flags, [hole - 1], length, data."""
    h = bytes([hole - 1]) if hole else b""
    return bytes([flags | (8 if hole else 0)]) + h + bytes([len(data)]) + data


MF, V6, LATER, CUT = 2, 1, 0x10, 0x20
DIR, SLOT2, END = 1, 2, 4
A1, A2, A3 = framed(answer(1, 1)), framed(answer(2, 2)), framed(answer(3, 3))
SYN, FIN, RST, BA = 2, 4, 8, 1
seeds = {
    "ipdefrag": [
        frag(MF, 0, 1480, 1) + frag(MF, 185, 1480, 1) + frag(0, 370, 1048, 1),  # in order
        frag(0, 370, 1048, 2) + frag(MF, 185, 1480, 2) + frag(MF, 0, 1480, 2),  # reversed
        frag(MF, 0, 1000, 3) + frag(MF, 0, 1000, 3) + frag(MF, 124, 16, 3) + frag(0, 125, 8, 3),  # dup, overlap
        frag(MF, 8191, 1000, 4) + frag(MF, 0, 7, 5) + frag(0, 0, 0, 6),  # too big, odd, empty
        frag(MF, 0, 1000, 7) + frag(LATER, 125, 100, 7) + frag(CUT | MF, 0, 1000, 8),  # timeout, cut
        frag(V6 | MF, 0, 1448, 9) + frag(V6, 181, 200, 9),  # IPv6
        b"".join(frag(MF | (i & 3) << 2, 0, 1400, i) for i in range(200)),  # flood
    ],
    "tcp_reasm": [
        seg(SYN, 0, 0) + seg(SYN | BA, 0, 0) + seg(0, 0, 100) + seg(0, 100, 100) + seg(FIN, 200, 0),
        seg(SYN, 0, 0) + seg(0, 100, 700) + seg(0, 0, 700) + seg(0, 0, 700) + seg(FIN | BA, 5, 10),
        seg(SYN, 0, 0) + seg(0, 0, 100) + b"".join(seg(0, 50 + i * 10, 70) for i in range(80)),
        seg(0, 9000, 50) + seg(LATER, 9100, 50) + seg(CUT, 9200, 1400) + seg(RST | BA, 3, 0),
        seg(SYN, 65535, 0) + seg(0, 65535, 1460) + seg(0, 0, 1460),
    ],
    "dns_tcp": [
        # split at the length prefix, then in the body; the other direction whole
        b"\x00" + rec(0, A1[:1]) + rec(0, A1[1:12]) + rec(0, A1[12:]) + rec(DIR | END, A2),
        # two whole and a third begun in one delivery, then its end
        b"\x00" + rec(0, A1 + A2 + A3[:5]) + rec(END, A3[5:]),
        # a hole inside a message (framing kept), then one over a prefix (lost)
        b"\x00" + rec(0, A1[:10]) + rec(0, A1[20:] + A2, hole=10) + rec(0, A3[2:], hole=2) + rec(0, A1),
        # over the bound (40), then a header alone
        b"\x01" + rec(0, A1[:20]) + rec(0, A1[20:] + framed(bytes(12))),
        # no room (512 bytes in all): two streams with a message begun
        b"\x04" + rec(0, A1[:10]) + rec(SLOT2, A1[:10]) + rec(SLOT2, A1[10:]) + rec(0, A1[10:]),
        # unfinished at the end; a zero-length message; a length byte alone
        b"\x00" + rec(DIR, A1[:-1]) + rec(DIR | END, b"") + rec(SLOT2, b"\x00\x00" + A2)
        + rec(SLOT2 | DIR | END, b"\x00"),
    ],
}
for name, items in seeds.items():
    d = os.path.join(here, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for b in items:
        with open(os.path.join(d, hashlib.sha1(b).hexdigest()), "wb") as f:
            f.write(b)
