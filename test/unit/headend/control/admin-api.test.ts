import t from 'tap';
import { request } from 'node:http';
import { join } from 'node:path';
import { FIXTURES } from '../../../helpers/headend.js';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { SECRET_PLACEHOLDER } from '../../../../core/lineup/document.js';
import { sessionCookieName } from '../../../../headend/control/auth.js';
import type { AdminApiOptions } from '../../../../headend/control/admin-api.js';
import type { StoreOptions } from '../../../../headend/store/db.js';
import { CHANNEL_CASES, baseChannel, caseDocument } from './channel-cases.js';
import { PASSPHRASE, PASSWORDS, adminFixture, snapshot, type AdminFixture } from './fixtures.js';

/** Every response body of every test in this file: the passphrase and hashes must be in none. */
const allBodies: string[] = [];
const allLogs: string[] = [];
const allAudit: string[] = [];

async function fixture(tt: { teardown(fn: () => void | Promise<void>): void }, o?: Partial<AdminApiOptions>, storeOpts?: StoreOptions): Promise<AdminFixture> {
  const f = await adminFixture(tt, o, storeOpts);
  tt.teardown(() => {
    allBodies.push(...f.bodies);
    allLogs.push(...f.logs);
    if (f.store.db.open) allAudit.push(JSON.stringify(f.store.audit.list({ limit: 500 })));
  });
  return f;
}

function json(res: { body: string }): any {
  return JSON.parse(res.body);
}

t.test('login sets an HttpOnly SameSite=Strict session cookie and returns the user without a hash', async (t) => {
  const f = await fixture(t);
  const res = await f.call('POST', '/api/login', { body: { username: 'operator', password: PASSWORDS.operator } });
  t.equal(res.statusCode, 200);
  const cookie = String(res.headers['set-cookie']);
  t.match(cookie, /^roomcast_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
  t.notMatch(cookie, /Secure/, 'no Secure flag over plain HTTP');
  const body = json(res);
  t.match(body, { user: { username: 'operator', role: 'operator', mustChangePassword: false, lockedUntil: null }, mustChangePassword: false });
  t.notOk('passwordHash' in body.user || 'password_hash' in body.user || 'id' in body.user);
  t.notMatch(res.body, /scrypt\$/);

  const me = await f.call('GET', '/api/me', { cookie: cookie.split(';')[0] });
  t.equal(me.statusCode, 200);
  t.equal(json(me).user.username, 'operator');
});

t.test('over HTTPS the cookie is Secure and __Host- prefixed, and only that name is accepted', async (t) => {
  const f = await fixture(t, { secureCookies: true });
  // The fixture's own logins used the secure cookie too.
  t.match(f.cookies.viewer, /^__Host-roomcast_session=/);
  const res = await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer } });
  t.match(String(res.headers['set-cookie']), /^__Host-roomcast_session=.*; HttpOnly; SameSite=Strict; Secure$/);
  const token = f.cookies.viewer.split('=')[1];
  t.equal((await f.call('GET', '/api/me', { cookie: `${sessionCookieName(false)}=${token}` })).statusCode, 401);
  t.equal((await f.call('GET', '/api/me', { cookie: f.cookies.viewer })).statusCode, 200);
});

t.test('a wrong password and an unknown user get the same answer', async (t) => {
  const f = await fixture(t);
  const wrong = await f.call('POST', '/api/login', { body: { username: 'admin', password: 'not-the-password' } });
  const unknown = await f.call('POST', '/api/login', { body: { username: 'nobody', password: 'not-the-password' } });
  t.equal(wrong.statusCode, 401);
  t.strictSame(json(wrong), json(unknown));
  t.strictSame(json(wrong), { statusCode: 401, code: 'ROOMCAST_ERR_LOGIN_FAILED', error: 'Unauthorized', message: 'wrong username or password' });
  t.notOk(wrong.headers['set-cookie']);
});

t.test('lockout: the 5th wrong password locks the account (423 with its end), for unknown usernames alike', async (t) => {
  const f = await fixture(t, {}, { loginPolicy: { maxFailedLogins: 5, lockoutMs: 15 * 60_000 } });
  const answers: number[] = [];
  const ghost: number[] = [];
  for (let i = 0; i < 5; i++) {
    answers.push((await f.call('POST', '/api/login', { body: { username: 'viewer', password: `wrong-${i}` } })).statusCode);
    ghost.push((await f.call('POST', '/api/login', { body: { username: 'ghost', password: `wrong-${i}` } })).statusCode);
  }
  t.strictSame(answers, [401, 401, 401, 401, 423]);
  t.strictSame(ghost, answers, 'an unknown username locks the same way: the lockout does not reveal which accounts exist');
  const locked = await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer } });
  t.equal(locked.statusCode, 423, 'the right password is refused while locked');
  const body = json(locked);
  t.equal(body.code, 'ROOMCAST_ERR_ACCOUNT_LOCKED');
  const until = Date.parse(body.lockedUntil);
  t.ok(until > Date.now() + 14 * 60_000 && until <= Date.now() + 15 * 60_000, 'locked for the policy period');
  t.ok(Number(locked.headers['retry-after']) > 800);
  const ghostLocked = json(await f.call('POST', '/api/login', { body: { username: 'ghost', password: 'whatever-1' } }));
  t.equal(ghostLocked.code, 'ROOMCAST_ERR_ACCOUNT_LOCKED');
  t.match(f.logs.join('\n'), /account "viewer" is locked until/);

  // An admin unlocks it.
  const unlock = await f.call('PUT', '/api/users/viewer', { cookie: f.cookies.admin, body: { unlock: true } });
  t.equal(unlock.statusCode, 200);
  t.equal(json(unlock).lockedUntil, null);
  t.equal((await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer } })).statusCode, 200);
});

