// model/groups.js - the ownership tree (edges with Metadata.RelationType 'ownership':
// host -> netns -> interfaces, host -> interfaces, ovsbridge -> ovsport ...), which
// groups are collapsed, and the visible graph derived from them, kept up to date
// incrementally from the TopologyModel's events. Pure logic: node --test runs it.
//
// Visible graph:
//  - rep(n): n itself, or its top-most collapsed ancestor (a node with children that is
//    not expanded). n is visible when rep(n) === n.
//  - every model edge (p, c) with rep(p) !== rep(c) is drawn between rep(p) and rep(c):
//    ownership edges one per (parent, child) ('o:P>C'), the others aggregated into one
//    per unordered pair of visible nodes ('x:A|B') with a count of what they hold. An
//    edge inside one collapsed group (rep(p) === rep(c)) is not drawn.
//  - a collapsed group carries the count of its descendants.
// Each change touches only what it affects: a node or edge event, the subtree whose
// representatives changed and the edges incident to it; expanding a group, its subtree.
//
// The view takes the changes with takeDirty() (ids of nodes and keys of edges to
// re-read) once per frame; onChange(fn) tells it something is pending.

export const DEFAULT_COLLAPSED_TYPES = ['host', 'netns'];

export const isOwnership = (e) => !!e && !!e.Metadata && e.Metadata.RelationType === 'ownership';

export function pairKey(a, b, own) {
  if (own) return `o:${a}>${b}`;
  return a < b ? `x:${a}|${b}` : `x:${b}|${a}`;
}

export class Groups {
  constructor(model, opts = {}) {
    this.model = model;
    this.defaultCollapsed = new Set(opts.defaultCollapsed || DEFAULT_COLLAPSED_TYPES);
    this.override = new Map(); // id -> true (expanded) | false (collapsed): user choices
    this.changeListeners = new Set();
    this._clear();
    this.unsub = model.on((ev) => this._onEvent(ev));
    if (model.nodes.size) this._rebuild();
  }

  _clear() {
    this.parent = new Map(); // child -> parent
    this.children = new Map(); // parent -> Set<child>
    this.ownIn = new Map(); // child -> Set<ownership edge ID> (candidate parents)
    this.ownReg = new Map(); // ownership edge ID -> child it was registered for
    this.desc = new Map(); // node -> number of descendants
    this.rep = new Map(); // node -> visible representative
    this.typeOf = new Map(); // node -> Type (to notice a Type change)
    this.ekey = new Map(); // edge ID -> visible edge key it is drawn in
    this.vedges = new Map(); // key -> {key, source, target, own, members: Map<eid, relType>, types: Map<relType, n>}
    this.dirtyNodes = new Set();
    this.dirtyEdges = new Set();
    this.dirtyReset = true;
  }

  destroy() { this.unsub && this.unsub(); }

