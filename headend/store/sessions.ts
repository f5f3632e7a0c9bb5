/**
 * Login sessions. The client gets a random 32-byte token (base64url, for a
 * cookie); the database keeps only its SHA-256, so a leaked database or
 * backup opens no session. Looking a session up by the hash of the
 * presented token is an index lookup on a value the attacker cannot choose,
 * so it leaks nothing useful through timing (no timingSafeEqual needed).
 */
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import type { UserRecord } from './users.js';

const TOKEN_BYTES = 32;
/** base64url of 32 bytes, no padding. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;
/**
 * Sessions kept per user; the oldest go first. Without the bound, a script
 * logging in with a valid password in a loop grows the table without end.
 */
export const DEFAULT_SESSIONS_PER_USER = 20;
/** last_seen is written at most this often per session: no write per API request. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

export interface SessionRecord {
  userId: number;
  createdAtMs: number;
  expiresAtMs: number;
  lastSeenMs: number;
  /** The session's user as it is now (role changes apply at once). */
  user: UserRecord;
}

export interface NewSession {
  /** Give this to the client (cookie); it is not stored and cannot be recovered. */
  token: string;
  expiresAtMs: number;
}

export interface SessionRepository {
  /** @throws StoreError userNotFound */
  create(userId: number, ttlMs?: number): NewSession;
  /** The live session for a token, or null (unknown, malformed, or expired: an expired one is deleted). */
  lookup(token: string): SessionRecord | null;
  /** Logout. Whether there was such a session. */
  delete(token: string): boolean;
  /** Every session of a user (password change, role change, user disabled). Returns how many. */
  deleteForUser(userId: number): number;
  /** Deletes every expired session; returns how many. */
  purgeExpired(): number;
}

interface JoinedRow {
  user_id: number;
  s_created_at_ms: number;
  expires_at_ms: number;
  last_seen_ms: number;
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

export function createSessionRepository(
  db: Database.Database,
  now: () => number,
  opts: { ttlMs?: number; perUser?: number } = {},
): SessionRepository {
  const defaultTtlMs = opts.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  const perUser = opts.perUser ?? DEFAULT_SESSIONS_PER_USER;
  const ins = db.prepare<[Buffer, number, number, number, number]>(
    'INSERT INTO sessions (token_sha256, user_id, created_at_ms, expires_at_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?)',
  );
  const userExists = db.prepare<[number], { e: number }>('SELECT EXISTS (SELECT 1 FROM users WHERE id = ?) AS e');
  const trim = db.prepare<[number, number, number]>(
    `DELETE FROM sessions WHERE user_id = ? AND id NOT IN
       (SELECT id FROM sessions WHERE user_id = ? ORDER BY id DESC LIMIT ?)`,
  );
  const sel = db.prepare<[Buffer], JoinedRow>(
    `SELECT s.user_id, s.created_at_ms AS s_created_at_ms, s.expires_at_ms, s.last_seen_ms,
            u.id, u.username, u.role, u.must_change_password, u.failed_logins, u.locked_until_ms, u.last_login_ms,
            u.created_at_ms, u.updated_at_ms
       FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?`,
  );
  const touch = db.prepare<[number, Buffer]>('UPDATE sessions SET last_seen_ms = ? WHERE token_sha256 = ?');
  const del = db.prepare<[Buffer]>('DELETE FROM sessions WHERE token_sha256 = ?');
  const delUser = db.prepare<[number]>('DELETE FROM sessions WHERE user_id = ?');
  const purge = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at_ms <= ?');

  const createTx = db.transaction((hash: Buffer, userId: number, t: number, ttlMs: number) => {
    if (userExists.get(userId)!.e === 0) throw new StoreError(StoreErrorCode.userNotFound, `there is no user with id ${userId}`);
    ins.run(hash, userId, t, t + ttlMs, t);
    trim.run(userId, userId, perUser);
  });

  return {
    create(userId, ttlMs = defaultTtlMs) {
      if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new StoreError(StoreErrorCode.invalid, `session ttl: ${ttlMs} is not a positive integer of ms`);
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const t = now();
      createTx.immediate(tokenHash(token)!, userId, t, ttlMs);
      return { token, expiresAtMs: t + ttlMs };
    },
    lookup(token) {
      const hash = tokenHash(token);
      if (!hash) return null;
      const row = sel.get(hash);
      if (!row) return null;
      const t = now();
      if (row.expires_at_ms <= t) {
        del.run(hash);
        return null;
      }
      let lastSeenMs = row.last_seen_ms;
      if (t - lastSeenMs >= LAST_SEEN_RESOLUTION_MS) {
        touch.run(t, hash);
        lastSeenMs = t;
      }
      return {
        userId: row.user_id,
        createdAtMs: row.s_created_at_ms,
        expiresAtMs: row.expires_at_ms,
        lastSeenMs,
        user: {
          id: row.id,
          username: row.username,
          role: row.role as UserRecord['role'],
          mustChangePassword: row.must_change_password === 1,
          failedLogins: row.failed_logins,
          lockedUntilMs: row.locked_until_ms,
          lastLoginMs: row.last_login_ms,
          createdAtMs: row.created_at_ms,
          updatedAtMs: row.updated_at_ms,
        },
      };
    },
    delete(token) {
      const hash = tokenHash(token);
      return hash ? del.run(hash).changes > 0 : false;
    },
    deleteForUser: (userId) => delUser.run(userId).changes,
    purgeExpired: () => purge.run(now()).changes,
  };
}

/** SHA-256 of the token's 32 bytes, or null when it is not a token we could have issued. */
function tokenHash(token: unknown): Buffer | null {
  if (typeof token !== 'string' || !TOKEN_RE.test(token)) return null;
  return createHash('sha256').update(Buffer.from(token, 'base64url')).digest();
}
