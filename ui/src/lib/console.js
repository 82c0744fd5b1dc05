// console.js - the Gremlin console's logic: what a result is (nodes, edges, flows or
// other JSON), the table columns for it, RawPackets() queries, the query history, and
// where an error position falls in a multi-line query. Pure: no browser API.

export function resultKind(res) {
  if (!Array.isArray(res)) return 'json';
  if (!res.length) return 'empty';
  const all = (p) => res.every((x) => x && typeof x === 'object' && !Array.isArray(x) && p(x));
  if (all((x) => 'ID' in x && 'Parent' in x && 'Child' in x)) return 'edges';
  if (all((x) => 'ID' in x && 'Metadata' in x)) return 'nodes';
  if (all((x) => 'UUID' in x && ('Metric' in x || 'LayersPath' in x || 'TrackingID' in x))) return 'flows';
  return 'json';
}

const short = (v) => {
  if (v == null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

// Columns [{key, label, get}] for a table of nodes, edges or flows: fixed ones first,
// then the Metadata keys (nodes, edges) at least half of the rows have, up to max.
export function tableColumns(rows, kind, max = 10) {
  const md = (k) => ({ key: `Metadata.${k}`, label: k, get: (x) => short(x.Metadata && x.Metadata[k]) });
  let cols;
  if (kind === 'nodes') cols = [md('Name'), md('Type'), md('State'), { key: 'Host', label: 'Host', get: (x) => short(x.Host) }];
  else if (kind === 'edges') {
    cols = [md('RelationType'), { key: 'Parent', label: 'Parent', get: (x) => short(x.Parent) },
      { key: 'Child', label: 'Child', get: (x) => short(x.Child) }];
  } else if (kind === 'flows') {
    const ab = (o, k) => ({ key: `${o}.${k}`, label: `${o} ${k}`, get: (x) => short(x[o] && x[o][k]) });
    return [
      { key: 'UUID', label: 'UUID', get: (x) => short(x.UUID) },
      { key: 'Application', label: 'Application', get: (x) => short(x.Application) },
      ab('Network', 'A'), ab('Network', 'B'), ab('Transport', 'A'), ab('Transport', 'B'),
      { key: 'Packets', label: 'Packets A→B/B→A', get: (x) => x.Metric ? `${x.Metric.ABPackets || 0} / ${x.Metric.BAPackets || 0}` : '' },
      { key: 'Bytes', label: 'Bytes A→B/B→A', get: (x) => x.Metric ? `${x.Metric.ABBytes || 0} / ${x.Metric.BABytes || 0}` : '' },
      { key: 'NodeTID', label: 'NodeTID', get: (x) => short(x.NodeTID) },
    ];
  } else return [];
  const fixed = new Set(cols.map((c) => c.key));
  const freq = new Map();
  for (const r of rows) for (const k of Object.keys(r.Metadata || {})) freq.set(k, (freq.get(k) || 0) + 1);
  const extra = [...freq.entries()]
    .filter(([k, n]) => !fixed.has(`Metadata.${k}`) && n * 2 >= rows.length)
    .filter(([k]) => rows.some((r) => { const v = r.Metadata[k]; return v != null && typeof v !== 'object'; }))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, Math.max(0, max - cols.length - 1))
    .map(([k]) => md(k));
  return [...cols, ...extra, { key: 'ID', label: 'ID', get: (x) => short(x.ID) }];
}

// A query whose result is raw packets (a .pcap can be downloaded).
export function isRawPacketsQuery(q) {
  return /\.RawPackets\(\s*\)(\s*\.BPF\((?:[^()'"]|'[^']*'|"[^"]*")*\))?\s*$/.test(String(q || ''));
}

// History: newest first, no repeats, at most max entries.
export function pushHistory(list, q, max = 50) {
  q = String(q || '').trim();
  if (!q) return list || [];
  return [q, ...(list || []).filter((x) => x !== q)].slice(0, max);
}

export function parseHistory(text) {
  try {
    const a = JSON.parse(text || '[]');
    return Array.isArray(a) ? a.filter((x) => typeof x === 'string') : [];
  } catch (_) {
    return [];
  }
}

// 0-based offset → {line, col} (0-based) in a query that may span lines; clamped.
export function positionInQuery(q, pos) {
  q = String(q || '');
  pos = Math.max(0, Math.min(Number(pos) || 0, q.length));
  const before = q.slice(0, pos);
  const line = (before.match(/\n/g) || []).length;
  const col = pos - (before.lastIndexOf('\n') + 1);
  return { line, col, text: q.split('\n')[line] || '' };
}
