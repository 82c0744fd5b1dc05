#!/usr/bin/env python3
"""ws_client.py - a minimal WebSocket client (standard library only) for the
analyzer's integration tests: handshake with Skydive's headers, send text
messages, print every received text message as one line, answer pings.

  ws_client.py PORT PATH [--host-id H] [--client-type T] [--policy P]
               [--send FILE] [--count N] [--timeout S] [--hold S] [--no-read]
               [--header 'Name: value' ...] [--input FIFO]

--client-type '' sends no X-Client-Type (a browser); --header adds any handshake
header; --input reads lines from a file or FIFO while running and sends each as a
text message (so a test can talk to the server after seeing its answers).

Exit status: 0 when --count messages arrived (or the hold time passed),
3 if the handshake was refused, 4 on timeout, 5 if the server closed first.
"""
import argparse
import base64
import os
import select
import socket
import struct
import sys
import time


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(head + mask + body)


class Reader:
    def __init__(self, sock, initial=b"", inp=None):
        self.sock = sock
        self.buf = initial
        self.inp = inp  # fd of --input, or None
        self.pending = b""

    def input_ready(self):
        try:
            data = os.read(self.inp, 65536)
        except BlockingIOError:
            return
        if not data:  # end of a plain file
            self.inp = None
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            if line.strip():
                send_frame(self.sock, 1, line.strip())

    def need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError
            fds = [self.sock] + ([self.inp] if self.inp is not None else [])
            r, _, _ = select.select(fds, [], [], left)
            if not r:
                raise TimeoutError
            if self.inp is not None and self.inp in r:
                self.input_ready()
            if self.sock not in r:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self, deadline):
        b0, b1 = self.need(2, deadline)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.need(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.need(8, deadline))[0]
        return b0 & 0x80, b0 & 0x0F, self.need(n, deadline) if n else b""


def handshake(port, path, client_type="cli", host_id=None, headers=(), timeout=10,
              host="127.0.0.1"):
    """Opens a WebSocket to host:port path with Skydive's headers (X-Client-Type unless
    client_type is '', X-Host-ID); returns (socket, the answer's head, the bytes read
    after it). The caller checks for 101 in the head."""
    sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    hdr = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
           "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if client_type:
        hdr.append(f"X-Client-Type: {client_type}")
    hdr += list(headers)
    if host_id:
        hdr.append(f"X-Host-ID: {host_id}")
    sock.sendall(("\r\n".join(hdr) + "\r\n\r\n").encode())
    resp = b""
    try:
        while b"\r\n\r\n" not in resp:
            chunk = sock.recv(4096)
            if not chunk:
                break
            resp += chunk
    except OSError:
        pass
    head, _, rest = resp.partition(b"\r\n\r\n")
    return sock, head, rest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("--host-id")
    ap.add_argument("--client-type", default="cli")
    ap.add_argument("--policy")
    ap.add_argument("--send")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--no-read", action="store_true", help="never read after the handshake")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--input")
    a = ap.parse_args()
    inp = None
    if a.input:
        inp = os.open(a.input, os.O_RDONLY | os.O_NONBLOCK)
        try:  # hold a writer open ourselves: a FIFO without writers reads as EOF forever
            os.open(a.input, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            pass

    extra = list(a.header)
    if a.policy:
        extra.append(f"X-Persistence-Policy: {a.policy}")
    sock, head, rest = handshake(a.port, a.path, a.client_type, a.host_id, extra, a.timeout)
    deadline = time.time() + a.timeout
    status = head.split(b"\r\n")[0].decode(errors="replace")
    print(f"handshake: {status}", file=sys.stderr)
    if b" 101 " not in head.split(b"\r\n")[0] + b" ":
        return 3
    if a.send:
        with open(a.send) as f:
            for line in f:
                if line.strip():
                    send_frame(sock, 1, line.strip().encode())
    if a.no_read:
        time.sleep(a.hold or a.timeout)
        return 0
    rd = Reader(sock, rest, inp)
    got = 0
    msg = b""
    end = time.time() + a.hold if a.hold else deadline
    try:
        while a.count == 0 or got < a.count:
            fin, op, payload = rd.frame(end)
            if op == 9:
                send_frame(sock, 10, payload)
            elif op == 8:
                return 5
            elif op in (0, 1):
                msg += payload
                if fin:
                    print(msg.decode(), flush=True)
                    got += 1
                    msg = b""
    except TimeoutError:
        if a.count:
            return 4
    except ConnectionError:
        return 5
    try:
        send_frame(sock, 8, struct.pack("!H", 1000))
        sock.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
