#!/usr/bin/env python3
"""skydive_agent.py - speaks as a Skydive 0.28 agent does, for skydive_agent.sh: the
protobuf topology protocol on /ws/agent/topology (X-Client-Protocol: protobuf, every
frame a StructMessage) and the UDP flow transport (flow.protocol: udp, one flow.Message
per datagram). The protobuf encoding is written here by hand from Skydive's schemas
(graffiti/websocket/structmessage.proto, flow/flow.proto field numbers), independently
of the analyzer's protobuf-c code, so each side checks the other.

  skydive_agent.py topology PORT --host-id H --input FIFO [--timeout S]
      Connects; each line of FIFO is a JSON envelope {"Namespace","Type","UUID"?,"Obj"}
      sent as one StructMessage (Obj as JSON, Format Json); the line "RAW <hex>" sends
      those bytes as a binary frame; "PROTOBUF-OBJ" a frame whose Format is Protobuf;
      "TEXT <json>" a text frame. Every frame received is printed as one JSON line:
      {"Binary": true|false, "Namespace", "Type", "UUID", "Status", "Format", "Obj"}.
      Pings are answered. Exit 3 if the handshake is refused (its status on stderr).
  skydive_agent.py flows PORT --flows FILE [--garbage N]
      Sends each flow of FILE (a JSON list of flow objects with Skydive's field names)
      as one flow.Message datagram to 127.0.0.1:PORT, then N undecodable datagrams.
"""
import argparse
import base64
import json
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_client import Reader, send_frame  # noqa: E402


# ---- protobuf, by hand --------------------------------------------------------------
def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v) if v else b""


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint((num << 3) | 2) + varint(len(b)) + b if b else b""


def read_varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def fields(b):
    """(number, wire type, value) of every field of one message"""
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, v


# graffiti/websocket/structmessage.proto
def struct_message(ns, typ, uuid, status, obj_bytes, fmt=0):
    return (f_bytes(1, ns) + f_bytes(2, typ) + f_bytes(3, uuid) + f_varint(4, status) +
            f_varint(5, fmt) + f_bytes(6, obj_bytes))


def parse_struct_message(b):
    m = {"Namespace": "", "Type": "", "UUID": "", "Status": 0, "Format": 0, "Obj": None}
    for num, _, v in fields(b):
        if num in (1, 2, 3):
            m[{1: "Namespace", 2: "Type", 3: "UUID"}[num]] = v.decode()
        elif num == 4:
            m["Status"] = v
        elif num == 5:
            m["Format"] = v
        elif num == 6:
            m["Obj"] = json.loads(v) if m["Format"] == 0 else v.hex()
    return m


# flow/flow.proto
PROTO = {"ETHERNET": 0, "IPV4": 1, "TCP": 2, "UDP": 3, "SCTP": 4, "IPV6": 5, "ICMPV4": 6,
         "ICMPV6": 7}


def flow_layer(d):
    return (f_varint(1, PROTO[d["Protocol"]]) + f_bytes(3, d.get("A", "")) +
            f_bytes(4, d.get("B", "")) + f_varint(5, d.get("ID", 0)))


def transport_layer(d):
    return (f_varint(1, PROTO[d["Protocol"]]) + f_varint(2, d.get("A", 0)) +
            f_varint(3, d.get("B", 0)) + f_varint(4, d.get("ID", 0)))


def flow_metric(d):
    return b"".join(f_varint(n, d.get(k, 0)) for n, k in
                    ((2, "ABPackets"), (3, "ABBytes"), (4, "BAPackets"), (5, "BABytes"),
                     (6, "Start"), (7, "Last"), (8, "RTT")))


def flow(d):
    b = f_bytes(1, d["UUID"]) + f_bytes(2, d.get("LayersPath", "")) + f_bytes(3, d.get("Application", ""))
    for num, key, enc in ((20, "Link", flow_layer), (21, "Network", flow_layer),
                          (22, "Transport", transport_layer), (32, "Metric", flow_metric),
                          (31, "LastUpdateMetric", flow_metric)):
        if key in d:
            b += f_bytes(num, enc(d[key]))
    b += f_varint(10, d.get("Start", 0)) + f_varint(11, d.get("Last", 0))
    b += f_bytes(50, d.get("TrackingID", "")) + f_bytes(51, d.get("L3TrackingID", ""))
    b += f_bytes(33, d.get("NodeTID", "")) + f_bytes(34, d.get("CaptureID", ""))
    return b


