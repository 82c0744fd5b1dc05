// SidePanel.jsx - the right panel: the selected node (header, counters and chart, its
// captures, its flows, every metadata key) or, for several nodes, their list; and the
// capture form prefilled from the selection.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as store from '../store.js';
import * as api from '../api.js';
import { useStore } from '../lib/useStore.js';
import { MetadataTree } from './MetadataTree.jsx';
import { CounterChart, startCollecting, feedSample } from './Chart.jsx';
import { FlowTable } from './FlowTable.jsx';
import { CaptureForm } from './CaptureForm.jsx';
import { usePolling } from './FlowTable.jsx';
import { formatBytes, formatCount, quote, timeContext } from '../lib/flows.js';
import { timeLabel } from '../lib/timeTravel.js';
import { can } from '../lib/session.js';
import {
  WIDTH_KEY, CREATED_NOTICE_MS, clampPanelWidth, defaultPanelWidth, storedPanelWidth, nodeSummary,
  pendingCaptures, flowCountQuery,
} from '../lib/sidePanel.js';

const COUNTERS = ['RxPackets', 'TxPackets', 'RxBytes', 'TxBytes', 'RxDropped', 'TxDropped', 'RxErrors', 'TxErrors',
  'RxMissedErrors', 'RxFifoErrors', 'TxFifoErrors', 'Multicast', 'Collisions'];
const LOSSY = /Drop|Error|Collision/;

// The selected nodes, live: from the model (its events re-render), else fetched from
// the analyzer every 2 s (a node the subscription does not hold).
function useNodes(model, ids) {
  const [rev, setRev] = useState(0);
  const [fetched, setFetched] = useState({});
  const key = ids.join('\n');
  useEffect(() => model.on((ev) => {
    const id = ev.node ? ev.node.ID : null;
    if (ev.type === 'reset' || (id && ids.includes(id))) setRev((r) => r + 1);
  }), [key]);
  const missing = ids.filter((id) => !model.getNode(id));
  const mkey = missing.join('\n');
  useEffect(() => {
    if (!missing.length) return undefined;
    let stop = false;
    let timer;
    const load = async () => {
      try {
        const t = store.get().time;
        const res = await api.gremlin(`${t == null ? 'G' : `G.At(${t})`}.V(${missing.map(quote).join(', ')})`);
        if (stop) return;
        const m = {};
        for (const n of Array.isArray(res) ? res : []) { m[n.ID] = n; feedSample(n); }
        setFetched(m);
        setRev((r) => r + 1);
      } catch (_) { /* shown as "not found" */ }
      if (!stop) timer = setTimeout(load, 2000);
    };
    load();
    return () => { stop = true; clearTimeout(timer); };
  }, [mkey]);
  return { nodes: ids.map((id) => model.getNode(id) || fetched[id] || null), rev };
}

function StateBadge({ state }) {
  if (!state) return null;
  return <span class={`badge state-${String(state).toLowerCase()}`}>{state}</span>;
}

function Section({ title, extra, children, open: initial = true, testid }) {
  const [open, setOpen] = useState(initial);
  return (
    <div class="np-section" data-section={testid}>
      <div class="np-section-title" onClick={() => setOpen(!open)}>
        <span class={`jt-caret ${open ? 'open' : ''}`}>▸</span> {title}
        {extra && <span class="np-extra" onClick={(e) => e.stopPropagation()}>{extra}</span>}
      </div>
      {open && <div class="np-section-body">{children}</div>}
    </div>
  );
}

function Counters({ node }) {
  const md = node.Metadata || {};
  const m = md.Metric;
  const lu = md.LastUpdateMetric || {};
  if (!m) return <div class="muted">no interface counters on this node</div>;
  const dt = lu.Last && lu.Start && lu.Last > lu.Start ? (lu.Last - lu.Start) / 1000 : 0;
  const keys = COUNTERS.filter((k) => k in m || (LOSSY.test(k) && false));
  const extra = Object.keys(m).filter((k) => !COUNTERS.includes(k) && k !== 'Start' && k !== 'Last' && typeof m[k] === 'number');
  const all = [...keys, ...extra];
  const fmt = (k, v) => (/Bytes/.test(k) ? formatBytes(v) : formatCount(v));
  if (!all.length) return <div class="muted" data-testid="node-counters">no counter reported yet</div>;
  return (
    <table class="counters" data-testid="node-counters">
      <thead><tr><th>Counter</th><th class="num">Total</th><th class="num">Rate</th></tr></thead>
      <tbody>
        {all.map((k) => (
          <tr key={k} class={LOSSY.test(k) && m[k] ? 'lossy' : ''} data-counter={k}>
            <td>{k}</td>
            <td class="num">{fmt(k, m[k] || 0)}</td>
            <td class="num">{dt ? `${fmt(k, Math.round((lu[k] || 0) / dt))}/s` : ''}</td>
          </tr>
        ))}
        {!all.some((k) => LOSSY.test(k)) && <tr class="muted-row"><td colSpan={3}>no drops or errors counted</td></tr>}
      </tbody>
    </table>
  );
}

