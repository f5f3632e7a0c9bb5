/**
 * Admin UI users: roles, scrypt password hashes, lockout after repeated
 * failed logins, and the first-start `admin` account.
 *
 * Hashing runs on libuv's thread pool (`crypto.scrypt`, never scryptSync):
 * one hash is ~32 MiB and tens of milliseconds of work that the main thread,
 * which also feeds the data-plane workers their control messages, must not
 * wait for. The SQL around it stays synchronous.
 *
 * The hash never leaves this module: every record returned is a UserRecord,
 * which has no hash field, and the SELECTs that build one do not read it.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode, isUniqueViolation } from './errors.js';

export const Role = { admin: 'admin', operator: 'operator', viewer: 'viewer' } as const;
export type Role = (typeof Role)[keyof typeof Role];
const ROLES: readonly string[] = Object.values(Role);

export interface UserRecord {
  id: number;
  username: string;
  role: Role;
  /** Set for the first-start admin (and by an admin's reset): the next login must choose a new password. */
  mustChangePassword: boolean;
  /** Failed logins since the last success or the last lockout. */
  failedLogins: number;
  /** Logins are refused until then (ms since the epoch), or null. */
  lockedUntilMs: number | null;
  lastLoginMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/**
 * N = 2^15, r = 8, p = 1: 32 MiB and ~50–100 ms per hash on a server core,
 * the OWASP password storage cheat sheet's scrypt floor (N=2^17 is its
 * first choice; 2^15 keeps a login burst from starving the 4-thread libuv
 * pool that fs also uses).
 */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Hashes read from the database are refused above this cost, so a tampered row cannot make a login allocate gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export const PASSWORD_MIN_LENGTH = 8;
/** scrypt hashes any length, but a megabyte "password" is an attack, not a password. */
export const PASSWORD_MAX_LENGTH = 1024;
const USERNAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export interface LoginPolicy {
  /** This many wrong passwords in a row lock the account … */
  maxFailedLogins: number;
  /** … for this long. */
  lockoutMs: number;
}
export const DEFAULT_LOGIN_POLICY: LoginPolicy = Object.freeze({ maxFailedLogins: 5, lockoutMs: 15 * 60_000 });

export type LoginResult =
  | { ok: true; user: UserRecord }
  /** Unknown username and wrong password are one answer (and take as long): no user enumeration. */
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; lockedUntilMs: number };

export type EnsureAdminResult =
  | { created: false }
  /**
   * `password` is the generated one-time password, for the caller to log
   * once; null when the caller supplied it (it must not be logged).
   */
  | { created: true; user: UserRecord; password: string | null };

export interface NewUser {
  username: string;
  role: Role;
  password: string;
  mustChangePassword?: boolean;
}

export interface UserRepository {
  list(): UserRecord[];
  /** Case-insensitive, as usernames are unique regardless of case. */
  get(username: string): UserRecord | null;
  getById(id: number): UserRecord | null;
  count(): number;
  /** @throws StoreError usernameTaken, invalid */
  create(user: NewUser): Promise<UserRecord>;
  /** Sets a new password, clears the lockout; `mustChange` (default false) forces another change at next login. */
  setPassword(username: string, password: string, opts?: { mustChange?: boolean }): Promise<UserRecord>;
  setRole(username: string, role: Role): UserRecord;
  /** Clears failed logins and the lockout. */
  unlock(username: string): UserRecord;
  /** Deletes the user and, by cascade, their sessions. */
  delete(username: string): UserRecord;
  /**
   * Checks a login: refuses a locked account, counts a wrong password
   * (locking after policy.maxFailedLogins), and on success clears the count
   * and records the login.
   */
  authenticate(username: string, password: string): Promise<LoginResult>;
  /**
   * First start: when there is no user at all, creates `admin` (role admin,
   * must change password) with `initialPassword` or a random one-time
   * password; otherwise does nothing.
   */
  ensureAdmin(initialPassword?: string): Promise<EnsureAdminResult>;
}

interface UserRow {
  id: number;
  username: string;
  role: string;
  must_change_password: number;
  failed_logins: number;
  locked_until_ms: number | null;
  last_login_ms: number | null;
  created_at_ms: number;
  updated_at_ms: number;
}

/** Every column but password_hash. */
const USER_COLUMNS = 'id, username, role, must_change_password, failed_logins, locked_until_ms, last_login_ms, created_at_ms, updated_at_ms';

