// Unit tests of the Alerts tab's logic (lib/alerts.js) and of how ws.js keeps the alert
// messages of the WebSocket `Alert` namespace. Expected shapes: docs/API.md "Alerts"
// (Skydive's Alert type and alert.Message: UUID, Timestamp, ReasonData).
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as store from '../src/store.js';
import { Subscriber } from '../src/ws.js';
import { TopologyModel } from '../src/model/topology.js';
import {
  buildAlertRequest, emptyAlertForm, alertErrorField, triggerText, reasonSummary, pushAlertEvent, MAX_EVENTS,
} from '../src/lib/alerts.js';

beforeEach(() => store.set({ view: 'topology', alertEvents: [], alertsUnseen: 0 }));

test('form → POST /api/alert body (Skydive field names, Trigger graph | duration:<d>)', () => {
  const v = { ...emptyAlertForm(), Name: ' down ', Expression: "G.V().Has('State', 'DOWN')", Action: 'http://127.0.0.1:9/h' };
  const r = buildAlertRequest(v);
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.body, { Name: 'down', Expression: "G.V().Has('State', 'DOWN')", Trigger: 'graph', Action: 'http://127.0.0.1:9/h' });
  const d = buildAlertRequest({ ...v, Action: '', TriggerKind: 'duration', Every: '1m30s' });
  assert.equal(d.body.Trigger, 'duration:1m30s');
  assert.equal('Action' in d.body, false);
  assert.ok(buildAlertRequest({ ...v, TriggerKind: 'duration', Every: '10' }).errors.Every, 'a duration needs its unit (Go)');
  assert.ok(buildAlertRequest({ ...v, Expression: '' }).errors.Expression);
  assert.match(buildAlertRequest({ ...v, Expression: 'Gremlin("G.V()")' }).errors.Expression, /JavaScript/);
  assert.ok(buildAlertRequest({ ...v, Action: 'ftp://x/y' }).errors.Action);
  assert.deepEqual(buildAlertRequest({ ...v, Action: 'file:///usr/local/bin/page-me' }).errors, {});
});

test("the analyzer's 400 reasons land at their field", () => {
  assert.equal(alertErrorField("Expression: expected ')' at position 12"), 'Expression');
  assert.equal(alertErrorField('Trigger: invalid duration "x"'), 'Every');
  assert.equal(alertErrorField('Action: command actions are disabled (analyzer.alert.allow_commands)'), 'Action');
  assert.equal(alertErrorField('something else'), null);
});

test('trigger text and what fired', () => {
  assert.equal(triggerText('graph'), 'on topology change');
  assert.equal(triggerText(''), 'on topology change');
  assert.equal(triggerText('duration:10s'), 'every 10s');
  const n = (name) => ({ ID: name, Metadata: { Name: name, Type: 'veth' } });
  assert.equal(reasonSummary([n('eth0')]), 'eth0');
  assert.equal(reasonSummary({ Nodes: [n('a'), n('b')], Edges: [{ ID: 'e', Parent: 'a', Child: 'b', Metadata: { RelationType: 'layer2' } }] }), 'a, b, edge layer2');
  assert.equal(reasonSummary([n('a'), n('b'), n('c'), n('d'), n('e')]), 'a, b, c and 2 more');
  assert.equal(reasonSummary([0]), '0');
  assert.equal(reasonSummary([]), 'empty result');
});

test('alert events: only namespace Alert, newest first, bounded', () => {
  const msg = (uuid, ts) => ({ Namespace: 'Alert', Type: 'Alert', Status: 200, Obj: { UUID: uuid, Timestamp: ts, ReasonData: [1] } });
  let ev = pushAlertEvent([], msg('a1', '2026-12-03T08:00:00.123456789Z'));
  assert.equal(ev.length, 1);
  assert.equal(ev[0].uuid, 'a1');
  assert.equal(ev[0].time, Date.parse('2026-12-03T08:00:00.123Z'));
  assert.strictEqual(pushAlertEvent(ev, { Namespace: 'Graph', Type: 'NodeAdded', Obj: {} }), ev);
  for (let i = 0; i < MAX_EVENTS + 5; i++) ev = pushAlertEvent(ev, msg(`x${i}`, 'bad time'), 42);
  assert.equal(ev.length, MAX_EVENTS);
  assert.equal(ev[0].uuid, `x${MAX_EVENTS + 4}`);
  assert.equal(ev[0].time, 42);
});

test('the subscriber keeps Alert messages for the tab and counts them while it is hidden', () => {
  const model = new TopologyModel();
  const sub = new Subscriber(model);
  const alert = { Namespace: 'Alert', Type: 'Alert', Status: 200, Obj: { UUID: 'u', Timestamp: '2026-12-03T08:00:00Z', ReasonData: [] } };
  sub.handle(alert);
  sub.handle(alert);
  assert.equal(store.get().alertEvents.length, 2);
  assert.equal(store.get().alertsUnseen, 2);
  store.set({ view: 'alerts', alertsUnseen: 0 });
  sub.handle(alert);
  assert.equal(store.get().alertsUnseen, 0);
  assert.equal(model.nodes ? model.nodes.size || 0 : 0, 0, 'an alert changes nothing in the graph');
  sub.close();
});
