/**
 * The programme guide in SQLite (migration 003, issue 6 §4): programmes per
 * XMLTV channel id (the lineup's tvgId), the feed's channel names and icons,
 * the last import's report, and the settings of the guide's source.
 *
 * An import (`import()`) runs in phases so that the main thread, which also
 * answers the API, is never blocked for long (DESIGN.md "Processes and
 * threads"); each phase is small transactions with the event loop getting a
 * turn between them:
 *
 * 1. Read: core/epg/xmltv.ts streams the document; the programmes that pass
 *    the per-programme checks go into TEMP staging, ~1000 rows a transaction.
 * 2. Sequence: per channel, in start order, a page of staged rows at a time,
 *    ChannelSequencer resolves missing stops and overlaps; the programmes
 *    kept are written to epg_programmes under a new generation, which no
 *    reader sees yet (migration 003).
 * 3. Swap: ONE transaction makes the new generation current for every
 *    channel with at least one programme kept (a row per channel, not per
 *    programme), records the feed's channels, prunes what ended more than
 *    31 days ago, stores the report, and empties staging. Readers see the
 *    old guide or the new one, never a mix.
 * 4. Collect: the superseded generations are deleted, ~1000 rows a
 *    transaction (also at the start of the next import, for a headend killed
 *    half-way).
 *
 * A channel whose programmes in this file were all rejected keeps its
 * previous guide: a stale guide is worth more than an empty one. A read that
 * fails (broken XML, a gzip or stream error, a bound, abort) empties staging,
 * deletes what phase 2 wrote, and changes nothing a reader sees; its report
 * is returned, not stored.
 *
 * One import at a time: staging is shared.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import {
  ChannelSequencer,
  readXmltv,
  SkipTally,
  type EpgProgramme,
  type EpisodeSystem,
  type SkipReason,
  type XmltvChannel,
  type XmltvProgramme,
  type XmltvSource,
} from '../../core/epg/xmltv.js';

/** Programmes that ended longer ago than this are pruned at each import (catch-up needs at most 31 days, core/lineup/config.ts catchupDays). */
export const EPG_KEEP_PAST_MS = 31 * 24 * 3600 * 1000;
/** Rows per staging or sequencing transaction: a few ms of the main thread each. */
export const EPG_BATCH_ROWS = 1000;
/** Programmes last at most 24 h (core/epg/xmltv.ts MAX_PROGRAMME_MS): a range query starts its index scan that much earlier. */
const MAX_PROGRAMME_MS = 24 * 3600 * 1000;
/** Settings bounds: refreshing more than hourly only loads the feed's server; less than weekly leaves the guide running out. */
export const EPG_REFRESH_HOURS_MIN = 1;
export const EPG_REFRESH_HOURS_MAX = 168;
export const EPG_REFRESH_HOURS_DEFAULT = 24;
const URL_MAX_CHARS = 2048;
/** nowNext() with more ids than this is a caller's bug (a lineup has at most 9999 channels). */
const NOW_NEXT_MAX_IDS = 10_000;

/** What one import did. Stored as JSON for the last successful one (lastReport()). */
export interface EpgImportReport {
  /** Where the document came from, as the caller named it (a URL, "upload"). */
  source: string;
  startedAtMs: number;
  /** `<channel>` elements in the file. */
  channelsInFile: number;
  /** Lineup channels (tvgIds) whose guide this import replaced: those with at least one programme kept. */
  channelsKept: number;
  programmesInFile: number;
  programmesKept: number;
  /** Skipped programmes per reason (only reasons that occurred). */
  skipped: Partial<Record<SkipReason, number>>;
  /** Up to 20 sentences, e.g. `programme at line 812 on "bbc1.uk": stop … is before start …`. */
  examples: string[];
  /** Programmes of earlier imports pruned (ended more than 31 days ago). */
  pruned: number;
  /** Set when the import failed; the store was not changed. */
  error?: string;
  /** Bytes read from the source (compressed, when gzip). */
  bytesRead: number;
  /** Bytes of XML (after gunzip). */
  bytesDecoded: number;
  gzip: boolean;
  /** Whole import, ms. */
  ms: number;
  /** The swap transaction (phase 3), ms. */
  swapMs: number;
}

