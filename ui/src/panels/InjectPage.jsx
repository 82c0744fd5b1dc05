// InjectPage.jsx - the Inject tab: the form of `skydive client injection create` (POST
// /api/injectpacket; Src and Dst prefilled from the first two selected nodes, the
// analyzer's 400 reason at its field), the injection just made with its TrackingID and
// the flows of its packets (polled), and the injections the analyzer holds (GET
// /api/injectpacket every 2 s, their nodes' states from /api/status "Injections" and the
// source nodes' PacketInjections metadata) with delete.
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { usePolling } from './FlowTable.jsx';
import { can } from '../lib/session.js';
import { useForm } from '../lib/useForm.js';
import { formatCount } from '../lib/flows.js';
import {
  TYPES, emptyInjectForm, buildInjectRequest, injectErrorField, trackingQuery, injectionStates,
} from '../lib/inject.js';

function InjectForm({ src, dst, onDone }) {
  const { v, errors, setErrors, busy, setBusy, set } = useForm(() => emptyInjectForm(src, dst));
  const [more, setMore] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const { body, errors: local } = buildInjectRequest(v);
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      onDone(await api.post('/api/injectpacket', body));
    } catch (err) {
      setErrors({ [injectErrorField(err.message) || 'form']: err.message });
    } finally {
      setBusy(false);
    }
  };
  const fe = (k) => errors[k] && <div class="field-error" data-testid="field-error" data-field={k}>{errors[k]}</div>;
  const row = (label, control, k, hint) => (
    <div class="form-row" key={label}>
      <span class="form-label">{label}</span>
      <div class="form-control">{control}{hint && <div class="form-help">{hint}</div>}{k && fe(k)}</div>
    </div>
  );
  const input = (k, label, ph) => row(label, <input data-testid={`inject-${k.toLowerCase()}`} value={v[k]} onInput={set(k)} placeholder={ph || ''} />, k);
  return (
    <form class="capture-form inject-form" data-testid="inject-form" onSubmit={submit}>
      {errors.form && <div class="inline-error" data-testid="form-error">{errors.form}</div>}
      {row('Source', <textarea class="mono" rows={2} data-testid="inject-src" value={v.Src} onInput={set('Src')} placeholder="G.V().Has('Name', 'eth0')" />,
        'Src', 'Gremlin: the interface(s) that send (the first selected node)')}
      {row('Destination', <textarea class="mono" rows={2} data-testid="inject-dst" value={v.Dst} onInput={set('Dst')} placeholder="G.V().Has('Name', 'eth1')" />,
        'Dst', 'Gremlin: the node whose address and MAC the packets go to (the second selected node)')}
      {row('Type', (
        <select data-testid="inject-type" value={v.Type} onChange={set('Type')}>
          {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>), 'Type')}
      {input('Count', 'Packets')}
      {input('Interval', 'Interval (ms)')}
      {input('Payload', 'Payload', '56 random letters, as ping')}
      <div class="form-row"><span class="form-label" />
        <a href="#" data-testid="inject-more" onClick={(e) => { e.preventDefault(); setMore(!more); }}>{more ? 'fewer options' : 'addresses, ports, TTL, mode…'}</a>
      </div>
      {more && [
        input('SrcIP', 'Source IP', 'the source node\'s'),
        input('DstIP', 'Destination IP', 'the destination node\'s'),
        input('SrcMAC', 'Source MAC', 'the source node\'s'),
        input('DstMAC', 'Destination MAC', 'the next hop\'s or the destination node\'s'),
        input('SrcPort', 'Source port'),
        input('DstPort', 'Destination port'),
        input('ICMPID', 'ICMP id'),
        input('TTL', 'TTL', '64'),
        row('Mode', (
          <select data-testid="inject-mode" value={v.Mode} onChange={set('Mode')}>
            <option value="unique">unique: one flow per source node</option>
            <option value="random">random: a new id or port per packet</option>
          </select>)),
      ]}
      <div class="form-buttons">
        <button class="primary" type="submit" data-testid="inject-submit" disabled={busy}>{busy ? 'Sending…' : 'Inject'}</button>
      </div>
    </form>
  );
}

