// graph/view.js - mountTopology(el, model): the topology drawn by sigma 3 (WebGL) from a
// graphology graph holding only the visible elements (model/groups.js decides which,
// model/layout.js where). Model events reach the drawn graph in batches, once per
// animation frame; an update never moves a node nor lays the graph out again.
//
// Interaction: wheel/drag zoom and pan (sigma), click selects, shift-click adds to the
// selection (store.selection, panel
// 'node'), double-click on a group (or the +/- button of the toolbar) expands or
// collapses it, "Fit" frames what is drawn. Selection is drawn by the reducers only.
// Framing (graph/framing.js): a new graph and "Fit" centre the graph with margins, a
// small one at a bounded scale; a selection (search, selectNodes) frames the selected
// nodes with their neighbours and group. The canvas follows its container's size
// (ResizeObserver: the side panel opening) and keeps what it framed, or the selection,
// in view. Every label is drawn when fewer than FEW_NODES nodes are; above, sigma's
// density culling decides.
//
// Returned object (test hooks, see ui/README.md): selectNodes(ids), fit(), visibleNodeIds(),
// expand(id), collapse(id), destroy(); also toggle(id), focus(ids), flush(), onFlush(fn),
// sigma, graph, groups, layout, stats, firstView (ms, performance.now() of the first view).
import Graph from 'graphology';
import Sigma from 'sigma';
import * as store from '../store.js';
import { Groups } from '../model/groups.js';
import { Layout } from '../model/layout.js';
import { DIM, DIM_LABEL, nodeStyle, edgeStyle } from './style.js';
import {
  FIT_PAD, FIT_MAX_PX_PER_UNIT, FOCUS_MIN_SPAN, FEW_NODES,
  extentOf, framedPerUnit, framedBBox, cameraFor, focusSet, inViewport, sameCamera, toFramed,
} from './framing.js';