// The analyzer's dispatch state of the captures (GET /api/status Captures, names from
// GET /api/capture), polled while a node panel is shown live; refreshed at once when a
// capture was just created (kick).
function useDispatch(enabled, kick) {
  const [d, setD] = useState({ status: null, captures: null });
  usePolling(async () => {
    if (!enabled) { setD((x) => (x.status || x.captures ? { status: null, captures: null } : x)); return; }
    try {
      const [status, captures] = await Promise.all([api.get('/api/status'), api.get('/api/capture')]);
      setD({ status, captures });
    } catch (_) { /* keep the last answer */ }
  }, [enabled, kick], 3000);
  return d;
}

function NodeCaptures({ node, pending = [] }) {
  const caps = (node.Metadata && Array.isArray(node.Metadata.Captures) ? node.Metadata.Captures : []);
  return (
    <div data-testid="node-captures" data-count={caps.length} data-pending={pending.length}>
      {!caps.length && !pending.length && <div class="muted">no capture on this node</div>}
      {pending.map((p) => (
        <div class={`cap-card pending ${p.error ? 'error' : ''}`} key={p.UUID} data-capture={p.UUID} data-dispatch={p.state}>
          <div><b>{p.Name || p.UUID.slice(0, 8)}</b> <span class={`badge ${p.error ? 'bad' : ''}`}>{p.state}</span></div>
          <div class={p.error ? 'bad-text' : 'muted'}>{p.text}</div>
        </div>
      ))}
      {caps.map((c) => (
        <div class={`cap-card ${c.State === 'error' ? 'error' : ''}`} key={c.ID} data-capture={c.ID}>
          <div>
            <b>{c.Name || String(c.ID).slice(0, 8)}</b> <span class={`badge ${c.State === 'active' ? 'ok' : c.State === 'error' ? 'bad' : ''}`}>{c.State}</span>
            <span class="muted"> {c.Type}{c.BPFFilter ? ` · ${c.BPFFilter}` : ''}</span>
          </div>
          {c.Error && <div class="bad-text">{c.Error}</div>}
          <div class="cap-stats">
            <span>received <b>{formatCount(c.PacketsReceived || 0)}</b></span>
            <span class={c.PacketsDropped ? 'lossy' : ''}>dropped <b>{formatCount(c.PacketsDropped || 0)}</b></span>
            <span class={c.PacketsIfDropped ? 'lossy' : ''}>if dropped <b>{formatCount(c.PacketsIfDropped || 0)}</b></span>
            {'KernelFlowDropped' in c && <span class={c.KernelFlowDropped ? 'lossy' : ''}>kernel flow dropped <b>{c.KernelFlowDropped}</b></span>}
            {'FlowMessagesDropped' in c && <span class={c.FlowMessagesDropped ? 'lossy' : ''}>flow messages dropped <b>{formatCount(c.FlowMessagesDropped || 0)}</b></span>}
            {'StreamErrors' in c && <span class={c.StreamErrors ? 'lossy' : ''}>stream errors <b>{c.StreamErrors}</b></span>}
            {c.PCAPSocket && <span>socket <b class="mono">{c.PCAPSocket}</b></span>}
            {c.SFlowSocket && <span>sFlow <b class="mono">{c.SFlowSocket}</b></span>}
            {c.MirrorOf && <span>mirror of <b>{c.MirrorOf}</b></span>}
          </div>
        </div>
      ))}
    </div>
  );
}

function CaptureButton({ label = 'Capture' }) {
  if (!can(store.get().session, 'capture', 'write')) return null; // the session may not create captures
  return (
    <button class="primary small" data-testid="capture-button" title="create a capture on the selected nodes"
      onClick={() => store.set({ panel: 'capture-form' })}>● {label}</button>
  );
}

