// ConsolePage.jsx - the Gremlin console: any query, its result as a table (nodes, edges,
// flows) or a JSON tree, errors marked at their position, .pcap download of RawPackets()
// results, and a history kept in localStorage.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { JsonTree } from './MetadataTree.jsx';
import { Caret } from './CaptureForm.jsx';
import { resultKind, tableColumns, isRawPacketsQuery, pushHistory, parseHistory } from '../lib/console.js';
import { pcapErrorText } from '../lib/flows.js';
import { can } from '../lib/session.js';

const HISTORY_KEY = 'skydive.consoleHistory';
const EXAMPLES = [
  "G.V().Has('Type', 'veth')",
  "G.V().Has('Name', 'eth0').Flows()",
  "G.Flows().Has('Application', 'ICMPv4')",
  "G.Flows().Has('Application', 'ICMPv4').RawPackets()",
  "G.At('-5m').V().Count()",
];

function loadHistory() {
  try { return parseHistory(localStorage.getItem(HISTORY_KEY)); } catch (_) { return []; }
}

function ResultTable({ rows, kind }) {
  const cols = tableColumns(rows, kind);
  const [open, setOpen] = useState(null);
  const idOf = (r) => r.ID || r.UUID;
  const select = (r) => {
    if (kind === 'nodes') store.set({ selection: [r.ID], panel: 'node', view: 'topology' });
  };
  return (
    <table class="result-table">
      <thead><tr><th />{cols.map((c) => <th key={c.key}>{c.label}</th>)}</tr></thead>
      <tbody>
        {rows.map((r, i) => [
          <tr key={idOf(r) || i} class="result-row" data-id={idOf(r)}>
            <td><button class="icon-btn" title="show the JSON" onClick={() => setOpen(open === i ? null : i)}>{open === i ? '▾' : '▸'}</button></td>
            {cols.map((c) => (
              <td key={c.key} class={c.key === 'ID' || c.key === 'UUID' ? 'mono' : ''}>
                {c.key === 'Metadata.Name' && kind === 'nodes'
                  ? <a href="#" title="show in the topology" onClick={(e) => { e.preventDefault(); select(r); }}>{c.get(r)}</a>
                  : c.get(r)}
              </td>
            ))}
          </tr>,
          open === i && <tr key={`${i}-json`} class="json-row"><td colSpan={cols.length + 1}><JsonTree value={r} openDepth={2} /></td></tr>,
        ])}
      </tbody>
    </table>
  );
}

export function ConsolePage() {
  const [query, setQuery] = useState(() => loadHistory()[0] || "G.V().Has('Type', 'veth')");
  const [result, setResult] = useState(null); // {query, value, ms}
  const [error, setError] = useState(null); // {query, message, position}
  const [busy, setBusy] = useState(false);
  const [history, setHistory] = useState(loadHistory);
  const [view, setView] = useState('table');
  const [pcap, setPcap] = useState(null);
  const ta = useRef(null);

  const run = async (q = query) => {
    q = q.trim();
    if (!q) return;
    setBusy(true);
    setError(null);
    setPcap(null);
    const h = pushHistory(history, q);
    setHistory(h);
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(h)); } catch (_) { /* no storage */ }
    const t0 = performance.now();
    try {
      const value = await api.gremlin(q);
      setResult({ query: q, value, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      setResult(null);
      setError({ query: q, message: e.message, position: e.position, status: e.status });
    }
    setBusy(false);
  };
  const download = async () => {
    setPcap(null);
    try {
      const size = await api.downloadPcap(query.trim(), 'skydive.pcap');
      setPcap(size <= 24 ? { error: 'no raw packets in this result (the pcap file is empty): set a raw packet limit on the capture' } : { info: `skydive.pcap: ${size} bytes saved` });
    } catch (e) {
      setPcap({ error: pcapErrorText(e) });
    }
  };
  useEffect(() => { ta.current && ta.current.focus(); }, []);

  const kind = result ? resultKind(result.value) : null;
  const tabular = kind === 'nodes' || kind === 'edges' || kind === 'flows';
  return (
    <div class="tab-page console-page" data-testid="console-page">
      <div class="console-main">
        <div class="card">
          <textarea ref={ta} class="console-input mono" data-testid="console-input" rows={4} spellcheck={false} value={query}
            placeholder="G.V().Has('Name', 'eth0')"
            onInput={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(e.currentTarget.value); } }} />
          <div class="console-bar">
            <button class="primary" data-testid="console-run" disabled={busy} onClick={() => run()}>{busy ? 'Running…' : 'Run'}</button>
            <span class="muted">Ctrl+Enter</span>
            {result && <span class="muted">{Array.isArray(result.value) ? `${result.value.length} result${result.value.length === 1 ? '' : 's'}` : 'result'} in {result.ms} ms</span>}
            {isRawPacketsQuery(query) && can(store.get().session, 'capture', 'rawpackets') && (
              <button data-testid="console-pcap" onClick={download} title="the raw packets as a .pcap file (Wireshark, tcpdump -r)">⤓ Download PCAP</button>
            )}
            {result && tabular && (
              <span class="seg">
                <button class={view === 'table' ? 'on' : ''} onClick={() => setView('table')}>Table</button>
                <button class={view === 'json' ? 'on' : ''} onClick={() => setView('json')}>JSON</button>
              </span>
            )}
          </div>
          {pcap && pcap.error && <div class="inline-error" data-testid="console-pcap-error">{pcap.error}</div>}
          {pcap && pcap.info && <div class="inline-info">{pcap.info}</div>}
          {error && (
            <div class="console-error" data-testid="console-error" data-position={error.position ?? ''}>
              <div class="bad-text">{error.status ? `${error.status}: ` : ''}{error.message}</div>
              {error.position != null && <Caret query={error.query} position={error.position} />}
            </div>
          )}
        </div>
        {result && (
          <div class="card console-result" data-testid="console-result" data-kind={kind}>
            {kind === 'empty' && <div class="muted">[] (no result)</div>}
            {tabular && view === 'table' ? <ResultTable rows={result.value} kind={kind} /> : kind !== 'empty' && <JsonTree value={result.value} openDepth={2} />}
          </div>
        )}
      </div>
      <div class="console-side card">
        <div class="side-title">History</div>
        <ul class="history" data-testid="console-history">
          {history.map((h) => (
            <li key={h} class="mono" title="click to use, double-click to run" onClick={() => setQuery(h)} onDblClick={() => { setQuery(h); run(h); }}>{h}</li>
          ))}
          {!history.length && <li class="muted">no query yet</li>}
        </ul>
        <div class="side-title">Examples</div>
        <ul class="history examples">
          {EXAMPLES.map((h) => <li key={h} class="mono" onClick={() => setQuery(h)}>{h}</li>)}
        </ul>
      </div>
    </div>
  );
}