def flow_message(flows):
    return b"".join(f_bytes(1, flow(f)) for f in flows)


# ---- modes ------------------------------------------------------------------------------
def topology(a):
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    hdr = [f"GET /ws/agent/topology HTTP/1.1", f"Host: 127.0.0.1:{a.port}",
           "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
           "Sec-WebSocket-Version: 13", "X-Client-Type: agent",
           f"X-Client-Protocol: {a.protocol}", f"X-Host-ID: {a.host_id}"]
    sock.sendall(("\r\n".join(hdr) + "\r\n\r\n").encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = sock.recv(4096)
        if not chunk:
            break
        resp += chunk
    head, _, rest = resp.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0]
    print("handshake: " + status.decode(errors="replace"), file=sys.stderr)
    if b" 101 " not in status + b" ":
        print(rest.decode(errors="replace"), file=sys.stderr)
        return 3
    inp = os.open(a.input, os.O_RDONLY | os.O_NONBLOCK)
    os.open(a.input, os.O_WRONLY | os.O_NONBLOCK)  # a writer of our own: no EOF
    rd = Reader(sock, rest)
    pending = b""
    end = time.time() + a.timeout
    msg = b""
    while time.time() < end:
        r, _, _ = select.select([sock, inp], [], [], 0.2)
        if inp in r:
            pending += os.read(inp, 1 << 20)
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                line = line.decode().strip()
                if not line:
                    continue
                if line == "QUIT":
                    send_frame(sock, 8, (1000).to_bytes(2, "big"))
                    return 0
                if line.startswith("RAW "):
                    send_frame(sock, 2, bytes.fromhex(line[4:]))
                elif line == "PROTOBUF-OBJ":
                    send_frame(sock, 2, struct_message("Graph", "NodeAdded", "", 200, b"\x0a\x01x", fmt=1))
                elif line.startswith("TEXT "):
                    send_frame(sock, 1, line[5:].encode())
                else:
                    e = json.loads(line)
                    obj = json.dumps(e["Obj"]).encode() if "Obj" in e else b""
                    send_frame(sock, 2, struct_message(e.get("Namespace", "Graph"), e["Type"],
                                                       e.get("UUID", ""), e.get("Status", 200), obj))
        if sock in r or rd.buf:
            try:
                fin, op, payload = rd.frame(time.time() + 2)
            except (TimeoutError, ConnectionError):
                return 5
            if op == 9:
                send_frame(sock, 10, payload)
            elif op == 8:
                return 5
            elif op in (0, 1, 2):
                if op:
                    binary = op == 2
                msg += payload
                if fin:
                    out = parse_struct_message(msg) if binary else json.loads(msg)
                    out["Binary"] = binary
                    print(json.dumps(out), flush=True)
                    msg = b""
    return 0


def flows(a):
    with open(a.flows) as f:
        fl = json.load(f)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for one in fl:  # one flow per datagram, as Skydive's UDP client (bulkSize 1)
        s.sendto(flow_message([one]), ("127.0.0.1", a.port))
    for _ in range(a.garbage):
        s.sendto(b"\xff\xff\xff\xff not a flow.Message", ("127.0.0.1", a.port))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("topology")
    t.add_argument("port", type=int)
    t.add_argument("--host-id", required=True)
    t.add_argument("--protocol", default="protobuf")
    t.add_argument("--input", required=True)
    t.add_argument("--timeout", type=float, default=60)
    f = sub.add_parser("flows")
    f.add_argument("port", type=int)
    f.add_argument("--flows", required=True)
    f.add_argument("--garbage", type=int, default=0)
    a = ap.parse_args()
    return topology(a) if a.mode == "topology" else flows(a)


if __name__ == "__main__":
    sys.exit(main())