function NodePanel({ node, rev, time, win, created, showCaptureButton = true }) {
  const md = node.Metadata || {};
  const disp = useDispatch(time == null, created && created.UUID);
  const pending = time == null ? pendingCaptures(node, disp.status, disp.captures) : [];
  return (
    <div class="node-panel" data-testid="node-panel" data-node-id={node.ID}>
      <div class="np-header">
        <div class="np-title">
          <span class="np-name" data-testid="node-name">{md.Name || node.ID}</span>
          <StateBadge state={md.State} />
        </div>
        <div class="np-sub">
          <span class="badge type">{md.Type || 'no type'}</span>
          {node.Host && <span class="muted"> on {node.Host}</span>}
          {md.IPV4 && md.IPV4.length ? <span class="mono muted"> · {md.IPV4.join(', ')}</span> : null}
          {md.MAC && <span class="mono muted"> · {md.MAC}</span>}
        </div>
        {node.DeletedAt ? <div class="bad-text">deleted {new Date(node.DeletedAt).toLocaleString()}</div> : null}
        {showCaptureButton && <div class="np-actions"><CaptureButton /></div>}
      </div>
      {md.Metric && (
        <Section title="Interface counters" testid="counters">
          <CounterChart node={node} revision={rev} />
          <Counters node={node} />
        </Section>
      )}
      <Section title={`Captures${md.Captures && md.Captures.length ? ` (${md.Captures.length})` : ''}`} testid="captures">
        <NodeCaptures node={node} pending={pending} />
      </Section>
      <Section title="Flows" testid="flows" extra={time != null ? <span class="badge warn">at {timeLabel(time, Date.now())}, {win}s window</span> : null}>
        <FlowTable node={node} time={time} window={win} />
      </Section>
      <Section title="Metadata" testid="metadata">
        <MetadataTree metadata={md} />
        <div class="np-element muted mono">ID {node.ID}{node.Revision != null ? ` · rev ${node.Revision}` : ''}{node.Origin ? ` · ${node.Origin}` : ''}</div>
      </Section>
    </div>
  );
}

const readWidth = () => { try { return localStorage.getItem(WIDTH_KEY); } catch (_) { return null; } };
const saveWidth = (w) => { try { if (w == null) localStorage.removeItem(WIDTH_KEY); else localStorage.setItem(WIDTH_KEY, String(w)); } catch (_) { /* private mode */ } };

