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
import { formatBytes, formatCount, quote } from '../lib/flows.js';
import { timeLabel } from '../lib/timeTravel.js';

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

function NodeCaptures({ node, pending }) {
  const caps = (node.Metadata && Array.isArray(node.Metadata.Captures) ? node.Metadata.Captures : []);
  const waiting = pending && !caps.some((c) => c.ID === pending.UUID) ? pending : null;
  return (
    <div data-testid="node-captures" data-count={caps.length}>
      {!caps.length && !waiting && <div class="muted">no capture on this node</div>}
      {waiting && (
        <div class="cap-card pending">
          <div><b>{waiting.Name || waiting.UUID.slice(0, 8)}</b> <span class="badge">starting</span></div>
          <div class="muted">created; waiting for the agent to start it</div>
        </div>
      )}
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
  return (
    <button class="primary small" data-testid="capture-button" title="create a capture on the selected nodes"
      onClick={() => store.set({ panel: 'capture-form' })}>● {label}</button>
  );
}

function NodePanel({ node, rev, time, win, pending, showCaptureButton = true }) {
  const md = node.Metadata || {};
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

function Resizer({ target }) {
  const down = (e) => {
    e.preventDefault();
    const el = target.current;
    const startX = e.clientX;
    const startW = el.getBoundingClientRect().width;
    const move = (ev) => { el.style.width = `${Math.min(window.innerWidth - 200, Math.max(320, startW + startX - ev.clientX))}px`; };
    const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  return <div class="side-resizer" onMouseDown={down} title="drag to resize" />;
}

export function SidePanel({ model }) {
  const s = useStore(['selection', 'panel', 'time', 'window']);
  const ids = s.selection || [];
  const { nodes, rev } = useNodes(model, ids);
  const [focus, setFocus] = useState(null);
  const [created, setCreated] = useState(null);
  const ref = useRef(null);
  useEffect(() => { startCollecting(model); }, []);
  useEffect(() => { if (focus && !ids.includes(focus)) setFocus(null); }, [ids.join('\n')]);

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
    body = nodes[0] ? <NodePanel node={nodes[0]} rev={rev} time={s.time} win={s.window} pending={created} />
      : <div class="muted pad" data-testid="node-missing">node {ids[0]} not found{s.time != null ? ' at this time' : ''}</div>;
  } else {
    const fn = focus && nodes.find((n) => n && n.ID === focus);
    body = (
      <div class="multi">
        <div class="np-header">
          <div class="np-title"><span class="np-name">{ids.length} nodes selected</span></div>
          <div class="np-actions"><CaptureButton label={`Capture on ${ids.length} nodes`} /></div>
        </div>
        <ul class="sel-list" data-testid="selection-list">
          {ids.map((id, i) => {
            const n = nodes[i];
            const md = (n && n.Metadata) || {};
            return (
              <li key={id} class={id === focus ? 'focused' : ''} onClick={() => setFocus(id === focus ? null : id)} data-node-id={id}>
                <span class="np-name-s">{md.Name || id}</span> <span class="badge type">{md.Type || '?'}</span> <StateBadge state={md.State} />
                <span class="muted"> {n && n.Host}</span>
              </li>
            );
          })}
        </ul>
        {fn && <NodePanel node={fn} rev={rev} time={s.time} win={s.window} pending={created} showCaptureButton={false} />}
      </div>
    );
  }
  return (
    <aside class="side-panel" ref={ref} data-testid="side-panel">
      <Resizer target={ref} />
      <button class="side-close icon-btn" title="close" onClick={close} data-testid="side-close">✕</button>
      {created && s.panel !== 'capture-form' && (
        <div class="inline-info created" data-testid="capture-created">
          Capture <b>{created.Name || created.UUID}</b> created. <a href="#" onClick={(e) => { e.preventDefault(); store.set({ view: 'captures' }); }}>See the capture list</a>
          <button class="icon-btn" onClick={() => setCreated(null)}>✕</button>
        </div>
      )}
      <div class="side-scroll">{body}</div>
    </aside>
  );
}
