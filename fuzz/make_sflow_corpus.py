#!/usr/bin/python3
"""make_sflow_corpus.py - builds sFlow v5 datagrams byte by byte (standard
library only), the same shapes as tests/unit/test_sflow.c.

  /usr/bin/python3 fuzz/make_sflow_corpus.py corpus [DIR]   seed corpus of fuzz/fuzz_sflow.c
                                                            (default fuzz/corpus/sflow)
  /usr/bin/python3 fuzz/make_sflow_corpus.py send HOST PORT [COUNT]
      sends COUNT (default 5) datagrams, each with one flow sample (an ICMP
      echo request 10.199.0.1 -> 10.199.0.2, sampling rate 10) and one
      generic-interface counter sample (ifIndex 7) to HOST:PORT over UDP.
"""
import os
import socket
import struct
import sys

ICMP = bytes.fromhex(
    "020000000002" "020000000001" "0800"
    "4500001c00014000400100000ac700010ac70002"
    "0800000012340001")


def el(fmt, body):
    pad = b"\0" * (-len(body) % 4)
    return struct.pack(">II", fmt, len(body) + len(pad)) + body + pad


def dgram(samples, v6=False, seq=1):
    agent = struct.pack(">I", 2) + bytes(15) + b"\x07" if v6 else struct.pack(">I", 1) + bytes([192, 0, 2, 7])
    return struct.pack(">I", 5) + agent + struct.pack(">IIII", 3, seq, 1000, len(samples)) + b"".join(samples)


def raw_rec(frame=ICMP, proto=1, frame_len=None):
    fl = frame_len if frame_len is not None else len(frame) + 4
    return el(1, struct.pack(">IIII", proto, fl, 4, len(frame)) + frame)


def switch_rec():
    return el(1001, struct.pack(">IIII", 10, 0, 10, 0))


def generic_rec(ifindex=7, n=1):
    return el(1, struct.pack(">IIQIIQIIIIIIQIIIIII", ifindex, 6, 10**10, 1, 3,
                             1000 * n, 10 * n, 1, 2, 0, 0, 0, 2000 * n, 20 * n, 3, 4, 0, 0, 1))


def flow_sample(records, rate=10, seq=1, inif=7, outif=8, expanded=False):
    if expanded:
        head = struct.pack(">IIIIIIIIII", seq, 0, inif, rate, seq * rate, 0, 0, inif, 0, outif)
        return el(3, head + struct.pack(">I", len(records)) + b"".join(records))
    head = struct.pack(">IIIIIII", seq, inif, rate, seq * rate, 0, inif, outif)
    return el(1, head + struct.pack(">I", len(records)) + b"".join(records))


def counter_sample(records, seq=1, src=7, expanded=False):
    head = struct.pack(">III", seq, 0, src) if expanded else struct.pack(">II", seq, src)
    return el(4 if expanded else 2, head + struct.pack(">I", len(records)) + b"".join(records))


def corpus(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "compact_v4": dgram([flow_sample([switch_rec(), raw_rec()]),
                             counter_sample([el(1004, bytes(8)), generic_rec(), el(2203, bytes(20))])]),
        "expanded_v6": dgram([flow_sample([raw_rec()], expanded=True),
                              counter_sample([generic_rec()], expanded=True)], v6=True),
        "unknown_sample": dgram([el(4413 << 12 | 5, bytes(12)), flow_sample([raw_rec()])]),
        "ipv4_proto": dgram([flow_sample([raw_rec(ICMP[14:], proto=11)])]),
        "empty": dgram([]),
        "truncated": dgram([flow_sample([raw_rec()])])[:-9],
        "bad_record_len": dgram([flow_sample([raw_rec()])])[:60] + b"\xff\xff\xff\xf0" + bytes(40),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def send(host, port, count):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(1, count + 1):
        s.sendto(dgram([flow_sample([switch_rec(), raw_rec()], seq=i),
                        counter_sample([generic_rec(n=i)], seq=i)], seq=i), (host, port))
    s.close()


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "corpus":
        corpus(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "corpus", "sflow"))
    elif len(sys.argv) >= 4 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    else:
        sys.exit(__doc__)
