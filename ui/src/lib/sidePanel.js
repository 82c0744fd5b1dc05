// sidePanel.js - the side panel's logic: its width (default, bounds, the stored value),
// one-line summaries of selected nodes, and the captures a node really has (the agent's
// Captures metadata, plus the analyzer dispatcher's state for this node while the agent
// has not reported the capture yet). Pure: no browser API.
import { quote } from './flows.js';

export const WIDTH_KEY = 'skydive.sidePanelWidth';
export const MIN_WIDTH = 360;
export const DEFAULT_MAX_WIDTH = 720;
const MIN_TOPOLOGY = 280; // the topology keeps at least this much of the window

// ~40% of the window, between MIN_WIDTH and DEFAULT_MAX_WIDTH.
export function defaultPanelWidth(winW) {
  return clampPanelWidth(Math.min(DEFAULT_MAX_WIDTH, Math.round((Number(winW) || 1280) * 0.4)), winW);
}

// A width kept within [MIN_WIDTH, window - MIN_TOPOLOGY] (MIN_WIDTH wins on a tiny window).
export function clampPanelWidth(w, winW) {
  const max = Math.max(MIN_WIDTH, (Number(winW) || 1280) - MIN_TOPOLOGY);
  const n = Math.round(Number(w));
  if (!Number.isFinite(n)) return defaultPanelWidth(winW);
  return Math.min(max, Math.max(MIN_WIDTH, n));
}

// The stored width (localStorage string) or the default; always within bounds.
export function storedPanelWidth(s, winW) {
  const n = s == null || s === '' ? NaN : Number(s);
  return Number.isFinite(n) && n > 0 ? clampPanelWidth(n, winW) : defaultPanelWidth(winW);
}

// {name, type, state, host, ips, mac, captures} of a node, for a one-line summary (IPv6
// link-local addresses left out).
export function nodeSummary(node, id) {
  const md = (node && node.Metadata) || {};
  const ips = [...(Array.isArray(md.IPV4) ? md.IPV4 : []), ...(Array.isArray(md.IPV6) ? md.IPV6 : [])]
    .filter((ip) => !/^fe80:/i.test(ip));
  return {
    name: md.Name || (node && node.ID) || id || '',
    type: md.Type || '',
    state: md.State || '',
    host: (node && node.Host) || '',
    ips,
    mac: md.MAC || '',
    captures: Array.isArray(md.Captures) ? md.Captures.filter((c) => c && typeof c === 'object') : [],
  };
}

const DISPATCH_TEXT = {
  starting: 'the analyzer is sending the start to the agent',
  started: 'the agent accepted it; waiting for it to report the capture',
  active: 'active; waiting for the agent\'s report on this node',
};

// Captures of the analyzer's dispatcher (GET /api/status "Captures": {uuid: {Nodes:
// {nodeID: state}}}) for this node that its Captures metadata does not hold yet:
// [{UUID, Name, state, error, text}]. captures: GET /api/capture (names), optional.
// Only what the dispatcher says of this very node: nothing for a node its query did
// not match.
export function pendingCaptures(node, status, captures) {
  if (!node || !status || typeof status.Captures !== 'object' || !status.Captures) return [];
  const md = node.Metadata || {};
  const have = new Set((Array.isArray(md.Captures) ? md.Captures : []).map((c) => c && c.ID));
  const out = [];
  for (const [uuid, rep] of Object.entries(status.Captures)) {
    if (!rep || typeof rep !== 'object' || !rep.Nodes || typeof rep.Nodes !== 'object') continue;
    const st = rep.Nodes[node.ID];
    if (typeof st !== 'string' || have.has(uuid)) continue;
    const def = captures && captures[uuid];
    if (captures && !def) continue; // deleted meanwhile
    const error = /^error/.test(st) ? st.replace(/^error:?\s*/, '') || 'unknown error' : null;
    const state = error ? 'error' : st.split(':')[0];
    out.push({ UUID: uuid, Name: (def && def.Name) || '', state, error,
      text: error ? `the agent could not start it: ${error}` : DISPATCH_TEXT[state] || state });
  }
  return out.sort((a, b) => (a.Name || a.UUID).localeCompare(b.Name || b.UUID));
}

// Gremlin counting a node's flows (tc: 'G' or 'G.At(t, w)').
export function flowCountQuery(tc, id) {
  return `${tc}.V(${quote(id)}).Flows().Count()`;
}

// How long the "capture created" notice stays.
export const CREATED_NOTICE_MS = 6000;
