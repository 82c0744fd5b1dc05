// session.js - the login session and what it may do, as Skydive's /login gives it:
// {Token, Permissions: [{Object, Action, Allowed}]}, also kept by the analyzer in the
// `permissions` cookie (base64 of that JSON) so a reload knows them. Pure logic: no DOM.
// Hiding is a convenience: the analyzer enforces every permission itself (401/403).

// Permissions list -> Map "object/action" -> allowed (a deny line wins).
export function permissionMap(list) {
  const m = new Map();
  for (const p of Array.isArray(list) ? list : []) {
    if (!p || typeof p.Object !== 'string' || typeof p.Action !== 'string') continue;
    const k = `${p.Object}/${p.Action}`;
    m.set(k, m.has(k) ? m.get(k) && !!p.Allowed : !!p.Allowed);
  }
  return m;
}

// Whether the session may do action on object. Without a session or without a
// permission list (noauth, or permissions unknown) everything is shown and the
// analyzer's answer decides.
export function can(session, object, action) {
  if (!session || !session.permissions) return true;
  const m = session.permissions instanceof Map ? session.permissions : permissionMap(session.permissions);
  return m.get(`${object}/${action}`) === true;
}

// The permissions from a document.cookie string, or null.
export function permissionsFromCookie(cookie, decode = (s) => atob(s)) {
  const m = /(?:^|;\s*)permissions=([^;]*)/.exec(cookie || '');
  if (!m) return null;
  try {
    const list = JSON.parse(decode(decodeURIComponent(m[1])));
    return Array.isArray(list) ? list : null;
  } catch (_) {
    return null;
  }
}

// The application/x-www-form-urlencoded body of POST /login.
export function loginBody(username, password) {
  return `username=${encodeURIComponent(username)}&password=${encodeURIComponent(password)}`;
}

// The session kept after POST /login answered reply for user.
export function sessionFromLogin(user, reply) {
  return {
    user,
    token: reply && typeof reply.Token === 'string' && reply.Token ? reply.Token : null,
    permissions: reply && Array.isArray(reply.Permissions) ? permissionMap(reply.Permissions) : null,
  };
}
