// flows.js - the flow table's logic: columns, values, sorting, filtering, formatting and
// the Gremlin queries of a node's flows and of their raw packets. Pure: no browser API.

// Gremlin string literal (same quoting as api.js's gq, kept here so this module stays pure).
export function quote(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const metric = (f) => f.Metric || f.LastUpdateMetric || {};

// Columns of the flow table: key, label, how to read the value, how to show it.
export const FLOW_COLUMNS = [
  { key: 'Application', label: 'App', get: (f) => f.Application || '' },
  { key: 'LinkA', label: 'Link A', get: (f) => (f.Link && f.Link.A) || '', group: 'link' },
  { key: 'LinkB', label: 'Link B', get: (f) => (f.Link && f.Link.B) || '', group: 'link' },
  { key: 'NetworkA', label: 'Network A', get: (f) => (f.Network && f.Network.A) || '' },
  { key: 'NetworkB', label: 'Network B', get: (f) => (f.Network && f.Network.B) || '' },
  { key: 'TransportA', label: 'Port A', get: (f) => (f.Transport && f.Transport.A) ?? '', num: true },
  { key: 'TransportB', label: 'Port B', get: (f) => (f.Transport && f.Transport.B) ?? '', num: true },
  { key: 'ABPackets', label: 'Pkts A→B', get: (f) => metric(f).ABPackets || 0, num: true, fmt: 'count' },
  { key: 'BAPackets', label: 'Pkts B→A', get: (f) => metric(f).BAPackets || 0, num: true, fmt: 'count' },
  { key: 'ABBytes', label: 'Bytes A→B', get: (f) => metric(f).ABBytes || 0, num: true, fmt: 'bytes' },
  { key: 'BABytes', label: 'Bytes B→A', get: (f) => metric(f).BABytes || 0, num: true, fmt: 'bytes' },
  { key: 'RTT', label: 'RTT', get: (f) => metric(f).RTT || (f.Metric && f.Metric.RTT) || 0, num: true, fmt: 'rtt' },
  { key: 'Start', label: 'Start', get: (f) => f.Start || metric(f).Start || 0, num: true, fmt: 'time' },
  { key: 'Last', label: 'Last', get: (f) => f.Last || metric(f).Last || 0, num: true, fmt: 'time' },
];
const byKey = Object.fromEntries(FLOW_COLUMNS.map((c) => [c.key, c]));
// Sort keys of the compact columns (not filter columns): an endpoint (IP, else MAC) and
// the totals of both directions.
const ends = (f, s) => (f.Network && f.Network[s]) || (f.Link && f.Link[s]) || '';
Object.assign(byKey, {
  A: { key: 'A', get: (f) => ends(f, 'A') },
  B: { key: 'B', get: (f) => ends(f, 'B') },
  Packets: { key: 'Packets', num: true, get: (f) => (metric(f).ABPackets || 0) + (metric(f).BAPackets || 0) },
  Bytes: { key: 'Bytes', num: true, get: (f) => (metric(f).ABBytes || 0) + (metric(f).BABytes || 0) },
});

export function flowValue(flow, key) {
  const c = byKey[key];
  return c ? c.get(flow) : undefined;
}

export function formatCount(n) {
  if (n === '' || n == null) return '';
  n = Number(n);
  if (n < 10000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

export function formatBytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
}

// RTT as Skydive keeps it: nanoseconds.
export function formatRTT(ns) {
  ns = Number(ns) || 0;
  if (!ns) return '';
  if (ns < 1e3) return `${ns} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// ms since epoch → "2024-01-02 15:04:05.123" (local time); the date is left out when
// it is the day of `now` (when given).
export function formatTime(ms, now) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (now != null) {
    const n = new Date(Number(now));
    if (n.getFullYear() === d.getFullYear() && n.getMonth() === d.getMonth() && n.getDate() === d.getDate()) return t;
  }
  return `${day} ${t}`;
}

export function formatCell(flow, key, now) {
  const c = byKey[key];
  const v = c.get(flow);
  switch (c.fmt) {
    case 'count': return formatCount(v);
    case 'bytes': return formatBytes(v);
    case 'rtt': return formatRTT(v);
    case 'time': return formatTime(v, now);
    default: return v === '' || v == null ? '' : String(v);
  }
}

function cmp(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === '' && b !== '') return 1;
  if (b === '' && a !== '') return -1;
  // IP addresses and MACs: compare numerically where they are digits
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

// A new sorted array (stable); dir 'asc' | 'desc'. Ties broken by UUID.
export function sortFlows(flows, key, dir = 'asc') {
  const c = byKey[key];
  if (!c) return flows.slice();
  const s = dir === 'desc' ? -1 : 1;
  return flows
    .map((f, i) => ({ f, i, v: c.get(f) }))
    .sort((x, y) => s * cmp(x.v, y.v) || String(x.f.UUID).localeCompare(String(y.f.UUID)) || x.i - y.i)
    .map((x) => x.f);
}

// Text a filter term is matched against: every column's raw and shown value, plus
// the flow's UUID, LayersPath and protocols.
function haystack(f) {
  const parts = [f.UUID, f.LayersPath, f.TrackingID, f.Link && f.Link.Protocol,
    f.Network && f.Network.Protocol, f.Transport && f.Transport.Protocol];
  for (const c of FLOW_COLUMNS) parts.push(c.get(f));
  return parts.filter((p) => p !== undefined && p !== null && p !== '').join(' ').toLowerCase();
}

// Filter text: terms separated by spaces, all must match (case-insensitive substring);
// a term "key=value" (or key:value) matches one column (its label or key, e.g.
// "app=icmpv4", "NetworkA:10.0.0.1", "port=80" for either port); "-term" excludes.
export function filterFlows(flows, text) {
  const terms = String(text || '').trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return flows.slice();
  const preds = terms.map((t) => {
    let neg = false;
    if (t.startsWith('-') && t.length > 1) { neg = true; t = t.slice(1); }
    const m = /^([a-z]+)[=:](.*)$/.exec(t);
    let p;
    if (m && m[2] !== '') {
      const [, k, v] = m;
      const cols = FLOW_COLUMNS.filter((c) => c.key.toLowerCase() === k ||
        c.label.toLowerCase().replace(/[^a-z]/g, '') === k ||
        (k === 'app' && c.key === 'Application') ||
        (k === 'port' && c.key.startsWith('Transport')) ||
        (k === 'ip' && c.key.startsWith('Network')) ||
        (k === 'mac' && c.key.startsWith('Link')) ||
        (k === c.key.toLowerCase().replace(/[ab]$/, '')));
      if (cols.length) p = (f) => cols.some((c) => String(c.get(f)).toLowerCase().includes(v));
    }
    if (!p) p = (f) => haystack(f).includes(t);
    return neg ? (f) => !p(f) : p;
  });
  return flows.filter((f) => preds.every((p) => p(f)));
}

// G.At(t, w) prefix for time travel (t in ms, w in seconds), '' when live.
export function timeContext(time, window) {
  if (time == null) return 'G';
  return `G.At(${Math.round(time)}, ${Math.max(1, Math.round(window || 60))})`;
}

// The flows of a node (by ID; an agent's node ID is its TID).
export function nodeFlowsQuery(nodeId, time, window) {
  return `${timeContext(time, window)}.V(${quote(nodeId)}).Flows()`;
}

// The raw packets of some flows of a node (uuids: one or several), for a .pcap download.
export function flowsPcapQuery(nodeId, uuids, time, window) {
  const list = Array.isArray(uuids) ? uuids : [uuids];
  const has = list.length === 1 ? quote(list[0]) : `Within(${list.map(quote).join(', ')})`;
  return `${nodeFlowsQuery(nodeId, time, window)}.Has('UUID', ${has}).RawPackets()`;
}

// The analyzer's 406 on a pcap download means no raw packets were kept.
export function pcapErrorText(err) {
  if (err && err.status === 406) return 'no raw packets kept: set a raw packet limit on the capture';
  return (err && err.message) || String(err);
}

// One side of a flow, compact: "10.0.0.1:80" ("[fe80::1]:80" for IPv6; no port when the
// flow has no transport layer) as the main line, its MAC below; a flow without a network
// layer (ARP...) shows its MAC as the main line.
export function endpointText(f, side) {
  const ip = f.Network && f.Network[side];
  const port = f.Transport ? f.Transport[side] : undefined;
  const mac = (f.Link && f.Link[side]) || '';
  if (!ip) return { main: mac, sub: '' };
  const host = String(ip).includes(':') && port !== undefined && port !== '' ? `[${ip}]` : ip;
  return { main: port !== undefined && port !== '' ? `${host}:${port}` : host, sub: mac };
}

// The compact layout of the flow table (the default): few columns, two lines each, so
// the key facts fit a side panel. sort: the key sortFlows orders by.
export const COMPACT_COLUMNS = [
  { id: 'Application', label: 'App', sort: 'Application' },
  { id: 'A', label: 'A', sub: 'IP:port, MAC', sort: 'A' },
  { id: 'B', label: 'B', sub: 'IP:port, MAC', sort: 'B' },
  { id: 'Packets', label: 'Pkts', sub: 'A→B, B→A', sort: 'Packets', num: true, title: 'packets A→B over B→A (sorts by their sum)' },
  { id: 'Bytes', label: 'Bytes', sub: 'A→B, B→A', sort: 'Bytes', num: true, title: 'bytes A→B over B→A (sorts by their sum)' },
  { id: 'RTT', label: 'RTT', sort: 'RTT', num: true },
  { id: 'Last', label: 'Last', sub: 'first', sort: 'Last', num: true, title: 'last packet seen, over the first' },
];

// A compact cell: {main, sub, title?} (sub: the second line, '' for none).
export function compactCell(f, id, now) {
  const m = metric(f);
  switch (id) {
    case 'Application': {
      const t = f.Transport && f.Transport.Protocol;
      const icmp = f.ICMP && f.ICMP.Type;
      return { main: f.Application || (f.Link && f.Link.Protocol) || '', sub: icmp || (t && t !== f.Application ? t : '') };
    }
    case 'A': case 'B': return endpointText(f, id);
    case 'Packets': return { main: formatCount(m.ABPackets || 0), sub: formatCount(m.BAPackets || 0), title: 'A→B over B→A' };
    case 'Bytes': return { main: formatBytes(m.ABBytes || 0), sub: formatBytes(m.BABytes || 0), title: 'A→B over B→A' };
    case 'RTT': return { main: formatCell(f, 'RTT', now), sub: '' };
    case 'Last': {
      const sec = (k) => formatCell(f, k, now).replace(/\.\d{3}$/, '');
      return { main: sec('Last'), sub: sec('Start'), title: `first ${formatCell(f, 'Start', now)}, last ${formatCell(f, 'Last', now)}` };
    }
    default: return { main: '', sub: '' };
  }
}
