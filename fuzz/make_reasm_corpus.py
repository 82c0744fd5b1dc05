#!/usr/bin/python3
"""make_reasm_corpus.py - seeds of fuzz_ipdefrag and fuzz_tcp_reasm (their
record formats are in the targets' headers). usage: make_reasm_corpus.py"""
import hashlib
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def frag(flags, off8, length, ident):
    return struct.pack(">BHHB", flags, off8, length, ident)


def seg(flags, seq, length):
    return struct.pack(">BHH", flags, seq, length)


MF, V6, LATER, CUT = 2, 1, 0x10, 0x20
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
}
for name, items in seeds.items():
    d = os.path.join(here, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for b in items:
        with open(os.path.join(d, hashlib.sha1(b).hexdigest()), "wb") as f:
            f.write(b)
