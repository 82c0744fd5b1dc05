// Unit tests of the Inject tab's logic (lib/inject.js). Expected shapes: docs/API.md
// "Packet injection" (Skydive's PacketInjection fields, api/types/types.go) and the
// analyzer's 400 reasons it quotes (Skydive's createRequest messages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TYPES, nodeQuery, emptyInjectForm, buildInjectRequest, injectErrorField, trackingQuery, injectionStates,
} from '../src/lib/inject.js';

const eth0 = { ID: 'n1', Metadata: { Name: 'eth0', TID: "t'1" } };
const eth1 = { ID: 'n2', Metadata: { Name: 'eth1' } };

test('the selected nodes become Src and Dst (by TID, else ID, quotes escaped)', () => {
  assert.equal(nodeQuery(eth0), "G.V().Has('TID', 't\\'1')");
  assert.equal(nodeQuery(eth1), "G.V('n2')");
  const v = emptyInjectForm(eth0, eth1);
  assert.equal(v.Src, "G.V().Has('TID', 't\\'1')");
  assert.equal(v.Dst, "G.V('n2')");
  assert.equal(v.Type, 'icmp4');
  assert.deepEqual(TYPES, ['icmp4', 'icmp6', 'tcp4', 'tcp6', 'udp4', 'udp6']);
});

test('form → POST /api/injectpacket body (numbers as numbers, empty fields left out)', () => {
  const v = { ...emptyInjectForm(eth0, eth1), Count: '3', Interval: '50', Payload: 'hi' };
  const r = buildInjectRequest(v);
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.body, { Src: v.Src, Dst: v.Dst, Type: 'icmp4', Count: 3, Interval: 50, Payload: 'hi' });
  const t = buildInjectRequest({ ...v, Type: 'tcp6', SrcPort: '40000', DstPort: '80', DstIP: 'fd00::2', TTL: '9', Mode: 'random' });
  assert.deepEqual(t.errors, {});
  assert.equal(t.body.SrcPort, 40000);
  assert.equal(t.body.DstIP, 'fd00::2');
  assert.equal(t.body.Mode, 'random');
  assert.equal(t.body.TTL, 9);
});

test('what the analyzer would refuse is said at its field first', () => {
  const v = emptyInjectForm(eth0, eth1);
  assert.ok(buildInjectRequest({ ...v, Src: '' }).errors.Src);
  assert.ok(buildInjectRequest({ ...v, Dst: '' }).errors.Dst, 'no Dst and no DstIP: nowhere to send');
  assert.deepEqual(buildInjectRequest({ ...v, Dst: '', DstIP: '10.0.0.2' }).errors, {});
  assert.ok(buildInjectRequest({ ...v, Count: '0' }).errors.Count);
  assert.ok(buildInjectRequest({ ...v, Count: '2.5' }).errors.Count);
  assert.ok(buildInjectRequest({ ...v, SrcPort: '70000' }).errors.SrcPort);
  assert.ok(buildInjectRequest({ ...v, TTL: '256' }).errors.TTL);
  assert.match(buildInjectRequest({ ...v, Type: 'icmp6', DstIP: '10.0.0.2' }).errors.DstIP, /IPv6/);
  assert.ok(buildInjectRequest({ ...v, SrcMAC: '02:00' }).errors.SrcMAC);
  assert.ok(buildInjectRequest({ ...v, Type: 'sctp' }).errors.Type);
});

test("the analyzer's 400 reasons land at their field", () => {
  assert.equal(injectErrorField("Not able to find a source node for 'G.V()'"), 'Src');
  assert.equal(injectErrorField('No source IP in node eth0 (IPV4) and user input: give SrcIP'), 'SrcIP');
  assert.equal(injectErrorField('No source MAC in node eth0 and user input: give SrcMAC'), 'SrcMAC');
  assert.equal(injectErrorField('Not able to find a dest node and dest IP also empty: give Dst or DstIP'), 'Dst');
  assert.equal(injectErrorField('Failed to resolve destination MAC address (no neighbour entry for the next hop): give DstMAC or Dst'), 'DstMAC');
  assert.equal(injectErrorField('given type is not supported: Type \'x\''), 'Type');
  assert.equal(injectErrorField('agent unreachable'), null);
});

test('the TrackingID query and the nodes\' states of /api/status', () => {
  assert.equal(trackingQuery('9caf01c3f8864ac7'), "G.Flows().Has('TrackingID', '9caf01c3f8864ac7')");
  const st = { Injections: { Nodes: { u1: { n1: 'injecting', n2: 'error: no such interface' } } } };
  assert.deepEqual(injectionStates(st, 'u1'), { n1: 'injecting', n2: 'error: no such interface' });
  assert.deepEqual(injectionStates(st, 'u2'), {});
  assert.deepEqual(injectionStates(null, 'u1'), {});
});
