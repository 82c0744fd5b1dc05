// graph/view.js - mountTopology(el, model): the topology drawn by sigma 3 (WebGL) from a
// graphology graph holding only the visible elements (model/groups.js decides which,
// model/layout.js where). Model events reach the drawn graph in batches, once per
// animation frame; an update never moves a node nor lays the graph out again.
//
// Interaction: wheel/drag zoom and pan (sigma), click selects (store.selection, panel
// 'node'), double-click on a group (or the +/- button of the toolbar) expands or
// collapses it, "Fit" frames what is drawn. Selection is drawn by the reducers only.
//
// Returned object (test hooks, see ui/README.md): selectNodes(ids), fit(), visibleNodeIds(),
// expand(id), collapse(id), destroy(); also toggle(id), focus(ids), flush(), onFlush(fn),
// sigma, graph, groups, layout, stats, firstView (ms, performance.now() of the first view).
import Graph from 'graphology';
import Sigma from 'sigma';
import * as store from '../store.js';
import { Groups } from '../model/groups.js';
import { Layout } from '../model/layout.js';

export const TYPE_COLORS = {
  host: '#1f5f99', netns: '#7b4fa8', veth: '#2e9d5b', device: '#3d6a9e', physical: '#3d6a9e',
  bridge: '#d98c1a', ovsbridge: '#b5651d', ovsport: '#e0a458', internal: '#7f8c8d',
  tun: '#16a085', tap: '#16a085', vxlan: '#13a3b3', gre: '#13a3b3', geneve: '#13a3b3',
  bond: '#6c5ce7', vlan: '#00a8cc', macvlan: '#4aa3df', loopback: '#9aa3b2',
};
const DEFAULT_NODE = '#8a94a6';
export const EDGE_COLORS = {
  ownership: '#d5d9e0', layer2: '#5b8def', mixed: '#8893a6', patch: '#d98c1a',
  tunnel: '#16a085', layer3: '#9b59b6',
};
const DEFAULT_EDGE = '#a3abba';
const DIM = '#e4e7ec';

// Color c mixed with m by t (0..1), both '#rrggbb'.
function mix(c, m, t) {
  const p = (h, i) => parseInt(h.slice(1 + 2 * i, 3 + 2 * i), 16);
  let out = '#';
  for (let i = 0; i < 3; i++) out += Math.round(p(c, i) * (1 - t) + p(m, i) * t).toString(16).padStart(2, '0');
  return out;
}

export function nodeStyle(v) {
  const md = (v.node && v.node.Metadata) || {};
  const type = md.Type || '';
  let color = TYPE_COLORS[type] || DEFAULT_NODE;
  const down = md.State === 'DOWN';
  if (down) color = mix(color, '#e9b7b3', 0.7);
  const name = md.Name != null ? String(md.Name) : String(v.id);
  let size, label;
  if (v.collapsed) {
    size = 5 + 1.25 * Math.log2(1 + v.count);
    label = `⊕ ${name} (${v.count})`;
  } else if (v.group) {
    size = type === 'host' ? 7 : 6;
    label = `⊖ ${name}`;
  } else {
    size = type === 'host' ? 7 : 3.5;
    label = name;
  }
  return {
    label, size, color, down, ntype: type,
    forceLabel: type === 'host',
    zIndex: v.collapsed ? 2 : v.group ? 1 : 0,
    group: v.group, collapsed: v.collapsed,
  };
}

export function edgeStyle(ve, relType) {
  const n = ve.members.size;
  const color = EDGE_COLORS[relType] || DEFAULT_EDGE;
  return {
    color,
    size: ve.own ? 0.7 : Math.min(5, 0.8 + 0.7 * Math.log2(n)),
    label: n > 1 ? `×${n}` : undefined,
    rel: relType, count: n,
  };
}

let current = null; // the mounted view (TopBar asks it to focus search results)

// Selects ids, reveals and zooms to them in the mounted view (no-op when none).
export function focusNodes(ids) {
  if (current) current.focus(ids);
}

