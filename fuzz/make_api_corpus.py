#!/usr/bin/python3
"""make_api_corpus.py - writes the seeds of fuzz_graph_msg (Skydive's graph message
envelopes, one message per line, docs/API.md), fuzz_capture_body (Capture bodies, JSON and
YAML, with a Content-Type selector byte) and fuzz_config (YAML configuration files) into
OUTDIR/graph_msg, OUTDIR/capture_body and OUTDIR/config. Only the standard library.

Usage: python3 fuzz/make_api_corpus.py OUTDIR
The checked-in corpora (fuzz/corpus/NAME) are these seeds after fuzzing and
`-merge=1` (fuzz/README.md).
"""
import json
import os
import sys


def env(typ, obj=None, ns="Graph"):
    m = {"Namespace": ns, "Type": typ, "UUID": "u-1", "Status": 200}
    if obj is not None:
        m["Obj"] = obj
    return json.dumps(m, separators=(",", ":"))


def node(nid, name, typ, **md):
    d = {"Name": name, "Type": typ}
    d.update(md)
    return {"ID": nid, "Metadata": d, "Host": "host-a", "CreatedAt": 1, "UpdatedAt": 1,
            "Revision": 1}


def edge(eid, parent, child, rel="ownership"):
    return {"ID": eid, "Parent": parent, "Child": child, "Metadata": {"RelationType": rel},
            "Host": "host-a"}


def graph_msg_seeds():
    h = node("h", "host-a", "host")
    ns = node("n", "ns1", "netns", Path="/var/run/netns/ns1")
    a = node("a", "eth0", "device", MTU=1500, MAC="02:00:00:00:00:01",
             IPV4=["10.0.0.1/24"], Captures=[{"ID": "c1", "State": "active"}])
    b = node("b", "veth0", "veth", MTU=1500, Ovs={"ExtID": {"k": "v"}})
    sync = env("Sync", {"Nodes": [h, ns, a, b],
                        "Edges": [edge("e1", "h", "n"), edge("e2", "n", "a"),
                                  edge("e3", "a", "b", "layer2")]})
    seeds = {
        "sync": [sync],
        "added": [env("NodeAdded", h), env("NodeAdded", a), env("EdgeAdded", edge("e1", "h", "a"))],
        "updated": [sync, env("NodeUpdated", dict(a, Metadata={"Name": "eth0", "Type": "device",
                                                               "MTU": 9000}))],
        "partial": [sync, env("NodePartiallyUpdated",
                              {"ID": "a", "Ops": [{"Type": 1, "Key": "MTU", "Value": 1400},
                                                  {"Type": 2, "Key": "MAC"},
                                                  {"Type": "add", "Key": "Ovs.ExtID.x",
                                                   "Value": "y"},
                                                  {"Type": "del", "Key": "Captures"}]}),
                    env("EdgePartiallyUpdated",
                        {"ID": "e3", "Ops": [{"Type": 1, "Key": "Weight", "Value": 3}]})],
        "deleted": [sync, env("EdgeDeleted", {"ID": "e3"}), env("NodeDeleted", {"ID": "n"}),
                    env("NodeDeleted", {"ID": "missing"})],
        "publishers": [sync, "1:" + env("NodeAdded", node("p", "pub", "device")),
                       "2:" + env("EdgeAdded", edge("pe", "p", "a", "layer2")),
                       "1:" + env("Sync", {"Nodes": [], "Edges": []}),
                       "0:" + env("NodeUpdated", dict(h, Host="other"))],
        "syncrequest": [env("SyncRequest", {"GremlinFilter": "G.V()", "Time": 0}),
                        env("SyncRequest", {"Nodes": [h], "Edges": []}),
                        env("SyncReply", {"Nodes": [a], "Edges": []})],
        "errors": ['{"Type": 1}', "[]", "{", env("NodeAdded", {"Metadata": {}}),
                   env("EdgeAdded", edge("x", "nope", "h")), env("NodeAdded"),
                   env("Hello", {"ID": "z"}), env("NodeAdded", h, ns="OnDemand"),
                   '{"Namespace": 3, "Type": "NodeAdded"}'],
        "dotted": [env("NodeAdded", node("d", "dot", "device", **{"a.b": 1, "c": {"d": 2}})),
                   env("NodeUpdated", node("d", "dot", "device", **{"a.b": 2, "c": {"d": 3}}))],
    }
    # the first byte picks the subscriber filter (% 6; '5' none): a first line "0".."5",
    # which is no message, varies it across seeds
    out = {}
    for i, (k, lines) in enumerate(seeds.items()):
        out[k] = str(i % 6) + "\n" + "\n".join(lines) + "\n"
    return out


