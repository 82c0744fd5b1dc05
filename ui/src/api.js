// api.js - the analyzer's public REST API, as curl would use it: nothing private.
// Every call throws an ApiError with the HTTP status and the analyzer's reason
// ({"Error": "..."}), and the character position when the reason names one.
import * as store from './store.js';

export class ApiError extends Error {
  constructor(status, message, position) {
    super(message);
    this.status = status;
    this.position = position; // 0-based character offset in the query, or null
  }
}

function headers(extra) {
  const h = { ...extra };
  const s = store.get().session;
  if (s && s.token) h.Authorization = `Bearer ${s.token}`;
  return h;
}

// The analyzer's errors say "... at position N ..." (Gremlin) or "... at character N".
export function errorPosition(msg) {
  const m = /\b(?:position|character|offset)\s+(\d+)/i.exec(msg || '');
  return m ? Number(m[1]) : null;
}

async function fail(res) {
  // Authentication required, or the session's token expired or was revoked: back to
  // the login page (the store listener shows it).
  if (res.status === 401) store.set({ session: null, authRequired: true });
  let text = await res.text();
  let msg = text;
  let pos = null;
  try {
    const j = JSON.parse(text);
    msg = j.Error || j.error || j.Message || text;
    if (Number.isInteger(j.Position)) pos = j.Position;
  } catch (_) { /* not JSON: keep the text */ }
  if (pos === null) pos = errorPosition(msg);
  throw new ApiError(res.status, msg || `${res.status} ${res.statusText}`, pos);
}

export async function request(method, path, body, extraHeaders) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  if (!res.ok) await fail(res);
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  return ct.includes('json') ? res.json() : res.text();
}

export const get = (path) => request('GET', path);
export const post = (path, body, h) => request('POST', path, body, h);
export const del = (path) => request('DELETE', path);

// A Gremlin query through POST /api/topology. Returns the parsed JSON answer.
export function gremlin(query) {
  return post('/api/topology', { GremlinQuery: query });
}

// Saves the raw packets of a query ending in RawPackets() as a .pcap file in the
// browser (the analyzer answers 406 for any other result). Returns the file size.
export async function downloadPcap(query, filename) {
  const res = await fetch('/api/topology', {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', Accept: 'application/vnd.tcpdump.pcap' }),
    body: JSON.stringify({ GremlinQuery: query }),
  });
  if (!res.ok) await fail(res);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename || 'skydive.pcap';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob.size;
}

// Gremlin string literal with quotes escaped.
export function gq(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
