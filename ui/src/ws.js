// ws.js - Subscriber: the /ws/subscriber connection that feeds the TopologyModel.
// As Skydive's web UI does: x-client-type=webui (and x-auth-token when logged in) in the
// URL, then a SyncRequest {GremlinFilter?, Time?} on open and whenever store.filter or
// store.time change; the SyncReply resets the model, the changes that follow are applied
// one by one. Reconnects with a backoff (0.5 s doubling to 10 s). store.connected is
// 'connecting' | 'open' | 'closed'; a refused filter (Status 400) lands in
// store.filterError (shown under the filter box) and the graph shown stays as it was.
import * as store from './store.js';
import { pushAlertEvent } from './lib/alerts.js';

let seq = 0;
const hostId = `webui-${Math.random().toString(36).slice(2, 10)}`;

export function subscriberURL(loc, session) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  // x-host-id: a browser cannot set the X-Host-ID header; the analyzer reads it here too.
  let url = `${proto}//${loc.host}/ws/subscriber?x-client-type=webui&x-host-id=${hostId}`;
  if (session && session.token) url += `&x-auth-token=${encodeURIComponent(session.token)}`;
  return url;
}

// The SyncRequest envelope for the store's filter and time. GremlinFilter is always
// sent: the analyzer keeps its current filter when the key is absent, "" removes it.
// Time only when looking at the past (absent = live).
export function syncRequest(state, uuid) {
  const obj = { GremlinFilter: state.filter ? String(state.filter) : '' };
  if (state.time != null) obj.Time = state.time;
  return { Namespace: 'Graph', Type: 'SyncRequest', UUID: uuid, Obj: obj };
}

// The 0-based position of the error in the filter, when the reply gives one.
export function replyErrorPosition(msg) {
  const o = msg.Obj;
  const p = o && typeof o === 'object' ? o.Position : undefined;
  return Number.isInteger(p) && p >= 0 ? p : null;
}

// The reason of an error reply, whatever its shape.
export function replyError(msg) {
  const o = msg.Obj;
  if (typeof o === 'string') return o;
  if (o && typeof o === 'object') return o.Error || o.error || o.Message || JSON.stringify(o);
  return `error ${msg.Status}`;
}

export class Subscriber {
  constructor(model) {
    this.model = model;
    this.ws = null;
    this.backoff = 500;
    this.timer = null;
    this.closedByUs = false;
    this.pending = null; // UUID of our last SyncRequest
    this.pendingFilter = ''; // the filter it carried
    this.accepted = ''; // the last filter the analyzer accepted (kept after a refusal)
    this.fallback = null; // UUID of a SyncRequest with the accepted filter after a refusal
    this.synced = false;
    this.stats = { messages: 0, syncs: 0, lastSyncMs: 0, errors: 0 };
    this.unsub = store.subscribe((s, changed) => {
      if (changed.includes('filter') || changed.includes('time')) this.sync();
      // a new token: reconnect with it (when signed out, main.jsx pauses us instead)
      if (changed.includes('session') && this.ws && !s.authRequired) this.reconnect();
    });
  }

  connect() {
    this.closedByUs = false;
    if (this.ws) return;
    clearTimeout(this.timer);
    store.set({ connected: 'connecting' });
    let ws;
    try {
      ws = new WebSocket(subscriberURL(location, store.get().session));
    } catch (e) {
      this._retry();
      return;
    }
    this.ws = ws;
    this.first = true; // the next message is the first of this connection
    ws.onopen = () => {
      this.backoff = 500;
      store.set({ connected: 'open' });
      this.sync();
    };
    ws.onmessage = (ev) => this._onMessage(ev.data);
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.synced = false;
      store.set({ connected: 'closed' });
      if (!this.closedByUs) this._retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  _retry() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(10000, this.backoff * 2);
  }

  reconnect() {
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; ws.close(); }
    this.connect();
  }

  // Stops the connection and its retries, keeping the store subscription, so connect()
  // may start again (signed out, then in).
  pause() {
    this.closedByUs = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onclose = null; ws.close(); }
    store.set({ connected: 'closed' });
  }

  close() {
    this.closedByUs = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.unsub();
  }

  // Asks the analyzer for the graph again with the store's filter and time.
  sync(filter = store.get().filter) {
    if (!this.ws || this.ws.readyState !== 1) return null;
    const uuid = `sync-${++seq}`;
    this.pending = uuid;
    this.pendingFilter = filter || '';
    this.ws.send(JSON.stringify(syncRequest({ ...store.get(), filter }, uuid)));
    return uuid;
  }

  _onMessage(data) {
    if (typeof data !== 'string') return;
    const t0 = performance.now();
    let msg;
    try { msg = JSON.parse(data); } catch (_) { this.stats.errors++; return; }
    this.stats.messages++;
    this.handle(msg, t0);
  }

  handle(msg, t0 = performance.now()) {
    const first = this.first;
    this.first = false;
    if (msg.Namespace === 'Alert') {
      // fired alerts (docs/API.md "Alerts"): kept for the Alerts tab, counted on its tab
      const st = store.get();
      const events = pushAlertEvent(st.alertEvents, msg);
      if (events !== st.alertEvents) store.set({ alertEvents: events, alertsUnseen: st.view === 'alerts' ? 0 : st.alertsUnseen + 1 });
      return;
    }
    if (msg.Namespace && msg.Namespace !== 'Graph') return;
    if (msg.Type === 'SyncReply') {
      // The analyzer sends the whole graph on connection, before it reads our SyncRequest;
      // the reply to that request follows (same UUID): building the model twice is waste.
      if (first && this.pending && !msg.UUID) return;
      if (msg.Status != null && msg.Status !== 200) {
        // Our filter (or time) was refused: say so, keep what is drawn (the analyzer keeps
        // its previous filter). On a new connection there is no previous one: ask again
        // with the filter last accepted, so the graph still comes.
        if (msg.UUID === this.pending || !msg.UUID) {
          store.set({ filterError: replyError(msg), filterErrorPosition: replyErrorPosition(msg) });
          if (!this.synced && this.pendingFilter !== this.accepted) this.fallback = this.sync(this.accepted);
        }
        return;
      }
      if (msg.UUID && msg.UUID === this.pending) {
        this.pending = null;
        this.accepted = this.pendingFilter;
        if (msg.UUID === this.fallback) this.fallback = null; // the refusal stays shown
        else if (store.get().filterError) store.set({ filterError: null, filterErrorPosition: null });
      }
      this.model.applyMessage(msg);
      this.synced = true;
      this.stats.syncs++;
      this.stats.lastSyncMs = performance.now() - t0;
      try { performance.mark('skydive-sync-applied'); } catch (_) { /* old browser */ }
      return;
    }
    // A past topology (time travel) does not change: ignore the live stream meanwhile.
    if (store.get().time != null || !this.synced) return;
    this.model.applyMessage(msg);
  }
}