def capture_seeds():
    # selector byte: low 3 bits Content-Type (0 none/JSON, 1 json, 2 yaml, 3 x-yaml, 4 text/yaml,
    # 5 " Application/YAML", 6 text/plain, 7 text/x-yaml); bit 3: TTL line first
    def sel(ct, ttl=None):
        return bytes([ct | (8 if ttl is not None else 0)]) + (
            (ttl + "\n").encode() if ttl is not None else b"")

    j = {"GremlinQuery": "G.V().Has('Name', 'eth0')", "BPFFilter": "icmp or tcp port 80",
         "Name": "c", "Description": "d", "Type": "afpacket", "RawPacketLimit": 5,
         "HeaderSize": 128, "ExtraTCPMetric": True, "LayerKeyMode": "L3",
         "ExtraLayers": ["DNS", "VRRP"], "SamplingRate": 1, "PollingInterval": 10}
    yaml_body = (b"GremlinQuery: G.V().Has('Type', 'device')\nBPFFilter: udp\n"
                 b"Type: pcap\nRawPacketLimit: -1\nExtraLayers: 255\nip_defrag: yes\n")
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for n in "bcdefghi":
        bomb += ("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % (
            (n, n) + (prev,) * 9)).encode()
        prev = n
    bomb += b"GremlinQuery: G.V()\n"
    return {
        "json": sel(0) + json.dumps(j).encode(),
        "json-ct": sel(1) + json.dumps({"GremlinQuery": "G.V()"}).encode(),
        "json-ttl": sel(0, "1h30m") + json.dumps({"GremlinQuery": "G.V().Has('Type','host')"}).encode(),
        "json-ttl-ms": sel(1, "300000") + b'{"gremlinquery": "G.V()", "type": "ovsmirror"}',
        "json-bad-ttl": sel(0, "1x") + b'{"GremlinQuery": "G.V()"}',
        "json-bad-bpf": sel(0) + b'{"GremlinQuery": "G.V()", "BPFFilter": "tcp port"}',
        "json-bad-gremlin": sel(0) + b'{"GremlinQuery": "G.V().Has("}',
        "json-edges": sel(0) + b'{"GremlinQuery": "G.E()"}',
        "json-type-refused": sel(0) + b'{"GremlinQuery": "G.V().Has(\'Type\', \'host\')", "Type": "ovsmirror"}',
        "json-ranges": sel(0) + b'{"GremlinQuery": "G.V()", "Port": 70000, "HeaderSize": 5}',
        "yaml": sel(2) + yaml_body,
        "yaml-x": sel(3) + yaml_body,
        "yaml-text": sel(4, "30s") + yaml_body,
        "yaml-space": sel(5) + b"{GremlinQuery: 'G.V()', SamplingRate: 0x10}\n",
        "yaml-anchors": sel(7) + b"q: &q G.V()\nGremlinQuery: *q\nName: *q\n",
        "yaml-bomb": sel(2) + bomb,
        "yaml-deep": sel(2) + b"GremlinQuery: G.V()\nx: " + b"[" * 40 + b"]" * 40 + b"\n",
        "yaml-bad": sel(2) + b"GremlinQuery: [\n",
        "yaml-list": sel(2) + b"- a\n- b\n",
        "plain": sel(6) + b"GremlinQuery=G.V()",
    }


def config_seeds():
    here = os.path.dirname(os.path.abspath(__file__))
    example = open(os.path.join(here, "..", "etc", "skydive.yml.example"), "rb").read()
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for n in "bcdefghi":
        bomb += ("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % (
            (n, n) + (prev,) * 9)).encode()
        prev = n
    return {
        "example": example,
        "analyzer": (b"host_id: h1\nanalyzers: [10.0.0.1:8082, '[::1]:8082']\n"
                     b"analyzer:\n  listen: 0.0.0.0:8082\n  data_dir: /tmp/x\n"
                     b"  flow: {max_flows: 1000, max_age: 30m, raw_max_bytes: 1048576}\n"
                     b"http:\n  cors: {allowed_origins: ['http://a:1', '*.b.org']}\n"),
        "agent": (b"agent:\n  listen: :8081\n  metadata: {rack: r1, n: 3}\n"
                  b"  topology: {probes: [netlink, ovsdb], netlink: {metrics_update: 0.5}}\n"
                  b"  capture: {workers: 4, stats_update: 2}\n  flow: {queue_size: 100}\n"
                  b"flow: {expire: 10, update: 1, max_entries: 100}\novs: {ovsdb: unix:///x}\n"),
        "types": (b"analyzer: {flow: {max_flows: '12', max_age: -1, raw_max_bytes: 1.5}}\n"
                  b"flow: {expire: true, update: null}\nagent: {capture: {workers: 1000}}\n"),
        "scalar-over-map": b"analyzer: 5\nagent: [a, b]\nhttp: {cors: 3}\n",
        "anchors": b"base: &b {listen: 127.0.0.1:1}\nanalyzer: *b\nagent: {<<: *b}\n",
        "bomb": bomb,
        "deep": b"a: " + b"{b: " * 70 + b"1" + b"}" * 70 + b"\n",
        "bad": b"analyzer:\n  listen: [\n",
        "not-map": b"- a\n- b\n",
        "empty": b"",
        "tabs": b"analyzer:\n\tlisten: x\n",
        "multi-doc": b"a: 1\n---\nb: 2\n",
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for sub, seeds in (("graph_msg", graph_msg_seeds()), ("capture_body", capture_seeds()),
                       ("config", config_seeds())):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for i, (name, data) in enumerate(seeds.items()):
            if isinstance(data, str):
                data = data.encode()
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
        print("%d seeds in %s" % (len(seeds), d))


if __name__ == "__main__":
    main()
