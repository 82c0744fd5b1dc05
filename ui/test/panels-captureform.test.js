import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  gremlinForNodes, typeOptions, typesForNodeType, buildCaptureRequest, emptyForm, fieldForError,
  captureErrorInfo, validTTL, ttlToMs, nameForNodes,
} from '../src/lib/captureForm.js';

const node = (id, type, tid = id, name = id) => ({ ID: id, Metadata: { Type: type, TID: tid, Name: name } });

test('Gremlin prefill for a selection', () => {
  assert.equal(gremlinForNodes([]), '');
  assert.equal(gremlinForNodes([node('a', 'veth')]), "G.V().Has('TID', 'a')");
  assert.equal(gremlinForNodes([node('a', 'veth'), node('b', 'veth')]), "G.V().Has('TID', Within('a', 'b'))");
  assert.equal(gremlinForNodes([node('a', 'veth'), node('a2', 'veth', 'a')]), "G.V().Has('TID', 'a')");
  // a node without TID: by IDs
  assert.equal(gremlinForNodes([node('a', 'veth'), { ID: "it's", Metadata: { Type: 'host' } }]), "G.V('a', 'it\\'s')");
  assert.equal(nameForNodes([node('a', 'veth', 'a', 'eth0'), node('b', 'veth', 'b', 'eth1')]), 'eth0, eth1 capture');
});

test('capture types per node type, default first', () => {
  assert.deepEqual(typesForNodeType('veth'), ['afpacket', 'pcap', 'pcapsocket', 'sflow', 'ebpf']);
  assert.deepEqual(typesForNodeType('ovsbridge'), ['ovssflow', 'pcapsocket', 'ovsnetflow']);
  assert.equal(typesForNodeType('netns'), null);
  let o = typeOptions(['veth', 'device']);
  assert.equal(o[0].value, 'afpacket');
  assert.match(o[0].label, /default/);
  assert.deepEqual(o.map((x) => x.value), ['afpacket', 'pcap', 'pcapsocket', 'sflow', 'ebpf']);
  o = typeOptions(['ovsport']);
  assert.deepEqual(o.map((x) => x.value), ['ovsmirror']);
  // mixed defaults: '' (each node's default) first, then what all allow (else any)
  o = typeOptions(['veth', 'ovsbridge']);
  assert.deepEqual(o.map((x) => x.value), ['', 'pcapsocket']);
  o = typeOptions(['ovsport', 'dpdkport']);
  assert.deepEqual(o.map((x) => x.value), ['', 'ovsmirror', 'dpdk']);
  o = typeOptions([]);
  assert.equal(o[0].value, '');
  assert.equal(o.length, 10);
  o = typeOptions(['netns', 'veth']);
  assert.equal(o[0].value, 'afpacket');
});

test('form values → POST body and TTL header', () => {
  const v = { ...emptyForm(), GremlinQuery: " G.V().Has('Name', 'eth0') ", Name: 'n', BPFFilter: 'icmp', Type: 'afpacket',
    RawPacketLimit: '5', HeaderSize: '', SamplingRate: '0', LayerKeyMode: 'L3', IPDefrag: true, ExtraLayers: ['DNS', 'VRRP', 'bogus'],
    Target: '192.0.2.1:2055', TargetType: 'netflowv5', TTL: '5m' };
  const r = buildCaptureRequest(v);
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.body, { GremlinQuery: "G.V().Has('Name', 'eth0')", Name: 'n', BPFFilter: 'icmp', Type: 'afpacket',
    RawPacketLimit: 5, SamplingRate: 0, LayerKeyMode: 'L3', IPDefrag: true, ExtraLayers: ['DNS', 'VRRP'], Target: '192.0.2.1:2055', TargetType: 'netflowv5' });
  assert.deepEqual(r.headers, { 'X-Resource-TTL': '5m' });
  const e = buildCaptureRequest({ ...emptyForm(), RawPacketLimit: '-2', HeaderSize: '10', Port: 'x', TTL: '5 minutes', Target: 'nohost', Type: 'ebpf', BPFFilter: 'icmp' });
  assert.deepEqual(Object.keys(e.errors).sort(), ['BPFFilter', 'GremlinQuery', 'HeaderSize', 'Port', 'RawPacketLimit', 'TTL', 'Target']);
  assert.deepEqual(buildCaptureRequest({ ...emptyForm(), GremlinQuery: 'G.V()', RawPacketLimit: '-1', HeaderSize: '0' }).body,
    { GremlinQuery: 'G.V()', RawPacketLimit: -1, HeaderSize: 0 });
});

