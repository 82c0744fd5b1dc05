import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  sortFlows, filterFlows, formatBytes, formatRTT, formatCount, formatCell, flowValue,
  nodeFlowsQuery, flowsPcapQuery, pcapErrorText, quote, formatTime,
} from '../src/lib/flows.js';

const icmp = { UUID: 'u1', Application: 'ICMPv4', LayersPath: 'Ethernet/IPv4/ICMPv4', Link: { A: '02:00:00:00:00:01', B: '02:00:00:00:00:02' },
  Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2' }, Metric: { ABPackets: 3, ABBytes: 126, BAPackets: 3, BABytes: 126, RTT: 1200000 },
  Start: 1700000000000, Last: 1700000002001 };
const tcp = { UUID: 'u2', Application: 'TCP', Network: { A: '10.0.0.10', B: '10.0.0.2' }, Transport: { Protocol: 'TCP', A: 40000, B: 80 },
  Metric: { ABPackets: 20, ABBytes: 5000, BAPackets: 1, BABytes: 54 }, Start: 1700000005000, Last: 1700000009000 };
const dns = { UUID: 'u3', Application: 'DNS', Network: { A: '10.0.0.9', B: '10.0.0.1' }, Transport: { Protocol: 'UDP', A: 5353, B: 53 },
  LastUpdateMetric: { ABPackets: 1, ABBytes: 80, BAPackets: 1, BABytes: 120 }, Start: 1700000001000, Last: 1700000001000 };
const all = [icmp, tcp, dns];

test('values read Metric, else LastUpdateMetric', () => {
  assert.equal(flowValue(icmp, 'ABPackets'), 3);
  assert.equal(flowValue(dns, 'BABytes'), 120);
  assert.equal(flowValue(icmp, 'TransportA'), '');
  assert.equal(flowValue(tcp, 'TransportB'), 80);
  assert.equal(flowValue(icmp, 'RTT'), 1200000);
});

test('sort by number, string, both directions; stable and non-mutating', () => {
  assert.deepEqual(sortFlows(all, 'ABBytes', 'desc').map((f) => f.UUID), ['u2', 'u1', 'u3']);
  assert.deepEqual(sortFlows(all, 'ABBytes', 'asc').map((f) => f.UUID), ['u3', 'u1', 'u2']);
  assert.deepEqual(sortFlows(all, 'Application').map((f) => f.UUID), ['u3', 'u1', 'u2']);
  // numeric-aware: 10.0.0.9 < 10.0.0.10
  assert.deepEqual(sortFlows([tcp, dns], 'NetworkA').map((f) => f.UUID), ['u3', 'u2']);
  // empty values last
  assert.deepEqual(sortFlows(all, 'TransportA').map((f) => f.UUID), ['u3', 'u2', 'u1']);
  assert.deepEqual(all.map((f) => f.UUID), ['u1', 'u2', 'u3']);
  assert.deepEqual(sortFlows(all, 'nope').map((f) => f.UUID), ['u1', 'u2', 'u3']);
});

test('filter: terms, key=value, negation, case', () => {
  assert.deepEqual(filterFlows(all, '').length, 3);
  assert.deepEqual(filterFlows(all, 'icmp').map((f) => f.UUID), ['u1']);
  assert.deepEqual(filterFlows(all, '10.0.0.1').map((f) => f.UUID), ['u1', 'u2', 'u3']);
  assert.deepEqual(filterFlows(all, 'port=80').map((f) => f.UUID), ['u2']);
  assert.deepEqual(filterFlows(all, 'app:dns').map((f) => f.UUID), ['u3']);
  assert.deepEqual(filterFlows(all, '-icmpv4').map((f) => f.UUID), ['u2', 'u3']);
  assert.deepEqual(filterFlows(all, 'udp 53').map((f) => f.UUID), ['u3']);
  assert.deepEqual(filterFlows(all, 'NetworkA=10.0.0.9').map((f) => f.UUID), ['u3']);
  assert.deepEqual(filterFlows(all, 'TCP').map((f) => f.UUID), ['u2']);
});

test('formatting', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
  assert.equal(formatRTT(0), '');
  assert.equal(formatRTT(22413), '22 µs');
  assert.equal(formatRTT(1200000), '1.20 ms');
  assert.equal(formatRTT(2.5e9), '2.50 s');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(12345), '12.3k');
  assert.equal(formatCell(icmp, 'ABBytes'), '126 B');
  assert.match(formatTime(1700000000123), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.123$/);
  assert.match(formatTime(1700000000123, 1700000000999), /^\d\d:\d\d:\d\d\.123$/);
});

test('queries: node flows, time travel, pcap of one or several flows', () => {
  assert.equal(quote("a'b\\c"), "'a\\'b\\\\c'");
  assert.equal(nodeFlowsQuery('n1'), "G.V('n1').Flows()");
  assert.equal(nodeFlowsQuery('n1', 1700000000000, 60), "G.At(1700000000000, 60).V('n1').Flows()");
  assert.equal(flowsPcapQuery('n1', 'u1'), "G.V('n1').Flows().Has('UUID', 'u1').RawPackets()");
  assert.equal(flowsPcapQuery('n1', ['u1', 'u2']), "G.V('n1').Flows().Has('UUID', Within('u1', 'u2')).RawPackets()");
  assert.equal(pcapErrorText({ status: 406, message: 'x' }), 'no raw packets kept: set a raw packet limit on the capture');
  assert.equal(pcapErrorText({ status: 500, message: 'boom' }), 'boom');
});
