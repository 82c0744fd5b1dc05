// model/topology.js - TopologyModel: the Skydive graph as the analyzer sends it over
// /ws/subscriber, by ID, with the edges of each node indexed, and fine-grained change
// events. Pure logic (no browser API): node --test runs it.
//
//   nodes: Map<ID, Node>, edges: Map<ID, Edge>, getNode(id), getEdge(id), edgesOf(id)
//   on(fn) -> unsubscribe; fn(ev) with ev = {type:'reset'} or
//     {type:'node-added'|'node-updated'|'node-deleted', node} or
//     {type:'edge-added'|'edge-updated'|'edge-deleted', edge}
//   applyMessage(envelope) -> true when the message was a graph change it applied
//
// A node deleted takes its edges: 'edge-deleted' is emitted for each before 'node-deleted'.
// An edge whose ends are unknown is kept (the analyzer guarantees order; a filtered
// subscription may still send one) but every consumer must tolerate a missing end.

export const OP_ADD = 1; // NodePartiallyUpdated Ops: Type 1 (or "add") sets a dotted key
export const OP_DEL = 2; // Type 2 (or "del") deletes it

// Sets (op add) or deletes (op del) a dotted key ("A.B.C") in obj, creating objects.
export function applyOp(obj, op) {
  const key = String(op.Key ?? op.key ?? '');
  if (!key) return;
  const type = op.Type ?? op.type;
  const del = type === OP_DEL || type === 'del' || type === 'delete';
  const parts = key.split('.');
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    if (o[p] === null || typeof o[p] !== 'object' || Array.isArray(o[p])) {
      if (del) return;
      o[p] = {};
    }
    o = o[p];
  }
  const last = parts[parts.length - 1];
  if (del) delete o[last];
  else o[last] = op.Value ?? op.value;
}

export class TopologyModel {
  constructor() {
    this.nodes = new Map();
    this.edges = new Map();
    this.adj = new Map(); // node ID -> Set<edge ID> (edges where it is Parent or Child)
    this.listeners = new Set();
    this.revision = 0; // bumped on every applied change (cheap "did anything change")
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(ev) {
    this.revision++;
    for (const fn of this.listeners) fn(ev);
  }

  getNode(id) { return this.nodes.get(id); }
  getEdge(id) { return this.edges.get(id); }

  // Edge IDs touching node id (a fresh array: safe to mutate the model while iterating).
  edgesOf(id) {
    const s = this.adj.get(id);
    return s ? [...s] : [];
  }

  // Replaces the whole graph ({Nodes, Edges}); one 'reset' event.
  reset(graph) {
    this.nodes = new Map();
    this.edges = new Map();
    this.adj = new Map();
    const g = graph || {};
    for (const n of g.Nodes || []) if (n && n.ID != null) this.nodes.set(n.ID, norm(n));
    for (const e of g.Edges || []) if (e && e.ID != null) this._putEdge(norm(e));
    this.emit({ type: 'reset' });
  }

  _link(nid, eid) {
    let s = this.adj.get(nid);
    if (!s) this.adj.set(nid, (s = new Set()));
    s.add(eid);
  }

  _unlink(nid, eid) {
    const s = this.adj.get(nid);
    if (!s) return;
    s.delete(eid);
    if (!s.size) this.adj.delete(nid);
  }

  _putEdge(e) {
    const old = this.edges.get(e.ID);
    if (old && (old.Parent !== e.Parent || old.Child !== e.Child)) {
      this._unlink(old.Parent, e.ID);
      this._unlink(old.Child, e.ID);
    }
    this.edges.set(e.ID, e);
    this._link(e.Parent, e.ID);
    this._link(e.Child, e.ID);
  }

  addNode(n) {
    if (!n || n.ID == null) return false;
    const had = this.nodes.has(n.ID);
    const node = norm(n);
    this.nodes.set(n.ID, node);
    this.emit({ type: had ? 'node-updated' : 'node-added', node });
    return true;
  }

  updateNode(n) { return this.addNode(n); }

  deleteNode(n) {
    const id = n && n.ID;
    const node = this.nodes.get(id);
    if (!node) return false;
    for (const eid of this.edgesOf(id)) this.deleteEdge({ ID: eid });
    this.nodes.delete(id);
    this.emit({ type: 'node-deleted', node });
    return true;
  }

  addEdge(e) {
    if (!e || e.ID == null) return false;
    const had = this.edges.has(e.ID);
    const edge = norm(e);
    this._putEdge(edge);
    this.emit({ type: had ? 'edge-updated' : 'edge-added', edge });
    return true;
  }

  updateEdge(e) { return this.addEdge(e); }

  deleteEdge(e) {
    const id = e && e.ID;
    const edge = this.edges.get(id);
    if (!edge) return false;
    this.edges.delete(id);
    this._unlink(edge.Parent, id);
    this._unlink(edge.Child, id);
    this.emit({ type: 'edge-deleted', edge });
    return true;
  }

  // {ID, Ops:[{Type, Key, Value}], UpdatedAt?, Revision?} on a node (kind 'node') or edge.
  partialUpdate(kind, obj) {
    const map = kind === 'node' ? this.nodes : this.edges;
    const cur = obj && map.get(obj.ID);
    if (!cur) return false;
    // A new object (and Metadata): consumers may compare by identity.
    const next = { ...cur, Metadata: structuredCloneSafe(cur.Metadata) };
    for (const op of obj.Ops || []) applyOp(next.Metadata, op);
    if (obj.UpdatedAt != null) next.UpdatedAt = obj.UpdatedAt;
    if (obj.Revision != null) next.Revision = obj.Revision;
    map.set(obj.ID, next);
    if (kind === 'node') this.emit({ type: 'node-updated', node: next });
    else this.emit({ type: 'edge-updated', edge: next });
    return true;
  }

  // One envelope {Namespace, Type, Obj, Status?}. Returns true when applied.
  applyMessage(msg) {
    if (!msg || (msg.Namespace && msg.Namespace !== 'Graph')) return false;
    const obj = msg.Obj;
    switch (msg.Type) {
      case 'SyncReply':
      case 'Sync':
        if (msg.Status != null && msg.Status !== 200) return false;
        this.reset(obj && typeof obj === 'object' ? obj : {});
        return true;
      case 'NodeAdded': return this.addNode(obj);
      case 'NodeUpdated': return this.updateNode(obj);
      case 'NodeDeleted': return this.deleteNode(obj);
      case 'EdgeAdded': return this.addEdge(obj);
      case 'EdgeUpdated': return this.updateEdge(obj);
      case 'EdgeDeleted': return this.deleteEdge(obj);
      case 'NodePartiallyUpdated': return this.partialUpdate('node', obj);
      case 'EdgePartiallyUpdated': return this.partialUpdate('edge', obj);
      default: return false;
    }
  }
}

function norm(x) {
  if (!x.Metadata || typeof x.Metadata !== 'object') x.Metadata = {};
  return x;
}

// Deep copy of plain JSON (Metadata): nested objects change under dotted keys.
function structuredCloneSafe(m) {
  if (!m || typeof m !== 'object') return {};
  const out = Array.isArray(m) ? [] : {};
  for (const k of Object.keys(m)) {
    const v = m[k];
    out[k] = v && typeof v === 'object' ? structuredCloneSafe(v) : v;
  }
  return out;
}
