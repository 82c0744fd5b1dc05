import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyRange, sliderToTime, timeToSlider, timeLabel, agoText, SLIDER_STEPS } from '../src/lib/timeTravel.js';
import { resultKind, tableColumns, isRawPacketsQuery, pushHistory, parseHistory, positionInQuery } from '../src/lib/console.js';
import { lossCounters, links, capturesPerNode, dispatchSummary } from '../src/lib/status.js';

test('time slider ↔ time over the history held', () => {
  const now = 1700000600000;
  const r = historyRange({ Topology: { HistoryOldest: 1700000000000, HistoryMaxAge: 3600000 } }, now);
  assert.deepEqual(r, { min: 1700000000000, max: now });
  assert.deepEqual(historyRange({}, now), { min: now - 3600000, max: now });
  assert.deepEqual(historyRange({ Topology: { HistoryOldest: 0, HistoryMaxAge: 60000 } }, now), { min: now - 60000, max: now });
  assert.equal(timeToSlider(null, r), SLIDER_STEPS);
  assert.equal(sliderToTime(SLIDER_STEPS, r), null);
  assert.equal(sliderToTime(0, r), 1700000000000);
  assert.equal(sliderToTime(500, r), 1700000300000);
  assert.equal(timeToSlider(1700000300000, r), 500);
  assert.equal(timeToSlider(1600000000000, r), 0);
  assert.equal(timeToSlider(1800000000000, r), SLIDER_STEPS);
  assert.equal(sliderToTime(333, r) % 1000, 0);
  assert.equal(agoText(now - 200000, now), '3 min 20 s ago');
  assert.equal(agoText(now - 5000, now), '5 s ago');
  assert.equal(agoText(now - 7200000, now), '2 h 0 min ago');
  assert.equal(timeLabel(null, now), 'Live');
  assert.match(timeLabel(now - 60000, now), /^\d\d:\d\d:\d\d \(1 min ago\)$/);
});

test('console: result kinds and columns', () => {
  const nodes = [{ ID: 'a', Metadata: { Name: 'eth0', Type: 'veth', MTU: 1500, IPV4: ['x'] }, Host: 'h' },
    { ID: 'b', Metadata: { Name: 'eth1', Type: 'veth', MTU: 9000 }, Host: 'h' }];
  assert.equal(resultKind(nodes), 'nodes');
  assert.equal(resultKind([{ ID: 'e', Parent: 'a', Child: 'b', Metadata: {} }]), 'edges');
  assert.equal(resultKind([{ UUID: 'f', Metric: {} }]), 'flows');
  assert.equal(resultKind([3]), 'json');
  assert.equal(resultKind(5), 'json');
  assert.equal(resultKind({ a: 1 }), 'json');
  assert.equal(resultKind([]), 'empty');
  const cols = tableColumns(nodes, 'nodes');
  assert.deepEqual(cols.map((c) => c.label), ['Name', 'Type', 'State', 'Host', 'MTU', 'ID']);
  assert.equal(cols[4].get(nodes[1]), '9000');
  assert.deepEqual(tableColumns([{ ID: 'e', Parent: 'a', Child: 'b', Metadata: { RelationType: 'layer2' } }], 'edges').map((c) => c.label),
    ['RelationType', 'Parent', 'Child', 'ID']);
  assert.ok(tableColumns([{ UUID: 'f' }], 'flows').some((c) => c.key === 'Network.A'));
});

test('console: RawPackets queries, history, error positions', () => {
  assert.ok(isRawPacketsQuery("G.Flows().RawPackets()"));
  assert.ok(isRawPacketsQuery("G.V('x').Flows().Has('UUID', 'u').RawPackets()  "));
  assert.ok(isRawPacketsQuery("G.Flows().RawPackets().BPF('icmp and host 1.2.3.4')"));
  assert.ok(!isRawPacketsQuery("G.Flows().RawPackets().Count()"));
  assert.ok(!isRawPacketsQuery("G.Flows()"));
  let h = pushHistory([], 'a');
  h = pushHistory(h, 'b');
  h = pushHistory(h, ' a ');
  assert.deepEqual(h, ['a', 'b']);
  assert.deepEqual(pushHistory(h, ''), ['a', 'b']);
  assert.equal(pushHistory(Array.from({ length: 60 }, (_, i) => `q${i}`), 'new').length, 50);
  assert.deepEqual(parseHistory('["x", 3, "y"]'), ['x', 'y']);
  assert.deepEqual(parseHistory('garbage'), []);
  assert.deepEqual(positionInQuery("G.V().Has('a'", 13), { line: 0, col: 13, text: "G.V().Has('a'" });
  assert.deepEqual(positionInQuery("G.V()\n.Has('a'", 14), { line: 1, col: 8, text: ".Has('a'" });
  assert.equal(positionInQuery('abc', 99).col, 3);
});

