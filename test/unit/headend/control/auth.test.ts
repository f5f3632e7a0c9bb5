import t from 'tap';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import {
  AdminError,
  FLEET_KEY_HEADER,
  checkSameOrigin,
  readCookie,
  requireFleetKey,
  requireRole,
  sessionSetCookie,
} from '../../../../headend/control/auth.js';
import { PASSWORDS, adminFixture, bareApp } from './fixtures.js';

t.test('readCookie finds one cookie among others', async (t) => {
  t.equal(readCookie('a=1; roomcast_session=abc_-; b=2', 'roomcast_session'), 'abc_-');
  t.equal(readCookie('roomcast_session_x=1; roomcast_session="q"', 'roomcast_session'), 'q');
  t.equal(readCookie('a=1', 'roomcast_session'), null);
  t.equal(readCookie(undefined, 'roomcast_session'), null);
  t.equal(sessionSetCookie(true, 'tok', 60.7), '__Host-roomcast_session=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure');
});

t.test('checkSameOrigin compares host and port with the Host header, per scheme', async (t) => {
  const req = (method: string, headers: Record<string, string>, protocol = 'http') => ({ method, headers, protocol }) as never;
  const ok = (r: never) => {
    try {
      checkSameOrigin(r);
      return true;
    } catch (err) {
      if (err instanceof AdminError && err.code === 'ROOMCAST_ERR_CSRF') return false;
      throw err;
    }
  };
  t.ok(ok(req('GET', { host: 'h' })), 'GET needs nothing');
  t.ok(ok(req('POST', { host: 'headend:8080', origin: 'http://headend:8080' })));
  t.ok(ok(req('POST', { host: 'HEADEND:8080', origin: 'http://headend:8080' })), 'host names are case-insensitive');
  t.ok(ok(req('POST', { host: '[fe80::1]:8080', origin: 'http://[fe80::1]:8080' })), 'IPv6 literal');
  t.ok(ok(req('PUT', { host: 'headend', origin: 'https://headend' }, 'https')), 'https default port');
  t.notOk(ok(req('PUT', { host: 'headend', origin: 'http://headend' }, 'https')), 'an http page posting to the https API');
  t.notOk(ok(req('DELETE', { host: 'headend:8080', origin: 'http://headend:8081' })));
  t.notOk(ok(req('POST', { host: 'headend:8080', origin: 'http://headend.evil:8080' })));
  t.notOk(ok(req('POST', { host: 'headend:8080', origin: 'file:///x' })));
  t.notOk(ok(req('POST', { host: 'headend:8080', referer: 'not a url' })));
  t.notOk(ok(req('POST', { host: 'headend:8080' })));
  t.ok(ok(req('PATCH', { host: 'headend:8080', referer: 'http://headend:8080/x?y' })));
});

t.test('requireFleetKey: only reports with the configured key; none configured lets every report in', async (t) => {
  const app = bareApp(t);
  app.post('/api/stb/report', { preHandler: requireFleetKey('fleet-key-123') }, async () => ({ ok: true }));
  app.post('/open', { preHandler: requireFleetKey(undefined) }, async () => ({ ok: true }));
  const post = (url: string, key?: string) => app.inject({ method: 'POST', url, payload: {}, headers: key === undefined ? {} : { [FLEET_KEY_HEADER]: key } });
  t.equal((await post('/api/stb/report', 'fleet-key-123')).statusCode, 200);
  const wrong = await post('/api/stb/report', 'fleet-key-124');
  t.equal(wrong.statusCode, 401);
  t.equal(JSON.parse(wrong.body).code, 'ROOMCAST_ERR_FLEET_KEY');
  t.equal((await post('/api/stb/report', 'fleet-key-1234567')).statusCode, 401, 'another length');
  t.equal((await post('/api/stb/report')).statusCode, 401);
  t.equal((await post('/open')).statusCode, 200);
});

t.test('requireRole works on routes outside the plugin (api.ts GET /api/stbs)', async (t) => {
  const f = await adminFixture(t);
  const app = Fastify();
  t.teardown(() => app.close());
  app.get('/api/stbs', { preHandler: requireRole('viewer', { store: f.store, secureCookies: false }) }, async () => ({ stbs: [] }));
  app.get('/ops', { preHandler: f.admin.requireRole('operator') }, async () => ({ ok: true }));
  const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
  t.equal((await get('/api/stbs')).statusCode, 401);
  t.equal(JSON.parse((await get('/api/stbs')).body).code, 'ROOMCAST_ERR_UNAUTHENTICATED');
  t.equal((await get('/api/stbs', f.cookies.viewer)).statusCode, 200);
  t.equal((await get('/ops', f.cookies.viewer)).statusCode, 403);
  t.equal((await get('/ops', f.cookies.operator)).statusCode, 200);
  t.equal((await get('/ops', 'roomcast_session=' + 'A'.repeat(43))).statusCode, 401, 'an unknown token');
  // The fleet key hook the plugin hands back.
  const g = await adminFixture(t, { fleetKey: 'k-1' });
  const app2 = Fastify();
  t.teardown(() => app2.close());
  app2.post('/r', { preHandler: g.admin.requireFleetKey }, async () => ({ ok: true }));
  t.equal((await app2.inject({ method: 'POST', url: '/r', payload: {}, headers: { [FLEET_KEY_HEADER]: 'k-1' } })).statusCode, 200);
  t.equal((await app2.inject({ method: 'POST', url: '/r', payload: {} })).statusCode, 401);
});

t.test('a locked account answers no faster than a wrong password (timing does not tell locked from wrong)', async (t) => {
  // Real-ish hashing cost, so that the difference would show.
  const f = await adminFixture(t, {}, { scrypt: { N: 2 ** 13, r: 8, p: 1 }, loginPolicy: { maxFailedLogins: 3, lockoutMs: 60_000 } });
  const time = async (username: string, password: string): Promise<[number, number]> => {
    const t0 = performance.now();
    const res = await f.call('POST', '/api/login', { body: { username, password } });
    return [res.statusCode, performance.now() - t0];
  };
  const wrong: number[] = [];
  for (let i = 0; i < 6; i++) {
    const [code, ms] = await time('operator', `wrong-${i}`);
    if (code === 401) wrong.push(ms);
  }
  const locked: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [code, ms] = await time('operator', PASSWORDS.operator);
    t.equal(code, 423);
    locked.push(ms);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  t.ok(wrong.length >= 2, 'some wrong-password answers measured');
  t.ok(median(locked) >= 0.6 * median(wrong), `locked ${median(locked).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`);
});
