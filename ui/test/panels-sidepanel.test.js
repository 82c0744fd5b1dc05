import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultPanelWidth, clampPanelWidth, storedPanelWidth, MIN_WIDTH, DEFAULT_MAX_WIDTH, nodeSummary, pendingCaptures,
  flowCountQuery,
} from '../src/lib/sidePanel.js';
import { endpointText, compactCell, sortFlows, COMPACT_COLUMNS, flowValue } from '../src/lib/flows.js';

test('side panel width: ~40% of the window up to 720 px, bounded, stored value re-clamped', () => {
  assert.equal(defaultPanelWidth(1400), 560);
  assert.equal(defaultPanelWidth(1920), DEFAULT_MAX_WIDTH);
  assert.equal(defaultPanelWidth(800), MIN_WIDTH); // 320 < min
  assert.equal(clampPanelWidth(100, 1400), MIN_WIDTH);
  assert.equal(clampPanelWidth(5000, 1400), 1400 - 280);
  assert.equal(clampPanelWidth(700.4, 1400), 700);
  assert.equal(clampPanelWidth(500, 500), MIN_WIDTH); // tiny window: the minimum wins
  assert.equal(clampPanelWidth('x', 1400), 560);
  assert.equal(storedPanelWidth(null, 1400), 560);
  assert.equal(storedPanelWidth('', 1400), 560);
  assert.equal(storedPanelWidth('garbage', 1400), 560);
  assert.equal(storedPanelWidth('-5', 1400), 560);
  assert.equal(storedPanelWidth('800', 1400), 800);
  assert.equal(storedPanelWidth('1300', 1400), 1120); // the window shrank since
});

test('node summary: type, state, host, IPs without link-local, MAC, captures', () => {
  const n = { ID: 'n1', Host: 'host1', Metadata: { Name: 'eth0', Type: 'veth', State: 'UP', MAC: '02:00:00:00:00:01',
    IPV4: ['10.0.0.1/24'], IPV6: ['fe80::1/64', '2001:db8::1/64'], Captures: [{ ID: 'c1', State: 'active' }] } };
  assert.deepEqual(nodeSummary(n), { name: 'eth0', type: 'veth', state: 'UP', host: 'host1',
    ips: ['10.0.0.1/24', '2001:db8::1/64'], mac: '02:00:00:00:00:01', captures: [{ ID: 'c1', State: 'active' }] });
  assert.deepEqual(nodeSummary(null, 'gone'), { name: 'gone', type: '', state: '', host: '', ips: [], mac: '', captures: [] });
});

test('pending captures: only what the dispatcher says of this very node', () => {
  const status = {
    IsMaster: true,
    Dispatch: { Runs: 3 },
    Captures: {
      IsMaster: true,
      c1: { Nodes: { eth0a: 'starting', eth0b: 'active' }, Ignored: 0 },
      c2: { Nodes: { eth0a: 'error: afpacket: bind: no such device' } },
      c3: { Nodes: { eth0a: 'started' } },
      gone: { Nodes: { eth0a: 'starting' } },
      Dispatch: { Runs: 3 },
    },
  };
  const caps = { c1: { UUID: 'c1', Name: 'ui-tutorial' }, c2: { UUID: 'c2', Name: 'broken' }, c3: { UUID: 'c3' } };
  const eth0a = { ID: 'eth0a', Metadata: { Name: 'eth0' } };
  const got = pendingCaptures(eth0a, status, caps);
  assert.deepEqual(got.map((p) => [p.UUID, p.Name, p.state]), [['c2', 'broken', 'error'], ['c3', '', 'started'], ['c1', 'ui-tutorial', 'starting']]);
  assert.equal(got[0].error, 'afpacket: bind: no such device');
  assert.match(got[0].text, /could not start it: afpacket: bind/);
  // the agent already reports c1 on eth0b: nothing pending there
  const eth0b = { ID: 'eth0b', Metadata: { Captures: [{ ID: 'c1', State: 'active' }] } };
  assert.deepEqual(pendingCaptures(eth0b, status, caps), []);
  // a node created later, not matched by any capture's query (the uitestveth case)
  assert.deepEqual(pendingCaptures({ ID: 'uitestveth', Metadata: { Name: 'uitestveth' } }, status, caps), []);
  // without the capture list, names are unknown but states still shown
  assert.equal(pendingCaptures(eth0a, status, null).length, 4);
  assert.deepEqual(pendingCaptures(eth0a, null, caps), []);
  assert.deepEqual(pendingCaptures(eth0a, { Captures: null }, caps), []);
  assert.deepEqual(pendingCaptures(null, status, caps), []);
});

