// Unit tests of model/groups.js: collapsed counts, expand/collapse, aggregated edges,
// and the incremental visible graph equal to a full recompute on random event sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyModel } from '../src/model/topology.js';
import { Groups, computeVisible } from '../src/model/groups.js';

const N = (ID, Type = 'device', md = {}) => ({ ID, Metadata: { Name: ID, Type, ...md } });
const E = (ID, Parent, Child, rel = 'layer2') => ({ ID, Parent, Child, Metadata: { RelationType: rel } });
const own = (ID, p, c) => E(ID, p, c, 'ownership');

// Two hosts, each: a netns with 2 interfaces, one root interface; a veth pair across
// h1's netns and root interface, and 2 links between the hosts.
function lab() {
  const Nodes = [N('h1', 'host'), N('h2', 'host'), N('ns1', 'netns'), N('ns2', 'netns'),
    N('a1'), N('a2'), N('r1', 'veth'), N('b1'), N('b2'), N('r2')];
  const Edges = [own('o1', 'h1', 'ns1'), own('o2', 'ns1', 'a1'), own('o3', 'ns1', 'a2'), own('o4', 'h1', 'r1'),
    own('o5', 'h2', 'ns2'), own('o6', 'ns2', 'b1'), own('o7', 'ns2', 'b2'), own('o8', 'h2', 'r2'),
    E('l1', 'a1', 'r1'), E('l2', 'a1', 'a2'), E('x1', 'a1', 'b1'), E('x2', 'r1', 'r2', 'tunnel')];
  const m = new TopologyModel();
  m.reset({ Nodes, Edges });
  return m;
}

const ref = (g) => computeVisible(g.model, (id) => g.isExpanded(id));

test('default view: hosts collapsed with their counts, links between them aggregated', () => {
  const m = lab();
  const g = new Groups(m);
  assert.deepEqual(g.visibleNodeIds().sort(), ['h1', 'h2']);
  assert.equal(g.count('h1'), 4);
  assert.equal(g.visibleNode('h1').collapsed, true);
  const s = g.snapshot();
  assert.deepEqual(s.nodes, ['h1:c:4', 'h2:c:4']);
  // x1 (layer2) and x2 (tunnel) between the hosts: one edge, count 2, mixed.
  assert.deepEqual(s.edges, ['x:h1|h2:2:mixed']);
  assert.deepEqual(s, ref(g));
});

test('expanding a host shows its children, its namespaces still collapsed', () => {
  const m = lab();
  const g = new Groups(m);
  g.takeDirty();
  g.expand('h1');
  const d = g.takeDirty();
  assert.ok(d.nodes.has('ns1') && d.nodes.has('r1') && d.nodes.has('h1'));
  assert.ok(!d.nodes.has('b1'), 'the other host is not touched');
  assert.deepEqual(g.visibleNodeIds().sort(), ['h1', 'h2', 'ns1', 'r1']);
  const s = g.snapshot();
  assert.deepEqual(s.nodes, ['h1:e:0', 'h2:c:4', 'ns1:c:2', 'r1:-:0']);
  assert.deepEqual(s.edges, ['o:h1>ns1:1:ownership', 'o:h1>r1:1:ownership', 'x:h2|ns1:1:layer2',
    'x:h2|r1:1:tunnel', 'x:ns1|r1:1:layer2']);
  assert.deepEqual(s, ref(g));
  g.expand('ns1');
  assert.deepEqual(g.snapshot().nodes, ['a1:-:0', 'a2:-:0', 'h1:e:0', 'h2:c:4', 'ns1:e:0', 'r1:-:0']);
  assert.ok(g.snapshot().edges.includes('x:a1|a2:1:layer2'));
  assert.deepEqual(g.snapshot(), ref(g));
  g.collapse('h1');
  assert.deepEqual(g.snapshot().nodes, ['h1:c:4', 'h2:c:4']);
  assert.deepEqual(g.snapshot(), ref(g));
  // ns1 stays expanded underneath: expanding h1 again shows a1, a2.
  g.expand('h1');
  assert.ok(g.isVisible('a1'));
});

test('reveal expands the ancestors of a hidden node', () => {
  const g = new Groups(lab());
  assert.equal(g.isVisible('b2'), false);
  assert.equal(g.reveal('b2'), true);
  assert.equal(g.isVisible('b2'), true);
  assert.equal(g.isVisible('b1'), true);
  assert.equal(g.isVisible('a1'), false, 'the other host stays collapsed');
  assert.equal(g.reveal('b2'), false);
  assert.deepEqual(g.snapshot(), ref(g));
});

test('incremental updates: a node added under a collapsed host only changes its count', () => {
  const m = lab();
  const g = new Groups(m);
  g.takeDirty();
  m.addNode(N('a3'));
  m.addEdge(own('o9', 'ns1', 'a3'));
  m.addEdge(E('l3', 'a3', 'b2'));
  const d = g.takeDirty();
  assert.equal(d.reset, false);
  assert.ok(d.nodes.has('h1'), 'h1 count changed');
  assert.ok(!d.nodes.has('h2'));
  assert.equal(g.count('h1'), 5);
  assert.deepEqual(g.snapshot().edges, ['x:h1|h2:3:mixed']);
  m.deleteNode({ ID: 'ns1' }); // its children become roots
  assert.deepEqual(g.snapshot(), ref(g));
  assert.equal(g.count('h1'), 1);
  assert.ok(g.isVisible('a1'));
});

