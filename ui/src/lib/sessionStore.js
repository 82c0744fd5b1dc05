// sessionStore.js - keeps the session for this browser tab (sessionStorage), so a
// reload stays signed in until the token expires (the analyzer then answers 401).
import { permissionMap } from './session.js';

const KEY = 'skydive.session';

export function saveSession(session, permissionList) {
  try {
    if (!session) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify({ user: session.user, token: session.token, permissions: permissionList || null }));
  } catch (_) { /* storage disabled: the session lasts until reload */ }
}

export function loadSession() {
  try {
    const j = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (!j || !j.user) return null;
    return { user: j.user, token: j.token || null, permissions: j.permissions ? permissionMap(j.permissions) : null };
  } catch (_) {
    return null;
  }
}
