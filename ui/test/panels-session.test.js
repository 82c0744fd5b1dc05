import { test } from 'node:test';
import assert from 'node:assert/strict';
import { permissionMap, can, permissionsFromCookie, loginBody, sessionFromLogin } from '../src/lib/session.js';

// Shapes as Skydive's /login answers them (graffiti/http/auth.go, rbac.Permission).
const viewer = [
  { Object: 'topology', Action: 'read', Allowed: true },
  { Object: 'capture', Action: 'read', Allowed: true },
  { Object: 'capture', Action: 'write', Allowed: false },
  { Object: 'capture', Action: 'rawpackets', Allowed: false },
];

test('can: no session or unknown permissions shows everything', () => {
  assert.equal(can(null, 'capture', 'write'), true);
  assert.equal(can({ user: 'a', permissions: null }, 'capture', 'write'), true);
});

test('can: a viewer reads but may not write or get raw packets', () => {
  const s = sessionFromLogin('v', { Token: 't', Permissions: viewer });
  assert.equal(can(s, 'topology', 'read'), true);
  assert.equal(can(s, 'capture', 'write'), false);
  assert.equal(can(s, 'capture', 'rawpackets'), false);
  assert.equal(can(s, 'alert', 'write'), false, 'not listed = not allowed');
  assert.equal(s.token, 't');
});

test('permissionMap: a deny line wins over an allow line', () => {
  const m = permissionMap([{ Object: 'pcap', Action: 'write', Allowed: true }, { Object: 'pcap', Action: 'write', Allowed: false }]);
  assert.equal(m.get('pcap/write'), false);
});

test('permissionsFromCookie decodes the base64 JSON cookie', () => {
  const b64 = Buffer.from(JSON.stringify(viewer)).toString('base64');
  const got = permissionsFromCookie(`a=1; permissions=${encodeURIComponent(b64)}; b=2`, (s) => Buffer.from(s, 'base64').toString());
  assert.deepEqual(got, viewer);
  assert.equal(permissionsFromCookie('a=1'), null);
  assert.equal(permissionsFromCookie('permissions=%%%', (s) => s), null);
});

test('loginBody encodes the form fields', () => {
  assert.equal(loginBody('ad min', 'p&ss=1'), 'username=ad%20min&password=p%26ss%3D1');
});

test('sessionFromLogin: noauth answers an empty token', () => {
  const s = sessionFromLogin('x', { Token: '', Permissions: [] });
  assert.equal(s.token, null);
  assert.equal(can(s, 'topology', 'read'), false);
});
