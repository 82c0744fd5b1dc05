// AlertsPage.jsx - the Alerts tab: the alerts the analyzer holds (GET /api/alert, every
// 2 s) with their counters (/api/status "Alerts"), the form of `skydive client alert
// create` (POST /api/alert, the analyzer's 400 reason at its field), delete, and the alert
// messages fired since the page was opened (WebSocket namespace `Alert`, kept by ws.js).
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { useStore } from '../lib/useStore.js';
import { usePolling } from './FlowTable.jsx';
import { can } from '../lib/session.js';
import { useForm } from '../lib/useForm.js';
import { agoText } from '../lib/timeTravel.js';
import { emptyAlertForm, buildAlertRequest, alertErrorField, triggerText, reasonSummary } from '../lib/alerts.js';
import { Caret } from './CaptureForm.jsx';

function AlertForm({ onDone, onCancel }) {
  const { v, errors, setErrors, busy, setBusy, set } = useForm(emptyAlertForm);
  const submit = async (e) => {
    e.preventDefault();
    const { body, errors: local } = buildAlertRequest(v);
    if (Object.keys(local).length) {
      setErrors(Object.fromEntries(Object.entries(local).map(([k, m]) => [k, { message: m }])));
      return;
    }
    setBusy(true);
    try {
      const created = await api.post('/api/alert', body);
      onDone(created);
    } catch (err) {
      const field = alertErrorField(err.message) || 'form';
      setErrors({ [field]: { message: err.message, position: err.position } });
    } finally {
      setBusy(false);
    }
  };
  const fe = (k) => errors[k] && (
    <div class="field-error" data-testid="field-error" data-field={k}>
      {errors[k].message}
      {k === 'Expression' && errors[k].position != null && <Caret query={v.Expression} position={errors[k].position} />}
    </div>
  );
  return (
    <form class="capture-form alert-form" data-testid="alert-form" onSubmit={submit}>
      {errors.form && <div class="inline-error" data-testid="form-error">{errors.form.message}</div>}
      <label>Name<input data-testid="alert-name" value={v.Name} onInput={set('Name')} /></label>
      {fe('Name')}
      <label>Description<input data-testid="alert-description" value={v.Description} onInput={set('Description')} /></label>
      <label>Expression (Gremlin: a non-empty result fires the alert)
        <textarea class="mono" rows={2} data-testid="alert-expression" value={v.Expression} onInput={set('Expression')}
          placeholder="G.V().Has('Name', 'eth0', 'State', 'DOWN')" />
      </label>
      {fe('Expression')}
      <label>Trigger
        <select data-testid="alert-trigger" value={v.TriggerKind} onChange={set('TriggerKind')}>
          <option value="graph">on topology change</option>
          <option value="duration">periodically</option>
        </select>
      </label>
      {v.TriggerKind === 'duration' && <label>Every<input data-testid="alert-every" value={v.Every} onInput={set('Every')} /></label>}
      {fe('Every')}
      <label>Action (optional: webhook URL, or file:///command when the analyzer allows commands)
        <input data-testid="alert-action" value={v.Action} onInput={set('Action')} placeholder="http://127.0.0.1:9000/hook" />
      </label>
      {fe('Action')}
      <div class="form-buttons">
        <button class="primary" type="submit" data-testid="alert-submit" disabled={busy}>{busy ? 'Creating…' : 'Create'}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function AlertList({ highlight, onNames }) {
  const mayWrite = can(store.get().session, 'alert', 'write');
  const [alerts, setAlerts] = useState(null);
  const [counters, setCounters] = useState({});
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const load = async () => {
    try {
      const [a, s] = await Promise.all([api.get('/api/alert'), api.get('/api/status').catch(() => null)]);
      const list = Object.values(a || {}).sort((x, y) => String(x.CreateTime).localeCompare(String(y.CreateTime)));
      setAlerts(list);
      onNames(Object.fromEntries(list.map((x) => [x.UUID, x.Name || ''])));
      setCounters((s && s.Alerts && s.Alerts.Alerts) || {});
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  };
  usePolling(load, [tick]);
  const remove = async (uuid) => {
    try {
      await api.del(`/api/alert/${encodeURIComponent(uuid)}`);
      setAlerts((l) => (l || []).filter((x) => x.UUID !== uuid));
      setTick((t) => t + 1);
    } catch (e) {
      setError(`delete ${uuid}: ${e.message}`);
    }
  };
  return (
    <div>
      {error && <div class="inline-error">{error}</div>}
      <table class="capture-list" data-testid="alert-list" data-count={alerts ? alerts.length : 0}>
        <thead><tr><th>Name</th><th>Expression</th><th>Trigger</th><th>Action</th><th class="num">Fired</th><th>Last fired</th><th>Last error</th><th /></tr></thead>
        <tbody>
          {alerts && alerts.map((a) => {
            const c = counters[a.UUID] || {};
            return (
              <tr key={a.UUID} data-testid="alert-row" data-uuid={a.UUID} data-fired={c.Fired || 0} class={a.UUID === highlight ? 'highlight' : ''}>
                <td title={a.Description || ''}>{a.Name || <span class="muted">{a.UUID.slice(0, 8)}</span>}</td>
                <td class="mono wrap">{a.Expression}</td>
                <td>{triggerText(a.Trigger)}</td>
                <td class="mono">{a.Action || <span class="muted">WebSocket only</span>}</td>
                <td class="num"><span class={`badge ${c.Fired ? 'warn' : ''}`}>{c.Fired || 0}</span></td>
                <td>{c.LastFired ? agoText(Date.parse(c.LastFired), Date.now()) : <span class="muted">never</span>}</td>
                <td class={c.LastError ? 'bad-text' : ''}>{c.LastError || ''}</td>
                <td>{mayWrite && <button class="icon-btn danger" title="delete this alert" data-testid="alert-delete" onClick={() => remove(a.UUID)}>✕</button>}</td>
              </tr>
            );
          })}
          {alerts && !alerts.length && <tr class="empty-row"><td colSpan={8}>no alert: press New alert</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

function AlertEvents({ names }) {
  const s = useStore(['alertEvents']);
  const ev = s.alertEvents || [];
  return (
    <div>
      <h3>Fired since this page was opened</h3>
      <ul class="alert-events" data-testid="alert-events" data-count={ev.length}>
        {ev.map((e, i) => (
          <li key={`${e.uuid}-${e.time}-${i}`} data-testid="alert-event" data-uuid={e.uuid}>
            <span class="mono">{new Date(e.time).toLocaleTimeString()}</span>{' '}
            <b>{names[e.uuid] || e.uuid.slice(0, 8)}</b>: {reasonSummary(e.reason)}
          </li>
        ))}
        {!ev.length && <li class="muted">none yet</li>}
      </ul>
    </div>
  );
}

export function AlertsPage() {
  const [form, setForm] = useState(false);
  const [created, setCreated] = useState(null);
  const [names, setNames] = useState({});
  return (
    <div class="tab-page alerts-page" data-testid="alerts-page">
      <div class="page-head">
        <h2>Alerts</h2>
        {can(store.get().session, 'alert', 'write') && <button class="primary" data-testid="alert-new" onClick={() => { setForm(!form); setCreated(null); }}>{form ? 'Close the form' : '+ New alert'}</button>}
        {created && <span class="inline-info" data-testid="alert-created">Alert <b>{created.Name || created.UUID}</b> created</span>}
      </div>
      {form && <div class="card form-card"><AlertForm onDone={(a) => { setCreated(a); setForm(false); }} onCancel={() => setForm(false)} /></div>}
      <div class="card"><AlertList highlight={created && created.UUID} onNames={setNames} /></div>
      <div class="card"><AlertEvents names={names} /></div>
    </div>
  );
}