export { TYPE_COLORS, EDGE_COLORS, nodeStyle, edgeStyle } from './style.js';

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
  let drawnSel = 0; // selected nodes drawn: none (all deleted) dims nothing
  let raf = 0;
  let frozen = false; // custom bbox set: the framing does not follow graph changes
  let few = true; // fewer than FEW_NODES drawn: every label is shown
  let lastFrame = null; // {ids|null, state}: the last framing, redone on a resize if kept
  let firstPending = false;
  const flushListeners = new Set();
  const stats = { flushes: 0, lastFlushMs: 0, maxFlushMs: 0, lastFlushAt: 0, nodesDrawn: 0, edgesDrawn: 0 };

  const nodeReducer = (id, data) => {
    if (!drawnSel) return few ? { ...data, forceLabel: true } : data;
    if (selected.has(id)) return { ...data, highlighted: true, size: data.size * 1.35, zIndex: 3, forceLabel: true };
    if (neighbors.has(id)) return selected.size <= 5 || few ? { ...data, forceLabel: true } : data;
    if (few) return { ...data, color: DIM, labelColor: DIM_LABEL, forceLabel: true, zIndex: 0 };
    return { ...data, color: DIM, label: data.collapsed ? data.label : null, zIndex: 0 };
  };
  const edgeReducer = (id, data) => {
    if (!drawnSel) return data;
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
    labelColor: { attribute: 'labelColor', color: '#1d2330' },
    edgeLabelSize: 10,
    edgeLabelColor: { color: '#9aa3b2' },
    labelRenderedSizeThreshold: 7,
    labelDensity: 0.6,
    stagePadding: 60,
    minCameraRatio: 0.005,
    // Sizes in pixels: nodes shrink when zooming out, grow only a little zooming in.
    // (not below the ratio a small graph's fit takes: its nodes stay visible)
    zoomToSizeRatioFunction: (r) => (r >= 1.6 ? r / 1.6 : r >= 1 ? 1 : Math.pow(r, 0.25)),
    maxCameraRatio: 20,
    doubleClickZoomingDuration: 200,
    allowInvalidContainer: true,
  });

  // The side panel opening or closing resizes the canvas: sigma must know, and what was
  // framed (or the selection) must stay in view.
  let ro = null;
  let resizeTimer = 0;
  let lastClickAt = -1e9;
  let size = { w: el.offsetWidth, h: el.offsetHeight };
  if (typeof ResizeObserver !== 'undefined') {
    ro = new ResizeObserver(() => {
      clearTimeout(resizeTimer);
      // Not within a double-click of a click: the click that opens the panel must leave
      // the node under the mouse for the second click.
      const wait = Math.max(16, lastClickAt + 400 - performance.now());
      resizeTimer = setTimeout(onResize, wait);
    });
    ro.observe(el);
  }

  // Still going to (or resting at) what was framed last: the user has not moved it.
  function cameraKept() {
    return !!lastFrame && (performance.now() < lastFrame.until || sameCamera(renderer.getCamera().getState(), lastFrame.state));
  }

  function onResize() {
    const w = el.offsetWidth, h = el.offsetHeight;
    if (w === size.w && h === size.h) return;
    size = { w, h };
    const kept = cameraKept();
    renderer.resize();
    renderer.refresh({ skipIndexation: true });
    if (!w || !h) return;
    if (kept) { frame(lastFrame.ids, 200); return; }
    // The user moved the camera since: only bring the selection back if it left the view.
    const sel = [...selected].filter((id) => graph.hasNode(id));
    if (!sel.length) return;
    const out = sel.some((id) => {
      const d = renderer.getNodeDisplayData(id);
      return !d || !inViewport(renderer.framedGraphToViewport(d), w, h, 20);
    });
    if (out) frame(focusIds(sel), 200);
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
    few = g.order < FEW_NODES;
    renderer.setGraph(g); // processes the graph: its extent is known
    if (g.order) { freeze(); fitCamera(0); }
  }

  // Applies the changes; returns the IDs of the nodes it added to the drawn graph.
  function apply(d) {
    const added = [];
    const need = [];
    for (const id of d.nodes) if (groups.isVisible(id) && !layout.has(id)) need.push(id);
    if (need.length) layout.place(need);
    for (const id of d.nodes) {
      const v = groups.visibleNode(id);
      if (v) {
        const a = nodeAttrs(v);
        if (graph.hasNode(id)) graph.replaceNodeAttributes(id, a);
        else { graph.addNode(id, a); added.push(id); }
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
    return added;
  }

  function flush() {
    if (raf) { cancelAnimationFrame(raf); raf = 0; }
    const t0 = performance.now();
    const d = groups.takeDirty();
    if (!d.reset && !d.nodes.size && !d.edges.size) return;
    let added = [];
    if (d.reset) rebuild();
    else added = apply(d);
    if (!frozen && graph.order) freeze();
    updateNeighbors();
    if (!d.reset && (graph.order < FEW_NODES) !== few) {
      few = !few;
      renderer.refresh({ skipIndexation: true }); // the reducer's labels change for all
    }
    // A small graph still showing its fit follows what is added out of view (a big one
    // never moves by itself).
    if (added.length && few && lastFrame && !lastFrame.ids && cameraKept()) {
      // (positions from the layout and the frozen box: no synchronous sigma refresh)
      const bbox = renderer.getCustomBBox() || renderer.getBBox();
      const { width: W, height: H } = renderer.getDimensions();
      const out = added.some((id) => {
        const a = graph.getNodeAttributes(id);
        return !inViewport(renderer.framedGraphToViewport(toFramed(bbox, a)), W, H, 30);
      });
      if (out) frame(null, 300);
    }
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
    const before = drawnSel;
    drawnSel = 0;
    for (const id of selected) if (graph.hasNode(id)) { drawnSel++; graph.forEachNeighbor(id, (n) => neighbors.add(n)); }
    // The last selected node deleted (or back): every node's dimming changes.
    if (!before !== !drawnSel) renderer.refresh({ skipIndexation: true });
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
  renderer.on('clickNode', ({ node, event }) => {
    lastClickAt = performance.now();
    clearTimeout(panelTimer);
    const orig = event && event.original;
    if (orig && orig.shiftKey && !groups.hasChildren(node)) {
      // shift-click adds to the selection (the Inject tab's source, then destination)
      const cur = (store.get().selection || []).filter((x) => x !== node);
      store.set({ selection: [...cur, node], panel: 'node' });
    } else if (groups.hasChildren(node)) {
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
    lastClickAt = performance.now();
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
    if (!groups.isCollapsed(id)) frame(focusIds([id, ...groups.childrenOf(id).filter((c) => graph.hasNode(c))]));
  }

  // Viewport pixels per framed unit at camera ratio 1 (sigma's matrix for this size).
  function pxPerFramed() {
    const st = { cameraState: { x: 0.5, y: 0.5, ratio: 1, angle: 0 } };
    const o = renderer.framedGraphToViewport({ x: 0.5, y: 0.5 }, st);
    const a = renderer.framedGraphToViewport({ x: 1.5, y: 0.5 }, st);
    const b = renderer.framedGraphToViewport({ x: 0.5, y: 1.5 }, st);
    return { kx: Math.hypot(a.x - o.x, a.y - o.y) || 1, ky: Math.hypot(b.x - o.x, b.y - o.y) || 1 };
  }

  function moveCamera(target, duration) {
    const cam = renderer.getCamera();
    const state = { ...target, angle: 0 };
    if (duration > 0) cam.animate(state, { duration });
    else cam.setState(state);
    return state;
  }
  const framed = (ids, state, duration) => ({ ids, state, until: performance.now() + duration + 50 });

  function cameraOpts(extra) {
    const { width: W, height: H } = renderer.getDimensions();
    return {
      W, H, ...pxPerFramed(), pad: FIT_PAD,
      minRatio: renderer.getSetting('minCameraRatio'), maxRatio: renderer.getSetting('maxCameraRatio'),
      ...extra,
    };
  }

  // The whole graph (ext: its framed extent, else the bounding box's), centred with
  // margins; a small graph at a bounded scale.
  function fitCamera(duration, ext) {
    const bbox = renderer.getCustomBBox() || renderer.getBBox();
    const f = framedPerUnit(bbox);
    const target = cameraFor(ext || framedBBox(bbox), cameraOpts({ maxPx: FIT_MAX_PX_PER_UNIT / f }));
    lastFrame = framed(null, moveCamera(target, duration), duration);
  }

  // Frames the given drawn nodes (all when none).
  function frame(ids, duration = 300) {
    if (!ids || !ids.length) {
      if (!graph.order) {
        lastFrame = null;
        renderer.getCamera().animate({ x: 0.5, y: 0.5, ratio: 1, angle: 0 }, { duration });
        return;
      }
      // Within the framing kept since the sync (nothing jumps, the camera glides) unless
      // the graph outgrew it a lot: then frame afresh.
      renderer.refresh();
      const pts = [];
      graph.forEachNode((id) => pts.push(renderer.getNodeDisplayData(id)));
      const ext = extentOf(pts);
      const bb = renderer.getCustomBBox();
      const degenerate = !bb || (bb.x[1] - bb.x[0] <= 0 && bb.y[1] - bb.y[0] <= 0);
      if (ext && !degenerate && ext.x2 - ext.x1 <= 3 && ext.y2 - ext.y1 <= 3) { fitCamera(duration, ext); return; }
      renderer.setCustomBBox(null);
      renderer.refresh();
      freeze();
      fitCamera(duration);
      return;
    }
    // Nodes just added have no (normalised) display data until sigma processes them.
    renderer.refresh();
    const ext = extentOf(ids.map((id) => renderer.getNodeDisplayData(id)));
    if (!ext) { frame(null, duration); return; }
    const f = framedPerUnit(renderer.getCustomBBox() || renderer.getBBox());
    const target = cameraFor(ext, cameraOpts({ minSpan: FOCUS_MIN_SPAN * f }));
    lastFrame = framed([...ids], moveCamera(target, duration), duration);
  }

  // The drawn nodes framing a selection: it, its neighbours, its group.
  function focusIds(ids) {
    return focusSet(ids.filter((id) => graph.hasNode(id)), {
      has: (id) => graph.hasNode(id),
      neighbors: (id) => graph.neighbors(id),
      parent: (id) => { const p = groups.parent.get(id); return p == null ? p : groups.repOf(p); },
      children: (id) => groups.childrenOf(id),
    });
  }

  function focus(ids) {
    const nodes = (ids || []).filter((id) => model.nodes.has(id));
    if (!nodes.length) return;
    setSelected(nodes);
    frame(focusIds(nodes));
  }

  // ---- toolbar over the canvas: fit, expand/collapse the selected group, all ----
  const toolbar = makeToolbar(el, {
    fit: () => frame(null),
    toggleSel: () => { const g = selectedGroup(); if (g) toggleAndFrame(g); },
    collapseAll: () => { groups.setAll(false); flush(); toolbar.update(); frame(null); },
    expandHosts: () => { groups.setAll(true, 'host'); flush(); toolbar.update(); frame(null); },
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
      const drawn = (ids || []).filter((id) => graph.hasNode(id));
      if (drawn.length) frame(focusIds(drawn));
    },
    focus, frame,
    fit() { flush(); frame(null, 0); },
    visibleNodeIds() { flush(); return graph.nodes(); },
    expand, collapse, toggle,
    onFlush(fn) { flushListeners.add(fn); return () => flushListeners.delete(fn); },
    destroy() {
      if (raf) cancelAnimationFrame(raf);
      clearTimeout(panelTimer);
      clearTimeout(resizeTimer);
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