test('flow count query', () => {
  assert.equal(flowCountQuery('G', "a'b"), "G.V('a\\'b').Flows().Count()");
  assert.equal(flowCountQuery('G.At(1000, 60)', 'n1'), "G.At(1000, 60).V('n1').Flows().Count()");
});

const icmp = { UUID: 'u1', Application: 'ICMPv4', ICMP: { Type: 'ECHO' }, Link: { A: '02:00:00:00:00:01', B: '02:00:00:00:00:02' },
  Network: { A: '10.0.0.1', B: '10.0.0.2' }, Metric: { ABPackets: 3, ABBytes: 126, BAPackets: 1, BABytes: 42, RTT: 1200000 },
  Start: 1700000000000, Last: 1700000002001 };
const tcp6 = { UUID: 'u2', Application: 'TCP', Network: { A: '2001:db8::1', B: '2001:db8::2' }, Transport: { Protocol: 'TCP', A: 40000, B: 80 },
  Metric: { ABPackets: 20, ABBytes: 5000, BAPackets: 1, BABytes: 54 }, Start: 1700000005000, Last: 1700000009000 };
const arp = { UUID: 'u3', Application: 'ARP', Link: { Protocol: 'ETHERNET', A: '02:00:00:00:00:09', B: 'ff:ff:ff:ff:ff:ff' },
  Metric: { ABPackets: 1, ABBytes: 42 } };
const dns = { UUID: 'u4', Application: 'DNS', Network: { A: '10.0.0.9', B: '10.0.0.1' }, Transport: { Protocol: 'UDP', A: 5353, B: 53 },
  Metric: { ABPackets: 1, BAPackets: 1 } };

test('compact flow cells: IP:port over MAC, both directions, times to the second', () => {
  assert.deepEqual(endpointText(icmp, 'A'), { main: '10.0.0.1', sub: '02:00:00:00:00:01' });
  assert.deepEqual(endpointText(tcp6, 'B'), { main: '[2001:db8::2]:80', sub: '' });
  assert.deepEqual(endpointText(dns, 'A'), { main: '10.0.0.9:5353', sub: '' });
  assert.deepEqual(endpointText(arp, 'B'), { main: 'ff:ff:ff:ff:ff:ff', sub: '' });
  assert.equal(endpointText({ Network: { A: '10.0.0.1' }, Transport: { A: 0 } }, 'A').main, '10.0.0.1:0');
  assert.deepEqual(compactCell(icmp, 'Application'), { main: 'ICMPv4', sub: 'ECHO' });
  assert.deepEqual(compactCell(dns, 'Application'), { main: 'DNS', sub: 'UDP' });
  assert.deepEqual(compactCell(tcp6, 'Application'), { main: 'TCP', sub: '' });
  assert.equal(compactCell(icmp, 'Packets').main, '3');
  assert.equal(compactCell(icmp, 'Packets').sub, '1');
  assert.equal(compactCell(tcp6, 'Bytes').main, '4.9 KiB');
  assert.equal(compactCell(tcp6, 'Bytes').sub, '54 B');
  assert.equal(compactCell(icmp, 'RTT').main, '1.20 ms');
  const last = compactCell(icmp, 'Last', 1700000002001);
  assert.match(last.main, /^\d\d:\d\d:\d\d$/);
  assert.match(last.sub, /^\d\d:\d\d:\d\d$/);
  assert.match(last.title, /\.001$/);
  for (const c of COMPACT_COLUMNS) assert.ok(flowValue(icmp, c.sort) !== undefined, c.id);
});

test('compact sort keys: endpoint (IP else MAC), totals of both directions', () => {
  const all = [icmp, tcp6, arp, dns];
  assert.deepEqual(sortFlows(all, 'Packets', 'desc').map((f) => f.UUID), ['u2', 'u1', 'u4', 'u3']);
  assert.deepEqual(sortFlows(all, 'Bytes', 'desc').map((f) => f.UUID), ['u2', 'u1', 'u3', 'u4']);
  assert.deepEqual(sortFlows(all, 'A').map((f) => f.UUID), ['u3', 'u1', 'u4', 'u2']);
});
