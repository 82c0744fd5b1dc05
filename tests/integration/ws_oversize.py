#!/usr/bin/env python3
"""ws_oversize.py - sends one WebSocket message larger than the analyzer accepts and
prints the close code the analyzer answers with (RFC 6455 5.5.1: the first two bytes
of a Close frame's payload, big-endian), then its reason text.

  ws_oversize.py PORT PATH BYTES [--fragments N] [--binary] [--not-utf8]
                 [--host-id H] [--timeout S] [--header 'Name: value' ...]

One masked text frame whose header announces BYTES (or N continuation frames that
add up to BYTES), followed by that many 'a' (valid UTF-8, so a close for bad UTF-8
would be a wrong answer; --not-utf8 sends 0xff bytes instead, --binary a binary
frame), streamed until the server closes or everything is sent.
It reads while it writes: the close frame is read as soon as it comes, before the
server's reset could discard it.

Prints "close CODE REASON" and exits 0 when a Close frame came; prints "no close
frame (...)" and exits 1 when the connection ended without one or everything was
sent and nothing came; exits 3 when the handshake was refused.
"""
import argparse
import base64
import os
import select
import socket
import struct
import sys
import time

CHUNK = 1 << 20  # a multiple of 4: the mask lines up with every chunk


def frame_header(fin, opcode, n, mask):
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        return bytes([b0, 0x80 | n]) + mask
    if n < 65536:
        return bytes([b0, 0x80 | 126]) + struct.pack("!H", n) + mask
    return bytes([b0, 0x80 | 127]) + struct.pack("!Q", n) + mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("bytes", type=int)
    ap.add_argument("--fragments", type=int, default=1)
    ap.add_argument("--binary", action="store_true")
    ap.add_argument("--not-utf8", action="store_true")
    ap.add_argument("--host-id", default="oversize")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--header", action="append", default=[])
    a = ap.parse_args()

    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    hdr = [f"GET {a.path} HTTP/1.1", f"Host: 127.0.0.1:{a.port}", "Upgrade: websocket",
           "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
           f"X-Host-ID: {a.host_id}", "X-Client-Type: cli"] + a.header
    sock.sendall(("\r\n".join(hdr) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        print("handshake refused:", head.split(b"\r\n", 1)[0].decode(errors="replace"))
        return 3

    mask = os.urandom(4)
    plain = (b"\xff" if a.not_utf8 else b"a") * CHUNK
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(plain))
    per = a.bytes // a.fragments
    sizes = [per] * (a.fragments - 1) + [a.bytes - per * (a.fragments - 1)]
    # the frames to send: a header, then its payload in chunks
    todo = []
    for i, n in enumerate(sizes):
        todo.append(frame_header(i == len(sizes) - 1, (2 if a.binary else 1) if i == 0 else 0,
                                 n, mask))
        full, tail = divmod(n, CHUNK)
        todo.extend([masked] * full)
        if tail:
            todo.append(masked[:tail])
    sock.setblocking(False)
    out = memoryview(b"")
    sent = 0
    got = rest
    deadline = time.time() + a.timeout
    closed = False
    while time.time() < deadline:
        want_w = bool(out) or bool(todo)
        r, w, _ = select.select([sock], [sock] if want_w else [], [], deadline - time.time())
        if r:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError) as e:
                print(f"no close frame (connection reset after {sent} bytes: {e})")
                return 1
            if not chunk:
                closed = True
            got += chunk
            # frames from the server (unmasked): find a Close
            while len(got) >= 2:
                b0, b1 = got[0], got[1]
                n, off = b1 & 0x7F, 2
                if n == 126:
                    if len(got) < 4:
                        break
                    n, off = struct.unpack("!H", got[2:4])[0], 4
                elif n == 127:
                    if len(got) < 10:
                        break
                    n, off = struct.unpack("!Q", got[2:10])[0], 10
                if len(got) < off + n:
                    break
                payload, got = got[off:off + n], got[off + n:]
                if b0 & 0x0F == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    print(f"close {code} {payload[2:].decode(errors='replace')}".rstrip())
                    print(f"(after {sent} bytes sent)", file=sys.stderr)
                    return 0
            if closed:
                print(f"no close frame (connection closed after {sent} bytes)")
                return 1
        if w:
            if not out:
                out = memoryview(todo.pop(0))
            try:
                k = sock.send(out)
            except BlockingIOError:
                continue
            except (ConnectionResetError, BrokenPipeError) as e:
                print(f"no close frame (connection reset after {sent} bytes: {e})")
                return 1
            sent += k
            out = out[k:]
    print(f"no close frame (timeout, {sent} bytes sent)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
