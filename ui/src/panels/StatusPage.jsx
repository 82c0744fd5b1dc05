// StatusPage.jsx - the analyzer at a glance: every loss counter (highlighted when not
// zero), agents and links, captures per node, agents' flow links; refreshed every 2 s.
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { usePolling } from './FlowTable.jsx';
import { lossCounters, links, capturesPerNode, dispatchSummary } from '../lib/status.js';
import { formatBytes, formatCount, formatTime } from '../lib/flows.js';
import { agoText } from '../lib/timeTravel.js';

function LossCounters({ counters }) {
  const [open, setOpen] = useState({});
  const lost = counters.filter((c) => c.severity === 'loss' && c.value > 0);
  const groups = [...new Set(counters.map((c) => c.group))];
  return (
    <div class="card" data-testid="loss-counters" data-nonzero={lost.length}>
      <div class="card-title">
        Loss counters
        {lost.length
          ? <span class="badge bad">{lost.length} counter{lost.length === 1 ? '' : 's'} not zero</span>
          : <span class="badge ok">nothing lost</span>}
      </div>
      <table class="loss-table">
        <tbody>
          {groups.map((g) => [
            <tr key={g} class="group-row"><td colSpan={3}>{g}</td></tr>,
            ...counters.filter((c) => c.group === g).map((c) => [
              <tr key={c.id} data-counter={c.id} data-value={c.value}
                class={`${c.value ? (c.severity === 'loss' ? 'nonzero' : 'nonzero-info') : ''} ${c.details && c.details.length ? 'clickable' : ''}`}
                onClick={() => c.details && c.details.length && setOpen((o) => ({ ...o, [c.id]: !o[c.id] }))}>
                <td>{c.details && c.details.length ? <span class={`jt-caret ${open[c.id] ? 'open' : ''}`}>▸</span> : null} {c.label}</td>
                <td class="num"><b>{formatCount(c.value)}</b></td>
                <td class="muted">{c.missing ? 'not reported by this analyzer' : c.help}</td>
              </tr>,
              open[c.id] && (c.details || []).map((d) => (
                <tr key={`${c.id}-${d.where}`} class="detail-row">
                  <td>{d.node ? <a href="#" onClick={(e) => { e.preventDefault(); store.set({ view: 'topology', selection: [d.node], panel: 'node' }); }}>{d.where}</a> : d.where}</td>
                  <td class="num">{formatCount(d.value)}</td><td />
                </tr>
              )),
            ]),
          ])}
        </tbody>
      </table>
    </div>
  );
}

