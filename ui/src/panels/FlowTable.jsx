// FlowTable.jsx - a node's flows (G.V(id).Flows(), or G.At(t, w)... when time
// travelling), refreshed every 2 s while shown; sortable, filterable; each row's raw
// packets (and all the table's) downloadable as .pcap. Compact layout by default (two
// lines a cell: endpoints as IP:port over MAC, both directions' counters), or every
// column; the download and App columns stay in view when the table scrolls sideways.
import { useEffect, useMemo, useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { can } from '../lib/session.js';
import {
  FLOW_COLUMNS, COMPACT_COLUMNS, compactCell, filterFlows, sortFlows, formatCell, nodeFlowsQuery, flowsPcapQuery, pcapErrorText,
} from '../lib/flows.js';

const REFRESH_MS = 2000;
const LAYOUT_KEY = 'skydive.flowLayout';
const readLayout = () => { try { return localStorage.getItem(LAYOUT_KEY) === 'full' ? 'full' : 'compact'; } catch (_) { return 'compact'; } };
const FULL = FLOW_COLUMNS.map((c) => ({ id: c.key, label: c.label, sort: c.key, num: c.num }));

export function DownloadIcon() {
  return (
    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M8 1.5v8M4.5 6.5 8 10l3.5-3.5M2.5 11.5v2h11v-2" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

function usePolling(fn, deps, ms = REFRESH_MS) {
  useEffect(() => {
    let stop = false;
    let timer = null;
    const tick = async () => {
      if (stop) return;
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') await fn();
      if (!stop) timer = setTimeout(tick, ms);
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, deps);
}

export { usePolling };

export function FlowTable({ node, time, window: win }) {
  const mayRaw = can(store.get().session, 'capture', 'rawpackets');
  const [flows, setFlows] = useState(null);
  const [error, setError] = useState(null);
  const [dlError, setDlError] = useState(null);
  const [dlInfo, setDlInfo] = useState(null);
  const [sort, setSort] = useState({ key: 'Last', dir: 'desc' });
  const [filter, setFilter] = useState('');
  const [layout, setLayoutState] = useState(readLayout);
  const setLayout = (l) => { setLayoutState(l); try { localStorage.setItem(LAYOUT_KEY, l); } catch (_) { /* private mode */ } };
  const cols = layout === 'full' ? FULL : COMPACT_COLUMNS;
  const id = node.ID;
  const query = nodeFlowsQuery(id, time, win);

  usePolling(async () => {
    try {
      const res = await api.gremlin(query);
      setFlows(Array.isArray(res) ? res : []);
      setError(null);
    } catch (e) {
      setError(e.message || String(e));
    }
  }, [query]);
  useEffect(() => { setFlows(null); setDlError(null); setDlInfo(null); }, [id]);

  const shown = useMemo(() => sortFlows(filterFlows(flows || [], filter), sort.key, sort.dir), [flows, filter, sort]);
  const now = Date.now();

  const download = async (uuids, file, rawKnown) => {
    setDlError(null);
    setDlInfo(null);
    if (!uuids.length) return;
    if (rawKnown === 0) { setDlError(pcapErrorText({ status: 406 })); return; }
    try {
      const size = await api.downloadPcap(flowsPcapQuery(id, uuids, time, win), file);
      if (size <= 24) setDlError(pcapErrorText({ status: 406 }));
      else setDlInfo(`${file}: ${size} bytes saved`);
    } catch (e) {
      setDlError(pcapErrorText(e));
    }
  };
  const rawOf = (f) => (f.RawPacketsCaptured === undefined ? undefined : f.RawPacketsCaptured || 0);
  const rawAll = shown.some((f) => rawOf(f) === undefined) ? undefined : shown.reduce((a, f) => a + rawOf(f), 0);
  const name = (node.Metadata && node.Metadata.Name) || id;

  const clickSort = (c) => setSort((s) => (s.key === c.sort ? { key: c.sort, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key: c.sort, dir: c.num ? 'desc' : 'asc' }));
  const cell = (f, c) => {
    if (layout === 'full') return formatCell(f, c.id, now);
    const v = compactCell(f, c.id, now);
    return <span title={v.title}>{v.main}{v.sub ? <span class="sub">{v.sub}</span> : null}</span>;
  };

  return (
    <div class="flow-section" data-testid="flow-section">
      <div class="flow-tools">
        <input class="flow-filter" type="search" placeholder="filter: icmp, 10.0.0.1, port=80, -arp" value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)} data-testid="flow-filter" />
        <span class="seg" title="table layout">
          <button class={`small ${layout === 'compact' ? 'on' : ''}`} onClick={() => setLayout('compact')} data-testid="flow-layout-compact">compact</button>
          <button class={`small ${layout === 'full' ? 'on' : ''}`} onClick={() => setLayout('full')} data-testid="flow-layout-full">all columns</button>
        </span>
        <span class="muted nowrap">{flows == null ? 'loading…' : `${shown.length}${shown.length !== flows.length ? ` of ${flows.length}` : ''} flow${flows.length === 1 ? '' : 's'}`}</span>
      </div>
      {error && <div class="inline-error" data-testid="flow-error">{error}</div>}
      {dlError && <div class="inline-error" data-testid="flow-download-error">{dlError}</div>}
      {dlInfo && <div class="inline-info">{dlInfo}</div>}
      <div class="flow-scroll">
        {/* raw packets need the capture "rawpackets" permission: no icons without it */}
        <table class={`flow-table ${layout}`} data-testid="flow-table" data-count={shown.length} data-layout={layout}>
          <thead>
            <tr>
              <th class="icon-col stick0">
                {mayRaw && <button class="icon-btn" title="download the raw packets of every flow shown as .pcap" data-testid="flow-download-all"
                  disabled={!shown.length} onClick={() => download(shown.map((f) => f.UUID), `flows-${name}.pcap`, rawAll)}>
                  <DownloadIcon />
                </button>}
              </th>
              {cols.map((c, i) => (
                <th key={c.id} class={`${c.num ? 'num' : ''} sortable ${sort.key === c.sort ? 'sorted' : ''} ${i === 0 ? 'stick1' : ''}`}
                  onClick={() => clickSort(c)} data-col={c.id} title={c.title || `sort by ${c.label}`}>
                  {c.label}{sort.key === c.sort ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}{c.sub ? <span class="sub">{c.sub}</span> : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((f) => (
              <tr key={f.UUID} data-testid="flow-row" data-uuid={f.UUID} title={`${f.LayersPath || ''}  UUID ${f.UUID}${rawOf(f) !== undefined ? `  raw packets kept: ${rawOf(f)}` : ''}`}>
                <td class="icon-col stick0">
                  {mayRaw && <button title={rawOf(f) === 0 ? 'no raw packets kept for this flow' : 'download this flow\'s raw packets as .pcap'}
                    data-testid="flow-download" class={`icon-btn ${rawOf(f) === 0 ? 'dim' : ''}`}
                    onClick={() => download([f.UUID], `${f.UUID}.pcap`, rawOf(f))}>
                    <DownloadIcon />
                  </button>}
                </td>
                {cols.map((c, i) => <td key={c.id} class={`${c.num ? 'num' : ''} ${i === 0 ? 'stick1' : ''}`} data-col={c.id}>{cell(f, c)}</td>)}
              </tr>
            ))}
            {flows && !shown.length && (
              <tr class="empty-row"><td colSpan={cols.length + 1}>{flows.length ? 'no flow matches the filter' : 'no flow on this node yet (start a capture)'}</td></tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
