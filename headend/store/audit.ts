/**
 * The audit log: who changed what, newest first in the UI.
 *
 * Bounded: at most `maxRows` entries are kept, the oldest trimmed on insert
 * (one indexed DELETE). Without the bound a script that edits in a loop
 * grows the database until the disk is full, and the headend stops with it.
 * The detail is the caller's JSON: callers must leave secrets (passwords,
 * SRT passphrases) out of it.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';

export const DEFAULT_AUDIT_MAX_ROWS = 100_000;
/** Most entries one list() returns. */
export const AUDIT_LIST_MAX = 500;
export const AUDIT_LIST_DEFAULT = 50;
/** The detail of one entry, as JSON text. */
export const AUDIT_DETAIL_MAX_BYTES = 64 * 1024;

export interface AuditEntry {
  id: number;
  atMs: number;
  /** Who did it; null for the headend itself (first-start import, migrations). */
  username: string | null;
  /** What was done, e.g. `channel.update`, `user.login`. */
  action: string;
  /** What it was done to, e.g. `channel 101`. */
  target: string | null;
  detail: unknown;
}

export interface NewAuditEntry {
  username: string | null;
  action: string;
  target?: string | null;
  /** Any JSON-serialisable value. */
  detail?: unknown;
}

export interface AuditRepository {
  append(entry: NewAuditEntry): AuditEntry;
  /** Newest first; `limit` is clamped to 1…AUDIT_LIST_MAX (default AUDIT_LIST_DEFAULT). */
  list(opts?: { limit?: number; offset?: number }): AuditEntry[];
  count(): number;
}

interface AuditRow {
  id: number;
  at_ms: number;
  username: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

export function createAuditRepository(db: Database.Database, now: () => number, opts: { maxRows?: number } = {}): AuditRepository {
  const maxRows = Math.max(1, opts.maxRows ?? DEFAULT_AUDIT_MAX_ROWS);
  const ins = db.prepare<[number, string | null, string, string | null, string | null], AuditRow>(
    'INSERT INTO audit (at_ms, username, action, target, detail) VALUES (?, ?, ?, ?, ?) RETURNING id, at_ms, username, action, target, detail',
  );
  // Everything older than the maxRows-th newest entry.
  const trim = db.prepare<[number]>('DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)');
  const page = db.prepare<[number, number], AuditRow>('SELECT id, at_ms, username, action, target, detail FROM audit ORDER BY id DESC LIMIT ? OFFSET ?');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit');

  const appendTx = db.transaction((row: [number, string | null, string, string | null, string | null]) => {
    const r = ins.get(...row)!;
    trim.run(maxRows);
    return r;
  });

  return {
    append(e) {
      if (typeof e.action !== 'string' || e.action === '') throw new StoreError(StoreErrorCode.invalid, 'audit action: must be a non-empty string');
      let detail: string | null = null;
      if (e.detail !== undefined && e.detail !== null) {
        try {
          detail = JSON.stringify(e.detail);
        } catch (err) {
          throw new StoreError(StoreErrorCode.invalid, `audit detail: not JSON-serialisable (${(err as Error).message})`);
        }
        if (Buffer.byteLength(detail) > AUDIT_DETAIL_MAX_BYTES) throw new StoreError(StoreErrorCode.invalid, `audit detail: larger than ${AUDIT_DETAIL_MAX_BYTES} bytes`);
      }
      return toEntry(appendTx.immediate([now(), e.username ?? null, e.action, e.target ?? null, detail]));
    },
    list(o = {}) {
      const limit = clampInt(o.limit ?? AUDIT_LIST_DEFAULT, 1, AUDIT_LIST_MAX);
      // Past maxRows there is nothing, whatever the offset.
      const offset = clampInt(o.offset ?? 0, 0, maxRows);
      return page.all(limit, offset).map(toEntry);
    },
    count: () => count.get()!.n,
  };
}

function toEntry(r: AuditRow): AuditEntry {
  return { id: r.id, atMs: r.at_ms, username: r.username, action: r.action, target: r.target, detail: r.detail === null ? null : JSON.parse(r.detail) };
}

function clampInt(v: number, min: number, max: number): number {
  if (!Number.isFinite(v)) return min;
  return Math.min(max, Math.max(min, Math.trunc(v)));
}