t.test('logins are rate limited per client address', async (t) => {
  const f = await fixture(t, { loginRateLimit: { max: 3, timeWindowMs: 60_000 } });
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) codes.push((await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer }, remoteAddress: '10.1.1.1' })).statusCode);
  t.strictSame(codes, [200, 200, 200, 429]);
  const limited = await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer }, remoteAddress: '10.1.1.1' });
  t.match(json(limited), { statusCode: 429, code: 'ROOMCAST_ERR_RATE_LIMITED', error: 'Too Many Requests' });
  t.ok(Number(limited.headers['retry-after']) > 0);
  t.equal((await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer }, remoteAddress: '10.1.1.2' })).statusCode, 200, 'another address is not affected');
});

t.test('logout ends the session', async (t) => {
  const f = await fixture(t);
  const out = await f.call('POST', '/api/logout', { cookie: f.cookies.viewer });
  t.equal(out.statusCode, 204);
  t.match(String(out.headers['set-cookie']), /^roomcast_session=; Path=\/; Max-Age=0/);
  t.equal((await f.call('GET', '/api/me', { cookie: f.cookies.viewer })).statusCode, 401);
  t.equal((await f.call('POST', '/api/logout', { cookie: f.cookies.viewer })).statusCode, 401);
});

t.test('mustChangePassword: every other route answers 403 until the password is changed; the change ends the other sessions', async (t) => {
  const f = await fixture(t);
  await f.call('POST', '/api/users', { cookie: f.cookies.admin, body: { username: 'night', role: 'operator', password: 'temporary-1' } });
  const first = await f.call('POST', '/api/login', { body: { username: 'night', password: 'temporary-1' } });
  t.equal(json(first).mustChangePassword, true);
  const a = String(first.headers['set-cookie']).split(';')[0];
  const b = await f.login('night', 'temporary-1');

  for (const [method, url] of [['GET', '/api/channels'], ['GET', '/api/status'], ['GET', '/api/audit'], ['POST', '/api/channels']] as const) {
    const res = await f.call(method, url, { cookie: a, body: method === 'POST' ? baseChannel() : undefined });
    t.equal(res.statusCode, 403, `${method} ${url}`);
    t.equal(json(res).code, 'ROOMCAST_ERR_PASSWORD_CHANGE_REQUIRED');
  }
  t.equal((await f.call('GET', '/api/me', { cookie: a })).statusCode, 200, '/api/me still answers');

  const wrong = await f.call('POST', '/api/me/password', { cookie: a, body: { current: 'not-it-at-all', new: 'brand-new-password' } });
  t.equal(wrong.statusCode, 403);
  t.equal(json(wrong).code, 'ROOMCAST_ERR_WRONG_PASSWORD');
  const same = await f.call('POST', '/api/me/password', { cookie: a, body: { current: 'temporary-1', new: 'temporary-1' } });
  t.equal(same.statusCode, 400);
  t.match(json(same).problems, [{ path: 'new', message: /differ/ }]);
  const short = await f.call('POST', '/api/me/password', { cookie: a, body: { current: 'temporary-1', new: 'short' } });
  t.equal(short.statusCode, 400);
  t.match(json(short), { code: 'ROOMCAST_ERR_BAD_REQUEST', problems: [{ path: 'body.new' }] });

  const ok = await f.call('POST', '/api/me/password', { cookie: a, body: { current: 'temporary-1', new: 'brand-new-password' } });
  t.equal(ok.statusCode, 200);
  t.equal(json(ok).mustChangePassword, false);
  const fresh = String(ok.headers['set-cookie']).split(';')[0];
  t.not(fresh, a, 'a fresh session for this client');
  t.equal((await f.call('GET', '/api/me', { cookie: a })).statusCode, 401, 'the old session of this client ended');
  t.equal((await f.call('GET', '/api/me', { cookie: b })).statusCode, 401, 'the other session ended');
  t.equal((await f.call('GET', '/api/channels', { cookie: fresh })).statusCode, 200);
  t.equal((await f.call('POST', '/api/login', { body: { username: 'night', password: 'brand-new-password' } })).statusCode, 200);
  t.strictSame(f.store.audit.list().slice(0, 2).map((e) => e.action), ['user.login', 'user.password']);
});

t.test('CSRF: a state-changing request needs an Origin (or Referer) of this server', async (t) => {
  const f = await fixture(t);
  const cases: [string, Record<string, string> | null, number][] = [
    ['no Origin, no Referer', null, 403],
    ['another site', { origin: 'http://evil.example' }, 403],
    ['same host, another port', { origin: 'http://localhost:8081' }, 403],
    ['same host, https scheme (port 443)', { origin: 'https://localhost' }, 403],
    ['the literal null origin', { origin: 'null' }, 403],
    ['Referer of this server', { referer: 'http://localhost/lineup' }, 201],
    ['Origin with the explicit default port', { origin: 'http://localhost:80' }, 201],
  ];
  let n = 60;
  for (const [what, headers, status] of cases) {
    const doc = { ...baseChannel(), number: n, multicast: { group: `239.255.60.${n}`, port: 5100 } };
    n++;
    const res = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: doc, origin: null, headers: headers ?? {} });
    t.equal(res.statusCode, status, what);
    if (status === 403) t.equal(json(res).code, 'ROOMCAST_ERR_CSRF', what);
  }
  // Logins too (login CSRF), and logout.
  t.equal((await f.call('POST', '/api/login', { body: { username: 'viewer', password: PASSWORDS.viewer }, origin: 'http://evil.example' })).statusCode, 403);
  t.equal((await f.call('POST', '/api/logout', { cookie: f.cookies.viewer, origin: null })).statusCode, 403);
  // Reads need no Origin.
  t.equal((await f.call('GET', '/api/channels', { cookie: f.cookies.viewer, origin: null })).statusCode, 200);
  t.equal(f.store.channels.count(), 5, 'only the two same-origin creates happened');
});

