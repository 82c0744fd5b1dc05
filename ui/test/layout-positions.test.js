// Unit tests of model/layout.js: deterministic, incremental (existing positions never
// change on updates), groups expanded around their parent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyModel } from '../src/model/topology.js';
import { Groups } from '../src/model/groups.js';
import { Layout, spiralCell } from '../src/model/layout.js';
import { genTopology } from '../../bench/ui/topo_gen.mjs';

const N = (ID, Type = 'device') => ({ ID, Metadata: { Name: ID, Type } });
const own = (ID, Parent, Child) => ({ ID, Parent, Child, Metadata: { RelationType: 'ownership' } });

function setup(hosts = 4) {
  const m = new TopologyModel();
  m.reset(genTopology({ hosts, netns: 3, perNs: 4, extraNics: 1 }));
  const g = new Groups(m);
  const l = new Layout(g);
  l.place(g.visibleNodeIds());
  return { m, g, l };
}

const snap = (l) => new Map([...l.pos].map(([k, p]) => [k, `${p.x},${p.y}`]));

test('square spiral cells are distinct and grow from the centre', () => {
  const seen = new Set();
  for (let k = 0; k < 400; k++) {
    const [i, j] = spiralCell(k);
    seen.add(`${i},${j}`);
    assert.ok(Math.max(Math.abs(i), Math.abs(j)) <= Math.ceil(Math.sqrt(k + 1) / 2) + 1);
  }
  assert.equal(seen.size, 400);
});

test('deterministic: the same graph gives the same positions whatever the arrival order', () => {
  const a = setup();
  const m2 = new TopologyModel();
  const t = genTopology({ hosts: 4, netns: 3, perNs: 4, extraNics: 1 });
  m2.reset({ Nodes: [...t.Nodes].reverse(), Edges: [...t.Edges].reverse() });
  const g2 = new Groups(m2);
  const l2 = new Layout(g2);
  l2.place(g2.visibleNodeIds());
  assert.deepEqual(snap(l2), snap(a.l));
  a.g.expand('host-001'); l2.groups.expand('host-001');
  a.l.place(a.g.visibleNodeIds()); l2.place(g2.visibleNodeIds());
  assert.deepEqual(snap(l2), snap(a.l));
});

test('updates, additions, deletions and expansions never move a placed node', () => {
  const { m, g, l } = setup();
  let before = snap(l);
  const check = () => {
    l.place(g.visibleNodeIds());
    for (const [id, p] of before) assert.equal(`${l.get(id).x},${l.get(id).y}`, p, `${id} moved`);
    before = snap(l);
  };
  m.updateNode({ ...m.getNode('host-002'), Metadata: { ...m.getNode('host-002').Metadata, MTU: 1 } });
  check();
  g.expand('host-002');
  check();
  // Children are placed around their host, closer to it than to any other host.
  const h = l.get('host-002');
  for (const c of g.childrenOf('host-002')) {
    const p = l.get(c);
    const d = Math.hypot(p.x - h.x, p.y - h.y);
    assert.ok(d > 0 && d < 500, `${c} at ${d}`);
  }
  m.addNode(N('new-if'));
  m.addEdge(own('zz1', 'host-002', 'new-if'));
  check();
  const p = l.get('new-if');
  assert.ok(Math.hypot(p.x - h.x, p.y - h.y) < 600, 'a new node lands near its group');
  m.addNode(N('host-new', 'host'));
  check();
  m.deleteNode({ ID: 'host-001' });
  g.expand('host-002-ns1');
  g.collapse('host-002');
  g.expand('host-002');
  check();
});

test('hosts take distinct cells', () => {
  const { g, l } = setup(9);
  const cells = new Set(g.visibleNodeIds().map((id) => `${l.get(id).x},${l.get(id).y}`));
  assert.equal(cells.size, 9);
});