  onChange(fn) {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  _changed() { for (const fn of this.changeListeners) fn(); }

  // {reset, nodes:Set<id>, edges:Set<key>} since the last call. reset: rebuild everything.
  takeDirty() {
    const d = { reset: this.dirtyReset, nodes: this.dirtyNodes, edges: this.dirtyEdges };
    this.dirtyReset = false;
    this.dirtyNodes = new Set();
    this.dirtyEdges = new Set();
    return d;
  }

  // ---- queries ----
  hasChildren(id) { const s = this.children.get(id); return !!s && s.size > 0; }
  isExpanded(id) {
    const o = this.override.get(id);
    if (o !== undefined) return o;
    const n = this.model.nodes.get(id);
    return !(n && this.defaultCollapsed.has(n.Metadata.Type));
  }
  isCollapsed(id) { return this.hasChildren(id) && !this.isExpanded(id); }
  isVisible(id) { return this.rep.get(id) === id; }
  repOf(id) { return this.rep.get(id); }
  count(id) { return this.desc.get(id) || 0; }
  depth(id) { let d = 0; for (let p = this.parent.get(id); p != null; p = this.parent.get(p)) d++; return d; }
  ancestors(id) { const a = []; for (let p = this.parent.get(id); p != null; p = this.parent.get(p)) a.push(p); return a; }
  childrenOf(id) { return [...(this.children.get(id) || [])]; }
  visibleNodeIds() { const out = []; for (const [id, r] of this.rep) if (id === r) out.push(id); return out; }
  // {id, node, group, collapsed, count} of a visible node, or null.
  visibleNode(id) {
    if (!this.isVisible(id)) return null;
    const group = this.hasChildren(id);
    return { id, node: this.model.nodes.get(id), group, collapsed: group && !this.isExpanded(id), count: this.count(id) };
  }
  visibleEdge(key) { return this.vedges.get(key) || null; }
  // The RelationType of a visible edge: the one its members share, or 'mixed'.
  static relTypeOf(ve) {
    if (ve.types.size === 1) return ve.types.keys().next().value;
    return 'mixed';
  }

  // ---- expand / collapse ----
  setExpanded(id, expanded) {
    const before = this.isCollapsed(id);
    this.override.set(id, !!expanded);
    if (this.isCollapsed(id) !== before) this._recomputeSubtree(id);
    this.dirtyNodes.add(id);
    this._changed();
  }
  expand(id) { this.setExpanded(id, true); }
  collapse(id) { this.setExpanded(id, false); }
  toggle(id) { this.setExpanded(id, this.isCollapsed(id)); }

  // Expands every collapsed ancestor of id (top-down); true when anything changed.
  reveal(id) {
    const anc = this.ancestors(id).reverse();
    let changed = false;
    for (const a of anc) if (this.isCollapsed(a)) { this.override.set(a, true); this.dirtyNodes.add(a); changed = true; }
    if (changed) { this._recomputeSubtree(anc[0]); this._changed(); }
    return changed;
  }

  // Expands (or collapses) every group, or those of one Type.
  setAll(expanded, type) {
    for (const id of this.children.keys()) {
      const n = this.model.nodes.get(id);
      if (!type || (n && n.Metadata.Type === type)) this.override.set(id, !!expanded);
    }
    for (const id of this.model.nodes.keys()) if (!this.parent.has(id)) this._recomputeSubtree(id);
    for (const id of this.children.keys()) this.dirtyNodes.add(id);
    this._changed();
  }

  // ---- model events ----
  _onEvent(ev) {
    switch (ev.type) {
      case 'reset': this._rebuild(); break;
      case 'node-added': this._nodeAdded(ev.node.ID); break;
      case 'node-updated': this._nodeUpdated(ev.node); break;
      case 'node-deleted': this._nodeDeleted(ev.node.ID); break;
      case 'edge-added': case 'edge-updated': this._edgeChanged(ev.edge.ID); break;
      case 'edge-deleted': this._edgeChanged(ev.edge.ID); break;
      default: return;
    }
    this._changed();
  }

  _rebuild() {
    this._clear();
    const m = this.model;
    for (const id of m.nodes.keys()) {
      this.rep.set(id, id);
      this.typeOf.set(id, m.nodes.get(id).Metadata.Type);
    }
    for (const e of m.edges.values()) if (isOwnership(e)) this._registerOwn(e);
    for (const c of this.ownIn.keys()) {
      const p = this._bestParent(c);
      if (p != null) this._attach(c, p);
    }
    // Descendant counts, bottom-up from every root, then representatives top-down.
    const roots = [];
    for (const id of m.nodes.keys()) if (!this.parent.has(id)) roots.push(id);
    for (const r of roots) this._countFrom(r);
    for (const r of roots) this._repFrom(r, null, false);
    for (const eid of m.edges.keys()) this._recomputeEdge(eid);
    this.dirtyReset = true;
    this.dirtyNodes.clear();
    this.dirtyEdges.clear();
  }

  _countFrom(root) {
    // Iterative post-order.
    const stack = [[root, false]];
    while (stack.length) {
      const [id, done] = stack.pop();
      const ch = this.children.get(id);
      if (done || !ch || !ch.size) {
        let n = 0;
        if (ch) for (const c of ch) n += 1 + (this.desc.get(c) || 0);
        this.desc.set(id, n);
        continue;
      }
      stack.push([id, true]);
      for (const c of ch) stack.push([c, false]);
    }
  }

  // Sets rep for id's subtree given the collapsed ancestor ctx (or null); returns nothing.
  // mark: add every node whose rep changed to dirtyNodes and recompute its edges.
  _repFrom(id, ctx, mark) {
    const stack = [[id, ctx]];
    while (stack.length) {
      const [y, c] = stack.pop();
      const r = c ?? y;
      if (this.rep.get(y) !== r) {
        this.rep.set(y, r);
        if (mark) {
          this.dirtyNodes.add(y);
          const s = this.model.adj.get(y);
          if (s) for (const eid of s) this._recomputeEdge(eid);
        }
      }
      const ch = this.children.get(y);
      if (!ch) continue;
      const cc = c ?? (this.isExpanded(y) ? null : y);
      for (const k of ch) stack.push([k, cc]);
    }
  }

  _recomputeSubtree(id) {
    if (!this.model.nodes.has(id)) return;
    let ctx = null;
    for (let p = this.parent.get(id); p != null; p = this.parent.get(p)) if (this.isCollapsed(p)) ctx = p;
    this._repFrom(id, ctx, true);
  }

  _registerOwn(e) {
    let s = this.ownIn.get(e.Child);
    if (!s) this.ownIn.set(e.Child, (s = new Set()));
    s.add(e.ID);
    this.ownReg.set(e.ID, e.Child);
  }

  _unregisterOwn(eid) {
    const c = this.ownReg.get(eid);
    if (c === undefined) return undefined;
    this.ownReg.delete(eid);
    const s = this.ownIn.get(c);
    if (s) { s.delete(eid); if (!s.size) this.ownIn.delete(c); }
    return c;
  }

  // The parent of c: the Parent of its smallest-ID ownership edge whose Parent exists
  // and would not make a cycle.
  _bestParent(c) {
    const s = this.ownIn.get(c);
    if (!s || !this.model.nodes.has(c)) return undefined;
    let best, bestE;
    for (const eid of s) {
      const e = this.model.edges.get(eid);
      if (!e || !this.model.nodes.has(e.Parent) || e.Parent === c) continue;
      if (bestE !== undefined && !(eid < bestE)) continue;
      if (this._wouldCycle(c, e.Parent)) continue;
      best = e.Parent; bestE = eid;
    }
    return best;
  }

  _wouldCycle(c, p) {
    for (let a = p; a != null; a = this.parent.get(a)) if (a === c) return true;
    return false;
  }

  _attach(c, p) {
    this.parent.set(c, p);
    let s = this.children.get(p);
    if (!s) this.children.set(p, (s = new Set()));
    s.add(c);
  }

  _detach(c) {
    const p = this.parent.get(c);
    if (p == null) return;
    this.parent.delete(c);
    const s = this.children.get(p);
    if (s) { s.delete(c); if (!s.size) this.children.delete(p); }
  }

  _addCount(from, delta) {
    for (let a = from; a != null; a = this.parent.get(a)) {
      this.desc.set(a, (this.desc.get(a) || 0) + delta);
      this.dirtyNodes.add(a);
    }
  }

  _reparent(c) {
    const np = this._bestParent(c);
    const op = this.parent.get(c);
    if (np === op) return;
    const size = 1 + (this.desc.get(c) || 0);
    if (op != null) {
      this._detach(c);
      this._addCount(op, -size);
      // op may have lost its last child: it is no longer a group.
      this._recomputeSubtree(op);
    }
    if (np != null) {
      this._attach(c, np);
      this._addCount(np, size);
    }
    this._recomputeSubtree(c);
  }

  _nodeAdded(id) {
    const n = this.model.nodes.get(id);
    this.typeOf.set(id, n.Metadata.Type);
    if (!this.desc.has(id)) this.desc.set(id, 0);
    this._recomputeSubtree(id);
    this.dirtyNodes.add(id);
    // Ownership edges that arrived before this node.
    const s = this.model.adj.get(id);
    if (s) for (const eid of [...s]) {
      const e = this.model.edges.get(eid);
      if (!isOwnership(e)) continue;
      if (e.Child === id) this._reparent(id);
      else if (e.Parent === id) this._reparent(e.Child);
    }
  }

  _nodeUpdated(n) {
    const id = n.ID;
    if (!this.rep.has(id)) { this._nodeAdded(id); return; }
    const t = n.Metadata.Type;
    if (this.typeOf.get(id) !== t) {
      const before = this._collapsedWithType(id, this.typeOf.get(id));
      this.typeOf.set(id, t);
      if (this.isCollapsed(id) !== before) this._recomputeSubtree(id);
    }
    this.dirtyNodes.add(id);
  }

  _collapsedWithType(id, type) {
    if (!this.hasChildren(id)) return false;
    const o = this.override.get(id);
    return o !== undefined ? !o : this.defaultCollapsed.has(type);
  }

  _nodeDeleted(id) {
    // Its edges went first (edge-deleted events): it has no parent and no children left,
    // unless edges referred to it without the model knowing (then detach now).
    if (this.children.has(id)) for (const c of [...this.children.get(id)]) { this._detach(c); this._recomputeSubtree(c); }
    if (this.parent.has(id)) { const p = this.parent.get(id); this._detach(id); this._addCount(p, -1 - (this.desc.get(id) || 0)); }
    this.rep.delete(id);
    this.desc.delete(id);
    this.typeOf.delete(id);
    this.dirtyNodes.add(id);
    // Non-ownership edges naming a missing node are invisible; recompute any left.
    const s = this.model.adj.get(id);
    if (s) for (const eid of s) this._recomputeEdge(eid);
    // Ownership edges naming it as Parent: their children lose this candidate.
    if (s) for (const eid of s) { const e = this.model.edges.get(eid); if (isOwnership(e) && e.Parent === id) this._reparent(e.Child); }
  }

  _edgeChanged(eid) {
    const e = this.model.edges.get(eid);
    const wasChild = this.ownReg.get(eid);
    const own = isOwnership(e);
    if (wasChild !== undefined && (!own || wasChild !== e.Child)) {
      this._unregisterOwn(eid);
      this._reparent(wasChild);
    }
    if (own && wasChild !== e.Child) {
      this._registerOwn(e);
      this._reparent(e.Child);
    } else if (own) {
      // Same child; its Parent may have changed.
      this._reparent(e.Child);
    }
    this._recomputeEdge(eid);
  }

  _recomputeEdge(eid) {
    const e = this.model.edges.get(eid);
    let key = null, rp, rc, rel = '';
    const own = isOwnership(e);
    if (e) {
      rp = this.rep.get(e.Parent);
      rc = this.rep.get(e.Child);
      rel = e.Metadata.RelationType || '';
      if (rp !== undefined && rc !== undefined && rp !== rc) key = pairKey(rp, rc, own);
    }
    const old = this.ekey.get(eid);
    if (old === key || (old === undefined && key === null)) {
      if (key !== null) {
        const ve = this.vedges.get(key);
        const prev = ve.members.get(eid);
        if (prev !== rel) { this._untype(ve, prev); this._type(ve, rel); ve.members.set(eid, rel); this.dirtyEdges.add(key); }
      }
      return;
    }
    if (old !== undefined) {
      const ve = this.vedges.get(old);
      if (ve) {
        this._untype(ve, ve.members.get(eid));
        ve.members.delete(eid);
        if (!ve.members.size) this.vedges.delete(old);
      }
      this.ekey.delete(eid);
      this.dirtyEdges.add(old);
    }
    if (key !== null) {
      let ve = this.vedges.get(key);
      if (!ve) {
        const [s, t] = own ? [rp, rc] : rp < rc ? [rp, rc] : [rc, rp];
        ve = { key, source: s, target: t, own, members: new Map(), types: new Map() };
        this.vedges.set(key, ve);
      }
      ve.members.set(eid, rel);
      this._type(ve, rel);
      this.ekey.set(eid, key);
      this.dirtyEdges.add(key);
    }
  }

  _type(ve, rel) { ve.types.set(rel, (ve.types.get(rel) || 0) + 1); }
  _untype(ve, rel) {
    const n = (ve.types.get(rel) || 0) - 1;
    if (n > 0) ve.types.set(rel, n); else ve.types.delete(rel);
  }

  // A canonical description of the visible graph (tests compare it with computeVisible).
  snapshot() {
    const nodes = [];
    for (const id of this.visibleNodeIds()) {
      const v = this.visibleNode(id);
      nodes.push(`${id}:${v.collapsed ? 'c' : v.group ? 'e' : '-'}:${v.collapsed ? v.count : 0}`);
    }
    const edges = [];
    for (const ve of this.vedges.values()) edges.push(`${ve.key}:${ve.members.size}:${Groups.relTypeOf(ve)}`);
    return { nodes: nodes.sort(), edges: edges.sort() };
  }
}

// The visible graph computed from scratch (the reference the incremental one must equal):
// same rules, no state. isExpanded(id, node) decides each group.
export function computeVisible(model, isExpanded) {
  const parent = new Map();
  const bestE = new Map();
  for (const e of model.edges.values()) {
    if (!isOwnership(e) || !model.nodes.has(e.Parent) || !model.nodes.has(e.Child) || e.Parent === e.Child) continue;
    const b = bestE.get(e.Child);
    if (b === undefined || e.ID < b) { bestE.set(e.Child, e.ID); parent.set(e.Child, e.Parent); }
  }
  const children = new Map();
  for (const [c, p] of parent) { if (!children.has(p)) children.set(p, []); children.get(p).push(c); }
  const desc = (id) => { let n = 0; for (const c of children.get(id) || []) n += 1 + desc(c); return n; };
  const rep = new Map();
  const walk = (id, ctx) => {
    rep.set(id, ctx ?? id);
    const ch = children.get(id);
    if (!ch) return;
    const cc = ctx ?? (isExpanded(id, model.nodes.get(id)) ? null : id);
    for (const c of ch) walk(c, cc);
  };
  for (const id of model.nodes.keys()) if (!parent.has(id)) walk(id, null);
  const nodes = [];
  for (const [id, r] of rep) {
    if (id !== r) continue;
    const group = children.has(id);
    const collapsed = group && !isExpanded(id, model.nodes.get(id));
    nodes.push(`${id}:${collapsed ? 'c' : group ? 'e' : '-'}:${collapsed ? desc(id) : 0}`);
  }
  const ve = new Map();
  for (const e of model.edges.values()) {
    const rp = rep.get(e.Parent), rc = rep.get(e.Child);
    if (rp === undefined || rc === undefined || rp === rc) continue;
    const k = pairKey(rp, rc, isOwnership(e));
    if (!ve.has(k)) ve.set(k, { n: 0, types: new Set() });
    const v = ve.get(k);
    v.n++;
    v.types.add(e.Metadata.RelationType || '');
  }
  const edges = [];
  for (const [k, v] of ve) edges.push(`${k}:${v.n}:${v.types.size === 1 ? [...v.types][0] : 'mixed'}`);
  return { nodes: nodes.sort(), edges: edges.sort() };
}