export interface EpgImportOptions {
  /** The lineup's tvgIds: programmes of other channels are skipped. */
  channels: Iterable<string>;
  /** A name for the report: the URL, or "upload". */
  source: string;
  signal?: AbortSignal;
  /** Bound on decompressed bytes (core/epg/xmltv.ts default 2 GiB). */
  maxDecodedBytes?: number;
}

export interface EpgNowNext {
  now: EpgProgramme | null;
  next: EpgProgramme | null;
}

export interface EpgSettings {
  /** http(s) URL of the XMLTV feed (gzip or not), or null: no scheduled refresh. */
  url: string | null;
  /** Hours between refreshes. */
  refreshHours: number;
}

export interface EpgChannelInfo {
  tvgId: string;
  displayName: string | null;
  icon: string | null;
  updatedAtMs: number;
}

export interface EpgRepository {
  /**
   * Imports an XMLTV document (see the file's comment). Resolves with the
   * report, `error` set when the import failed (then nothing changed).
   * `source` chunks are borrowed.
   * @throws EpgImportBusyError when another import is running.
   */
  import(source: XmltvSource, opts: EpgImportOptions): Promise<EpgImportReport>;
  /** True while an import runs. */
  importing(): boolean;
  /** The channel's programmes overlapping [fromMs, toMs), by start (at most EPG_RANGE_MAX_ROWS). */
  programmes(tvgId: string, fromMs: number, toMs: number): EpgProgramme[];
  /** For each id: the programme on at `atMs` (null in a gap) and the one after. Ids without a guide are absent. Two indexed statements whatever the count. */
  nowNext(tvgIds: readonly string[], atMs: number): Map<string, EpgNowNext>;
  /** The programme of `tvgId` starting exactly at `startMs` (catch-up links name it so). */
  byStart(tvgId: string, startMs: number): EpgProgramme | null;
  /**
   * The programmes of `tvgIds` (in that order, each by start; duplicates
   * once), optionally only those overlapping [fromMs, toMs). Read a page at a
   * time, so the consumer may pause between items (an HTTP response's
   * backpressure): a better-sqlite3 `.iterate()` left open across an await
   * would make every other statement on the connection fail ("This database
   * connection is busy executing a query").
   */
  iterateProgrammes(tvgIds: readonly string[], fromMs?: number, toMs?: number): Generator<EpgProgramme, void, undefined>;
  /** The feed's `<channel>` names and icons for lineup channels. */
  channels(): EpgChannelInfo[];
  /** Changes with each successful import (for HTTP caching of the guide). */
  stamp(): string;
  /** The last successful import, or null. */
  lastReport(): { atMs: number; source: string; report: EpgImportReport } | null;
  settings(): EpgSettings;
  /**
   * Changes the given settings (null url: no scheduled refresh).
   * @throws StoreError ROOMCAST_ERR_STORE_INVALID naming every invalid field.
   */
  setSettings(patch: Partial<EpgSettings>): EpgSettings;
}

/**
 * A second import while one runs. Its code is ROOMCAST_ERR_STORE_INVALID
 * (400) until errors.ts has a code of its own for it; the API should answer
 * 409 Conflict (test `instanceof`).
 */
export class EpgImportBusyError extends StoreError {
  override readonly name = 'EpgImportBusyError';
  constructor(source: string, startedAtMs: number) {
    super(StoreErrorCode.invalid, `an EPG import is already running (from ${source}, started ${new Date(startedAtMs).toISOString()}): try again when it has finished`);
  }
}

interface ProgrammeRow {
  tvg_id: string;
  start_ms: number;
  stop_ms: number;
  title: string;
  sub_title: string | null;
  description: string | null;
  categories: string;
  episode: string | null;
  episode_system: EpisodeSystem | null;
  icon: string | null;
}

interface StagedRow extends Omit<ProgrammeRow, 'stop_ms'> {
  seq: number;
  stop_ms: number | null;
  line: number;
}