test('status: loss counters, links, captures per node', () => {
  const status = {
    Agents: { h1: { Addr: '127.0.0.1', Port: 5000, ConnectTime: '2024-01-02T15:04:05.123Z', RemoteHost: 'h1', RemoteServiceType: 'agent' } },
    Publishers: {}, Subscribers: { 'h1#6000': { Addr: '127.0.0.1', Port: 6000, RemoteHost: 'h1', RemoteServiceType: 'webui' } },
    Peers: { Incomers: {}, Outgoers: {} },
    Captures: { IsMaster: true, Dispatch: { SendFailed: 0, ErrorReplies: 2, StopErrors: 0 }, c1: { Nodes: { n1: 'active', n2: 'error: boom', n3: 'active' }, Ignored: 1 } },
    WebSocket: { QueueSize: 10000, SlowClientsDisconnected: 1, InvalidMessages: 0 },
    Flows: { Dropped: 5, DroppedMaxFlows: 5, DroppedAge: 0, RawDropped: 0 },
    FlowStats: { h1: { DecodeErrors: 0, FlowsRejected: 3, Captures: { c1: { FlowDropped: 7, PacketsDropped: 0 } } } },
    NewThing: { QueueOverflow: 4 },
  };
  const nodes = [
    { ID: 'n1', Host: 'h1', Metadata: { Name: 'eth0', Metric: { RxDropped: 2 }, Captures: [{ ID: 'c1', Name: 'cap', State: 'active', PacketsDropped: 9, PacketsIfDropped: 0 }] } },
    { ID: 'n2', Host: 'h1', Metadata: { Name: 'eth1', Metric: { RxDropped: 1, TxDropped: 0 } } },
  ];
  const lc = lossCounters(status, nodes);
  const v = (id) => lc.find((c) => c.id === id);
  assert.equal(v('WebSocket.SlowClientsDisconnected').value, 1);
  assert.equal(v('Flows.DroppedMaxFlows').value, 5);
  assert.equal(v('Captures.Dispatch.ErrorReplies').value, 2);
  assert.equal(v('FlowStats.FlowsRejected').value, 3);
  assert.equal(v('FlowStats.Captures.FlowDropped').value, 7);
  assert.equal(v('Node.Captures.PacketsDropped').value, 9);
  assert.equal(v('Node.Metric.RxDropped').value, 3);
  assert.deepEqual(v('Node.Metric.RxDropped').details.map((d) => d.value), [2, 1]);
  assert.equal(v('NewThing.QueueOverflow').value, 4); // discovered
  assert.equal(lc.filter((c) => c.id === 'Flows.Dropped').length, 0); // the sum, not repeated
  assert.equal(v('Agent.Dropped'), undefined); // allinone only
  const l = links(status);
  assert.deepEqual(l.map((x) => [x.kind, x.host, x.addr]), [['agent', 'h1', '127.0.0.1:5000'], ['subscriber', 'h1', '127.0.0.1:6000']]);
  assert.deepEqual(capturesPerNode(nodes).map((x) => x.name), ['eth0']);
  assert.deepEqual(dispatchSummary(status, 'c1').counts, { active: 2, error: 1 });
  assert.equal(dispatchSummary(status, 'nope'), null);
});

test('status: the queues and disk logs of the analyzer have their own rows', () => {
  // the objects as GET /api/status gives them (docs/API.md "Limits", "Threads")
  const status = {
    Queries: { Workers: 2, QueueMax: 64, Refused: 1, Abandoned: 0 },
    GraphWriter: { QueueMax: 100000, Overflows: 2, Resyncs: 2 },
    Flows: { IngestQueue: { MaxFrames: 10000, Dropped: 3, DroppedBytes: 300 },
      Storage: { WriteErrors: 1, DroppedFlows: 40, DroppedRaw: 0, CorruptBlocks: 0, EvictedRecords: 9 } },
    TopologyHistory: { Dropped: 0, WriteErrors: 0 },
  };
  const lc = lossCounters(status, []);
  const v = (id) => lc.find((c) => c.id === id);
  for (const [id, value] of [['Flows.IngestQueue.Dropped', 3], ['Flows.Storage.DroppedFlows', 40],
    ['Flows.Storage.WriteErrors', 1], ['GraphWriter.Overflows', 2], ['Queries.Refused', 1]]) {
    assert.equal(v(id).value, value, id);
    assert.equal(v(id).group, 'Analyzer', id);
    assert.equal(lc.filter((c) => c.id === id).length, 1, `${id} once, not also under Other`);
  }
  assert.equal(v('Flows.Storage.EvictedRecords').severity, 'info'); // retention, by design
  assert.match(v('Flows.IngestQueue.Dropped').help, /analyzer\.flow_queue/);
});