t.test('roles: 401 without a session, 403 for a role that may not, allowed otherwise', async (t) => {
  const f = await fixture(t);
  type Row = [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, least: 'viewer' | 'operator' | 'admin', body?: () => unknown];
  let k = 70;
  const rows: Row[] = [
    ['GET', '/api/channels', 'viewer'],
    ['GET', '/api/channels/1', 'viewer'],
    ['GET', '/api/schema/channel', 'viewer'],
    ['GET', '/api/status', 'viewer'],
    ['GET', '/api/audit', 'viewer'],
    ['GET', '/api/export', 'viewer'],
    ['GET', '/metrics', 'viewer'],
    ['POST', '/api/channels', 'operator', () => ({ ...baseChannel(), number: k, multicast: { group: `239.255.70.${k++}`, port: 5100 } })],
    ['POST', '/api/channels/reorder', 'operator', () => ({ moves: [[1, 1]] })],
    ['GET', '/api/export?secrets=1', 'admin'],
    ['GET', '/api/users', 'admin'],
    ['POST', '/api/users', 'admin', () => ({ username: `u${k++}`, role: 'viewer', password: 'password-123' })],
    ['PUT', '/api/users/viewer', 'admin', () => ({ role: 'viewer' })],
    ['POST', '/api/import', 'admin'],
  ];
  const rank = { viewer: 1, operator: 2, admin: 3 };
  // Importing the lineup's own export changes nothing, so the rows after it still find channel 2.
  const exportText = (await f.call('GET', '/api/export', { cookie: f.cookies.viewer })).body;
  for (const [method, url, least, body] of rows) {
    const none = await f.call(method, url, { body: body?.() });
    t.equal(none.statusCode, 401, `${method} ${url} without a session`);
    t.equal(json(none).code, 'ROOMCAST_ERR_UNAUTHENTICATED');
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const isImport = url === '/api/import';
      const res = await f.call(method, url, {
        cookie: f.cookies[role],
        ...(isImport ? { payload: exportText, headers: { 'content-type': 'text/yaml' } } : { body: body?.() }),
        record: !url.includes('secrets=1'),
      });
      if (rank[role] < rank[least]) {
        t.equal(res.statusCode, 403, `${method} ${url} as ${role}`);
        t.equal(json(res).code, 'ROOMCAST_ERR_FORBIDDEN');
      } else {
        t.ok(res.statusCode < 300, `${method} ${url} as ${role}: ${res.statusCode} ${res.statusCode >= 300 ? res.body : ''}`);
      }
    }
  }
  // Channel edits and deletes: operator yes, viewer no.
  const ch = json(await f.call('GET', '/api/channels/2', { cookie: f.cookies.viewer }));
  const put = await f.call('PUT', '/api/channels/2', { cookie: f.cookies.viewer, body: { ...ch, name: 'x' } });
  t.equal(put.statusCode, 403);
  const del = await f.call('DELETE', `/api/channels/2?version=${ch.version}`, { cookie: f.cookies.viewer });
  t.equal(del.statusCode, 403);
  t.equal((await f.call('DELETE', `/api/channels/2?version=${ch.version}`, { cookie: f.cookies.operator })).statusCode, 204);
  t.equal((await f.call('DELETE', '/api/users/viewer', { cookie: f.cookies.operator })).statusCode, 403);
});

t.test('channels: list and get show channels.yaml keys, a version, and "***" for a passphrase', async (t) => {
  const f = await fixture(t);
  const list = json(await f.call('GET', '/api/channels', { cookie: f.cookies.viewer }));
  t.strictSame(list.channels.map((c: { number: number }) => c.number), [1, 2, 3]);
  const three = list.channels[2];
  t.match(three, {
    number: 3,
    name: 'Contribution',
    multicast: { group: '239.255.1.3', port: 5000, source: null },
    inputs: [
      { type: 'srt', mode: 'listener', port: 9000, streamId: 'ch3', passphrase: SECRET_PLACEHOLDER, pbkeylen: 16 },
      { type: 'rtp', address: '239.1.1.3', port: 6002, source: null, reorderWindow: 32 },
    ],
    failover: { switchAfterMs: 300, backups: 'hot' },
    slate: true,
  });
  t.type(three.version, 'number');
  t.type(three.updatedAt, 'string');
  t.notOk('sourceAddress' in three.inputs[1] || 'keyLength' in three.inputs[0] || 'localAddress' in three.inputs[0], 'YAML keys, not the internal ones');
  const one = await f.call('GET', '/api/channels/3', { cookie: f.cookies.viewer });
  t.strictSame(json(one), three);
  const missing = await f.call('GET', '/api/channels/99', { cookie: f.cookies.viewer });
  t.equal(missing.statusCode, 404);
  t.equal(json(missing).code, 'ROOMCAST_ERR_CHANNEL_NOT_FOUND');
  t.equal((await f.call('GET', '/api/channels/abc', { cookie: f.cookies.viewer })).statusCode, 400);
});