function fromRow(r: ProgrammeRow): EpgProgramme {
  return {
    tvgId: r.tvg_id,
    startMs: r.start_ms,
    stopMs: r.stop_ms,
    title: r.title,
    subTitle: r.sub_title,
    description: r.description,
    categories: JSON.parse(r.categories) as string[],
    episode: r.episode,
    episodeSystem: r.episode_system,
    icon: r.icon,
  };
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export function createEpgRepository(db: Database.Database, now: () => number): EpgRepository {
  // Prepared when first used: a store opened with an older migration list (tests) has no EPG tables.
  const q = lazy(() => prepare(db));
  let running: { source: string; startedAtMs: number } | null = null;

  async function runImport(source: XmltvSource, opts: EpgImportOptions): Promise<EpgImportReport> {
    const t0 = performance.now();
    const startedAtMs = now();
    const known = new Set(opts.channels);
    const tally = new SkipTally();
    const report: EpgImportReport = {
      source: opts.source,
      startedAtMs,
      channelsInFile: 0,
      channelsKept: 0,
      programmesInFile: 0,
      programmesKept: 0,
      skipped: tally.counts,
      examples: tally.examples,
      pruned: 0,
      bytesRead: 0,
      bytesDecoded: 0,
      gzip: false,
      ms: 0,
      swapMs: 0,
    };
    const s = staging(db);
    s.clear();
    await collectGarbage();
    const gen = q().nextGen.get()!.value;
    // Bounded by the lineup: only channels in `known` are handed over.
    const feedChannels = new Map<string, XmltvChannel>();
    const keptChannels = new Set<string>();
    let swapped = false;
    try {
      // Phase 1: read and stage.
      const read = await readXmltv(
        source,
        {
          channel: (c) => void feedChannels.set(c.id, c),
          programmes: async (batch) => {
            s.stageBatch(batch);
            await yieldToLoop();
          },
        },
        { channels: known, nowMs: startedAtMs, tally, signal: opts.signal, maxDecodedBytes: opts.maxDecodedBytes, batchSize: EPG_BATCH_ROWS },
      );
      report.channelsInFile = read.channelsInFile;
      report.programmesInFile = read.programmesInFile;
      report.bytesRead = read.bytesRead;
      report.bytesDecoded = read.bytesDecoded;
      report.gzip = read.gzip;
      if (read.error !== undefined) {
        report.error = read.error;
        return report;
      }

      // Phase 2: per channel, in start order, a page at a time, into the new generation.
      for (const tvgId of s.stagedChannels()) {
        let kept: EpgProgramme[] = [];
        const seq = new ChannelSequencer(tally, (p) => kept.push(p));
        let after = { startMs: -Infinity, seq: -1 };
        // Each page advances `after`: the loop ends after (staged rows ÷ page) + 1 rounds.
        for (;;) {
          const page = s.page(tvgId, after.startMs, after.seq);
          for (const r of page) seq.push(stagedToProgramme(r));
          if (page.length < EPG_BATCH_ROWS) seq.end();
          if (kept.length > 0) {
            keepBatch(gen, kept);
            keptChannels.add(tvgId);
          }
          report.programmesKept += kept.length;
          kept = [];
          // After every page, a channel's last one too: 300 channels of 500 programmes are 300 pages, ~2 s on one stretch otherwise (measured).
          await yieldToLoop();
          if (page.length < EPG_BATCH_ROWS || opts.signal?.aborted) break;
          const last = page[page.length - 1];
          after = { startMs: last.start_ms, seq: last.seq };
        }
        if (opts.signal?.aborted) {
          report.error = 'aborted';
          return report;
        }
      }

      // Phase 3: the swap, in one transaction of a few rows per channel.
      const t1 = performance.now();
      const finishedAtMs = now();
      db.transaction(() => {
        const { currentGen, setCurrent, markGarbage, unmarkGarbage, upsertChannel, currentAll, prune, saveReport } = q();
        for (const id of keptChannels) {
          const old = currentGen.get(id);
          if (old) markGarbage.run(id, old.gen);
          setCurrent.run(id, gen);
          unmarkGarbage.run(id, gen);
        }
        report.channelsKept = keptChannels.size;
        for (const c of feedChannels.values()) upsertChannel.run(c.id, c.displayName, c.icon, finishedAtMs);
        // Per channel a primary-key range: stop < cutoff implies start < cutoff.
        const cutoff = finishedAtMs - EPG_KEEP_PAST_MS;
        for (const c of currentAll.all()) report.pruned += prune.run(c.tvg_id, c.gen, cutoff, cutoff).changes;
        report.swapMs = Math.round(performance.now() - t1);
        report.ms = Math.round(performance.now() - t0);
        saveReport.run(finishedAtMs, opts.source, JSON.stringify(report));
        s.clear();
      }).immediate();
      swapped = true;
      return report;
    } finally {
      report.ms = Math.round(performance.now() - t0);
      // A closed connection (the headend stopping) has nothing left to clean: epg_garbage remembers.
      if (db.open) {
        if (!swapped) s.clear();
        await collectGarbage();
      }
    }
  }

  /** Writes programmes kept by phase 2 under generation `gen`, marked as garbage until the swap makes it current. */
  function keepBatch(gen: number, batch: readonly EpgProgramme[]): void {
    const { insProgramme, markGarbage } = q();
    db.transaction(() => {
      markGarbage.run(batch[0].tvgId, gen);
      for (const p of batch) {
        insProgramme.run(p.tvgId, gen, p.startMs, p.stopMs, p.title, p.subTitle, p.description, JSON.stringify(p.categories), p.episode, p.episodeSystem, p.icon);
      }
    })();
  }

  /** Phase 4: deletes the generations listed in epg_garbage, EPG_BATCH_ROWS rows a transaction. */
  async function collectGarbage(): Promise<void> {
    const { garbage, delGarbageRows, unmarkGarbage } = q();
    // Each round deletes a full batch or removes one pair from the list: bounded by rows ÷ batch + pairs.
    for (;;) {
      const g = garbage.get();
      if (!g || !db.open) return;
      const n = delGarbageRows.run(g.tvg_id, g.gen, g.tvg_id, g.gen, EPG_BATCH_ROWS).changes;
      if (n < EPG_BATCH_ROWS) unmarkGarbage.run(g.tvg_id, g.gen);
      await yieldToLoop();
    }
  }

  return {
    async import(source, opts) {
      if (running !== null) throw new EpgImportBusyError(running.source, running.startedAtMs);
      running = { source: opts.source, startedAtMs: now() };
      try {
        return await runImport(source, opts);
      } finally {
        running = null;
      }
    },
    importing: () => running !== null,
    programmes(tvgId, fromMs, toMs) {
      return q().range.all(tvgId, fromMs - MAX_PROGRAMME_MS, toMs, fromMs, EPG_RANGE_MAX_ROWS).map(fromRow);
    },
    nowNext(tvgIds, atMs) {
      const out = new Map<string, EpgNowNext>();
      if (tvgIds.length === 0) return out;
      if (tvgIds.length > NOW_NEXT_MAX_IDS) throw new StoreError(StoreErrorCode.invalid, `nowNext: ${tvgIds.length} ids, more than ${NOW_NEXT_MAX_IDS}`);
      const ids = JSON.stringify(tvgIds);
      for (const r of q().nowRows.all(ids, atMs, atMs)) out.set(r.tvg_id, { now: fromRow(r), next: null });
      for (const r of q().nextRows.all(ids, atMs)) {
        const e = out.get(r.tvg_id);
        if (e) e.next = fromRow(r);
        else out.set(r.tvg_id, { now: null, next: fromRow(r) });
      }
      return out;
    },
    byStart(tvgId, startMs) {
      const r = q().byStart.get(tvgId, startMs);
      return r ? fromRow(r) : null;
    },
    *iterateProgrammes(tvgIds, fromMs = -Number.MAX_SAFE_INTEGER, toMs = Number.MAX_SAFE_INTEGER) {
      const { range } = q();
      for (const id of new Set(tvgIds)) {
        // Keyset paging: each page starts after the last start read; bounded by the channel's row count.
        let after = fromMs - MAX_PROGRAMME_MS - 1;
        for (;;) {
          const rows = range.all(id, after, toMs, fromMs, EPG_BATCH_ROWS);
          for (const r of rows) yield fromRow(r);
          if (rows.length < EPG_BATCH_ROWS) break;
          after = rows[rows.length - 1].start_ms;
        }
      }
    },
    channels() {
      return q().channels.all().map((r) => ({ tvgId: r.tvg_id, displayName: r.display_name, icon: r.icon, updatedAtMs: r.updated_at_ms }));
    },
    stamp() {
      const r = q().stamp.get();
      return r ? `${r.generation}-${r.finished_at_ms}` : '0-0';
    },
    lastReport() {
      const r = q().lastReport.get();
      return r ? { atMs: r.finished_at_ms, source: r.source, report: JSON.parse(r.report) as EpgImportReport } : null;
    },
    settings() {
      return readSettings(q().settings.all());
    },
    setSettings(patch) {
      const problems: string[] = [];
      if (patch.url !== undefined && patch.url !== null) {
        let ok = typeof patch.url === 'string' && patch.url.length <= URL_MAX_CHARS;
        if (ok) {
          try {
            const u = new URL(patch.url);
            ok = u.protocol === 'http:' || u.protocol === 'https:';
          } catch {
            ok = false;
          }
        }
        if (!ok) problems.push(`epg.url: ${JSON.stringify(String(patch.url).slice(0, 80))} is not an http(s) URL of at most ${URL_MAX_CHARS} characters`);
      }
      if (patch.refreshHours !== undefined) {
        const h = patch.refreshHours;
        if (!Number.isInteger(h) || h < EPG_REFRESH_HOURS_MIN || h > EPG_REFRESH_HOURS_MAX) {
          problems.push(`epg.refreshHours: ${String(h)} is not a whole number of hours from ${EPG_REFRESH_HOURS_MIN} to ${EPG_REFRESH_HOURS_MAX}`);
        }
      }
      if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      const { putSetting, delSetting } = q();
      db.transaction(() => {
        if (patch.url === null) delSetting.run('url');
        else if (patch.url !== undefined) putSetting.run('url', JSON.stringify(patch.url));
        if (patch.refreshHours !== undefined) putSetting.run('refreshHours', JSON.stringify(patch.refreshHours));
      })();
      return readSettings(q().settings.all());
    },
  };
}

function readSettings(rows: { key: string; value: string }[]): EpgSettings {
  const s: EpgSettings = { url: null, refreshHours: EPG_REFRESH_HOURS_DEFAULT };
  for (const r of rows) {
    if (r.key === 'url') s.url = JSON.parse(r.value) as string;
    else if (r.key === 'refreshHours') s.refreshHours = JSON.parse(r.value) as number;
  }
  return s;
}

function stagedToProgramme(r: StagedRow): XmltvProgramme {
  return { ...fromRow({ ...r, stop_ms: 0 }), stopMs: r.stop_ms, line: r.line };
}

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

const P = 'p.tvg_id, p.start_ms, p.stop_ms, p.title, p.sub_title, p.description, p.categories, p.episode, p.episode_system, p.icon';

/** The guide's read queries, exported so that a test can check their plans (EXPLAIN QUERY PLAN) on the real text. All read the current generation. */
export const EPG_QUERIES = {
  // start_ms > from − 24 h bounds the primary-key scan (no programme lasts longer); stop_ms > from does the rest.
  range: `SELECT ${P} FROM epg_current c JOIN epg_programmes p ON p.tvg_id = c.tvg_id AND p.gen = c.gen
     WHERE c.tvg_id = ? AND p.start_ms > ? AND p.start_ms < ? AND p.stop_ms > ? ORDER BY p.start_ms LIMIT ?`,
  // Per id one primary-key seek: the last start ≤ at (programmes never overlap, so it is the only candidate), kept if it has not ended.
  now: `SELECT ${P} FROM json_each(?) AS ids
     JOIN epg_current c ON c.tvg_id = ids.value
     JOIN epg_programmes p ON p.tvg_id = c.tvg_id AND p.gen = c.gen
      AND p.start_ms = (SELECT start_ms FROM epg_programmes WHERE tvg_id = c.tvg_id AND gen = c.gen AND start_ms <= ? ORDER BY start_ms DESC LIMIT 1)
     WHERE p.stop_ms > ?`,
  // Per id one primary-key seek: the first start after at.
  next: `SELECT ${P} FROM json_each(?) AS ids
     JOIN epg_current c ON c.tvg_id = ids.value
     JOIN epg_programmes p ON p.tvg_id = c.tvg_id AND p.gen = c.gen
      AND p.start_ms = (SELECT start_ms FROM epg_programmes WHERE tvg_id = c.tvg_id AND gen = c.gen AND start_ms > ? ORDER BY start_ms LIMIT 1)`,
} as const;

/** Range queries return at most this many rows (a day has a few dozen programmes; 30 days of 5-minute slots is 8640). */
export const EPG_RANGE_MAX_ROWS = 10_000;

function prepare(db: Database.Database) {
  const range = db.prepare<[string, number, number, number, number], ProgrammeRow>(EPG_QUERIES.range);
  const nowRows = db.prepare<[string, number, number], ProgrammeRow>(EPG_QUERIES.now);
  const nextRows = db.prepare<[string, number], ProgrammeRow>(EPG_QUERIES.next);
  const byStart = db.prepare<[string, number], ProgrammeRow>(
    `SELECT ${P} FROM epg_current c JOIN epg_programmes p ON p.tvg_id = c.tvg_id AND p.gen = c.gen WHERE c.tvg_id = ? AND p.start_ms = ?`,
  );
  const channels = db.prepare<[], { tvg_id: string; display_name: string | null; icon: string | null; updated_at_ms: number }>(
    'SELECT tvg_id, display_name, icon, updated_at_ms FROM epg_channels ORDER BY tvg_id',
  );
  const upsertChannel = db.prepare<[string, string | null, string | null, number]>(
    `INSERT INTO epg_channels (tvg_id, display_name, icon, updated_at_ms) VALUES (?, ?, ?, ?)
     ON CONFLICT (tvg_id) DO UPDATE SET display_name = excluded.display_name, icon = excluded.icon, updated_at_ms = excluded.updated_at_ms`,
  );
  const nextGen = db.prepare<[], { value: number }>(`UPDATE counters SET value = value + 1 WHERE name = 'epg_generation' RETURNING value`);
  const insProgramme = db.prepare<[string, number, number, number, string, string | null, string | null, string, string | null, string | null, string | null]>(
    `INSERT INTO epg_programmes (tvg_id, gen, start_ms, stop_ms, title, sub_title, description, categories, episode, episode_system, icon)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const currentGen = db.prepare<[string], { gen: number }>('SELECT gen FROM epg_current WHERE tvg_id = ?');
  const currentAll = db.prepare<[], { tvg_id: string; gen: number }>('SELECT tvg_id, gen FROM epg_current');
  const setCurrent = db.prepare<[string, number]>('INSERT INTO epg_current (tvg_id, gen) VALUES (?, ?) ON CONFLICT (tvg_id) DO UPDATE SET gen = excluded.gen');
  const markGarbage = db.prepare<[string, number]>('INSERT OR IGNORE INTO epg_garbage (tvg_id, gen) VALUES (?, ?)');
  const unmarkGarbage = db.prepare<[string, number]>('DELETE FROM epg_garbage WHERE tvg_id = ? AND gen = ?');
  const garbage = db.prepare<[], { tvg_id: string; gen: number }>('SELECT tvg_id, gen FROM epg_garbage LIMIT 1');
  const delGarbageRows = db.prepare<[string, number, string, number, number]>(
    `DELETE FROM epg_programmes WHERE tvg_id = ? AND gen = ? AND start_ms IN
     (SELECT start_ms FROM epg_programmes WHERE tvg_id = ? AND gen = ? ORDER BY start_ms LIMIT ?)`,
  );
  const prune = db.prepare<[string, number, number, number]>('DELETE FROM epg_programmes WHERE tvg_id = ? AND gen = ? AND start_ms < ? AND stop_ms < ?');
  const saveReport = db.prepare<[number, string, string]>(
    `INSERT INTO epg_import (id, generation, finished_at_ms, source, report) VALUES (1, 1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET generation = generation + 1, finished_at_ms = excluded.finished_at_ms, source = excluded.source, report = excluded.report`,
  );
  const stamp = db.prepare<[], { generation: number; finished_at_ms: number }>('SELECT generation, finished_at_ms FROM epg_import WHERE id = 1');
  const lastReport = db.prepare<[], { finished_at_ms: number; source: string; report: string }>('SELECT finished_at_ms, source, report FROM epg_import WHERE id = 1');
  const settings = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM epg_settings');
  const putSetting = db.prepare<[string, string]>('INSERT INTO epg_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const delSetting = db.prepare<[string]>('DELETE FROM epg_settings WHERE key = ?');
  return {
    range,
    nowRows,
    nextRows,
    byStart,
    channels,
    upsertChannel,
    nextGen,
    insProgramme,
    currentGen,
    currentAll,
    setCurrent,
    markGarbage,
    unmarkGarbage,
    garbage,
    delGarbageRows,
    prune,
    saveReport,
    stamp,
    lastReport,
    settings,
    putSetting,
    delSetting,
  };
}

/**
 * The import's TEMP staging table and its statements, made on first use
 * (TEMP tables belong to the connection; CREATE … IF NOT EXISTS makes this
 * idempotent): what the read passed, in file order (seq).
 */
const stagingOf = new WeakMap<Database.Database, ReturnType<typeof makeStaging>>();
function staging(db: Database.Database): ReturnType<typeof makeStaging> {
  let s = stagingOf.get(db);
  if (!s) {
    s = makeStaging(db);
    stagingOf.set(db, s);
  }
  return s;
}

function makeStaging(db: Database.Database) {
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS epg_staging (
      seq            INTEGER PRIMARY KEY,
      tvg_id         TEXT    NOT NULL,
      start_ms       INTEGER NOT NULL,
      stop_ms        INTEGER,
      line           INTEGER NOT NULL,
      title          TEXT    NOT NULL,
      sub_title      TEXT,
      description    TEXT,
      categories     TEXT    NOT NULL,
      episode        TEXT,
      episode_system TEXT,
      icon           TEXT
    ) STRICT;
    CREATE INDEX IF NOT EXISTS temp.epg_staging_order ON epg_staging (tvg_id, start_ms, seq);
  `);
  const insStaged = db.prepare<[string, number, number | null, number, string, string | null, string | null, string, string | null, string | null, string | null]>(
    `INSERT INTO temp.epg_staging (tvg_id, start_ms, stop_ms, line, title, sub_title, description, categories, episode, episode_system, icon)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const channels = db.prepare<[], { tvg_id: string }>('SELECT DISTINCT tvg_id FROM temp.epg_staging ORDER BY tvg_id');
  // A row value, so that the next page is one index seek (start_ms, seq), not a filter over the channel's rows.
  const page = db.prepare<[string, number, number, number], StagedRow>(
    `SELECT seq, tvg_id, start_ms, stop_ms, line, title, sub_title, description, categories, episode, episode_system, icon
     FROM temp.epg_staging WHERE tvg_id = ? AND (start_ms, seq) > (?, ?) ORDER BY start_ms, seq LIMIT ?`,
  );
  const clearStaged = db.prepare('DELETE FROM temp.epg_staging');

  const stageBatch = db.transaction((batch: readonly XmltvProgramme[]) => {
    for (const p of batch) {
      insStaged.run(p.tvgId, p.startMs, p.stopMs, p.line, p.title, p.subTitle, p.description, JSON.stringify(p.categories), p.episode, p.episodeSystem, p.icon);
    }
  });
  return {
    stageBatch: (batch: readonly XmltvProgramme[]): void => void stageBatch(batch),
    stagedChannels: (): string[] => channels.all().map((r) => r.tvg_id),
    page: (tvgId: string, afterStartMs: number, afterSeq: number): StagedRow[] => page.all(tvgId, afterStartMs, afterSeq, EPG_BATCH_ROWS),
    clear: (): void => void clearStaged.run(),
  };
}
