// Unit tests of model/topology.js: every message type the subscriber may receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyModel, applyOp } from '../src/model/topology.js';

const N = (ID, md = {}) => ({ ID, Metadata: { Name: ID, Type: 'device', ...md }, Host: 'h', Revision: 1 });
const E = (ID, Parent, Child, rel = 'layer2') => ({ ID, Parent, Child, Metadata: { RelationType: rel } });
const msg = (Type, Obj, extra = {}) => ({ Namespace: 'Graph', Type, Obj, ...extra });

function recorder(m) {
  const evs = [];
  m.on((ev) => evs.push(ev.type + (ev.node ? ':' + ev.node.ID : ev.edge ? ':' + ev.edge.ID : '')));
  return evs;
}

test('SyncReply resets the model with one event', () => {
  const m = new TopologyModel();
  const evs = recorder(m);
  m.applyMessage(msg('NodeAdded', N('old')));
  assert.equal(m.applyMessage(msg('SyncReply', { Nodes: [N('a'), N('b')], Edges: [E('e1', 'a', 'b')] })), true);
  assert.deepEqual([...m.nodes.keys()], ['a', 'b']);
  assert.equal(m.getEdge('e1').Child, 'b');
  assert.deepEqual(m.edgesOf('a'), ['e1']);
  assert.deepEqual(evs, ['node-added:old', 'reset']);
  // Sync (agent form) too; an error reply changes nothing.
  m.applyMessage(msg('Sync', { Nodes: [N('c')], Edges: [] }));
  assert.deepEqual([...m.nodes.keys()], ['c']);
  assert.equal(m.applyMessage(msg('SyncReply', 'bad filter', { Status: 400 })), false);
  assert.deepEqual([...m.nodes.keys()], ['c']);
  // A null graph (empty) is fine.
  m.applyMessage(msg('SyncReply', { Nodes: null, Edges: null }));
  assert.equal(m.nodes.size, 0);
});

test('node and edge added / updated / deleted', () => {
  const m = new TopologyModel();
  const evs = recorder(m);
  m.applyMessage(msg('NodeAdded', N('a')));
  m.applyMessage(msg('NodeAdded', N('b')));
  m.applyMessage(msg('EdgeAdded', E('e', 'a', 'b')));
  m.applyMessage(msg('NodeUpdated', N('a', { MTU: 9000 })));
  m.applyMessage(msg('EdgeUpdated', { ...E('e', 'a', 'b'), Metadata: { RelationType: 'layer2', Type: 'veth' } }));
  assert.equal(m.getNode('a').Metadata.MTU, 9000);
  assert.equal(m.getEdge('e').Metadata.Type, 'veth');
  // NodeAdded of a known node is an update; EdgeAdded of a known edge too.
  m.applyMessage(msg('NodeAdded', N('a', { MTU: 1 })));
  assert.equal(m.getNode('a').Metadata.MTU, 1);
  // Deleting a node takes its edges first.
  m.applyMessage(msg('NodeDeleted', { ID: 'a' }));
  assert.equal(m.nodes.has('a'), false);
  assert.equal(m.edges.has('e'), false);
  assert.deepEqual(m.edgesOf('b'), []);
  m.applyMessage(msg('NodeDeleted', { ID: 'missing' })); // not an error, no event
  m.applyMessage(msg('EdgeDeleted', { ID: 'missing' }));
  assert.deepEqual(evs, ['node-added:a', 'node-added:b', 'edge-added:e', 'node-updated:a', 'edge-updated:e',
    'node-updated:a', 'edge-deleted:e', 'node-deleted:a']);
  m.applyMessage(msg('NodeAdded', N('c')));
  m.applyMessage(msg('EdgeAdded', E('f', 'b', 'c')));
  m.applyMessage(msg('EdgeDeleted', E('f', 'b', 'c')));
  assert.equal(m.edges.size, 0);
  assert.deepEqual(m.edgesOf('c'), []);
});

test('an edge moved to other ends is re-indexed', () => {
  const m = new TopologyModel();
  for (const id of ['a', 'b', 'c']) m.addNode(N(id));
  m.addEdge(E('e', 'a', 'b'));
  m.applyMessage(msg('EdgeUpdated', E('e', 'a', 'c')));
  assert.deepEqual(m.edgesOf('b'), []);
  assert.deepEqual(m.edgesOf('c'), ['e']);
});

test('NodePartiallyUpdated / EdgePartiallyUpdated apply ops on dotted keys', () => {
  const m = new TopologyModel();
  m.addNode(N('a', { Stats: { RxBytes: 1 }, Name: 'eth0' }));
  m.addNode(N('b'));
  m.addEdge(E('e', 'a', 'b'));
  const before = m.getNode('a');
  const evs = recorder(m);
  m.applyMessage(msg('NodePartiallyUpdated', { ID: 'a', UpdatedAt: 42, Revision: 7, Ops: [
    { Type: 1, Key: 'MTU', Value: 1400 },
    { Type: 1, Key: 'Stats.RxBytes', Value: 10 },
    { Type: 1, Key: 'Features.Offload.TSO', Value: true },
    { Type: 2, Key: 'Name' },
    { Type: 'add', Key: 'Tag', Value: 'x' },
    { Type: 'del', Key: 'Nope.Deeper' },
  ] }));
  const a = m.getNode('a');
  assert.notEqual(a, before, 'a new object');
  assert.equal(before.Metadata.Stats.RxBytes, 1, 'the old object is untouched');
  assert.equal(a.Metadata.MTU, 1400);
  assert.equal(a.Metadata.Stats.RxBytes, 10);
  assert.equal(a.Metadata.Features.Offload.TSO, true);
  assert.equal('Name' in a.Metadata, false);
  assert.equal(a.Metadata.Tag, 'x');
  assert.equal(a.UpdatedAt, 42);
  assert.equal(a.Revision, 7);
  m.applyMessage(msg('EdgePartiallyUpdated', { ID: 'e', Ops: [{ Type: 1, Key: 'RelationType', Value: 'ownership' }] }));
  assert.equal(m.getEdge('e').Metadata.RelationType, 'ownership');
  assert.deepEqual(evs, ['node-updated:a', 'edge-updated:e']);
  // Unknown element: ignored.
  assert.equal(m.applyMessage(msg('NodePartiallyUpdated', { ID: 'zz', Ops: [] })), false);
});

test('applyOp on its own', () => {
  const o = { A: 1 };
  applyOp(o, { Type: 1, Key: 'A.B', Value: 2 }); // replaces a scalar by an object
  assert.deepEqual(o, { A: { B: 2 } });
  applyOp(o, { Type: 2, Key: 'A.B' });
  assert.deepEqual(o, { A: {} });
});

test('other namespaces and unknown types are ignored', () => {
  const m = new TopologyModel();
  assert.equal(m.applyMessage({ Namespace: 'Flow', Type: 'NodeAdded', Obj: N('a') }), false);
  assert.equal(m.applyMessage(msg('Whatever', {})), false);
  assert.equal(m.nodes.size, 0);
});