t.test('POST /api/channels creates a channel, audits it and restarts only it', async (t) => {
  const f = await fixture(t);
  const doc = { ...baseChannel('srt'), name: 'New SRT', source: { type: 'srt', mode: 'listener', port: 9050, passphrase: 'another-secret-1' } };
  const res = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: doc });
  t.equal(res.statusCode, 201, res.body);
  const body = json(res);
  t.match(body, { number: 50, name: 'New SRT', source: { type: 'srt', passphrase: SECRET_PLACEHOLDER } });
  t.equal(f.store.channels.get(50)!.config.source.type === 'srt' && (f.store.channels.get(50)!.config.source as { passphrase: string }).passphrase, 'another-secret-1');
  t.equal(f.changes.length, 1);
  t.strictSame(f.changes[0].changed, [50]);
  t.equal(f.changes[0].channels.length, 4);
  t.match(f.store.audit.list()[0], { username: 'operator', action: 'channel.create', target: 'channel 50', detail: { name: 'New SRT' } });
  t.notMatch(JSON.stringify(f.store.audit.list()), /another-secret-1/);
  t.notMatch(res.body, /another-secret-1/);
});

t.test('POST /api/channels refuses every invalid field with the validator\'s {path, message}, and changes nothing', async (t) => {
  const f = await fixture(t);
  for (const c of CHANNEL_CASES) {
    const res = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: caseDocument(c) });
    const what = `${c.field} = ${JSON.stringify(c.value)?.slice(0, 30)}${c.source ? ` (${c.source})` : ''}`;
    t.equal(res.statusCode, 400, what);
    const body = json(res);
    t.equal(body.code, 'ROOMCAST_ERR_VALIDATION', what);
    t.ok(
      body.problems.some((p: { path: string }) => p.path === c.path),
      `${what}: a problem at ${c.path} (got ${body.problems.map((p: { path: string; message: string }) => `${p.path}: ${p.message}`).join(' | ')})`,
    );
  }
  // The message is the YAML loader's sentence.
  const bad = json(await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: { ...baseChannel(), multicast: { group: '239.1.1.300', port: 5100 } } }));
  t.strictSame(bad.problems, [{ path: 'channel.multicast.group', message: '239.1.1.300 is not an IPv4 multicast address' }]);
  // Not an object at all.
  const arr = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: [1, 2] });
  t.equal(arr.statusCode, 400);
  t.equal(f.store.channels.count(), 3);
  t.equal(f.changes.length, 0);
});

t.test('collisions with other channels are refused: number and multicast group:port', async (t) => {
  const f = await fixture(t);
  const taken = json(await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: { ...baseChannel(), number: 2 } }));
  t.match(taken.problems, [{ path: 'channel.number', message: '2 is already used by channel 2 "Sports"' }]);
  const dest = json(await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: { ...baseChannel(), multicast: { group: '239.255.1.1', port: 5000 } } }));
  t.match(dest.problems, [{ path: 'channel.multicast', message: '239.255.1.1:5000 is already used by channel 1 "News"' }]);
  // Editing a channel does not collide with itself.
  const one = json(await f.call('GET', '/api/channels/1', { cookie: f.cookies.operator }));
  const res = await f.call('PUT', '/api/channels/1', { cookie: f.cookies.operator, body: { ...one, name: 'News HD' } });
  t.equal(res.statusCode, 200, res.body);
});

t.test('PUT: a channel read, edited and saved keeps its passphrase ("***" sent back); a stale version is 409', async (t) => {
  const f = await fixture(t);
  const three = json(await f.call('GET', '/api/channels/3', { cookie: f.cookies.operator }));
  const edited = { ...three, name: 'Contribution HD', failover: { ...three.failover, switchAfterMs: 500 } };
  const res = await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: edited });
  t.equal(res.statusCode, 200, res.body);
  const saved = json(res);
  t.equal(saved.name, 'Contribution HD');
  t.ok(saved.version > three.version);
  const stored = f.store.channels.get(3)!.config;
  t.equal(stored.inputs[0].type === 'srt' && stored.inputs[0].passphrase, PASSPHRASE, 'the stored passphrase is kept');
  t.strictSame(f.changes.at(-1)!.changed, [3], 'only channel 3 restarts');
  t.match(f.store.audit.list()[0], { action: 'channel.update', target: 'channel 3', detail: { fields: ['name', 'failover.switchAfterMs'] } });

  // The backup listed first: "***" follows its own input (same mode, port and stream id).
  const swapped = { ...saved, inputs: [saved.inputs[1], saved.inputs[0]] };
  t.equal((await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: swapped })).statusCode, 200);
  const s2 = f.store.channels.get(3)!.config;
  t.equal(s2.inputs[1].type === 'srt' && s2.inputs[1].passphrase, PASSPHRASE);

  // A new passphrase replaces it; the audit names the field, never the value.
  const cur = json(await f.call('GET', '/api/channels/3', { cookie: f.cookies.operator }));
  cur.inputs[1].passphrase = 'a-new-passphrase-2';
  t.equal((await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: cur })).statusCode, 200);
  t.match(f.store.audit.list()[0].detail, { fields: ['inputs[1].passphrase'] });
  t.notMatch(JSON.stringify(f.store.audit.list()), /a-new-passphrase-2/);

  // "***" where nothing is stored is a problem, not a silent loss.
  const cur2 = json(await f.call('GET', '/api/channels/3', { cookie: f.cookies.operator }));
  const bogus = { ...cur2, inputs: [...cur2.inputs, { type: 'srt', mode: 'listener', port: 9100, passphrase: SECRET_PLACEHOLDER }] };
  const r = json(await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: bogus }));
  t.match(r.problems, [{ path: 'channel.inputs[2].passphrase', message: /stands for the stored passphrase/ }]);

  // Stale version.
  const stale = await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: { ...three, name: 'late' } });
  t.equal(stale.statusCode, 409);
  t.match(json(stale), { code: 'ROOMCAST_ERR_CONFLICT', currentVersion: cur2.version });
  // Missing version.
  const { version: _v, ...noVersion } = cur2;
  const nv = await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: noVersion });
  t.equal(nv.statusCode, 400);
  t.match(json(nv), { code: 'ROOMCAST_ERR_BAD_REQUEST', problems: [{ path: 'body.version' }] });
  t.equal((await f.call('PUT', '/api/channels/98', { cookie: f.cookies.operator, body: cur2 })).statusCode, 404);
});

