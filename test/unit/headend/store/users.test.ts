import t from 'tap';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from '../../../../headend/store/users.js';
import { StoreErrorCode } from '../../../../headend/store/errors.js';
import { fakeClock, tempStore } from './fixtures.js';

t.test('hashPassword writes scrypt$N$r$p$salt$hash with a random 16-byte salt; verifyPassword accepts the right password only', async (t) => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(a);
  t.ok(m, a);
  t.strictSame(m!.slice(1, 4).map(Number), [DEFAULT_SCRYPT.N, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p]);
  t.equal(DEFAULT_SCRYPT.N, 2 ** 15);
  t.equal(Buffer.from(m![4], 'base64').length, 16, 'salt');
  t.equal(Buffer.from(m![5], 'base64').length, 32, 'hash');
  t.not(a, b, 'salted: the same password hashes differently');
  t.equal(await verifyPassword('correct horse', a), true);
  t.equal(await verifyPassword('correct horse', b), true);
  t.equal(await verifyPassword('correct hors', a), false);
  t.equal(await verifyPassword('Correct horse', a), false);
  t.equal(await verifyPassword('', a), false);
});

t.test('verifyPassword: NFC-normalised, and false (not a throw) for malformed or abusive encodings', async (t) => {
  const h = await hashPassword('caf\u00e9-latte');
  t.equal(await verifyPassword('cafe\u0301-latte', h), true, 'decomposed é is the same password');
  const parts = h.split('$');
  for (const bad of [
    '',
    'bcrypt$2b$10$abc',
    h.replace('scrypt$', () => 'scrypt$$'), // an empty field
    ['scrypt', String(2 ** 30), '8', '1', parts[4], parts[5]].join('$'), // would allocate 32 GiB
    ['scrypt', '1000', '8', '1', parts[4], parts[5]].join('$'), // N not a power of two
    ['scrypt', parts[1], '8', '1', '', parts[5]].join('$'),
    ['scrypt', parts[1], '8', '1', parts[4], 'AAAA'].join('$'),
  ]) {
    t.equal(await verifyPassword('caf\u00e9-latte', bad), false, JSON.stringify(bad.slice(0, 30)));
  }
});

t.test('hashing does not block the main thread (crypto.scrypt on the thread pool)', async (t) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const start = performance.now();
  await hashPassword('a password that takes a while');
  const ms = performance.now() - start;
  clearInterval(timer);
  t.ok(ticks >= 3, `${ticks} timer ticks during a ${ms.toFixed(0)} ms hash`);
});

t.test('create, get (case-insensitive), list, setRole, delete: records never carry the hash', async (t) => {
  const { store } = tempStore(t);
  const op = await store.users.create({ username: 'Olivia', role: 'operator', password: 'olivia-secret' });
  await store.users.create({ username: 'victor', role: 'viewer', password: 'victor-secret', mustChangePassword: true });
  t.match(op, { username: 'Olivia', role: 'operator', mustChangePassword: false, failedLogins: 0, lockedUntilMs: null, lastLoginMs: null });
  t.equal(store.users.get('olivia')?.id, op.id);
  t.equal(store.users.getById(op.id)?.username, 'Olivia');
  t.strictSame(store.users.list().map((u) => [u.username, u.role, u.mustChangePassword]), [['Olivia', 'operator', false], ['victor', 'viewer', true]]);
  t.equal(store.users.setRole('victor', 'admin').role, 'admin');
  t.equal(store.users.count(), 2);
  const records = [op, ...store.users.list(), store.users.get('victor'), store.users.delete('victor')];
  const text = JSON.stringify(records);
  t.notMatch(text, /scrypt|password_?hash|hash/i, 'no hash and no hash field in any record');
  for (const r of records) t.notOk(Object.keys(r!).some((k) => /hash/i.test(k)));
  t.equal(store.users.get('victor'), null);
  t.equal(store.users.count(), 1);
  const stored = store.db.prepare<[], { password_hash: string }>('SELECT password_hash FROM users').get()!;
  t.match(stored.password_hash, /^scrypt\$32768\$8\$1\$/, 'the hash is in the database');
  t.notMatch(stored.password_hash, 'olivia-secret');
});

t.test('create refuses a taken username (any case), bad usernames, roles and passwords', async (t) => {
  const { store } = tempStore(t);
  await store.users.create({ username: 'anna', role: 'admin', password: 'anna-secret' });
  await t.rejects(store.users.create({ username: 'ANNA', role: 'viewer', password: 'other-secret' }), { code: StoreErrorCode.usernameTaken, statusCode: 409 });
  await t.rejects(store.users.create({ username: 'a b', role: 'viewer', password: 'long-enough' }), { code: StoreErrorCode.invalid, message: /username/ });
  await t.rejects(store.users.create({ username: 'bob', role: 'root' as 'admin', password: 'long-enough' }), { code: StoreErrorCode.invalid, message: /role: "root" is not one of admin, operator, viewer/ });
  await t.rejects(store.users.create({ username: 'bob', role: 'viewer', password: 'short' }), { code: StoreErrorCode.invalid, message: /at least 8 characters/ });
  await t.rejects(store.users.create({ username: 'bob', role: 'viewer', password: 'x'.repeat(1025) }), { code: StoreErrorCode.invalid, message: /at most 1024/ });
  t.throws(() => store.users.setRole('nobody', 'admin'), { code: StoreErrorCode.userNotFound });
  t.throws(() => store.users.delete('nobody'), { code: StoreErrorCode.userNotFound });
  t.equal(store.users.count(), 1);
});

