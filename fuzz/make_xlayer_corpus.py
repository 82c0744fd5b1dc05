#!/usr/bin/python3
"""make_xlayer_corpus.py - seeds of fuzz_xlayer: the DNS, DHCPv4 and VRRP messages
of tests/integration/xlayers/gen.py's pcaps, behind fuzz_xlayer's selector byte
(0 DNS, 1 DHCPv4, 2 VRRP; 128 + k: the same with a small output cap), plus a
few hand-made hostile ones (a compression loop, a name past 255 bytes).

usage: /usr/bin/python3 fuzz/make_xlayer_corpus.py fuzz/corpus/xlayer"""
import hashlib
import os
import struct
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration", "xlayers"))
import gen  # noqa: E402
from scapy.layers.dns import DNS  # noqa: E402
from scapy.layers.dhcp import BOOTP  # noqa: E402
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


def put(out, data):
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, g in (("dns", gen.dns), ("dhcp", gen.dhcp), ("vrrp", gen.vrrp)):
        for _, frame, _ in g().recs:
            p = Ether(frame)
            if DNS in p:
                m = bytes(p[DNS])
                if TCP in p:  # after the 2-byte length
                    m = bytes(p[TCP].payload)[2:]
                put(out, b"\x00" + m)
                put(out, b"\x84" + m)  # cap 128 + 4 * 33: records cut
            elif BOOTP in p:
                put(out, b"\x01" + bytes(p[BOOTP]))
            else:
                ip = p[IP] if IP in p else p[IPv6]
                put(out, b"\x02" + bytes(ip.payload))
    hdr = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    put(out, b"\x00" + hdr + b"\xc0\x0c\x00\x01\x00\x01")  # pointer to itself
    put(out, b"\x00" + hdr + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01")  # > 255
    put(out, b"\x00" + hdr + b"\x41x\x00\x00\x01\x00\x01")  # label type 0x40


if __name__ == "__main__":
    main()
