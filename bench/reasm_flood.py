#!/usr/bin/python3
"""reasm_flood.py - pcaps that push the reassembly buffers to their bounds.

usage: reasm_flood.py frag|tcp N OUT.pcap

frag: N first fragments (1480 bytes, more-fragments set) of N distinct
  datagrams from N/16 source addresses, none ever completed: every one wants
  a reassembly slot and its bytes held until the timeout.
tcp: N/64 TCP connections, each a SYN then 64 segments of 1400 bytes after a
  hole of one segment that never comes: every segment wants to be buffered.
Frames are written with a plain pcap writer (no scapy: millions of frames)."""
import struct
import sys


def ip4_csum(h):
    s = sum(struct.unpack(">10H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst, proto, payload_len, ident, frag):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack(">H", ip4_csum(h)) + h[12:]


def main():
    mode, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    dst = bytes([10, 200, 0, 1])
    pay = bytes(1480)
    t = 1700000000 * 1000000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def rec(frame):
            nonlocal t
            t += 1
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)

        if mode == "frag":
            for i in range(n):
                s = i // 16
                src = bytes([10, 1 + (s >> 16) % 200, (s >> 8) & 255, s & 255])
                rec(eth + ip4(src, dst, 17, 1480, i & 0xFFFF, 0x2000) + pay)
        else:
            for c in range(n // 64):
                src = bytes([10, 1 + (c >> 16) % 200, (c >> 8) & 255, c & 255])
                sport = 10000 + c % 50000

                def tcp(seq, flags, data):
                    return struct.pack(">HHIIBBHHH", sport, 80, seq, 0, 0x50, flags, 65535, 0, 0) + data

                rec(eth + ip4(src, dst, 6, 20, 1, 0) + tcp(1000, 0x02, b""))
                for k in range(64):
                    seq = 1001 + 1400 * (k + 1)  # segment 0 never comes
                    rec(eth + ip4(src, dst, 6, 1420, 1, 0) + tcp(seq, 0x10, pay[:1400]))


if __name__ == "__main__":
    main()
