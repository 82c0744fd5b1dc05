// The group labels the view draws: "⊕ name (n)" collapsed, "⊖ name" expanded, updated
// whenever a group changes state, by a toggle or by revealing a selected node (the view
// re-reads exactly the nodes Groups.takeDirty() names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyModel } from '../src/model/topology.js';
import { Groups } from '../src/model/groups.js';
import { nodeStyle } from '../src/graph/style.js';

const N = (ID, Type = 'veth') => ({ ID, Metadata: { Name: ID, Type } });
const own = (ID, p, c) => ({ ID, Parent: p, Child: c, Metadata: { RelationType: 'ownership' } });

function tutorial() {
  const m = new TopologyModel();
  const Nodes = [], Edges = [];
  for (const h of ['host1', 'host2']) {
    Nodes.push(N(h, 'host'));
    for (const i of ['eth0', 'lo', 'mgmt']) { Nodes.push(N(`${h}-${i}`)); Edges.push(own(`o-${h}-${i}`, h, `${h}-${i}`)); }
  }
  Nodes.push(N('ns', 'netns'), N('ns-eth0'));
  Edges.push(own('o-ns', 'host1', 'ns'), own('o-ns-eth0', 'ns', 'ns-eth0'));
  m.reset({ Nodes, Edges });
  return m;
}

// What the view holds: a label per visible node, refreshed from takeDirty().
function drawn(g) {
  const labels = new Map();
  for (const id of g.visibleNodeIds()) labels.set(id, nodeStyle(g.visibleNode(id)).label);
  g.takeDirty();
  return {
    labels,
    sync() {
      const d = g.takeDirty();
      for (const id of d.nodes) {
        const v = g.visibleNode(id);
        if (v) labels.set(id, nodeStyle(v).label); else labels.delete(id);
      }
    },
  };
}

test('collapsed vs expanded labels', () => {
  const g = new Groups(tutorial());
  const v = g.visibleNode('host2');
  assert.equal(nodeStyle(v).label, '⊕ host2 (3)');
  g.expand('host2');
  assert.equal(nodeStyle(g.visibleNode('host2')).label, '⊖ host2');
  assert.equal(nodeStyle(g.visibleNode('host2-lo')).label, 'host2-lo');
});

test('toggle updates the label drawn', () => {
  const g = new Groups(tutorial());
  const d = drawn(g);
  assert.equal(d.labels.get('host1'), '⊕ host1 (5)');
  g.toggle('host1'); d.sync();
  assert.equal(d.labels.get('host1'), '⊖ host1');
  assert.equal(d.labels.get('ns'), '⊕ ns (1)');
  g.toggle('host1'); d.sync();
  assert.equal(d.labels.get('host1'), '⊕ host1 (5)');
  assert.equal(d.labels.has('host1-eth0'), false);
});

test('revealing a selected node turns every ancestor it expands to ⊖', () => {
  const g = new Groups(tutorial());
  const d = drawn(g);
  assert.equal(g.reveal('ns-eth0'), true);
  d.sync();
  assert.equal(d.labels.get('host1'), '⊖ host1', 'the host label follows the reveal');
  assert.equal(d.labels.get('ns'), '⊖ ns');
  assert.equal(d.labels.get('ns-eth0'), 'ns-eth0');
  assert.equal(d.labels.get('host2'), '⊕ host2 (3)');
  // setAll too
  g.setAll(false); d.sync();
  assert.equal(d.labels.get('host1'), '⊕ host1 (5)');
  g.setAll(true, 'host'); d.sync();
  assert.equal(d.labels.get('host1'), '⊖ host1');
  assert.equal(d.labels.get('host2'), '⊖ host2');
  assert.equal(d.labels.get('ns'), '⊕ ns (1)');
});