t.test('concurrent edits of one channel: one wins, the other gets 409 with the current version', async (t) => {
  const f = await fixture(t);
  const one = json(await f.call('GET', '/api/channels/1', { cookie: f.cookies.operator }));
  const [a, b] = await Promise.all([
    f.call('PUT', '/api/channels/1', { cookie: f.cookies.operator, body: { ...one, name: 'Edit A' } }),
    f.call('PUT', '/api/channels/1', { cookie: f.cookies.admin, body: { ...one, name: 'Edit B' } }),
  ]);
  const codes = [a.statusCode, b.statusCode].sort();
  t.strictSame(codes, [200, 409]);
  const winner = a.statusCode === 200 ? json(a) : json(b);
  const loser = a.statusCode === 409 ? json(a) : json(b);
  t.equal(loser.currentVersion, winner.version);
  t.equal(f.store.channels.get(1)!.config.name, winner.name, 'the winner is stored, the loser did not overwrite it');
});

t.test('PUT can renumber a channel; both numbers restart', async (t) => {
  const f = await fixture(t);
  const two = json(await f.call('GET', '/api/channels/2', { cookie: f.cookies.operator }));
  const res = await f.call('PUT', '/api/channels/2', { cookie: f.cookies.operator, body: { ...two, number: 20 } });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(f.changes.at(-1)!.changed, [2, 20]);
  t.equal(f.store.channels.get(2), null);
  t.equal(f.store.channels.get(20)!.config.name, 'Sports');
});

t.test('DELETE needs the current version', async (t) => {
  const f = await fixture(t);
  const two = json(await f.call('GET', '/api/channels/2', { cookie: f.cookies.operator }));
  t.equal((await f.call('DELETE', '/api/channels/2', { cookie: f.cookies.operator })).statusCode, 400, 'no version');
  const stale = await f.call('DELETE', `/api/channels/2?version=${two.version - 1}`, { cookie: f.cookies.operator });
  t.equal(stale.statusCode, 409);
  t.equal(json(stale).currentVersion, two.version);
  t.equal((await f.call('DELETE', `/api/channels/2?version=${two.version}`, { cookie: f.cookies.operator })).statusCode, 204);
  t.equal(f.store.channels.get(2), null);
  t.strictSame(f.changes.at(-1)!.changed, [2]);
  t.match(f.store.audit.list()[0], { action: 'channel.delete', target: 'channel 2', username: 'operator' });
  t.equal((await f.call('DELETE', `/api/channels/2?version=${two.version}`, { cookie: f.cookies.operator })).statusCode, 404);
});

t.test('reorder swaps numbers atomically; a move onto a channel that stays is refused', async (t) => {
  const f = await fixture(t);
  const res = await f.call('POST', '/api/channels/reorder', { cookie: f.cookies.operator, body: { moves: [[1, 2], [2, 1]] } });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(json(res).channels.map((c: { number: number; name: string }) => `${c.number} ${c.name}`), ['1 Sports', '2 News', '3 Contribution']);
  t.strictSame(f.changes.at(-1)!.changed, [1, 2]);
  t.match(f.store.audit.list()[0], { action: 'channel.reorder', detail: { moves: [[1, 2], [2, 1]] } });
  const taken = await f.call('POST', '/api/channels/reorder', { cookie: f.cookies.operator, body: { moves: [[1, 3]] } });
  t.equal(taken.statusCode, 409);
  t.equal(json(taken).code, 'ROOMCAST_ERR_CHANNEL_NUMBER_TAKEN');
  const bad = await f.call('POST', '/api/channels/reorder', { cookie: f.cookies.operator, body: { moves: [[1]] } });
  t.equal(bad.statusCode, 400);
  t.equal(f.store.channels.get(1)!.config.name, 'Sports', 'nothing changed by the refused ones');
});

t.test('bodies above the limit are refused with 413', async (t) => {
  const f = await fixture(t);
  const res = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: { ...baseChannel(), name: 'x'.repeat(70 * 1024) } });
  t.equal(res.statusCode, 413);
  t.equal(json(res).code, 'ROOMCAST_ERR_BODY_TOO_LARGE');
  const login = await f.call('POST', '/api/login', { body: { username: 'admin', password: 'p'.repeat(5000) } });
  t.equal(login.statusCode, 413);
});