// Drag the panel's left edge to resize it (the width is remembered); double-click: default.
function Resizer({ target, onResize }) {
  const down = (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    const el = target.current;
    const startX = e.clientX;
    const startW = el.getBoundingClientRect().width;
    let w = startW;
    document.body.classList.add('resizing');
    const move = (ev) => {
      w = clampPanelWidth(startW + startX - ev.clientX, window.innerWidth);
      el.style.width = `${w}px`;
    };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      document.body.classList.remove('resizing');
      if (w !== startW) { saveWidth(w); onResize(w); }
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  const reset = () => { saveWidth(null); onResize(defaultPanelWidth(window.innerWidth)); };
  return <div class="side-resizer" onMouseDown={down} onDblClick={reset} data-testid="side-resizer" title="drag to resize; double-click: default width" />;
}

// Flow counts of some nodes (one Gremlin Count per node, every 5 s): {id: n}.
const MAX_COUNTED = 20;
function useFlowCounts(ids, time, win) {
  const [counts, setCounts] = useState({});
  const list = ids.slice(0, MAX_COUNTED);
  usePolling(async () => {
    const tc = timeContext(time, win);
    const res = await Promise.all(list.map((id) => api.gremlin(flowCountQuery(tc, id)).then(
      (r) => (typeof r === 'number' ? r : Array.isArray(r) && typeof r[0] === 'number' ? r[0] : null), () => null)));
    setCounts(Object.fromEntries(list.map((id, i) => [id, res[i]])));
  }, [list.join('\n'), time, win], 5000);
  return counts;
}

function SelectionList({ ids, nodes, focus, setFocus, time, win }) {
  const counts = useFlowCounts(ids, time, win);
  return (
    <ul class="sel-list" data-testid="selection-list">
      {ids.map((id, i) => {
        const n = nodes[i];
        const sm = nodeSummary(n, id);
        const c = counts[id];
        return (
          <li key={id} class={id === focus ? 'focused' : ''} onClick={() => setFocus(id === focus ? null : id)} data-node-id={id}
            title={id === focus ? 'click to hide its details' : 'click for its details'}>
            <div class="sel-line">
              <span class={`jt-caret ${id === focus ? 'open' : ''}`}>▸</span>
              <span class="np-name-s">{sm.name}</span>
              <span class="badge type">{sm.type || '?'}</span>
              <StateBadge state={sm.state} />
              {sm.host && <span class="muted">on {sm.host}</span>}
              {!n && <span class="bad-text">not found</span>}
              {sm.captures.length > 0 && (
                <span class={`badge ${sm.captures.some((c) => c.State === 'error') ? 'bad' : 'ok'}`} title={sm.captures.map((c) => `${c.Name || c.ID}: ${c.State}`).join('\n')}>
                  {sm.captures.length === 1 ? `capture ${sm.captures[0].State || ''}` : `${sm.captures.length} captures`}
                </span>
              )}
              <span class="sel-flows" data-testid="selection-flows" data-count={c == null ? '' : c}>
                {c == null ? '' : `${c} flow${c === 1 ? '' : 's'}`}
              </span>
            </div>
            {(sm.ips.length > 0 || sm.mac) && (
              <div class="sel-sub mono muted">{[...sm.ips, sm.mac].filter(Boolean).join(' · ')}</div>
            )}
          </li>
        );
      })}
      {ids.length > MAX_COUNTED && <li class="muted sel-more">flows counted for the first {MAX_COUNTED} nodes</li>}
    </ul>
  );
}

export function SidePanel({ model }) {
  const s = useStore(['selection', 'panel', 'time', 'window']);
  const ids = s.selection || [];
  const { nodes, rev } = useNodes(model, ids);
  const [focus, setFocus] = useState(null);
  const [created, setCreated] = useState(null);
  const [width, setWidth] = useState(() => storedPanelWidth(readWidth(), window.innerWidth));
  const [winW, setWinW] = useState(window.innerWidth);
  const ref = useRef(null);
  const selKey = ids.join('\n');
  const prevSel = useRef(selKey);
  useEffect(() => { startCollecting(model); }, []);
  useEffect(() => {
    const on = () => setWinW(window.innerWidth);
    window.addEventListener('resize', on);
    return () => window.removeEventListener('resize', on);
  }, []);
  useEffect(() => {
    if (focus && !ids.includes(focus)) setFocus(null);
    // the "created" notice concerns the selection it was made from
    if (prevSel.current !== selKey) { prevSel.current = selKey; setCreated(null); }
  }, [selKey]);
  useEffect(() => {
    if (!created) return undefined;
    const t = setTimeout(() => setCreated(null), CREATED_NOTICE_MS);
    return () => clearTimeout(t);
  }, [created]);

  const close = () => store.set({ panel: null });
  let body;
  if (s.panel === 'capture-form') {
    body = (
      <CaptureForm key={ids.join(',')} nodes={nodes.filter(Boolean)}
        gremlin={ids.length && nodes.some((n) => !n) ? `G.V(${ids.map(quote).join(', ')})` : undefined}
        onDone={(c) => { setCreated(c); store.set({ panel: ids.length ? 'node' : null }); }}
        onCancel={() => store.set({ panel: ids.length ? 'node' : null })} />
    );
  } else if (!ids.length) {
    body = <div class="muted pad">Select a node in the topology (click, or the search box).</div>;
  } else if (ids.length === 1) {
    body = nodes[0] ? <NodePanel node={nodes[0]} rev={rev} time={s.time} win={s.window} created={created} />
      : <div class="muted pad" data-testid="node-missing">node {ids[0]} not found{s.time != null ? ' at this time' : ''}</div>;
  } else {
    const fn = focus && nodes.find((n) => n && n.ID === focus);
    body = (
      <div class="multi">
        <div class="np-header">
          <div class="np-title"><CaptureButton label={`Capture on ${ids.length} nodes`} /><span class="np-name">{ids.length} nodes selected</span></div>
          <div class="np-sub muted">click a node for its counters, captures, flows and metadata</div>
        </div>
        <SelectionList ids={ids} nodes={nodes} focus={focus} setFocus={setFocus} time={s.time} win={s.window} />
        {fn && <NodePanel node={fn} rev={rev} time={s.time} win={s.window} created={created} showCaptureButton={false} />}
      </div>
    );
  }
  return (
    <aside class="side-panel" ref={ref} data-testid="side-panel" style={{ width: `${clampPanelWidth(width, winW)}px` }}>
      <Resizer target={ref} onResize={setWidth} />
      <button class="side-close icon-btn" title="close" onClick={close} data-testid="side-close">✕</button>
      {created && s.panel !== 'capture-form' && (
        <div class="inline-info created" data-testid="capture-created">
          <span>Capture <b>{created.Name || created.UUID}</b> created. <a href="#" onClick={(e) => { e.preventDefault(); store.set({ view: 'captures' }); }}>See the capture list</a></span>
          <button class="icon-btn" title="hide" onClick={() => setCreated(null)}>✕</button>
        </div>
      )}
      <div class="side-scroll">{body}</div>
    </aside>
  );
}
