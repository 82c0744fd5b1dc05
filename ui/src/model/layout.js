// model/layout.js - node positions: deterministic and incremental. A position, once
// given, never changes on an update (only relayout() or forget()). Roots (hosts, nodes
// without an owner) take cells of a square spiral grid from the centre, in order; the
// children of a group are placed around it on a sunflower spiral whose spacing is sized
// by how many children it has when first expanded (later ones continue the spiral), so
// expanding a group moves nothing else. Pure logic: node --test runs it.

const GOLDEN = Math.PI * (3 - Math.sqrt(5)); // ~137.5 degrees
export const CELL = 1000; // distance between two root cells (layout units; sigma rescales)

const TYPE_RANK = {
  host: 0, netns: 1, ovsbridge: 2, bridge: 3, device: 4, physical: 4, bond: 5, vlan: 6,
  ovsport: 7, internal: 8, veth: 9, tun: 10, tap: 10, vxlan: 11, gre: 11, geneve: 11,
};
const rank = (n) => (n && TYPE_RANK[n.Metadata.Type] !== undefined ? TYPE_RANK[n.Metadata.Type] : 20);
const nameOf = (n) => (n && n.Metadata.Name != null ? String(n.Metadata.Name) : '');

// Cell (i, j) of the i-th slot of a square spiral: 0 -> (0,0), 1 -> (1,0), 2 -> (1,1) ...
export function spiralCell(k) {
  if (k === 0) return [0, 0];
  const r = Math.ceil((Math.sqrt(k + 1) - 1) / 2); // ring
  const side = 2 * r;
  const start = (2 * r - 1) ** 2; // first index of the ring
  const off = k - start;
  if (off < side) return [r, -r + 1 + off];
  if (off < 2 * side) return [r - 1 - (off - side), r];
  if (off < 3 * side) return [-r, r - 1 - (off - 2 * side)];
  return [-r + 1 + (off - 3 * side), -r];
}

export class Layout {
  constructor(groups, opts = {}) {
    this.groups = groups;
    this.model = groups.model;
    this.cell = opts.cell || CELL;
    this.pos = new Map(); // id -> {x, y}
    this.nextSlot = new Map(); // parent id ('' for roots) -> next slot index
    this.spacing = new Map(); // parent id -> spacing of its spiral
    this.radius = new Map(); // id -> room its own children may take
  }

  has(id) { return this.pos.has(id); }
  get(id) { return this.pos.get(id); }
  forget(id) { this.pos.delete(id); }
  clear() { this.pos.clear(); this.nextSlot.clear(); this.spacing.clear(); this.radius.clear(); }

  // Positions for ids (those without one get one); returns the Map. Deterministic for a
  // given set: new nodes are placed by (depth, parent, Type, Name, ID).
  place(ids) {
    const todo = [];
    const seen = new Set();
    const want = (id) => {
      if (this.pos.has(id) || seen.has(id)) return;
      seen.add(id);
      const p = this.groups.parent.get(id);
      if (p != null) want(p); // a parent is placed before its children
      todo.push(id);
    };
    for (const id of ids) if (this.model.nodes.has(id)) want(id);
    if (!todo.length) return this.pos;
    const depth = new Map(todo.map((id) => [id, this.groups.depth(id)]));
    todo.sort((a, b) => {
      const d = depth.get(a) - depth.get(b);
      if (d) return d;
      const pa = String(this.groups.parent.get(a) ?? ''), pb = String(this.groups.parent.get(b) ?? '');
      if (pa !== pb) return pa < pb ? -1 : 1;
      const na = this.model.nodes.get(a), nb = this.model.nodes.get(b);
      const r = rank(na) - rank(nb);
      if (r) return r;
      const sa = nameOf(na), sb = nameOf(nb);
      if (sa !== sb) return sa < sb ? -1 : 1;
      return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
    });
    for (const id of todo) this._placeOne(id);
    return this.pos;
  }

  _placeOne(id) {
    const p = this.groups.parent.get(id);
    if (p == null || !this.pos.has(p)) {
      const k = this._slot('');
      const [i, j] = spiralCell(k);
      // Wider than tall: labels are horizontal.
      this.pos.set(id, { x: i * this.cell * 1.5, y: j * this.cell });
      this.radius.set(id, this.cell * 0.42);
      return;
    }
    let sp = this.spacing.get(p);
    if (sp === undefined) {
      const n = Math.max(1, this.groups.children.get(p)?.size || 1);
      const room = this.radius.get(p) ?? this.cell * 0.42;
      sp = room / Math.sqrt(n + 1.5);
      this.spacing.set(p, sp);
    }
    const k = this._slot(p);
    const r = sp * Math.sqrt(k + 1.5);
    const a = k * GOLDEN;
    const c = this.pos.get(p);
    this.pos.set(id, { x: c.x + r * Math.cos(a), y: c.y + r * Math.sin(a) });
    this.radius.set(id, sp * 0.6);
  }

  _slot(key) {
    const k = this.nextSlot.get(key) || 0;
    this.nextSlot.set(key, k + 1);
    return k;
  }

  // Sets positions computed elsewhere (relayout); they are kept like any other.
  setPositions(entries) {
    for (const [id, p] of entries) this.pos.set(id, { x: p.x, y: p.y });
  }
}