export function StatusPage({ model }) {
  const [status, setStatus] = useState(null);
  const [caps, setCaps] = useState([]);
  const [apiNodes, setApiNodes] = useState(null);
  const [error, setError] = useState(null);
  const [updated, setUpdated] = useState(null);

  usePolling(async () => {
    try {
      const useModel = model && model.nodes && model.nodes.size > 0;
      const [s, c, n] = await Promise.all([
        api.get('/api/status'), api.get('/api/capture').catch(() => ({})),
        useModel ? Promise.resolve(null) : api.gremlin('G.V()').catch(() => null),
      ]);
      setStatus(s);
      setCaps(Object.values(c || {}));
      setApiNodes(n);
      setError(null);
      setUpdated(Date.now());
    } catch (e) {
      setError(e.message);
    }
  }, []);

  const nodes = model && model.nodes && model.nodes.size > 0 ? [...model.nodes.values()] : (apiNodes || []);
  const counters = status ? lossCounters(status, nodes) : [];
  const lk = status ? links(status) : [];
  const perNode = capturesPerNode(nodes);
  const topo = (status && status.Topology) || {};
  const fl = (status && status.Flows) || null;
  const now = Date.now();
  return (
    <div class="tab-page status-page" data-testid="status-page">
      <div class="page-head">
        <h2>Status</h2>
        {error ? <span class="inline-error">{error}</span> : updated && <span class="muted">updated {formatTime(updated, now).replace(/\.\d+$/, '')}</span>}
      </div>
      {status && (
        <div class="stat-tiles">
          <div class="tile"><div class="tile-v">{formatCount(topo.Nodes || 0)}</div><div class="tile-l">nodes</div></div>
          <div class="tile"><div class="tile-v">{formatCount(topo.Edges || 0)}</div><div class="tile-l">edges</div></div>
          <div class="tile"><div class="tile-v">{Object.keys(status.Agents || {}).length}</div><div class="tile-l">agents</div></div>
          <div class="tile"><div class="tile-v">{caps.length}</div><div class="tile-l">captures</div></div>
          {fl && <div class="tile"><div class="tile-v">{formatCount(fl.Flows || 0)}</div><div class="tile-l">flows stored ({formatBytes(fl.Bytes || 0)})</div></div>}
          <div class="tile"><div class="tile-v">{topo.HistoryOldest ? agoText(topo.HistoryOldest, now).replace(' ago', '') : '-'}</div><div class="tile-l">of history ({formatBytes(topo.HistoryBytes || 0)})</div></div>
        </div>
      )}
      <div class="status-grid">
        <LossCounters counters={counters} />
        <div class="status-col">
          <div class="card" data-testid="status-links">
            <div class="card-title">Agents and links</div>
            <table class="plain">
              <thead><tr><th>Kind</th><th>Host</th><th>Address</th><th>Connected</th><th>Type</th></tr></thead>
              <tbody>
                {lk.map((l) => (
                  <tr key={`${l.kind}-${l.id}`} data-link={l.kind}>
                    <td>{l.kind}</td><td><b>{l.host}</b>{l.id !== l.host ? <span class="muted"> ({l.id})</span> : null}</td>
                    <td class="mono">{l.addr}</td>
                    <td title={l.connectTime}>{l.connectTime ? agoText(Date.parse(l.connectTime), now) : ''}</td>
                    <td class="muted">{l.type}</td>
                  </tr>
                ))}
                {!lk.length && <tr class="empty-row"><td colSpan={5}>no agent connected</td></tr>}
              </tbody>
            </table>
            {status && status.FlowStats && Object.keys(status.FlowStats).length > 0 && (
              <table class="plain">
                <thead><tr><th>Flow link</th><th class="num">Messages</th><th class="num">Flows</th><th class="num">Raw pkts</th><th>Last message</th></tr></thead>
                <tbody>
                  {Object.entries(status.FlowStats).map(([h, f]) => (
                    <tr key={h}><td><b>{h}</b></td><td class="num">{formatCount(f.Messages || 0)}</td><td class="num">{formatCount(f.Flows || 0)}</td>
                      <td class="num">{formatCount(f.RawPackets || 0)}</td><td>{f.LastMessage ? agoText(f.LastMessage, now) : ''}</td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <div class="card" data-testid="status-captures">
            <div class="card-title">Captures</div>
            <table class="plain">
              <thead><tr><th>Capture</th><th>Gremlin</th><th class="num">Count</th><th>Dispatch</th></tr></thead>
              <tbody>
                {caps.map((c) => {
                  const d = dispatchSummary(status, c.UUID);
                  return (
                    <tr key={c.UUID}><td>{c.Name || c.UUID.slice(0, 8)}</td><td class="mono wrap">{c.GremlinQuery}</td><td class="num">{c.Count}</td>
                      <td>{d ? (d.error ? <span class="bad-text">{d.error}</span> : Object.entries(d.counts).map(([k, n]) => `${n} ${k}`).join(', ')) : ''}</td></tr>
                  );
                })}
                {!caps.length && <tr class="empty-row"><td colSpan={4}>no capture</td></tr>}
              </tbody>
            </table>
            <div class="card-subtitle">Per node</div>
            <table class="plain" data-testid="captures-per-node">
              <thead><tr><th>Node</th><th>Capture</th><th>State</th><th class="num">Received</th><th class="num">Dropped</th><th class="num">If dropped</th></tr></thead>
              <tbody>
                {perNode.map((p) => p.captures.map((c, i) => (
                  <tr key={`${p.node}-${c.ID}`}>
                    <td>{i === 0 ? <a href="#" onClick={(e) => { e.preventDefault(); store.set({ view: 'topology', selection: [p.node], panel: 'node' }); }}><b>{p.name}</b></a> : ''}{i === 0 && p.host ? <span class="muted"> {p.host}</span> : ''}</td>
                    <td>{c.Name || String(c.ID).slice(0, 8)} <span class="muted">{c.Type}</span></td>
                    <td><span class={`badge ${c.State === 'active' ? 'ok' : c.State === 'error' ? 'bad' : ''}`} title={c.Error || ''}>{c.State}</span></td>
                    <td class="num">{formatCount(c.PacketsReceived || 0)}</td>
                    <td class={`num ${c.PacketsDropped ? 'lossy' : ''}`}>{formatCount(c.PacketsDropped || 0)}</td>
                    <td class={`num ${c.PacketsIfDropped ? 'lossy' : ''}`}>{formatCount(c.PacketsIfDropped || 0)}</td>
                  </tr>
                )))}
                {!perNode.length && <tr class="empty-row"><td colSpan={6}>no capture running on any node</td></tr>}
              </tbody>
            </table>
          </div>
        </div>
      </div>
    </div>
  );
}
