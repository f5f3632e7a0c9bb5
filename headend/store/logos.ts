/**
 * Channel logos in SQLite (migration 002): one PNG, JPEG or WebP per
 * channel, at most 256 KiB, addressed by channel number. The row is keyed by
 * the channel's row id: a renumbered channel keeps its logo and a deleted
 * one loses it (ON DELETE CASCADE). A lineup import replaces the channel
 * rows: channels.ts carries each logo over to the channel with the same
 * number.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';

export const LOGO_MAX_BYTES = 256 * 1024;
export type LogoMediaType = 'image/png' | 'image/jpeg' | 'image/webp';

export interface Logo {
  mediaType: LogoMediaType;
  data: Buffer;
  updatedAtMs: number;
}

export interface LogoRepository {
  get(number: number): Logo | null;
  /** The channels that have a logo: number → when it was last set. */
  list(): Map<number, number>;
  /** Sets the logo of channel `number` (which must exist); the type is what the bytes are, checked. */
  set(number: number, data: Buffer): Logo;
  /** Removes it; false when there was none. */
  delete(number: number): boolean;
  /** Changes whenever a logo is set or removed (for caches of the whole lineup). */
  stamp(): string;
}

/**
 * The image type the bytes say they are (their signature), or null: a
 * client's Content-Type is not trusted, and nothing but these three is kept.
 * PNG: 89 50 4E 47 0D 0A 1A 0A; JPEG: FF D8 FF; WebP: "RIFF" size "WEBP".
 */
export function logoMediaType(b: Buffer): LogoMediaType | null {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

export function createLogoRepository(db: Database.Database, now: () => number): LogoRepository {
  // Prepared when first used: a store opened with an older migration list (tests) has no logos table.
  const q = lazy(() => prepare(db));
  let lastSetMs = 0;
  return {
    get(number) {
      const r = q().one.get(number);
      return r ? { mediaType: r.media_type, data: r.data, updatedAtMs: r.updated_at_ms } : null;
    },
    list() {
      return new Map(q().all.all().map((r) => [r.number, r.updated_at_ms]));
    },
    set(number, data) {
      const mediaType = logoMediaType(data);
      if (!mediaType) throw new StoreError(StoreErrorCode.invalid, 'logo: not a PNG, JPEG or WebP image (by its first bytes)');
      if (data.length > LOGO_MAX_BYTES) throw new StoreError(StoreErrorCode.invalid, `logo: ${data.length} bytes, more than ${LOGO_MAX_BYTES}`);
      const row = q().idOf.get(number);
      if (!row) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      // Strictly increasing, so that the stamp changes even for two sets in one millisecond.
      const t = Math.max(now(), lastSetMs + 1);
      lastSetMs = t;
      q().upsert.run(row.id, mediaType, data, t);
      return { mediaType, data, updatedAtMs: t };
    },
    delete(number) {
      return q().del.run(number).changes > 0;
    },
    stamp() {
      const r = q().stamp.get()!;
      return `${r.n}-${r.t}`;
    },
  };
}

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

function prepare(db: Database.Database) {
  const idOf = db.prepare<[number], { id: number }>('SELECT id FROM channels WHERE number = ?');
  const one = db.prepare<[number], { media_type: LogoMediaType; data: Buffer; updated_at_ms: number }>(
    'SELECT l.media_type, l.data, l.updated_at_ms FROM logos l JOIN channels c ON c.id = l.channel_id WHERE c.number = ?',
  );
  const all = db.prepare<[], { number: number; updated_at_ms: number }>('SELECT c.number, l.updated_at_ms FROM logos l JOIN channels c ON c.id = l.channel_id');
  const upsert = db.prepare<[number, string, Buffer, number]>(
    `INSERT INTO logos (channel_id, media_type, data, updated_at_ms) VALUES (?, ?, ?, ?)
     ON CONFLICT (channel_id) DO UPDATE SET media_type = excluded.media_type, data = excluded.data, updated_at_ms = excluded.updated_at_ms`,
  );
  const del = db.prepare<[number]>('DELETE FROM logos WHERE channel_id = (SELECT id FROM channels WHERE number = ?)');
  const stamp = db.prepare<[], { n: number; t: number }>('SELECT count(*) AS n, coalesce(max(updated_at_ms), 0) AS t FROM logos');
  return { idOf, one, all, upsert, del, stamp };
}