test('TTL: Go durations or milliseconds', () => {
  for (const s of ['30s', '5m', '1h30m', '1.5h', '300ms', '60000', '0', '']) assert.ok(validTTL(s), s);
  for (const s of ['5', '5 m', 'm', '1d', '-5m']) if (s !== '5') assert.ok(!validTTL(s), s);
  assert.equal(ttlToMs('1h30m'), 5400000);
  assert.equal(ttlToMs('1.5h'), 5400000);
  assert.equal(ttlToMs('250'), 250);
  assert.equal(ttlToMs('bad'), null);
});

test('400 reason → the field it concerns', () => {
  const cases = [
    ["invalid GremlinQuery: expected ')' or ',' at position 21", 'GremlinQuery'],
    ["GremlinQuery must return nodes to capture on, e.g. G.V().Has('Type', 'veth'); this one returns values", 'GremlinQuery'],
    ["BPFFilter: invalid BPF filter 'icmp and': can't parse filter expression: syntax error", 'BPFFilter'],
    ['capture type ebpf does not take a BPFFilter: remove it, or use afpacket or pcap', 'BPFFilter'],
    ['capture type ovsmirror not allowed on node type veth (allowed: afpacket, pcap, pcapsocket, sflow, ebpf)', 'Type'],
    ["unknown capture type 'foo': expected one of afpacket, pcap", 'Type'],
    ['HeaderSize 5 is out of range: expected 0 (default, 256 bytes) or 14..65535', 'HeaderSize'],
    ['RawPacketLimit -3 is out of range: expected -1 (every packet), 0 (none) or a positive count', 'RawPacketLimit'],
    ['SamplingRate 5000000000 is out of range', 'SamplingRate'],
    ['PollingInterval -1 is out of range', 'PollingInterval'],
    ["LayerKeyMode 'L4' is invalid: expected L2 or L3", 'LayerKeyMode'],
    ["TargetType 'x' is invalid: expected netflowv5 or erspanv1", 'TargetType'],
    ["Target 'x' is invalid: expected HOST:PORT, e.g. 192.0.2.10:2055", 'Target'],
    ['Port 70000 is out of range: expected 0..65535 (0: allocated)', 'Port'],
    ['ExtraLayers item #0 is invalid: expected VRRP, DNS, DHCPv4 or ALL', 'ExtraLayers'],
    ["invalid X-Resource-TTL '5 minutes': expected a Go duration such as 30s, 5m or 1h30m", 'TTL'],
    ["Capture 'abc' already has the same settings (only Name and Description differ): delete it first or change a setting", null],
    ['out of memory', null],
  ];
  for (const [m, f] of cases) assert.equal(fieldForError(m), f, m);
  assert.deepEqual(captureErrorInfo({ status: 400, message: "invalid GremlinQuery: expected ')' or ',' at position 21", position: 21 }),
    { field: 'GremlinQuery', message: "invalid GremlinQuery: expected ')' or ',' at position 21", position: 21 });
  assert.equal(captureErrorInfo({ message: 'GremlinQuery cannot be evaluated: x at position 4', position: null }).position, 4);
  assert.equal(captureErrorInfo({ message: 'BPFFilter: syntax error at position 3' }).position, null);
});
