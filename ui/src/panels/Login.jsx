// Login.jsx - the login page, shown when the analyzer answers 401 (authentication on):
// POST /login with the form fields Skydive's /login reads; the answer's token and
// permissions become the session (store.session), kept for this browser tab.
import { useState } from 'preact/hooks';
import * as store from '../store.js';
import { loginBody, sessionFromLogin } from '../lib/session.js';
import { saveSession } from '../lib/sessionStore.js';

export function LoginPage() {
  const [user, setUser] = useState('');
  const [pass, setPass] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: loginBody(user, pass),
      });
      const text = await res.text();
      let j = null;
      try { j = JSON.parse(text); } catch (_) { /* not JSON */ }
      if (!res.ok) {
        const retry = res.headers.get('Retry-After');
        setError(`${(j && j.Error) || text || res.statusText}${retry ? ` (try again in ${retry} s)` : ''}`);
        return;
      }
      const session = sessionFromLogin(user, j || {});
      saveSession(session, j && j.Permissions);
      store.set({ session, authRequired: false });
    } catch (err) {
      setError(`cannot reach the analyzer: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-page">
      <form class="login-form" data-testid="login-form" onSubmit={submit}>
        <h1>Skydive</h1>
        <p class="muted">This analyzer requires you to sign in.</p>
        <label>User name
          <input name="username" data-testid="login-username" autocomplete="username" value={user}
            onInput={(e) => setUser(e.currentTarget.value)} autofocus />
        </label>
        <label>Password
          <input name="password" type="password" data-testid="login-password" autocomplete="current-password" value={pass}
            onInput={(e) => setPass(e.currentTarget.value)} />
        </label>
        {error && <div class="inline-error" data-testid="login-error">{error}</div>}
        <button class="primary" type="submit" data-testid="login-submit" disabled={busy || !user}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  );
}

// The signed-in user and a sign-out button, for the top bar.
export function SessionBadge() {
  const s = store.get().session;
  if (!s || !s.user) return null;
  const out = async () => {
    try { await fetch('/logout', { method: 'POST', headers: s.token ? { Authorization: `Bearer ${s.token}` } : {} }); } catch (_) { /* gone anyway */ }
    saveSession(null);
    store.set({ session: null, authRequired: true });
  };
  return (
    <span class="session-badge" data-testid="session-user">
      {s.user}
      <button class="link-btn" data-testid="logout" onClick={out} title="sign out">sign out</button>
    </span>
  );
}
