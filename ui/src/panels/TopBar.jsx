// panels/TopBar.jsx - app name, tabs, search box, server-side Gremlin filter, time travel
// slot and connection state.
//  - search (Enter): "G...." runs as Gremlin (POST /api/topology) and takes the node IDs
//    it returns; any other text matches nodes locally: Name or Type equal to it (case
//    insensitive), or a MAC / IP containing it; failing that, a Name containing it.
//    Matches become store.selection (panel 'node'), their groups expand, the view zooms.
//  - filter (Enter): store.filter, sent by the subscriber as GremlinFilter; empty clears.
//    The analyzer's refusal (store.filterError, filterErrorPosition) shows under the box,
//    with the filter's text marked at the position; the graph drawn stays the last one
//    the analyzer accepted.
import { useEffect, useState } from 'preact/hooks';
import * as store from '../store.js';
import * as api from '../api.js';
import { focusNodes } from '../graph/view.js';
import { TimeTravel } from './TimeTravel.jsx';
import { errorExcerpt } from '../lib/filterError.js';
import { SessionBadge } from './Login.jsx';
import { useStore } from '../lib/useStore.js';

const TABS = [['topology', 'Topology'], ['captures', 'Captures'], ['alerts', 'Alerts'], ['inject', 'Inject'], ['console', 'Console'], ['status', 'Status']];

const lower = (v) => (v == null ? '' : String(v).toLowerCase());
const list = (v) => (Array.isArray(v) ? v : v == null ? [] : [v]);

// Node IDs matching a plain word (see the header).
export function searchLocal(model, text) {
  const q = lower(text.trim());
  if (!q) return [];
  const exact = [];
  const partial = [];
  for (const [id, n] of model.nodes) {
    const m = n.Metadata || {};
    if (lower(m.Name) === q || lower(m.Type) === q || lower(id) === q) { exact.push(id); continue; }
    const addrs = [...list(m.MAC), ...list(m.IPV4), ...list(m.IPV6), ...list(m.PeerIntfMAC)];
    if (addrs.some((a) => lower(a).includes(q))) { exact.push(id); continue; }
    if (lower(m.Name).includes(q)) partial.push(id);
  }
  return exact.length ? exact : partial;
}

// Node IDs in a Gremlin answer (nodes, or anything carrying an ID that the model holds).
export function idsFromGremlin(model, res) {
  const out = [];
  const walk = (v) => {
    if (Array.isArray(v)) { v.forEach(walk); return; }
    if (v && typeof v === 'object') {
      if (v.ID != null && v.Parent === undefined && model.nodes.has(v.ID)) out.push(v.ID);
      else if (v.ID == null) Object.values(v).forEach(walk);
    }
  };
  walk(res);
  return [...new Set(out)];
}

function ConnState({ state }) {
  const label = { open: 'connected', connecting: 'connecting…', closed: 'disconnected' }[state] || state;
  return (
    <span class={`conn conn-${state}`} data-testid="conn-state" data-state={state} title={`analyzer WebSocket: ${state}`}>
      <span class="conn-dot" />{label}
    </span>
  );
}

function Search({ model }) {
  const [text, setText] = useState('');
  const [result, setResult] = useState(null); // {count} | {error}
  const [busy, setBusy] = useState(false);

  async function run() {
    const q = text.trim();
    if (!q) { setResult(null); store.set({ selection: [] }); return; }
    let ids;
    if (/^g\./i.test(q)) {
      setBusy(true);
      try {
        ids = idsFromGremlin(model, await api.gremlin(q));
      } catch (e) {
        setResult({ error: e.message || String(e) });
        return;
      } finally {
        setBusy(false);
      }
    } else {
      ids = searchLocal(model, q);
    }
    setResult({ count: ids.length });
    store.set(ids.length ? { selection: ids, panel: 'node', view: 'topology' } : { selection: [] });
    if (ids.length) focusNodes(ids);
  }

  return (
    <div class="tb-field">
      <input type="search" data-testid="search" placeholder="Search: name, type, IP, MAC or G.V()…"
        value={text} onInput={(e) => { setText(e.currentTarget.value); }}
        onKeyDown={(e) => { if (e.key === 'Enter') run(); if (e.key === 'Escape') { setText(''); setResult(null); } }} />
      {busy && <div class="tb-note">searching…</div>}
      {!busy && result && result.error && <div class="tb-note tb-error" data-testid="search-error">{result.error}</div>}
      {!busy && result && !result.error && (
        <div class="tb-note" data-testid="search-count">{result.count === 1 ? '1 match' : `${result.count} matches`}</div>
      )}
    </div>
  );
}

function Filter() {
  const s = useStore(['filter', 'filterError', 'filterErrorPosition']);
  const [text, setText] = useState(s.filter || '');
  useEffect(() => { setText(s.filter || ''); }, [s.filter]);
  const apply = () => {
    const f = text.trim();
    // The same text again: nothing to ask (a refusal stays shown).
    if (f === store.get().filter) return;
    store.set({ filter: f, filterError: null, filterErrorPosition: null });
  };
  const ex = s.filterError ? errorExcerpt(s.filter, s.filterErrorPosition) : null;
  return (
    <div class="tb-field tb-filter">
      <input type="text" data-testid="filter" placeholder="Filter (Gremlin, by the server): G.V().Has('Type','veth')"
        class={s.filterError ? 'has-error' : s.filter ? 'is-active' : ''}
        value={text} onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => { if (e.key === 'Enter') apply(); }} />
      {s.filterError && (
        <div class="tb-note tb-error" data-testid="filter-error" data-position={s.filterErrorPosition ?? ''}
          title="refused by the analyzer: the graph shown is still the last filter it accepted">
          {s.filterError}
          {ex && (
            <div data-testid="filter-error-at" style={{ fontFamily: 'ui-monospace, monospace', whiteSpace: 'pre', marginTop: '2px' }}>
              {ex[0]}<span style={{ background: 'rgba(255,255,255,.9)', color: '#a0261e', borderRadius: '2px', fontWeight: 'bold' }}>{ex[1]}</span>{ex[2]}
            </div>
          )}
        </div>
      )}
      {!s.filterError && s.filter && <div class="tb-note">filtered by the analyzer</div>}
    </div>
  );
}

export function TopBar({ model }) {
  const s = useStore(['view', 'connected', 'alertsUnseen']);
  return (
    <div class="topbar">
      <div class="brand"><img src="favicon.svg" alt="" />Skydive</div>
      <nav class="tabs">
        {TABS.map(([k, label]) => (
          <button type="button" class={`tab${s.view === k ? ' active' : ''}`} data-testid={`tab-${k}`}
            onClick={() => store.set(k === 'alerts' ? { view: k, alertsUnseen: 0 } : { view: k })}>{label}
            {k === 'alerts' && s.alertsUnseen > 0 && <span class="tab-badge" data-testid="alerts-unseen" title="alerts fired since you last looked">{s.alertsUnseen}</span>}</button>
        ))}
      </nav>
      <div class="tb-grow" />
      <Search model={model} />
      <Filter />
      <div class="tb-time"><TimeTravel /></div>
      <ConnState state={s.connected} />
      <SessionBadge />
    </div>
  );
}
