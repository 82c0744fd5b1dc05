// alerts.js - the Alerts tab's logic: form values → the POST /api/alert body (Skydive's
// Alert: Name, Description, Expression, Trigger, Action; docs/API.md "Alerts"), which
// field an analyzer 400 reason concerns, the fired-alert messages of the WebSocket
// `Alert` namespace kept in a bounded list, and a one-line summary of what fired.
// Pure: no browser API.

export function emptyAlertForm() {
  return { Name: '', Description: '', Expression: '', TriggerKind: 'graph', Every: '10s', Action: '' };
}

// The analyzer's own rules, checked first so the user gets the hint before a round trip;
// the analyzer checks them again and its reason wins.
const GO_DURATION = /^(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$/;

export function buildAlertRequest(v) {
  const errors = {};
  const body = {};
  const str = (k) => String(v[k] == null ? '' : v[k]).trim();
  for (const k of ['Name', 'Description']) if (str(k)) body[k] = str(k);
  const expr = str('Expression');
  if (!expr) errors.Expression = 'a Gremlin query, e.g. G.V().Has(\'Name\', \'eth0\', \'State\', \'DOWN\')';
  else if (!expr.startsWith('G.')) errors.Expression = 'only Gremlin queries (starting with G.) are supported, not JavaScript';
  body.Expression = expr;
  if (v.TriggerKind === 'duration') {
    const every = str('Every');
    if (!GO_DURATION.test(every)) errors.Every = 'a duration such as 500ms, 10s or 1m';
    body.Trigger = `duration:${every}`;
  } else {
    body.Trigger = 'graph';
  }
  const action = str('Action');
  if (action) {
    if (!/^(https?:\/\/[^/\s]+|file:\/\/\/\S+)/i.test(action)) errors.Action = 'a webhook URL (http://host:port/path) or file:///path/to/command';
    body.Action = action;
  }
  return { body, errors };
}

// The field an analyzer 400 reason concerns ("Expression: ...", "Trigger: ..."), else null.
export function alertErrorField(message) {
  const m = String(message || '');
  if (/\bExpression\b|Gremlin/i.test(m)) return 'Expression';
  if (/\bTrigger\b|duration/i.test(m)) return 'Every';
  if (/\bAction\b|URL|file:\/\//i.test(m)) return 'Action';
  if (/\bName\b/.test(m)) return 'Name';
  return null;
}

// The alert's trigger as shown: "on topology change" or "every 10s".
export function triggerText(t) {
  if (!t || t === 'graph') return 'on topology change';
  const m = /^duration:(.+)$/.exec(t);
  return m ? `every ${m[1]}` : t;
}

// What fired, in one line: the nodes' names (ReasonData a graph result or a list of nodes
// or edges), a count, or the value itself.
export function reasonSummary(data) {
  const items = [];
  const walk = (x) => {
    if (Array.isArray(x)) { x.forEach(walk); return; }
    if (x && typeof x === 'object') {
      if (Array.isArray(x.Nodes) || Array.isArray(x.Edges)) { (x.Nodes || []).forEach(walk); (x.Edges || []).forEach(walk); return; }
      if (x.Metadata && typeof x.Metadata === 'object') {
        const md = x.Metadata;
        items.push('Parent' in x ? `edge ${md.RelationType || x.ID}` : String(md.Name || md.Type || x.ID));
        return;
      }
    }
    items.push(typeof x === 'string' ? x : JSON.stringify(x));
  };
  walk(data);
  if (!items.length) return 'empty result';
  const head = items.slice(0, 3).join(', ');
  return items.length > 3 ? `${head} and ${items.length - 3} more` : head;
}

export const MAX_EVENTS = 100;

// events: newest first, at most MAX_EVENTS; msg: a WebSocket message. Returns the new list
// (the same list when msg is not a fired alert).
export function pushAlertEvent(events, msg, now = Date.now()) {
  if (!msg || msg.Namespace !== 'Alert' || !msg.Obj || typeof msg.Obj !== 'object') return events;
  const o = msg.Obj;
  const t = Date.parse(o.Timestamp);
  const ev = { uuid: String(o.UUID || ''), time: Number.isFinite(t) ? t : now, reason: o.ReasonData };
  return [ev, ...(events || [])].slice(0, MAX_EVENTS);
}