export function mountTopology(el, model) {
  const groups = new Groups(model);
  const layout = new Layout(groups);
  let graph = new Graph({ type: 'mixed', multi: false, allowSelfLoops: false });
  let selected = new Set();
  let neighbors = new Set();
  let raf = 0;
  let frozen = false; // custom bbox set: the framing does not follow graph changes
  let firstPending = false;
  const flushListeners = new Set();
  const stats = { flushes: 0, lastFlushMs: 0, maxFlushMs: 0, lastFlushAt: 0, nodesDrawn: 0, edgesDrawn: 0 };

  const nodeReducer = (id, data) => {
    if (!selected.size) return data;
    if (selected.has(id)) return { ...data, highlighted: true, size: data.size * 1.35, zIndex: 3, forceLabel: true };
    if (neighbors.has(id)) return selected.size <= 5 ? { ...data, forceLabel: true } : data;
    return { ...data, color: DIM, label: data.collapsed ? data.label : null, zIndex: 0 };
  };
  const edgeReducer = (id, data) => {
    if (!selected.size) return data;
    const [s, t] = graph.extremities(id);
    if (selected.has(s) || selected.has(t)) return { ...data, size: data.size + 1, zIndex: 1 };
    return { ...data, color: '#eef0f3', label: null };
  };

  const renderer = new Sigma(graph, el, {
    nodeReducer, edgeReducer,
    renderEdgeLabels: true,
    zIndex: true,
    labelFont: 'system-ui, sans-serif',
    labelSize: 12,
    labelColor: { color: '#1d2330' },
    edgeLabelSize: 10,
    edgeLabelColor: { color: '#9aa3b2' },
    labelRenderedSizeThreshold: 7,
    labelDensity: 0.6,
    stagePadding: 60,
    minCameraRatio: 0.005,
    // Sizes in pixels: nodes shrink when zooming out, grow only a little zooming in.
    zoomToSizeRatioFunction: (r) => (r >= 1 ? r : Math.pow(r, 0.25)),
    maxCameraRatio: 20,
    doubleClickZoomingDuration: 200,
    allowInvalidContainer: true,
  });

  // The side panel opening or closing resizes the canvas: sigma must know.
  let ro = null;
  if (typeof ResizeObserver !== 'undefined') {
    // Debounced past the double-click delay: the click that opens the panel must leave
    // the node under the mouse for the second click.
    let t = 0;
    ro = new ResizeObserver(() => {
      clearTimeout(t);
      t = setTimeout(() => { renderer.resize(); renderer.refresh({ skipIndexation: true }); }, 350);
    });
    ro.observe(el);
  }

  const schedule = () => {
    if (!raf) raf = requestAnimationFrame(() => { raf = 0; flush(); });
  };
  const unsubGroups = groups.onChange(schedule);

  function nodeAttrs(v) {
    const p = layout.get(v.id);
    return { x: p.x, y: p.y, ...nodeStyle(v) };
  }

  function edgeAttrs(ve) {
    return edgeStyle(ve, Groups.relTypeOf(ve));
  }

  function rebuild() {
    const ids = groups.visibleNodeIds();
    layout.place(ids);
    const g = new Graph({ type: 'mixed', multi: false, allowSelfLoops: false });
    for (const id of ids) g.addNode(id, nodeAttrs(groups.visibleNode(id)));
    for (const ve of groups.vedges.values()) {
      if (!g.hasNode(ve.source) || !g.hasNode(ve.target)) continue;
      if (ve.own) g.addDirectedEdgeWithKey(ve.key, ve.source, ve.target, edgeAttrs(ve));
      else g.addUndirectedEdgeWithKey(ve.key, ve.source, ve.target, edgeAttrs(ve));
    }
    graph = g;
    // Frame what the sync brought, then keep that framing (no jump on later changes).
    renderer.setCustomBBox(null);
    frozen = false;
    if (g.order && view.firstView == null) firstPending = true; // setGraph may render at once
    renderer.setGraph(g);
  }

  function apply(d) {
    const need = [];
    for (const id of d.nodes) if (groups.isVisible(id) && !layout.has(id)) need.push(id);
    if (need.length) layout.place(need);
    for (const id of d.nodes) {
      const v = groups.visibleNode(id);
      if (v) {
        const a = nodeAttrs(v);
        if (graph.hasNode(id)) graph.replaceNodeAttributes(id, a);
        else graph.addNode(id, a);
      } else if (graph.hasNode(id)) {
        graph.dropNode(id);
      }
    }
    for (const key of d.edges) {
      const ve = groups.visibleEdge(key);
      if (ve && graph.hasNode(ve.source) && graph.hasNode(ve.target)) {
        const a = edgeAttrs(ve);
        if (graph.hasEdge(key)) graph.replaceEdgeAttributes(key, a);
        else if (ve.own) graph.addDirectedEdgeWithKey(key, ve.source, ve.target, a);
        else graph.addUndirectedEdgeWithKey(key, ve.source, ve.target, a);
      } else if (graph.hasEdge(key)) {
        graph.dropEdge(key);
      }
    }
  }

  function flush() {
    if (raf) { cancelAnimationFrame(raf); raf = 0; }
    const t0 = performance.now();
    const d = groups.takeDirty();
    if (!d.reset && !d.nodes.size && !d.edges.size) return;
    if (d.reset) rebuild();
    else apply(d);
    if (!frozen && graph.order) freeze();
    updateNeighbors();
    const dt = performance.now() - t0;
    stats.flushes++;
    stats.lastFlushMs = dt;
    stats.maxFlushMs = Math.max(stats.maxFlushMs, dt);
    stats.lastFlushAt = performance.now();
    stats.nodesDrawn = graph.order;
    stats.edgesDrawn = graph.size;
    for (const fn of flushListeners) fn(d);
  }

  function freeze() {
    renderer.setCustomBBox(renderer.getBBox());
    frozen = true;
  }

  renderer.on('afterRender', () => {
    if (!firstPending) return;
    firstPending = false;
    const t = performance.now();
    view.firstView = t;
    try { performance.mark('skydive-first-view'); } catch (_) { /* old browser */ }
    if (typeof window !== 'undefined' && window.__skydive) window.__skydive.firstView = t;
  });

  function updateNeighbors() {
    neighbors = new Set();
    for (const id of selected) if (graph.hasNode(id)) graph.forEachNeighbor(id, (n) => neighbors.add(n));
  }

  // Selection -> reducers (and reveal what is hidden in a collapsed group).
  function setSelected(ids) {
    const nodes = (ids || []).filter((id) => model.nodes.has(id));
    let revealed = false;
    for (const id of nodes) if (!groups.isVisible(id)) revealed = groups.reveal(id) || revealed;
    if (revealed) flush();
    selected = new Set(nodes);
    updateNeighbors();
    renderer.refresh({ skipIndexation: true });
    toolbar.update();
  }

  const unsubStore = store.subscribe((s, changed) => {
    if (changed.includes('selection')) setSelected(s.selection);
  });

  // A click on a group opens the panel only once it is not the first half of a
  // double-click (the panel appearing would take the second click away from the node).
  let panelTimer = 0;
  renderer.on('clickNode', ({ node }) => {
    clearTimeout(panelTimer);
    if (groups.hasChildren(node)) {
      store.set({ selection: [node] });
      panelTimer = setTimeout(() => store.set({ panel: 'node' }), 320);
    } else {
      store.set({ selection: [node], panel: 'node' });
    }
  });
  renderer.on('doubleClickNode', (e) => {
    if (groups.hasChildren(e.node)) {
      clearTimeout(panelTimer);
      e.preventSigmaDefault();
      toggleAndFrame(e.node);
    }
  });
  renderer.on('clickStage', () => {
    if (store.get().selection.length) store.set({ selection: [] });
  });
  renderer.on('enterNode', () => { el.style.cursor = 'pointer'; });
  renderer.on('leaveNode', () => { el.style.cursor = ''; });

  function expand(id) { groups.expand(id); flush(); toolbar.update(); }
  function collapse(id) { groups.collapse(id); flush(); toolbar.update(); }
  function toggle(id) { groups.toggle(id); flush(); toolbar.update(); }
  // A user's toggle: an expanded group is framed with what it shows (nothing moves).
  function toggleAndFrame(id) {
    toggle(id);
    if (!groups.isCollapsed(id)) frame([id, ...groups.childrenOf(id).filter((c) => graph.hasNode(c))]);
  }

  // Frames the given drawn nodes (all when none).
  function frame(ids, duration = 300) {
    const cam = renderer.getCamera();
    if (ids && ids.length) renderer.refresh(); // display data of nodes just added
    const pts = [];
    for (const id of ids || []) {
      const d = renderer.getNodeDisplayData(id);
      if (d) pts.push(d);
    }
    if (!ids || !pts.length) {
      renderer.setCustomBBox(null);
      renderer.refresh();
      freeze();
      cam.animate({ x: 0.5, y: 0.5, ratio: 1, angle: 0 }, { duration });
      return;
    }
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (const p of pts) { x1 = Math.min(x1, p.x); y1 = Math.min(y1, p.y); x2 = Math.max(x2, p.x); y2 = Math.max(y2, p.y); }
    const ext = Math.max(x2 - x1, y2 - y1);
    const ratio = pts.length === 1 ? Math.min(cam.getState().ratio, 0.12) : Math.min(1.2, Math.max(0.01, ext * 1.5));
    cam.animate({ x: (x1 + x2) / 2, y: (y1 + y2) / 2, ratio }, { duration });
  }

  function focus(ids) {
    const nodes = (ids || []).filter((id) => model.nodes.has(id));
    if (!nodes.length) return;
    setSelected(nodes);
    frame(nodes);
  }

  // ---- toolbar over the canvas: fit, expand/collapse the selected group, all ----
  const toolbar = makeToolbar(el, {
    fit: () => frame(null),
    toggleSel: () => { const g = selectedGroup(); if (g) toggleAndFrame(g); },
    collapseAll: () => { groups.setAll(false); flush(); toolbar.update(); },
    expandHosts: () => { groups.setAll(true, 'host'); flush(); toolbar.update(); },
  });
  function selectedGroup() {
    for (const id of selected) if (groups.hasChildren(id) && groups.isVisible(id)) return id;
    return null;
  }
  toolbar.selectedGroup = () => {
    const g = selectedGroup();
    if (!g) return null;
    const n = model.nodes.get(g);
    return { name: (n && n.Metadata.Name) || g, collapsed: groups.isCollapsed(g) };
  };

  const view = {
    sigma: renderer, groups, layout, stats, firstView: null,
    get graph() { return graph; },
    flush,
    selectNodes(ids) {
      store.set({ selection: [...(ids || [])], ...(ids && ids.length ? { panel: 'node' } : {}) });
      setSelected(ids);
      frame((ids || []).filter((id) => graph.hasNode(id)));
    },
    focus, frame,
    fit() { flush(); frame(null, 0); },
    visibleNodeIds() { flush(); return graph.nodes(); },
    expand, collapse, toggle,
    onFlush(fn) { flushListeners.add(fn); return () => flushListeners.delete(fn); },
    destroy() {
      if (raf) cancelAnimationFrame(raf);
      clearTimeout(panelTimer);
      unsubGroups(); unsubStore(); groups.destroy();
      if (ro) ro.disconnect();
      toolbar.destroy();
      renderer.kill();
      if (current === view) current = null;
    },
  };
  current = view;
  if (store.get().selection.length) setSelected(store.get().selection);
  schedule();
  return view;
}

