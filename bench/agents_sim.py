#!/usr/bin/env python3
"""agents_sim.py - many simulated agents in one process, for bench/agents_bench.sh: each
opens the analyzer's /ws/agent/topology as an agent does (X-Client-Type agent, its own
X-Host-ID), sends its host node and K interface nodes with their ownership edges
(Skydive's JSON graph messages), then NodePartiallyUpdated messages of interface
counters at R updates/s for S seconds, answering the analyzer's pings. Agent i talks to
port i % len(ports) (no peering: each analyzer holds its own agents).

  agents_sim.py --ports 8082[,8083,...] [--agents 200] [--interfaces 10] [--rate 5]
                [--seconds 20]

Output: "key value" lines: agents_connected, messages_sent, updates_sent,
updates_per_s_offered, seconds, refused (handshakes not answered 101), closed (by the
analyzer during the run). Standard library only (the tests' ws_client.py).
"""
import argparse
import json
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from ws_client import handshake, send_frame  # noqa: E402


class Agent:
    def __init__(self, i, port, nif):
        self.i, self.port, self.nif = i, port, nif
        self.host = f"sim{i:04d}"
        self.buf = b""
        self.sock = None
        self.counter = 0

    def connect(self):
        sock, head, rest = handshake(self.port, "/ws/agent/topology", "agent", self.host)
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            sock.close()
            return False
        self.sock, self.buf = sock, rest
        sock.setblocking(False)
        return True

    def send(self, msg):
        self.sock.setblocking(True)
        send_frame(self.sock, 1, json.dumps(msg, separators=(",", ":")).encode())
        self.sock.setblocking(False)

    def topology(self):
        hid = f"{self.host}-host"
        self.send({"Namespace": "Graph", "Type": "NodeAdded", "Obj": {
            "ID": hid, "Metadata": {"Name": self.host, "Type": "host"}}})
        for k in range(self.nif):
            nid = f"{self.host}-if{k}"
            self.send({"Namespace": "Graph", "Type": "NodeAdded", "Obj": {
                "ID": nid, "Metadata": {"Name": f"eth{k}", "Type": "device", "MTU": 1500,
                                        "State": "UP", "MAC": "02:00:00:%02x:%02x:%02x" % (
                                            self.i >> 8 & 255, self.i & 255, k),
                                        "IfIndex": k + 2}}})
            self.send({"Namespace": "Graph", "Type": "EdgeAdded", "Obj": {
                "ID": f"{nid}-own", "Parent": hid, "Child": nid,
                "Metadata": {"RelationType": "ownership"}}})
        return 1 + 2 * self.nif

    def update(self):
        self.counter += 1
        k = self.counter % self.nif
        self.send({"Namespace": "Graph", "Type": "NodePartiallyUpdated", "Obj": {
            "ID": f"{self.host}-if{k}", "Ops": [
                {"Type": 1, "Key": "Metric.RxPackets", "Value": self.counter * 10},
                {"Type": 1, "Key": "Metric.TxPackets", "Value": self.counter * 7}]}})

    def drain(self):
        """Reads what arrived; answers pings. False when the analyzer closed."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return False
                self.buf += chunk
        except BlockingIOError:
            pass
        except OSError:
            return False
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    break
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    break
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < off + n:
                break
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0F
            if op == 9:
                self.sock.setblocking(True)
                send_frame(self.sock, 10, payload)
                self.sock.setblocking(False)
            elif op == 8:
                return False
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--interfaces", type=int, default=10)
    ap.add_argument("--rate", type=float, default=5, help="updates/s per agent")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--linger", type=float, default=0,
                    help="seconds to stay connected after the stats are printed (the "
                    "bench reads the analyzers' graphs meanwhile)")
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")]
    agents, refused = [], 0
    for i in range(a.agents):
        ag = Agent(i, ports[i % len(ports)], a.interfaces)
        if ag.connect():
            agents.append(ag)
        else:
            refused += 1
    msgs = sum(ag.topology() for ag in agents)
    updates, closed = 0, 0
    t0 = time.time()
    tick, due = 0.1, 0.0
    live = list(agents)
    while time.time() - t0 < a.seconds and live:
        due += a.rate * tick
        n = int(due)
        due -= n
        for ag in list(live):
            try:
                for _ in range(n):
                    ag.update()
                updates += n
            except OSError:
                live.remove(ag)
                closed += 1
                continue
            if not ag.drain():
                live.remove(ag)
                closed += 1
        r, _, _ = select.select([], [], [], max(0.0, t0 + tick * (int((time.time() - t0) / tick) + 1) - time.time()))
    secs = time.time() - t0
    print(f"agents_connected {len(agents)}")
    print(f"refused {refused}")
    print(f"closed {closed}")
    print(f"messages_sent {msgs + updates}")
    print(f"updates_sent {updates}")
    print(f"seconds {secs:.2f}")
    print(f"updates_per_s_offered {updates / secs:.0f}")
    # what every analyzer's graph should hold now: the last RxPackets of each interface
    # (interface k of an agent got its last update at the last counter c with c % K == k)
    rx = 0
    for ag in agents:
        for k in range(ag.nif):
            last = max((c for c in range(max(1, ag.counter - ag.nif + 1), ag.counter + 1)
                        if c % ag.nif == k), default=None)
            if last is not None:
                rx += last * 10
    print(f"expected_nodes {sum(1 + ag.nif for ag in agents)}")
    print(f"expected_rx_sum {rx}")
    print("done", flush=True)
    time.sleep(a.linger)
    for ag in agents:
        try:
            ag.sock.close()
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