t.test('authenticate: right password logs in, wrong one and unknown user are the same "invalid"', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now });
  await store.users.create({ username: 'olivia', role: 'operator', password: 'olivia-secret' });
  const ok = await store.users.authenticate('olivia', 'olivia-secret');
  t.match(ok, { ok: true, user: { username: 'olivia', lastLoginMs: clock.now(), failedLogins: 0 } });
  t.notMatch(JSON.stringify(ok), /scrypt/);
  t.strictSame(await store.users.authenticate('olivia', 'wrong-secret'), { ok: false, reason: 'invalid' });
  t.strictSame(await store.users.authenticate('nobody', 'olivia-secret'), { ok: false, reason: 'invalid' });
  t.equal(store.users.get('olivia')?.failedLogins, 1);
  t.match(await store.users.authenticate('olivia', 'olivia-secret'), { ok: true, user: { failedLogins: 0 } }, 'success clears the count');
});

t.test('repeated wrong passwords lock the account, even against the right password, until the lockout ends', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now, loginPolicy: { maxFailedLogins: 3, lockoutMs: 60_000 } });
  await store.users.create({ username: 'anna', role: 'admin', password: 'anna-secret' });
  t.strictSame(await store.users.authenticate('anna', 'guess-1'), { ok: false, reason: 'invalid' });
  t.strictSame(await store.users.authenticate('anna', 'guess-2'), { ok: false, reason: 'invalid' });
  t.strictSame(await store.users.authenticate('anna', 'guess-3'), { ok: false, reason: 'locked', lockedUntilMs: clock.now() + 60_000 });
  t.match(store.users.get('anna'), { lockedUntilMs: clock.now() + 60_000 });
  t.strictSame(await store.users.authenticate('anna', 'anna-secret'), { ok: false, reason: 'locked', lockedUntilMs: clock.now() + 60_000 });
  clock.advance(60_001);
  t.match(await store.users.authenticate('anna', 'anna-secret'), { ok: true, user: { lockedUntilMs: null, failedLogins: 0 } });
  // An admin can unlock early.
  for (const g of ['g1', 'g2', 'g3']) await store.users.authenticate('anna', g + '-wrong');
  t.ok(store.users.get('anna')!.lockedUntilMs! > clock.now());
  t.match(store.users.unlock('anna'), { lockedUntilMs: null, failedLogins: 0 });
  t.match(await store.users.authenticate('anna', 'anna-secret'), { ok: true });
});

t.test('concurrent wrong attempts are all counted (no lost update across the async hash)', async (t) => {
  const { store } = tempStore(t, { loginPolicy: { maxFailedLogins: 100, lockoutMs: 1000 } });
  await store.users.create({ username: 'anna', role: 'admin', password: 'anna-secret' });
  await Promise.all(Array.from({ length: 6 }, (_, i) => store.users.authenticate('anna', `wrong-${i}`)));
  t.equal(store.users.get('anna')?.failedLogins, 6);
});

t.test('setPassword replaces the hash, clears lockout, and sets or clears must-change', async (t) => {
  const { store } = tempStore(t, { loginPolicy: { maxFailedLogins: 1, lockoutMs: 60_000 } });
  await store.users.create({ username: 'anna', role: 'admin', password: 'first-secret', mustChangePassword: true });
  await store.users.authenticate('anna', 'wrong-secret');
  t.ok(store.users.get('anna')?.lockedUntilMs);
  const u = await store.users.setPassword('anna', 'second-secret');
  t.match(u, { mustChangePassword: false, lockedUntilMs: null, failedLogins: 0 });
  t.match(await store.users.authenticate('anna', 'first-secret'), { ok: false });
  t.match(await store.users.setPassword('anna', 'third-secret', { mustChange: true }), { mustChangePassword: true });
  t.match(await store.users.authenticate('anna', 'third-secret'), { ok: true, user: { mustChangePassword: true } });
  await t.rejects(store.users.setPassword('anna', 'short'), { code: StoreErrorCode.invalid });
  await t.rejects(store.users.setPassword('nobody', 'long-enough'), { code: StoreErrorCode.userNotFound });
});

t.test('ensureAdmin creates admin with a one-time password once, only when there is no user', async (t) => {
  const { store } = tempStore(t);
  const r = await store.users.ensureAdmin();
  if (!r.created) throw new Error('expected the admin to be created');
  t.match(r.user, { username: 'admin', role: 'admin', mustChangePassword: true });
  t.match(r.password, /^[A-Za-z0-9_-]{24}$/, 'a random one-time password, returned to be logged once');
  t.notMatch(JSON.stringify(r.user), /scrypt/);
  t.match(await store.users.authenticate('admin', r.password!), { ok: true, user: { mustChangePassword: true } }, 'first login must change it');
  t.strictSame(await store.users.ensureAdmin(), { created: false }, 'never again once a user exists');
  t.strictSame(await store.users.ensureAdmin('another-password'), { created: false });
  t.equal(store.users.count(), 1);
});

t.test('ensureAdmin with a given initial password (environment) does not return it, and still forces a change', async (t) => {
  const { store } = tempStore(t);
  const r = await store.users.ensureAdmin('from-the-environment');
  t.match(r, { created: true, password: null, user: { mustChangePassword: true } });
  t.match(await store.users.authenticate('admin', 'from-the-environment'), { ok: true });
  const { store: other } = tempStore(t);
  await t.rejects(other.users.ensureAdmin('short'), { code: StoreErrorCode.invalid, message: /initial admin password: must be at least 8/ });
  t.equal(other.users.count(), 0);
});

t.test('two concurrent ensureAdmin calls create one admin', async (t) => {
  const { store } = tempStore(t);
  const [a, b] = await Promise.all([store.users.ensureAdmin(), store.users.ensureAdmin()]);
  t.equal([a, b].filter((r) => r.created).length, 1);
  t.equal(store.users.count(), 1);
});