t.test('users: list, create, change role, reset password, delete; the last admin stays', async (t) => {
  const f = await fixture(t);
  const list = json(await f.call('GET', '/api/users', { cookie: f.cookies.admin }));
  t.strictSame(list.users.map((u: { username: string }) => u.username), ['admin', 'operator', 'viewer']);
  t.notMatch(JSON.stringify(list), /scrypt|hash/i);

  const created = await f.call('POST', '/api/users', { cookie: f.cookies.admin, body: { username: 'anna', role: 'viewer', password: 'initial-pass-1' } });
  t.equal(created.statusCode, 201);
  t.match(json(created), { username: 'anna', role: 'viewer', mustChangePassword: true });
  const dup = await f.call('POST', '/api/users', { cookie: f.cookies.admin, body: { username: 'ANNA', role: 'viewer', password: 'initial-pass-1' } });
  t.equal(dup.statusCode, 409);
  t.equal(json(dup).code, 'ROOMCAST_ERR_USERNAME_TAKEN');
  const badRole = await f.call('POST', '/api/users', { cookie: f.cookies.admin, body: { username: 'bob', role: 'root', password: 'initial-pass-1' } });
  t.equal(badRole.statusCode, 400);

  const promoted = await f.call('PUT', '/api/users/anna', { cookie: f.cookies.admin, body: { role: 'operator' } });
  t.equal(json(promoted).role, 'operator');

  // Reset: must change, sessions end.
  const annaCookie = await f.login('anna', 'initial-pass-1');
  const reset = await f.call('PUT', '/api/users/anna', { cookie: f.cookies.admin, body: { password: 'reset-pass-22' } });
  t.equal(reset.statusCode, 200);
  t.equal(json(reset).mustChangePassword, true);
  t.equal((await f.call('GET', '/api/me', { cookie: annaCookie })).statusCode, 401);

  // The last admin.
  const demote = await f.call('PUT', '/api/users/admin', { cookie: f.cookies.admin, body: { role: 'operator' } });
  t.equal(demote.statusCode, 409);
  t.equal(json(demote).code, 'ROOMCAST_ERR_LAST_ADMIN');
  const remove = await f.call('DELETE', '/api/users/admin', { cookie: f.cookies.admin });
  t.equal(remove.statusCode, 409);
  t.equal(f.store.users.get('admin')!.role, 'admin');
  // With a second admin, the first can go.
  await f.call('PUT', '/api/users/anna', { cookie: f.cookies.admin, body: { role: 'admin' } });
  t.equal((await f.call('PUT', '/api/users/admin', { cookie: f.cookies.admin, body: { role: 'operator' } })).statusCode, 200);

  const viewerCookie = f.cookies.viewer;
  const annaFresh = await f.login('anna', 'reset-pass-22');
  t.equal((await f.call('DELETE', '/api/users/viewer', { cookie: annaFresh })).statusCode, 403, 'anna must change her password first');
  const changed = await f.call('POST', '/api/me/password', { cookie: annaFresh, body: { current: 'reset-pass-22', new: 'anna-own-pass-3' } });
  const annaOk = String(changed.headers['set-cookie']).split(';')[0];
  t.equal((await f.call('DELETE', '/api/users/viewer', { cookie: annaOk })).statusCode, 204);
  t.equal((await f.call('GET', '/api/me', { cookie: viewerCookie })).statusCode, 401, "a deleted user's session ends");
  t.equal((await f.call('DELETE', '/api/users/viewer', { cookie: annaOk })).statusCode, 404);
  t.equal((await f.call('PUT', '/api/users/nobody', { cookie: annaOk, body: { role: 'viewer' } })).statusCode, 404);
  t.equal((await f.call('PUT', '/api/users/anna', { cookie: annaOk, body: {} })).statusCode, 400, 'an empty update');
  const actions = f.store.audit.list({ limit: 100 }).map((e) => e.action);
  for (const a of ['user.create', 'user.update', 'user.delete']) t.ok(actions.includes(a), a);
});

t.test('GET /api/audit pages newest first', async (t) => {
  const f = await fixture(t);
  const one = json(await f.call('GET', '/api/channels/1', { cookie: f.cookies.operator }));
  await f.call('PUT', '/api/channels/1', { cookie: f.cookies.operator, body: { ...one, name: 'A' } });
  const res = json(await f.call('GET', '/api/audit?limit=2', { cookie: f.cookies.viewer }));
  t.equal(res.entries.length, 2);
  t.match(res.entries[0], { action: 'channel.update', username: 'operator', target: 'channel 1', detail: { fields: ['name'] } });
  t.type(res.entries[0].at, 'string');
  t.ok(res.total >= 4, 'logins and the edit');
  const next = json(await f.call('GET', '/api/audit?limit=2&offset=2', { cookie: f.cookies.viewer }));
  t.ok(next.entries[0].id < res.entries[1].id);
  t.equal((await f.call('GET', '/api/audit?limit=0', { cookie: f.cookies.viewer })).statusCode, 400);
});

t.test('GET /api/status returns the snapshots by channel number', async (t) => {
  const f = await fixture(t);
  f.snapshots.reverse();
  const res = await f.call('GET', '/api/status', { cookie: f.cookies.viewer });
  t.equal(res.statusCode, 200);
  const body = json(res);
  t.strictSame(body.channels.map((c: { number: number }) => c.number), [1, 2, 3]);
  t.match(body.channels[1], { name: 'Sports', state: 'slate', outputBitrateBps: 1_620_002, tr101290: { ccErrors: 6 }, output: { latenessP99Ms: 0.4 } });
});

t.test('export: channels.yaml without passphrases ("***"); with ?secrets=1 only for an admin, audited; import of it keeps them', async (t) => {
  const f = await fixture(t);
  const res = await f.call('GET', '/api/export', { cookie: f.cookies.operator });
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['content-type']), /^text\/yaml/);
  t.match(String(res.headers['content-disposition']), /attachment; filename="channels.yaml"/);
  t.notMatch(res.body, new RegExp(PASSPHRASE));
  t.match(res.body, /passphrase: "\*\*\*"/);
  t.match(res.body, /^# Roomcast lineup: 3 channels/);
  const doc = parseYaml(res.body);
  t.strictSame(doc.channels.map((c: { number: number }) => c.number), [1, 2, 3]);

  t.equal((await f.call('GET', '/api/export?secrets=1', { cookie: f.cookies.operator })).statusCode, 403);
  const full = await f.call('GET', '/api/export?secrets=1', { cookie: f.cookies.admin, record: false });
  t.equal(full.statusCode, 200);
  t.ok(full.body.includes(PASSPHRASE), 'an admin gets the passphrases when asking');
  t.match(f.store.audit.list()[0], { action: 'lineup.export', username: 'admin', detail: { secrets: true } });

  // The masked export imported back: nothing changes, the passphrase stays.
  const before = f.store.channels.list().map((c) => c.config);
  const imp = await f.call('POST', '/api/import', { cookie: f.cookies.admin, payload: res.body, headers: { 'content-type': 'text/yaml' } });
  t.equal(imp.statusCode, 200, imp.body);
  t.strictSame(json(imp), { channels: 3, changed: [], ignored: [] });
  t.strictSame(f.store.channels.list().map((c) => c.config), before);
  t.equal(f.changes.length, 0, 'nothing to restart');
});

