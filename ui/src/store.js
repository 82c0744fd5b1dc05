// store.js - the UI's shared state: a plain object, replaced field by field with set(),
// and a list of listeners told which keys changed. No framework state: the topology
// view (not Preact) and the panels (Preact) both read it.
//
// Keys:
//   view       'topology' | 'captures' | 'alerts' | 'inject' | 'console' | 'status'   (main tab)
//   selection  array of node IDs selected in the graph (search, click, capture prefill)
//   time       null = live; else ms since epoch of the topology shown (time travel)
//   window     flow window for time travel, seconds (used with time)
//   filter     Gremlin filter applied by the server to the subscription ('' = none)
//   panel      'node' | 'capture-form' | null   (right side panel)
//   session    { user, token, permissions: Map } after /login, or null (noauth)
//   authRequired true when the analyzer answered 401: the login page is shown
//   connected  WebSocket state: 'connecting' | 'open' | 'closed'
//   filterError the analyzer's reason when it refused the filter (null when none)
//   filterErrorPosition  0-based position of that error in the filter (null when unknown)
//   alertEvents fired alerts received on the WebSocket (namespace Alert), newest first, bounded
//   alertsUnseen how many of them arrived while the Alerts tab was not shown
const state = {
  view: 'topology',
  selection: [],
  time: null,
  window: 60,
  filter: '',
  panel: null,
  session: null,
  authRequired: false,
  connected: 'connecting',
  filterError: null,
  filterErrorPosition: null,
  alertEvents: [],
  alertsUnseen: 0,
};
const listeners = new Set();
let changes = 0; // how many set() calls changed something: lets a late subscriber catch up

export function get() {
  return state;
}

// Merges patch into the state and calls every listener with the keys that changed.
export function set(patch) {
  const changed = [];
  for (const [k, v] of Object.entries(patch)) {
    if (state[k] !== v) {
      state[k] = v;
      changed.push(k);
    }
  }
  if (changed.length) {
    changes++;
    for (const fn of [...listeners]) fn(state, changed);
  }
}

// A number that grows with every change (compare two readings to see if anything changed).
export function version() {
  return changes;
}

// fn(state, changedKeys); returns the function that unsubscribes.
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
