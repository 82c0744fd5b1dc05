// main.jsx - wiring only: the app shell (top bar, tabs, topology canvas, side panel)
// and the shared objects (store, topology model, subscriber connection). Each part lives
// in its own module; see ui/README.md for who owns what.
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import * as store from './store.js';
import { useStore } from './lib/useStore.js';
import { TopologyModel } from './model/topology.js';
import { Subscriber } from './ws.js';
import { mountTopology } from './graph/view.js';
import { TopBar } from './panels/TopBar.jsx';
import { SidePanel } from './panels/SidePanel.jsx';
import { CapturesPage } from './panels/CapturesPage.jsx';
import { ConsolePage } from './panels/ConsolePage.jsx';
import { AlertsPage } from './panels/AlertsPage.jsx';
import { InjectPage } from './panels/InjectPage.jsx';
import { StatusPage } from './panels/StatusPage.jsx';
import { LoginPage } from './panels/Login.jsx';
import { loadSession } from './lib/sessionStore.js';
import './style.css';

const model = new TopologyModel();
const subscriber = new Subscriber(model);

// Test and debugging hooks: the browser tests read these (never the app's own code).
window.__skydive = { store, model, subscriber, view: null };

export { useStore };

function TopologyCanvas() {
  useEffect(() => {
    const el = document.getElementById('topology');
    const view = mountTopology(el, model);
    window.__skydive.view = view;
    return () => view.destroy();
  }, []);
  return <div id="topology" class="topology" data-testid="topology" />;
}

function App() {
  const s = useStore(['view', 'panel', 'authRequired', 'session']);
  if (s.authRequired) return <LoginPage />;
  return (
    <div class="app">
      <TopBar model={model} />
      <div class="main">
        <div class="page" style={{ display: s.view === 'topology' ? 'flex' : 'none' }}>
          <TopologyCanvas />
          {s.panel && <SidePanel model={model} />}
        </div>
        {s.view === 'captures' && <CapturesPage model={model} />}
        {s.view === 'alerts' && <AlertsPage />}
        {s.view === 'inject' && <InjectPage model={model} />}
        {s.view === 'console' && <ConsolePage model={model} />}
        {s.view === 'status' && <StatusPage model={model} />}
      </div>
    </div>
  );
}

// Authentication: a session kept by this tab, else ask the analyzer whether it needs
// one (GET /api answers 401 then). The subscription starts once signed in or when
// no authentication is configured, and stops while the login page is shown.
store.set({ session: loadSession() });
render(<App />, document.getElementById('app'));
let connected = false;
function connectWhenAllowed() {
  const s = store.get();
  if (!connected && !s.authRequired) {
    connected = true;
    subscriber.connect();
  } else if (connected && s.authRequired) {
    connected = false;
    subscriber.pause();
  }
}
store.subscribe((_, changed) => {
  if (changed.includes('authRequired') || changed.includes('session')) connectWhenAllowed();
});
fetch('/api', { headers: store.get().session && store.get().session.token ? { Authorization: `Bearer ${store.get().session.token}` } : {} })
  .then((res) => {
    if (res.status === 401) store.set({ session: null, authRequired: true });
    connectWhenAllowed();
  })
  .catch(() => connectWhenAllowed());
