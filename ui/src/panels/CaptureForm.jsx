// CaptureForm.jsx - every option of `skydive client capture create`, POST /api/capture,
// the analyzer's 400 reason shown at the field it concerns.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api.js';
import {
  emptyForm, buildCaptureRequest, captureErrorInfo, ttlToMs, typeOptions, EXTRA_LAYERS, gremlinForNodes, nameForNodes,
} from '../lib/captureForm.js';
import { positionInQuery } from '../lib/console.js';
import { rememberExpiry } from './CaptureList.jsx';

export function Caret({ query, position }) {
  const p = positionInQuery(query, position);
  return (
    <pre class="caret-box" data-position={position}>{p.text}{'\n'}<span class="caret">{' '.repeat(p.col)}^</span></pre>
  );
}

function FieldError({ field, errors, query }) {
  const e = errors[field];
  if (!e) return null;
  return (
    <div class="field-error" data-testid="field-error" data-field={field}>
      {e.message}
      {field === 'GremlinQuery' && e.position != null && <Caret query={query} position={e.position} />}
    </div>
  );
}

const BASIC_HELP = {
  BPFFilter: 'tcpdump syntax, e.g. icmp or tcp port 80',
  RawPacketLimit: 'raw packets kept per flow, for .pcap downloads (-1: all; 0: none)',
  TTL: 'delete the capture after 30s, 5m, 1h… (empty: never)',
};

