// Unit tests of ws.js: the SyncRequest sent for the store's filter and time, and how the
// subscriber takes the analyzer's replies (docs/API.md "SyncRequest").
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as store from '../src/store.js';
import { syncRequest, replyError, replyErrorPosition, Subscriber } from '../src/ws.js';
import { TopologyModel } from '../src/model/topology.js';
import { errorExcerpt } from '../src/lib/filterError.js';

const N = (ID) => ({ ID, Metadata: { Name: ID, Type: 'device' }, Host: 'h', Revision: 1 });
const graph = (...ids) => ({ Nodes: ids.map(N), Edges: [] });

beforeEach(() => store.set({ filter: '', time: null, filterError: null, filterErrorPosition: null }));

test('syncRequest always carries GremlinFilter ("" clears it), Time only in the past', () => {
  assert.deepEqual(syncRequest({ filter: '', time: null }, 'u1'),
    { Namespace: 'Graph', Type: 'SyncRequest', UUID: 'u1', Obj: { GremlinFilter: '' } });
  assert.deepEqual(syncRequest({ filter: "G.V().Has('Type','veth')", time: 1700000000000 }, 'u2').Obj,
    { GremlinFilter: "G.V().Has('Type','veth')", Time: 1700000000000 });
  assert.equal('Time' in syncRequest({ filter: 'x', time: null }, 'u').Obj, false);
});

test('replyError / replyErrorPosition read the analyzer error shape', () => {
  const m = { Status: 400, Obj: { Error: "expected ')' or ',' at position 16", Position: 16 } };
  assert.equal(replyError(m), "expected ')' or ',' at position 16");
  assert.equal(replyErrorPosition(m), 16);
  assert.equal(replyError({ Status: 400, Obj: 'bad filter' }), 'bad filter'); // Skydive's form
  assert.equal(replyErrorPosition({ Status: 400, Obj: 'bad filter' }), null);
  assert.equal(replyError({ Status: 500 }), 'error 500');
});

// A subscriber on a fake open socket; returns it and the parsed messages it sent.
function fake() {
  const model = new TopologyModel();
  const sub = new Subscriber(model);
  const sent = [];
  sub.ws = { readyState: 1, send: (s) => sent.push(JSON.parse(s)), close() {} };
  sub.first = true;
  return { model, sub, sent };
}
const reply = (UUID, Obj, Status = 200) => ({ Namespace: 'Graph', Type: 'SyncReply', UUID, Status, Obj });

test('filter: request, filtered reply, live events, then a refused filter keeps the graph', () => {
  const { model, sub, sent } = fake();
  sub.sync();
  sub.handle(reply(undefined, graph('a', 'b', 'c'))); // the unsolicited one at connection: skipped
  assert.equal(model.nodes.size, 0);
  sub.handle(reply(sent[0].UUID, graph('a', 'b', 'c')));
  assert.equal(model.nodes.size, 3);
  store.set({ filter: "G.V().Has('Name','a')" }); // the store change sends a SyncRequest
  assert.equal(sent.length, 2);
  assert.equal(sent[1].Obj.GremlinFilter, "G.V().Has('Name','a')");
  sub.handle(reply(sent[1].UUID, graph('a')));
  assert.deepEqual([...model.nodes.keys()], ['a']);
  sub.handle({ Namespace: 'Graph', Type: 'NodeAdded', Obj: N('a2') }); // inside the filter
  assert.ok(model.nodes.has('a2'));
  store.set({ filter: "G.V().Has('Name'" });
  sub.handle(reply(sent[2].UUID, { Error: "expected ')' or ',' at position 16", Position: 16 }, 400));
  assert.equal(store.get().filterError, "expected ')' or ',' at position 16");
  assert.equal(store.get().filterErrorPosition, 16);
  assert.deepEqual([...model.nodes.keys()], ['a', 'a2']); // unchanged
  assert.equal(sent.length, 3); // synced already: the analyzer kept the previous filter
  // clearing the filter asks for "" and the error goes
  store.set({ filter: '' });
  assert.equal(sent[3].Obj.GremlinFilter, '');
  sub.handle(reply(sent[3].UUID, graph('a', 'a2', 'b', 'c')));
  assert.equal(model.nodes.size, 4);
  assert.equal(store.get().filterError, null);
  assert.equal(store.get().filterErrorPosition, null);
  sub.close();
});

test('a refused filter on a new connection falls back to the last accepted one', () => {
  const { model, sub, sent } = fake();
  sub.sync();
  sub.handle(reply(sent[0].UUID, graph('a')));
  // reconnect with a bad filter in the store
  store.set({ filter: 'G.V(' }); // sent while synced
  sub.synced = false; sub.first = true;
  sub.sync();
  const bad = sent[sent.length - 1];
  assert.equal(bad.Obj.GremlinFilter, 'G.V(');
  sub.handle(reply(bad.UUID, { Error: 'unexpected end at position 4', Position: 4 }, 400));
  const fb = sent[sent.length - 1];
  assert.notEqual(fb.UUID, bad.UUID);
  assert.equal(fb.Obj.GremlinFilter, ''); // the last accepted filter
  sub.handle(reply(fb.UUID, graph('a', 'b')));
  assert.equal(model.nodes.size, 2);
  assert.equal(store.get().filterError, 'unexpected end at position 4'); // still shown
  sub.close();
});

test('time travel: SyncRequest with Time, no live events meanwhile, null is live again', () => {
  const { model, sub, sent } = fake();
  sub.sync();
  sub.handle(reply(sent[0].UUID, graph('a', 'b')));
  store.set({ time: 1700000000000 });
  assert.equal(sent[1].Obj.Time, 1700000000000);
  assert.equal(sent[1].Obj.GremlinFilter, '');
  sub.handle(reply(sent[1].UUID, graph('a')));
  assert.deepEqual([...model.nodes.keys()], ['a']);
  sub.handle({ Namespace: 'Graph', Type: 'NodeAdded', Obj: N('late') });
  assert.equal(model.nodes.has('late'), false);
  store.set({ time: null });
  assert.equal('Time' in sent[2].Obj, false);
  sub.handle(reply(sent[2].UUID, graph('a', 'b', 'late')));
  assert.equal(model.nodes.size, 3);
  sub.handle({ Namespace: 'Graph', Type: 'NodeAdded', Obj: N('live') });
  assert.ok(model.nodes.has('live'));
  sub.close();
});

test('errorExcerpt marks the error position in the filter', () => {
  assert.deepEqual(errorExcerpt("G.V().Has('Type'", 16), ["G.V().Has('Type'", ' ', '']);
  assert.deepEqual(errorExcerpt('G.V().Foo()', 6), ['G.V().', 'F', 'oo()']);
  assert.equal(errorExcerpt('G.V(', null), null);
  assert.equal(errorExcerpt('G.V(', -1), null);
  const long = `${'a'.repeat(100)}X${'b'.repeat(100)}`;
  const [b, at, a] = errorExcerpt(long, 100, 10);
  assert.equal(b, `…${'a'.repeat(10)}`); assert.equal(at, 'X'); assert.equal(a, `${'b'.repeat(10)}…`);
});