// The flows of one TrackingID, polled: one row per capture point.
function TrackedFlows({ tid, model }) {
  const [flows, setFlows] = useState(null);
  const [error, setError] = useState(null);
  usePolling(async () => {
    try {
      const r = await api.gremlin(trackingQuery(tid));
      setFlows(Array.isArray(r) ? r : []);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  }, [tid]);
  const nodeName = (f) => {
    const n = model && [...model.nodes.values()].find((x) => x.Metadata && x.Metadata.TID === f.NodeTID);
    return n ? `${n.Metadata.Name}${n.Host ? ` (${n.Host})` : ''}` : String(f.NodeTID || '').slice(0, 8);
  };
  return (
    <div>
      {error && <div class="inline-error">{error}</div>}
      <table class="capture-list" data-testid="inject-flows" data-count={flows ? flows.length : 0}>
        <thead><tr><th>Seen at</th><th>Application</th><th>A → B</th><th class="num">A→B packets</th><th class="num">B→A packets</th></tr></thead>
        <tbody>
          {flows && flows.map((f) => (
            <tr key={f.UUID} data-testid="inject-flow" data-ab={(f.Metric && f.Metric.ABPackets) || 0} data-ba={(f.Metric && f.Metric.BAPackets) || 0}>
              <td>{nodeName(f)}</td>
              <td>{f.Application}</td>
              <td class="mono">{f.Network ? `${f.Network.A} → ${f.Network.B}` : ''}</td>
              <td class="num">{formatCount((f.Metric && f.Metric.ABPackets) || 0)}</td>
              <td class="num">{formatCount((f.Metric && f.Metric.BAPackets) || 0)}</td>
            </tr>
          ))}
          {flows && !flows.length && <tr class="empty-row"><td colSpan={5}>no flow yet: a capture on the path shows it (Captures tab)</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

function InjectionList({ model, highlight }) {
  const mayWrite = can(store.get().session, 'injectpacket', 'write');
  const [list, setList] = useState(null);
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  usePolling(async () => {
    try {
      const [l, s] = await Promise.all([api.get('/api/injectpacket'), api.get('/api/status').catch(() => null)]);
      setList(Object.entries(l || {}).map(([uuid, x]) => ({ ...x, UUID: uuid }))
        .sort((a, b) => String(b.StartTime).localeCompare(String(a.StartTime))));
      setStatus(s);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  }, [tick]);
  const remove = async (uuid) => {
    try {
      await api.del(`/api/injectpacket/${encodeURIComponent(uuid)}`);
      setList((l) => (l || []).filter((x) => x.UUID !== uuid));
      setTick((t) => t + 1);
    } catch (e) {
      setError(`delete ${uuid}: ${e.message}`);
    }
  };
  // "sending (n)" while the source node's PacketInjections has it (the agent's metadata)
  const running = (uuid, nodeId) => {
    const n = model && model.getNode(nodeId);
    const e = n && Array.isArray(n.Metadata.PacketInjections) && n.Metadata.PacketInjections.find((x) => x.ID === uuid);
    return e ? `sending (${e.PacketCount || 0} so far)` : null;
  };
  return (
    <div>
      {error && <div class="inline-error">{error}</div>}
      <table class="capture-list" data-testid="inject-list" data-count={list ? list.length : 0}>
        <thead><tr><th>Started</th><th>Type</th><th>From</th><th class="num">Packets</th><th>TrackingID</th><th>State</th><th /></tr></thead>
        <tbody>
          {list && list.map((x) => {
            const st = injectionStates(status, x.UUID);
            const states = (x.Nodes || []).map((n) => running(x.UUID, n.ID) || (st[n.ID] === 'injecting' ? 'sent' : st[n.ID] || 'done'));
            return (
              <tr key={x.UUID} data-testid="inject-row" data-uuid={x.UUID} class={x.UUID === highlight ? 'highlight' : ''}>
                <td>{x.StartTime ? new Date(x.StartTime).toLocaleTimeString() : ''}</td>
                <td>{x.Pcap ? 'pcap' : x.Type}</td>
                <td class="mono wrap">{x.Src}</td>
                <td class="num">{x.Count || 1}</td>
                <td class="mono">{x.TrackingID}</td>
                <td class={states.some((s) => s.startsWith('error')) ? 'bad-text' : ''} data-testid="inject-state">{states.join('; ')}</td>
                <td>{mayWrite && <button class="icon-btn danger" title="stop and delete" data-testid="inject-delete" onClick={() => remove(x.UUID)}>✕</button>}</td>
              </tr>
            );
          })}
          {list && !list.length && <tr class="empty-row"><td colSpan={7}>no injection</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

export function InjectPage({ model }) {
  const [created, setCreated] = useState(null);
  const sel = (store.get().selection || []).map((id) => model && model.getNode(id)).filter(Boolean);
  const mayWrite = can(store.get().session, 'injectpacket', 'write');
  return (
    <div class="tab-page inject-page" data-testid="inject-page">
      <div class="page-head">
        <h2>Packet injection</h2>
        {created && <span class="inline-info" data-testid="inject-created">Sent from {(created.Nodes || []).length} node(s): TrackingID <b class="mono" data-testid="inject-tid">{created.TrackingID}</b></span>}
      </div>
      {mayWrite
        ? <div class="card form-card"><InjectForm src={sel[0]} dst={sel[1]} onDone={setCreated} /></div>
        : <div class="card muted">Injecting packets needs the injectpacket write permission.</div>}
      {created && created.TrackingID && (
        <div class="card"><h3>Flows of its packets</h3><TrackedFlows tid={created.TrackingID} model={model} /></div>
      )}
      <div class="card"><InjectionList model={model} highlight={created && created.UUID} /></div>
    </div>
  );
}