// nodes: the selected nodes (prefill and the Type choices); gremlin: a query to start with.
export function CaptureForm({ nodes = [], gremlin, onDone, onCancel }) {
  const [v, setV] = useState(() => ({ ...emptyForm(), GremlinQuery: gremlin ?? gremlinForNodes(nodes), Name: nameForNodes(nodes) }));
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const [preview, setPreview] = useState(null); // {nodes} | {error, position}
  const first = useRef(null);

  // the node types the query matches give the Type choices (the selection's at first)
  useEffect(() => {
    const q = v.GremlinQuery.trim();
    if (!q) { setPreview(null); return undefined; }
    const t = setTimeout(async () => {
      try {
        const res = await api.gremlin(q);
        setPreview({ nodes: Array.isArray(res) ? res.filter((x) => x && x.Metadata && !('Parent' in x)) : [], notNodes: !Array.isArray(res) || res.some((x) => !x || !x.Metadata || 'Parent' in x) });
      } catch (e) {
        setPreview({ error: e.message, position: e.position });
      }
    }, 400);
    return () => clearTimeout(t);
  }, [v.GremlinQuery]);

  const typeNodes = preview && preview.nodes && preview.nodes.length ? preview.nodes : nodes;
  const nodeTypes = typeNodes.map((n) => n.Metadata && n.Metadata.Type).filter(Boolean);
  const types = useMemo(() => typeOptions(nodeTypes), [nodeTypes.join(',')]);
  // keep the chosen type valid; the default first
  useEffect(() => {
    if (!types.some((o) => o.value === v.Type)) setV((x) => ({ ...x, Type: types[0].value }));
  }, [types]);

  const set = (k) => (e) => {
    const el = e.currentTarget;
    const val = el.type === 'checkbox' ? el.checked : el.value;
    setV((x) => ({ ...x, [k]: val }));
    if (errors[k] || errors.form) setErrors((er) => { const n = { ...er }; delete n[k]; delete n.form; return n; });
  };
  const toggleLayer = (l) => (e) => {
    const on = e.currentTarget.checked;
    setV((x) => ({ ...x, ExtraLayers: on ? [...new Set([...x.ExtraLayers, l])] : x.ExtraLayers.filter((y) => y !== l) }));
  };

  const ADV = ['HeaderSize', 'SamplingRate', 'PollingInterval', 'Port', 'LayerKeyMode', 'ExtraTCPMetric', 'IPDefrag', 'ReassembleTCP', 'ExtraLayers', 'Target', 'TargetType'];
  const submit = async (e) => {
    e.preventDefault();
    const { body, headers, errors: local } = buildCaptureRequest(v);
    const errs = Object.fromEntries(Object.entries(local).map(([k, m]) => [k, { message: m }]));
    if (Object.keys(errs).length) {
      setErrors(errs);
      if (Object.keys(errs).some((k) => ADV.includes(k))) setAdvanced(true);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const created = await api.post('/api/capture', body, headers);
      setBusy(false);
      const ttl = ttlToMs(v.TTL);
      if (created && created.UUID && ttl) rememberExpiry(created.UUID, ttl);
      onDone && onDone(created);
    } catch (err) {
      setBusy(false);
      const info = captureErrorInfo(err);
      const msg = err.status && err.status !== 400 ? `${err.status}: ${info.message}` : info.message;
      setErrors({ [info.field || 'form']: { message: msg, position: info.position } });
      if (ADV.includes(info.field)) setAdvanced(true);
    }
  };

  const input = (k, props = {}) => (
    <input name={k} value={v[k]} onInput={set(k)} class={errors[k] ? 'bad' : ''} {...props} />
  );
  const row = (k, label, control, help) => (
    <label class={`form-row ${errors[k] ? 'has-error' : ''}`} key={k}>
      <span class="form-label">{label}</span>
      <span class="form-control">
        {control}
        {help && <span class="form-help">{help}</span>}
        <FieldError field={k} errors={errors} query={v.GremlinQuery} />
      </span>
    </label>
  );

  return (
    <form class="capture-form" data-testid="capture-form" onSubmit={submit} noValidate>
      <div class="form-title">New capture</div>
      {errors.form && <div class="field-error form-error" data-testid="field-error" data-field="form">{errors.form.message}</div>}
      {row('GremlinQuery', 'Gremlin query', (
        <textarea name="GremlinQuery" rows={2} ref={first} value={v.GremlinQuery} onInput={set('GremlinQuery')} spellcheck={false}
          class={`mono ${errors.GremlinQuery ? 'bad' : ''}`} placeholder="G.V().Has('Name', 'eth0')" />
      ), preview && !errors.GremlinQuery && (preview.error
        ? <span class="preview bad-text">query: {preview.error}</span>
        : <span class="preview" data-testid="capture-matches">{preview.notNodes ? 'the query must return nodes' : `matches ${preview.nodes.length} node${preview.nodes.length === 1 ? '' : 's'} now${preview.nodes.length ? `: ${[...new Set(preview.nodes.map((n) => n.Metadata.Type))].join(', ')}` : ' (future nodes will be captured)'}`}</span>))}
      {row('Name', 'Name', input('Name'))}
      {row('Description', 'Description', input('Description'))}
      {row('BPFFilter', 'BPF filter', input('BPFFilter', { class: `mono ${errors.BPFFilter ? 'bad' : ''}`, placeholder: 'icmp', spellcheck: false }), BASIC_HELP.BPFFilter)}
      {row('Type', 'Type', (
        <select name="Type" value={v.Type} onChange={set('Type')} class={errors.Type ? 'bad' : ''}>
          {types.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
        </select>
      ), (types.find((o) => o.value === v.Type) || {}).help || (v.Type === '' ? 'afpacket on interfaces, ovssflow on ovsbridge, ovsmirror on ovsport' : ''))}
      {row('RawPacketLimit', 'Raw packet limit', input('RawPacketLimit', { type: 'number', min: -1, placeholder: '0' }), BASIC_HELP.RawPacketLimit)}
      {row('TTL', 'TTL', input('TTL', { placeholder: 'e.g. 10m' }), BASIC_HELP.TTL)}
      <div class="adv-toggle" onClick={() => setAdvanced(!advanced)} data-testid="capture-advanced">
        <span class={`jt-caret ${advanced ? 'open' : ''}`}>▸</span> Advanced
      </div>
      <div class="advanced" style={{ display: advanced ? 'block' : 'none' }}>
        {row('HeaderSize', 'Header size', input('HeaderSize', { type: 'number', min: 0, placeholder: '0 (256 bytes)' }), 'bytes kept of each packet (14..65535)')}
        {row('SamplingRate', 'Sampling rate', input('SamplingRate', { type: 'number', min: 0, placeholder: '1' }), 'sFlow: 1 packet in N')}
        {row('PollingInterval', 'Polling interval', input('PollingInterval', { type: 'number', min: 0, placeholder: '10' }), 'sFlow counter polling, seconds')}
        {row('Port', 'Port', input('Port', { type: 'number', min: 0, placeholder: '0 (allocated)' }), 'sFlow listening port')}
        {row('LayerKeyMode', 'Layer key mode', (
          <select name="LayerKeyMode" value={v.LayerKeyMode} onChange={set('LayerKeyMode')}>
            <option value="">default (flow.default_layer_key_mode)</option>
            <option value="L2">L2: flows keyed from the Ethernet layer</option>
            <option value="L3">L3: flows keyed from the IP layer</option>
          </select>
        ))}
        {row('ExtraTCPMetric', 'Options', (
          <span class="checks">
            <label><input type="checkbox" name="ExtraTCPMetric" checked={v.ExtraTCPMetric} onChange={set('ExtraTCPMetric')} /> Extra TCP metric</label>
            <label><input type="checkbox" name="IPDefrag" checked={v.IPDefrag} onChange={set('IPDefrag')} /> IP defrag</label>
            <label><input type="checkbox" name="ReassembleTCP" checked={v.ReassembleTCP} onChange={set('ReassembleTCP')} /> Reassemble TCP</label>
          </span>
        ))}
        {(errors.IPDefrag || errors.ReassembleTCP) && <div class="form-row"><span class="form-label" /><span class="form-control"><FieldError field="IPDefrag" errors={errors} /><FieldError field="ReassembleTCP" errors={errors} /></span></div>}
        {row('ExtraLayers', 'Extra layers', (
          <span class="checks">
            {EXTRA_LAYERS.map((l) => (
              <label key={l}><input type="checkbox" name="ExtraLayers" value={l} checked={v.ExtraLayers.includes(l)} onChange={toggleLayer(l)} /> {l}</label>
            ))}
          </span>
        ))}
        {row('Target', 'Target', input('Target', { placeholder: 'HOST:PORT' }), 'sFlow/NetFlow/ERSPAN target (default: the agent)')}
        {row('TargetType', 'Target type', (
          <select name="TargetType" value={v.TargetType} onChange={set('TargetType')} class={errors.TargetType ? 'bad' : ''}>
            <option value="">default</option>
            <option value="netflowv5">netflowv5</option>
            <option value="erspanv1">erspanv1</option>
          </select>
        ))}
      </div>
      <div class="form-buttons">
        <button type="submit" class="primary" data-testid="capture-submit" disabled={busy}>{busy ? 'Creating…' : 'Create'}</button>
        {onCancel && <button type="button" onClick={onCancel} data-testid="capture-cancel">Cancel</button>}
      </div>
    </form>
  );
}
