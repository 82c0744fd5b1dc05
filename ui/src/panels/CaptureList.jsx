// CaptureList.jsx - the captures the analyzer holds (GET /api/capture, every 2 s), with
// their dispatch state (/api/status Captures), node count, expiry, and delete.
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import { usePolling } from './FlowTable.jsx';
import { dispatchSummary } from '../lib/status.js';
import { agoText } from '../lib/timeTravel.js';
import * as store from '../store.js';
import { can } from '../lib/session.js';

const EXPIRY_KEY = 'skydive.captureExpiry';

// The analyzer does not list a capture's TTL: the UI remembers the ones it created.
export function rememberExpiry(uuid, ttlMs) {
  try {
    const m = JSON.parse(localStorage.getItem(EXPIRY_KEY) || '{}');
    m[uuid] = Date.now() + ttlMs;
    for (const [k, t] of Object.entries(m)) if (t < Date.now() - 3600e3) delete m[k];
    localStorage.setItem(EXPIRY_KEY, JSON.stringify(m));
  } catch (_) { /* no storage */ }
}
function expiryOf(c) {
  if (c.ExpiresAt) return c.ExpiresAt;
  try { return JSON.parse(localStorage.getItem(EXPIRY_KEY) || '{}')[c.UUID] || null; } catch (_) { return null; }
}

function inText(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return agoText(Date.now() - s * 1000, Date.now()).replace(' ago', '');
}

export function CaptureList({ highlight, compact }) {
  const mayWrite = can(store.get().session, 'capture', 'write');
  const [caps, setCaps] = useState(null);
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);

  const load = async () => {
    try {
      const [c, s] = await Promise.all([api.get('/api/capture'), api.get('/api/status').catch(() => null)]);
      setCaps(Object.values(c || {}));
      setStatus(s);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  };
  usePolling(load, [tick]);

  const remove = async (uuid) => {
    try {
      await api.del(`/api/capture/${encodeURIComponent(uuid)}`);
      setCaps((l) => (l || []).filter((c) => c.UUID !== uuid));
      setTick((t) => t + 1);
    } catch (e) {
      setError(`delete ${uuid}: ${e.message}`);
    }
  };

  return (
    <div class="capture-list-wrap">
      {error && <div class="inline-error">{error}</div>}
      <table class="capture-list" data-testid="capture-list" data-count={caps ? caps.length : 0}>
        <thead>
          <tr>
            <th>Name</th><th>Gremlin</th><th>Type</th><th>BPF</th><th class="num" title="nodes where the capture is active">Count</th>
            {!compact && <th>Raw pkts</th>}<th>State</th><th>Expires</th><th />
          </tr>
        </thead>
        <tbody>
          {caps && caps.map((c) => {
            const d = dispatchSummary(status, c.UUID);
            const exp = expiryOf(c);
            const states = d ? Object.entries(d.counts).map(([k, n]) => `${n} ${k}`).join(', ') : '';
            const bad = d && (d.error || Object.keys(d.counts).some((k) => k === 'error'));
            return (
              <tr key={c.UUID} data-testid="capture-row" data-uuid={c.UUID} class={c.UUID === highlight ? 'highlight' : ''}>
                <td title={c.Description || ''}>{c.Name || <span class="muted">{c.UUID.slice(0, 8)}</span>}</td>
                <td class="mono wrap">{c.GremlinQuery}</td>
                <td>{c.Type || <span class="muted">default</span>}</td>
                <td class="mono">{c.BPFFilter || ''}</td>
                <td class="num"><span class={`badge ${c.Count ? 'ok' : ''}`}>{c.Count}</span></td>
                {!compact && <td class="num">{c.RawPacketLimit || ''}</td>}
                <td class={bad ? 'bad-text' : ''} title={d ? Object.entries(d.nodes).map(([n, s]) => `${n}: ${s}`).join('\n') : ''}>
                  {d && d.error ? `query error: ${d.error}` : states || (c.Count ? 'active' : <span class="muted">no node yet</span>)}
                  {d && d.ignored ? <span class="muted"> ({d.ignored} ignored)</span> : null}
                </td>
                <td>{exp ? (exp > Date.now() ? `in ${inText(exp - Date.now())}` : 'expired') : <span class="muted">never</span>}</td>
                <td>{mayWrite && <button class="icon-btn danger" title="delete this capture" data-testid="capture-delete" onClick={() => remove(c.UUID)}>✕</button>}</td>
              </tr>
            );
          })}
          {caps && !caps.length && <tr class="empty-row"><td colSpan={compact ? 8 : 9}>no capture: select nodes in the topology and press Capture, or New capture</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
