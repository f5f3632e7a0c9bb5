import t from 'tap';
import { createHash } from 'node:crypto';
import { StoreErrorCode } from '../../../../headend/store/errors.js';
import { fakeClock, tempStore } from './fixtures.js';

/** Cheap hashes: these tests are about sessions, not scrypt. */
const CHEAP = { scrypt: { N: 1024, r: 8, p: 1 } };

async function withUsers(t: Parameters<typeof tempStore>[0], opts: Parameters<typeof tempStore>[1] = {}) {
  const clock = fakeClock();
  const { store } = tempStore(t, { ...CHEAP, now: clock.now, sessionTtlMs: 3600_000, ...opts });
  const anna = await store.users.create({ username: 'anna', role: 'admin', password: 'anna-secret' });
  const bob = await store.users.create({ username: 'bob', role: 'viewer', password: 'bob-secret' });
  return { store, clock, anna, bob };
}

t.test('create gives a random 32-byte token; only its SHA-256 is stored; lookup finds the session and its user', async (t) => {
  const { store, clock, anna } = await withUsers(t);
  const s = store.sessions.create(anna.id);
  t.match(s.token, /^[A-Za-z0-9_-]{43}$/);
  t.equal(Buffer.from(s.token, 'base64url').length, 32);
  t.equal(s.expiresAtMs, clock.now() + 3600_000, 'the default ttl');
  t.not(store.sessions.create(anna.id).token, s.token);
  const rows = store.db.prepare<[], { token_sha256: Buffer }>('SELECT token_sha256 FROM sessions').all();
  const expected = createHash('sha256').update(Buffer.from(s.token, 'base64url')).digest();
  t.ok(rows.some((r) => r.token_sha256.equals(expected)), 'the SHA-256 is stored');
  const dump = JSON.stringify(store.db.prepare('SELECT * FROM sessions').all()) + store.db.serialize().toString('latin1');
  t.notOk(dump.includes(s.token), 'the token itself is nowhere in the database');
  t.notOk(dump.includes(Buffer.from(s.token, 'base64url').toString('latin1')), 'nor its raw bytes');
  const found = store.sessions.lookup(s.token);
  t.match(found, { userId: anna.id, createdAtMs: clock.now(), expiresAtMs: s.expiresAtMs, lastSeenMs: clock.now(), user: { username: 'anna', role: 'admin' } });
  t.notMatch(JSON.stringify(found), /scrypt/, 'no hash in the joined user');
});

t.test('lookup of unknown or malformed tokens is null', async (t) => {
  const { store } = await withUsers(t);
  for (const tok of ['', 'x', 'A'.repeat(43), 'A'.repeat(44), '../../etc/passwd', null, 42]) t.equal(store.sessions.lookup(tok as string), null, JSON.stringify(tok));
});

t.test('a session expires: lookup is null and deletes it', async (t) => {
  const { store, clock, anna } = await withUsers(t);
  const s = store.sessions.create(anna.id, 10_000);
  clock.advance(9_999);
  t.ok(store.sessions.lookup(s.token));
  clock.advance(1);
  t.equal(store.sessions.lookup(s.token), null);
  t.strictSame(store.db.prepare('SELECT count(*) AS n FROM sessions').get(), { n: 0 }, 'deleted on lookup');
});

t.test('last seen is updated at most once a minute', async (t) => {
  const { store, clock, anna } = await withUsers(t);
  const s = store.sessions.create(anna.id);
  const t0 = clock.now();
  clock.advance(30_000);
  t.equal(store.sessions.lookup(s.token)?.lastSeenMs, t0);
  clock.advance(30_000);
  t.equal(store.sessions.lookup(s.token)?.lastSeenMs, t0 + 60_000);
});

t.test('delete (logout), deleteForUser, purgeExpired, and cascade when the user is deleted', async (t) => {
  const { store, clock, anna, bob } = await withUsers(t);
  const a1 = store.sessions.create(anna.id);
  store.sessions.create(anna.id, 1000);
  store.sessions.create(bob.id, 1000);
  const b2 = store.sessions.create(bob.id);
  t.equal(store.sessions.delete(a1.token), true);
  t.equal(store.sessions.delete(a1.token), false);
  t.equal(store.sessions.lookup(a1.token), null);
  clock.advance(1000);
  t.equal(store.sessions.purgeExpired(), 2, 'a2 and b1');
  t.equal(store.sessions.lookup(b2.token)?.user.username, 'bob');
  const a3 = store.sessions.create(anna.id);
  t.equal(store.sessions.deleteForUser(anna.id), 1);
  t.equal(store.sessions.lookup(a3.token), null);
  store.users.delete('bob');
  t.equal(store.sessions.lookup(b2.token), null, 'ON DELETE CASCADE');
});

t.test('a session sees role changes at once', async (t) => {
  const { store, bob } = await withUsers(t);
  const s = store.sessions.create(bob.id);
  store.users.setRole('bob', 'operator');
  t.equal(store.sessions.lookup(s.token)?.user.role, 'operator');
});

t.test('create refuses an unknown user and a bad ttl', async (t) => {
  const { store, anna } = await withUsers(t);
  t.throws(() => store.sessions.create(9999), { code: StoreErrorCode.userNotFound });
  t.throws(() => store.sessions.create(anna.id, 0), { code: StoreErrorCode.invalid });
});

t.test('sessions per user are bounded: the oldest go first', async (t) => {
  const { store, anna, bob } = await withUsers(t, { sessionsPerUser: 3 });
  const bobs = store.sessions.create(bob.id);
  const tokens = Array.from({ length: 5 }, () => store.sessions.create(anna.id).token);
  t.strictSame(tokens.map((tok) => store.sessions.lookup(tok) !== null), [false, false, true, true, true]);
  t.ok(store.sessions.lookup(bobs.token), "other users' sessions are untouched");
});