t.test('import replaces the lineup whole; only changed channels restart; the headend: section is ignored', async (t) => {
  const f = await fixture(t);
  const exported = parseYaml((await f.call('GET', '/api/export', { cookie: f.cookies.admin })).body);
  exported.channels[0].name = 'News renamed';
  exported.channels.splice(1, 1); // channel 2 goes
  exported.channels.push({ number: 9, name: 'Nine', multicast: { group: '239.255.1.9', port: 5000 }, source: { type: 'file', path: join(FIXTURES, 'h264-aac-1s-gop.ts') } });
  const { stringify } = await import('yaml');
  const text = stringify({ headend: { interface: '10.0.0.1', workers: 3 }, ...exported });
  const res = await f.call('POST', '/api/import', { cookie: f.cookies.admin, payload: text, headers: { 'content-type': 'application/yaml; charset=utf-8' } });
  t.equal(res.statusCode, 200, res.body);
  t.strictSame(json(res), { channels: 3, changed: [1, 2, 9], ignored: ['headend'] });
  t.strictSame(f.changes.at(-1)!.changed, [1, 2, 9]);
  t.strictSame(f.store.channels.list().map((c) => c.config.number), [1, 3, 9]);
  const three = f.store.channels.get(3)!.config;
  t.equal(three.inputs[0].type === 'srt' && three.inputs[0].passphrase, PASSPHRASE);
  t.match(f.store.audit.list()[0], { action: 'lineup.import', username: 'admin', detail: { channels: 3, changed: [1, 2, 9] } });
});

t.test('import of malformed YAML lists the errors and changes nothing', async (t) => {
  const f = await fixture(t);
  const before = f.store.channels.list();
  const post = (payload: string, type = 'text/yaml') => f.call('POST', '/api/import', { cookie: f.cookies.admin, payload, headers: { 'content-type': type } });

  const syntax = await post('channels:\n  - number: 1\n    name: [unclosed\n');
  t.equal(syntax.statusCode, 400);
  t.match(json(syntax), { code: 'ROOMCAST_ERR_VALIDATION', problems: [{ path: /^line \d+, column \d+$/ }] });

  const invalid = await post(
    [
      'channels:',
      '  - number: 1',
      '    name: One',
      '    multicast: { group: 239.1.1.300, port: 5000 }',
      '    source: { type: udp, address: 239.1.1.1, port: 6000 }',
      '  - number: 1',
      '    name: Again',
      '    multicast: { group: 239.255.9.9, port: 5000 }',
      '    source: { type: srt, port: 9000, passphrase: "***" }',
      'extra: true',
    ].join('\n'),
  );
  t.equal(invalid.statusCode, 400);
  const paths = json(invalid).problems.map((p: { path: string }) => p.path);
  t.ok(paths.includes('channels[0].multicast.group'), 'bad group');
  t.ok(paths.includes('channels[1].number'), 'duplicate number');
  t.ok(paths.includes('channels[1].source.passphrase'), '"***" for a channel whose input has none');
  t.ok(paths.includes('extra'), 'unknown top-level key');
  t.match(json(invalid).problems, [{ path: 'extra', message: 'unknown key (allowed here: headend, channels)' }]);

  t.equal((await post('- just\n- a list\n')).statusCode, 400);
  t.equal((await post('channels: 5\n')).statusCode, 400);
  const json415 = await f.call('POST', '/api/import', { cookie: f.cookies.admin, body: { channels: [] } });
  t.equal(json415.statusCode, 415);
  t.equal(json(json415).code, 'ROOMCAST_ERR_UNSUPPORTED_MEDIA_TYPE');
  const huge = await post(`# ${'x'.repeat(2 * 1024 * 1024)}\nchannels: []\n`);
  t.equal(huge.statusCode, 413);
  t.strictSame(f.store.channels.list(), before, 'nothing half-applied');
  t.equal(f.changes.length, 0);
});

t.test('GET /api/schema/channel is the JSON schema of a channel document', async (t) => {
  const f = await fixture(t);
  const s = json(await f.call('GET', '/api/schema/channel', { cookie: f.cookies.viewer }));
  t.equal(s.title, 'Roomcast channel');
  t.strictSame(s.required, ['number', 'name', 'multicast']);
  t.ok(s.properties.source.oneOf.length === 5);
});