test('an edge arriving before its nodes, a Type change, an ownership edge turned layer2', () => {
  const m = new TopologyModel();
  const g = new Groups(m);
  m.addEdge(own('o1', 'h', 'i'));
  m.addNode(N('i'));
  assert.deepEqual(g.snapshot(), ref(g));
  m.addNode(N('h', 'host'));
  assert.deepEqual(g.snapshot().nodes, ['h:c:1']);
  m.updateNode(N('h', 'device')); // not collapsed by default any more
  assert.deepEqual(g.snapshot().nodes, ['h:e:0', 'i:-:0']);
  m.updateEdge(E('o1', 'h', 'i', 'layer2'));
  assert.deepEqual(g.snapshot(), ref(g));
  assert.deepEqual(g.snapshot().nodes, ['h:-:0', 'i:-:0']);
});

// ---- random sequences ----
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

test('random event sequences: incremental equals a full recompute', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const r = rng(seed);
    const pick = (a) => a[Math.floor(r() * a.length)];
    const m = new TopologyModel();
    const g = new Groups(m);
    // Levels keep ownership acyclic: host (0) -> netns (1) -> intf (2) -> sub (3).
    const level = new Map();
    const types = ['host', 'netns', 'device', 'veth'];
    let nid = 0, eid = 0;
    const steps = 250;
    let checks = 0;
    for (let step = 0; step < steps; step++) {
      (() => {
      const nodes = [...m.nodes.keys()];
      const edges = [...m.edges.keys()];
      const x = r();
      if (x < 0.3 || nodes.length < 3) {
        const lv = Math.floor(r() * 4);
        const id = `n${nid++}`;
        level.set(id, lv);
        m.applyMessage({ Type: 'NodeAdded', Obj: N(id, types[lv]) });
      } else if (x < 0.6) {
        const a = pick(nodes), b = pick(nodes);
        if (a === b) return;
        const isOwn = r() < 0.6;
        let [p, c] = level.get(a) < level.get(b) ? [a, b] : [b, a];
        if (isOwn && level.get(p) === level.get(c)) return;
        const rel = isOwn ? 'ownership' : pick(['layer2', 'layer2', 'tunnel']);
        // Sometimes an edge naming a node not there yet.
        if (r() < 0.05) { const id = `n${nid++}`; level.set(id, 3); c = id; }
        m.applyMessage({ Type: 'EdgeAdded', Obj: E(`e${String(eid++).padStart(4, '0')}`, p, c, rel) });
      } else if (x < 0.68 && edges.length) {
        m.applyMessage({ Type: 'EdgeDeleted', Obj: { ID: pick(edges) } });
      } else if (x < 0.74) {
        m.applyMessage({ Type: 'NodeDeleted', Obj: { ID: pick(nodes) } });
      } else if (x < 0.8) {
        const id = pick(nodes);
        m.applyMessage({ Type: 'NodeUpdated', Obj: N(id, types[level.get(id)], { MTU: step }) });
      } else if (x < 0.84 && edges.length) {
        const e = m.getEdge(pick(edges));
        const rel = e.Metadata.RelationType === 'ownership' ? 'layer2' : 'ownership';
        if (rel === 'ownership' && !(level.get(e.Parent) < level.get(e.Child))) return;
        m.applyMessage({ Type: 'EdgePartiallyUpdated', Obj: { ID: e.ID, Ops: [{ Type: 1, Key: 'RelationType', Value: rel }] } });
      } else if (x < 0.95) {
        const id = pick(nodes);
        if (r() < 0.5) g.toggle(id); else g.reveal(id);
      } else if (x < 0.97) {
        g.setAll(r() < 0.5, r() < 0.5 ? 'host' : undefined);
      } else {
        // A re-sync with the same graph, expansion choices kept.
        m.reset({ Nodes: [...m.nodes.values()], Edges: [...m.edges.values()] });
      }
      })();
      if (step % 10 === 0 || step === steps - 1) {
        const got = g.snapshot(), want = ref(g);
        assert.deepEqual(got, want, `seed ${seed} step ${step}`);
        checks++;
        // Counts are the true descendant counts (also of expanded groups).
        const fresh = new Groups(m);
        for (const [k, v] of g.override) fresh.override.set(k, v);
        fresh._rebuild();
        for (const id of m.nodes.keys()) assert.equal(g.count(id), fresh.count(id), `count ${id} seed ${seed} step ${step}`);
      }
    }
  }
});

test('10,000-node topology: default view small, one expansion costs what the host holds', async () => {
  const { genTopology } = await import('../../bench/ui/topo_gen.mjs');
  const m = new TopologyModel();
  const t0 = performance.now();
  m.reset(genTopology({ hosts: 50 }));
  const g = new Groups(m);
  const buildMs = performance.now() - t0;
  const s = g.snapshot();
  assert.equal(s.nodes.length, 50);
  assert.ok(s.edges.length < 400, `default view has ${s.edges.length} edges`);
  g.takeDirty();
  g.expand('host-007');
  const d = g.takeDirty();
  assert.ok(d.nodes.size <= 201 + 1, `expanding touched ${d.nodes.size} nodes`);
  assert.deepEqual(g.snapshot(), ref(g));
  assert.ok(buildMs < 2000, `built in ${buildMs} ms`);
});