export function createUserRepository(
  db: Database.Database,
  now: () => number,
  opts: { scrypt?: ScryptParams; loginPolicy?: LoginPolicy } = {},
): UserRepository {
  const params = opts.scrypt ?? DEFAULT_SCRYPT;
  const policy = opts.loginPolicy ?? DEFAULT_LOGIN_POLICY;
  const sel = {
    all: db.prepare<[], UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`),
    byName: db.prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
    byId: db.prepare<[number], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
    hash: db.prepare<[string], { id: number; password_hash: string; locked_until_ms: number | null }>(
      'SELECT id, password_hash, locked_until_ms FROM users WHERE username = ?',
    ),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users'),
  };
  const ins = db.prepare<[string, string, string, number, number, number], UserRow>(
    `INSERT INTO users (username, role, password_hash, must_change_password, created_at_ms, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
  );
  // The first-start admin, only if the table is still empty when the hash is ready.
  const insAdmin = db.prepare<[string, number, number], UserRow>(
    `INSERT INTO users (username, role, password_hash, must_change_password, created_at_ms, updated_at_ms)
     SELECT 'admin', 'admin', ?, 1, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING ${USER_COLUMNS}`,
  );
  const updPassword = db.prepare<[string, number, number, number], UserRow>(
    `UPDATE users SET password_hash = ?, must_change_password = ?, failed_logins = 0, locked_until_ms = NULL, updated_at_ms = ?
     WHERE id = ? RETURNING ${USER_COLUMNS}`,
  );
  const updRole = db.prepare<[string, number, string], UserRow>(`UPDATE users SET role = ?, updated_at_ms = ? WHERE username = ? RETURNING ${USER_COLUMNS}`);
  const updUnlock = db.prepare<[number, string], UserRow>(
    `UPDATE users SET failed_logins = 0, locked_until_ms = NULL, updated_at_ms = ? WHERE username = ? RETURNING ${USER_COLUMNS}`,
  );
  const del = db.prepare<[string], UserRow>(`DELETE FROM users WHERE username = ? RETURNING ${USER_COLUMNS}`);
  // A wrong password: count it; the one that reaches the limit locks the
  // account and restarts the count, so each lockout period allows another
  // maxFailedLogins attempts.
  const updFailed = db.prepare<{ id: number; max: number; until: number; now: number }, { failed_logins: number; locked_until_ms: number | null }>(
    `UPDATE users SET
       locked_until_ms = CASE WHEN failed_logins + 1 >= :max THEN :until ELSE locked_until_ms END,
       failed_logins   = CASE WHEN failed_logins + 1 >= :max THEN 0 ELSE failed_logins + 1 END,
       updated_at_ms   = :now
     WHERE id = :id RETURNING failed_logins, locked_until_ms`,
  );
  const updSuccess = db.prepare<[number, number, number], UserRow>(
    `UPDATE users SET failed_logins = 0, locked_until_ms = NULL, last_login_ms = ?, updated_at_ms = ? WHERE id = ? RETURNING ${USER_COLUMNS}`,
  );

  const notFound = (username: string): StoreError => new StoreError(StoreErrorCode.userNotFound, `there is no user ${JSON.stringify(username)}`);
  const must = (row: UserRow | undefined, username: string): UserRecord => {
    if (!row) throw notFound(username);
    return toRecord(row);
  };
  // Spent on an unknown username so that it takes as long as a wrong password.
  let dummyHash: Promise<string> | null = null;

  return {
    list: () => sel.all.all().map(toRecord),
    get(username) {
      const row = typeof username === 'string' ? sel.byName.get(username) : undefined;
      return row ? toRecord(row) : null;
    },
    getById(id) {
      const row = sel.byId.get(id);
      return row ? toRecord(row) : null;
    },
    count: () => sel.count.get()!.n,

    async create(user) {
      const problems = [...checkUsername(user.username), ...checkRole(user.role), ...checkPassword(user.password, 'password')];
      if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      const hash = await hashPassword(user.password, params);
      const t = now();
      try {
        return toRecord(ins.get(user.username, user.role, hash, user.mustChangePassword ? 1 : 0, t, t)!);
      } catch (err) {
        if (isUniqueViolation(err)) throw new StoreError(StoreErrorCode.usernameTaken, `the username ${JSON.stringify(user.username)} is taken`);
        throw err;
      }
    },

    async setPassword(username, password, o = {}) {
      const problems = checkPassword(password, 'password');
      if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      if (!sel.byName.get(username)) throw notFound(username);
      const hash = await hashPassword(password, params);
      // Looked up again: the user may have been deleted during the hash.
      const row = sel.byName.get(username);
      if (!row) throw notFound(username);
      return toRecord(updPassword.get(hash, o.mustChange ? 1 : 0, now(), row.id)!);
    },

    setRole(username, role) {
      const problems = checkRole(role);
      if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      return must(updRole.get(role, now(), username), username);
    },

    unlock: (username) => must(updUnlock.get(now(), username), username),

    delete: (username) => must(del.get(username), username),

    async authenticate(username, password) {
      const row = typeof username === 'string' ? sel.hash.get(username) : undefined;
      if (typeof password !== 'string' || password.length > PASSWORD_MAX_LENGTH) return { ok: false, reason: 'invalid' };
      if (!row) {
        dummyHash ??= hashPassword(randomBytes(16).toString('base64'), params);
        await verifyPassword(password, await dummyHash);
        return { ok: false, reason: 'invalid' };
      }
      if (row.locked_until_ms !== null && row.locked_until_ms > now()) return { ok: false, reason: 'locked', lockedUntilMs: row.locked_until_ms };
      const good = await verifyPassword(password, row.password_hash);
      // Read again after the hash: a burst of attempts may have locked the
      // account (or an admin deleted it) meanwhile.
      const after = sel.hash.get(username);
      if (!after || after.id !== row.id) return { ok: false, reason: 'invalid' };
      const t = now();
      if (after.locked_until_ms !== null && after.locked_until_ms > t) return { ok: false, reason: 'locked', lockedUntilMs: after.locked_until_ms };
      if (!good) {
        const r = updFailed.get({ id: row.id, max: policy.maxFailedLogins, until: t + policy.lockoutMs, now: t })!;
        return r.locked_until_ms !== null && r.locked_until_ms > t ? { ok: false, reason: 'locked', lockedUntilMs: r.locked_until_ms } : { ok: false, reason: 'invalid' };
      }
      return { ok: true, user: toRecord(updSuccess.get(t, t, row.id)!) };
    },

    async ensureAdmin(initialPassword) {
      if (sel.count.get()!.n > 0) return { created: false };
      if (initialPassword !== undefined) {
        const problems = checkPassword(initialPassword, 'initial admin password');
        if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      }
      // 18 random bytes: 24 base64url characters, 144 bits.
      const password = initialPassword ?? randomBytes(18).toString('base64url');
      const hash = await hashPassword(password, params);
      const t = now();
      const row = insAdmin.get(hash, t, t);
      if (!row) return { created: false }; // someone created a user during the hash
      return { created: true, user: toRecord(row), password: initialPassword === undefined ? password : null };
    },
  };
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    role: row.role as Role,
    mustChangePassword: row.must_change_password === 1,
    failedLogins: row.failed_logins,
    lockedUntilMs: row.locked_until_ms,
    lastLoginMs: row.last_login_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

function checkUsername(u: unknown): string[] {
  return typeof u === 'string' && USERNAME_RE.test(u) ? [] : [`username: ${JSON.stringify(u)} is not 1 to 64 letters, digits or . _ @ -`];
}

function checkRole(r: unknown): string[] {
  return typeof r === 'string' && ROLES.includes(r) ? [] : [`role: ${JSON.stringify(r)} is not one of ${ROLES.join(', ')}`];
}

function checkPassword(p: unknown, what: string): string[] {
  if (typeof p !== 'string') return [`${what}: must be a string`];
  // Length in code points after normalisation, as hashed.
  const n = [...p.normalize('NFC')].length;
  if (n < PASSWORD_MIN_LENGTH) return [`${what}: must be at least ${PASSWORD_MIN_LENGTH} characters`];
  if (n > PASSWORD_MAX_LENGTH) return [`${what}: must be at most ${PASSWORD_MAX_LENGTH} characters`];
  return [];
}

function scryptAsync(password: string, salt: Buffer, keyLength: number, p: ScryptParams): Promise<Buffer> {
  // maxmem: scrypt needs ~128·N·r bytes; Node's default cap (32 MiB) is exactly
  // N=2^15 r=8 and refuses it, so allow twice that.
  const options: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * A password → `scrypt$N$r$p$salt$hash` (salt and hash in base64): the
 * parameters travel with the hash, so raising the cost later needs no
 * migration (old hashes still verify with their own parameters).
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, KEY_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Whether `password` matches an encoded hash, compared in constant time
 * (timingSafeEqual). A malformed or out-of-bounds encoding is simply false.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = typeof encoded === 'string' ? encoded.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt' || typeof password !== 'string') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const okN = Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0;
  if (!okN || !Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || expected.length < 16 || expected.length > 64) return false;
  const actual = await scryptAsync(password, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
}