/** Prometheus text format 0.0.4, the parts we write: HELP, TYPE, samples with escaped labels. */
function parseMetrics(text: string): { types: Map<string, string>; samples: { name: string; labels: Record<string, string>; value: number }[] } {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') types.set(m[2], m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    const src = m[2] ?? '';
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(src)) !== null) {
      labels[lm[1]] = lm[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== src.length) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const value = Number(m[3]);
    if (!Number.isFinite(value)) throw new Error(`bad value in ${JSON.stringify(line)}`);
    if (!types.has(m[1])) throw new Error(`sample before its TYPE: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

t.test('/metrics: Prometheus text per channel and STB count; open to metricsNetworks, else a session', async (t) => {
  const f = await fixture(t);
  f.snapshots.push(snapshot(4, 'Quote " and \\ and\nnewline', 'restarting'));
  f.store.stbs.record({ agentId: 'room-101', label: '101', ip: '10.20.0.101', channel: 1, report: {} });
  const res = await f.call('GET', '/metrics', { remoteAddress: '10.9.3.4' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const { types, samples } = parseMetrics(res.body);
  t.equal(types.get('roomcast_channel_cc_errors_total'), 'counter');
  t.equal(types.get('roomcast_channel_output_bitrate_bps'), 'gauge');
  const get = (name: string, ch: string) => samples.find((s) => s.name === name && s.labels.channel === ch)?.value;
  t.equal(get('roomcast_channel_output_bitrate_bps', '2'), 1_620_002);
  t.equal(get('roomcast_channel_input_bitrate_bps', '2'), 1_600_002);
  t.equal(get('roomcast_channel_cc_errors_total', '3'), 9);
  t.equal(get('roomcast_channel_restarts_total', '3'), 3);
  t.equal(get('roomcast_channel_input_switches_total', '3'), 6);
  for (const ch of ['1', '2', '3', '4']) {
    const states = samples.filter((s) => s.name === 'roomcast_channel_state' && s.labels.channel === ch);
    t.equal(states.reduce((a, s) => a + s.value, 0), 1, `channel ${ch}: one state`);
  }
  t.equal(samples.find((s) => s.name === 'roomcast_channel_state' && s.labels.channel === '4' && s.value === 1)!.labels.state, 'restarting');
  t.equal(samples.find((s) => s.labels.channel === '4')!.labels.name, 'Quote " and \\ and\nnewline', 'labels escaped and read back');
  t.equal(samples.find((s) => s.name === 'roomcast_stbs')!.value, 1);
  t.equal(samples.find((s) => s.name === 'roomcast_stbs_reporting')!.value, 1);

  const outside = await f.call('GET', '/metrics', { remoteAddress: '10.8.0.1' });
  t.equal(outside.statusCode, 401);
  t.equal((await f.call('GET', '/metrics', { remoteAddress: '10.8.0.1', cookie: f.cookies.viewer })).statusCode, 200);
  t.equal((await f.call('GET', '/metrics', { remoteAddress: '::ffff:10.9.0.7' })).statusCode, 200, 'IPv4-mapped IPv6');
});

/** Reads server-sent events from a real socket until `count` arrived, then closes. */
function readEvents(port: number, cookie: string, count: number): Promise<{ status: number; events: unknown[]; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/status/stream', headers: { cookie } }, (res) => {
      const events: unknown[] = [];
      let buf = '';
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, events, headers: res.headers }));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)));
          if (events.length >= count) {
            req.destroy();
            resolve({ status: 200, events, headers: res.headers });
            return;
          }
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, events, headers: res.headers }));
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

t.test('the status stream sends one event per interval, closes cleanly, and is bounded', async (t) => {
  const f = await fixture(t, { statusIntervalMs: 50, maxStatusStreams: 2 });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (f.app.server.address() as AddressInfo).port;
  const first = await readEvents(port, f.cookies.viewer, 3);
  t.equal(first.status, 200);
  t.match(String(first.headers['content-type']), /^text\/event-stream/);
  t.equal(first.events.length, 3);
  t.strictSame((first.events[0] as { channels: { number: number }[] }).channels.map((c) => c.number), [1, 2, 3]);

  t.equal((await readEvents(port, '', 1)).status, 401, 'a session is needed');

  // Two streams open: a third is refused with 503; once one closes, there is room again.
  const held: { destroy(): void }[] = [];
  const open = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/status/stream', headers: { cookie: f.cookies.viewer } }, (res) => {
        res.once('data', () => resolve());
      });
      req.on('error', () => {});
      held.push(req);
      req.end();
    });
  await open();
  await open();
  const third = await readEvents(port, f.cookies.viewer, 1);
  t.equal(third.status, 503);
  held.pop()!.destroy();
  let again = third;
  for (let i = 0; i < 50 && again.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await readEvents(port, f.cookies.viewer, 2);
  }
  t.equal(again.status, 200, 'a closed stream frees its place');
  t.equal(again.events.length, 2);

  // Logging out ends the stream within the session check period.
  const ended = await new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/status/stream', headers: { cookie: f.cookies.admin } }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
      void f.call('POST', '/api/logout', { cookie: f.cookies.admin });
    });
    req.on('error', () => resolve(false));
    req.end();
  });
  t.ok(ended, 'the stream of a session that ended is closed');

  // app.close() ends the open stream instead of waiting for it for ever.
  const closing = await new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/status/stream', headers: { cookie: f.cookies.viewer } }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
      res.once('data', () => {
        held.pop()?.destroy();
        void f.app.close();
      });
    });
    req.on('error', () => resolve(false));
    req.end();
  });
  t.ok(closing, 'closed by the server at shutdown');
});

t.test('no response, audit entry or log line carried the passphrase or a password hash', async (t) => {
  t.ok(allBodies.length > 200, `${allBodies.length} bodies scanned`);
  for (const [what, list] of [
    ['response', allBodies],
    ['log', allLogs],
    ['audit', allAudit],
  ] as const) {
    t.equal(list.filter((b) => b.includes(PASSPHRASE)).length, 0, `no ${what} with the passphrase`);
    t.equal(list.filter((b) => /scrypt\$\d+\$/.test(b)).length, 0, `no ${what} with a password hash`);
    for (const p of Object.values(PASSWORDS)) t.equal(list.filter((b) => b.includes(p)).length, 0, `no ${what} with a password`);
  }
});