function makeToolbar(el, act) {
  const bar = document.createElement('div');
  bar.className = 'topo-toolbar';
  const btn = (text, title, fn, testid) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.title = title;
    b.dataset.testid = testid;
    b.addEventListener('click', fn);
    bar.appendChild(b);
    return b;
  };
  btn('Fit', 'Frame the whole graph', act.fit, 'topo-fit');
  const tog = btn('', '', act.toggleSel, 'topo-toggle');
  btn('Expand hosts', 'Show what every host holds (namespaces stay collapsed)', act.expandHosts, 'topo-expand-hosts');
  btn('Collapse all', 'Back to one node per host', act.collapseAll, 'topo-collapse-all');
  const hint = document.createElement('div');
  hint.className = 'topo-hint';
  hint.textContent = 'Double-click a ⊕ group to expand it, ⊖ to collapse';
  el.appendChild(bar);
  el.appendChild(hint);
  const t = {
    selectedGroup: () => null,
    update() {
      const g = t.selectedGroup();
      tog.style.display = g ? '' : 'none';
      if (g) {
        tog.textContent = `${g.collapsed ? '⊕ Expand' : '⊖ Collapse'} ${g.name}`;
        tog.title = g.collapsed ? 'Show what this group holds' : 'Draw this group as one node';
      }
    },
    destroy() { bar.remove(); hint.remove(); },
  };
  t.update();
  return t;
}
