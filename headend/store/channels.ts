/**
 * The channel lineup in SQLite: `channels` (one row per channel, the parts
 * of its ChannelConfig that are queried or constrained as columns, the rest
 * as JSON) and `inputs` (its sources in order of preference).
 *
 * Every write is one IMMEDIATE transaction: a channel and its inputs are
 * saved together or not at all, and `reorder` / `replaceAll` apply whole or
 * not at all. Every save takes a new version (optimistic concurrency: the
 * API sends the version it read, a stale one is refused with the current
 * one, HTTP 409).
 *
 * Synchronous, main thread only (DESIGN.md "Processes and threads").
 */
import type Database from 'better-sqlite3';
import type { ChannelConfig, ChannelSource } from '../../core/lineup/config.js';
import { ChannelNumberTakenError, ChannelVersionConflictError, StoreError, StoreErrorCode, isUniqueViolation } from './errors.js';

/** Channel numbers the lineup allows (core/lineup/config.ts checkChannel). */
export const CHANNEL_NUMBER_MIN = 1;
export const CHANNEL_NUMBER_MAX = 9999;
/** A primary and up to 7 backups (core/lineup/config.ts). */
export const CHANNEL_INPUTS_MAX = 8;

export interface StoredChannel {
  /** Row id: stable across renumbering, never reused while the row exists. */
  id: number;
  /** Changes on every save; unique across all channels (see 001-initial.ts `counters`). */
  version: number;
  /** Order in an exported channels.yaml; the lineup is ordered by number. */
  position: number;
  createdAtMs: number;
  updatedAtMs: number;
  config: ChannelConfig;
}

/** One renumbering of a reorder: the channel numbered `from` becomes `to`. */
export type ChannelMove = readonly [from: number, to: number];

export interface ChannelRepository {
  /** Every channel, ordered by number. */
  list(): StoredChannel[];
  get(number: number): StoredChannel | null;
  /** Adds a channel at the end of the export order. @throws ChannelNumberTakenError, StoreError invalid */
  create(config: ChannelConfig): StoredChannel;
  /**
   * Replaces the channel numbered `number` (config.number may differ: that
   * renumbers it) if its stored version is still `expectedVersion`.
   * @throws ChannelVersionConflictError (carries the current version), StoreError channelNotFound,
   *   ChannelNumberTakenError, StoreError invalid
   */
  update(number: number, config: ChannelConfig, expectedVersion: number): StoredChannel;
  /** Deletes the channel and its inputs; with `expectedVersion`, only if unchanged. Returns what was deleted. */
  delete(number: number, expectedVersion?: number): StoredChannel;
  /**
   * Renumbers several channels at once (drag and drop, swaps included):
   * every `from` must exist, no two moves share a `from` or a `to`, and no
   * `to` may be held by a channel that is not moved. Applied atomically.
   * Returns the moved channels, in the order of `moves`.
   */
  reorder(moves: readonly ChannelMove[]): StoredChannel[];
  /** The whole lineup replaced in one transaction (YAML import): all or nothing. Returns the new lineup. */
  replaceAll(configs: readonly ChannelConfig[]): StoredChannel[];
  isEmpty(): boolean;
  count(): number;
  /**
   * Changes whenever the lineup does: every save takes a new, higher version
   * (unique across channels), and a delete changes the count. For caches of
   * what is made from the whole lineup (the API's GET /api/channels).
   */
  stamp(): string;
}

interface ChannelRow {
  id: number;
  number: number;
  name: string;
  guide_group: string;
  enabled: number;
  position: number;
  version: number;
  created_at_ms: number;
  updated_at_ms: number;
  config: string;
}

interface InputRow {
  channel_id: number;
  config: string;
}

/** The ChannelConfig fields kept in the `config` JSON column: all but the columns and the inputs. */
type ChannelRest = Omit<ChannelConfig, 'number' | 'name' | 'group' | 'enabled' | 'source' | 'inputs'>;

const CHANNEL_COLUMNS = 'id, number, name, guide_group, enabled, position, version, created_at_ms, updated_at_ms, config';

export function createChannelRepository(db: Database.Database, now: () => number): ChannelRepository {
  const sel = {
    all: db.prepare<[], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY number`),
    allInputs: db.prepare<[], InputRow>('SELECT channel_id, config FROM inputs ORDER BY channel_id, position'),
    byNumber: db.prepare<[number], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE number = ?`),
    inputsOf: db.prepare<[number], InputRow>('SELECT channel_id, config FROM inputs WHERE channel_id = ? ORDER BY position'),
    nameByNumber: db.prepare<[number], { id: number; name: string }>('SELECT id, name FROM channels WHERE number = ?'),
    exists: db.prepare<[], { e: number }>('SELECT EXISTS (SELECT 1 FROM channels) AS e'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM channels'),
    stamp: db.prepare<[], { v: number; n: number }>('SELECT coalesce(max(version), 0) AS v, count(*) AS n FROM channels'),
    nextPosition: db.prepare<[], { p: number }>('SELECT coalesce(max(position), -1) + 1 AS p FROM channels'),
  };
  const nextVersion = db.prepare<[], { value: number }>(`UPDATE counters SET value = value + 1 WHERE name = 'channel_version' RETURNING value`);
  const ins = db.prepare<[number, string, string, number, number, number, number, number, string], { id: number }>(
    `INSERT INTO channels (number, name, guide_group, enabled, position, version, created_at_ms, updated_at_ms, config)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const upd = db.prepare<[number, string, string, number, number, number, string, number]>(
    `UPDATE channels SET number = ?, name = ?, guide_group = ?, enabled = ?, version = ?, updated_at_ms = ?, config = ? WHERE id = ?`,
  );
  const renumber = db.prepare<[number, number, number, number]>('UPDATE channels SET number = ?, version = ?, updated_at_ms = ? WHERE id = ?');
  const park = db.prepare<[number]>('UPDATE channels SET number = -id WHERE id = ?');
  const del = db.prepare<[number]>('DELETE FROM channels WHERE id = ?');
  const delAll = db.prepare('DELETE FROM channels');
  const insInput = db.prepare<[number, number, string]>('INSERT INTO inputs (channel_id, position, config) VALUES (?, ?, ?)');
  const delInputs = db.prepare<[number]>('DELETE FROM inputs WHERE channel_id = ?');

  const version = (): number => nextVersion.get()!.value;

  const load = (row: ChannelRow): StoredChannel => toStored(row, sel.inputsOf.all(row.id).map((r) => JSON.parse(r.config) as ChannelSource));

  const getRow = (number: number): ChannelRow | undefined => (Number.isInteger(number) ? sel.byNumber.get(number) : undefined);

  const notFound = (number: number): StoreError => new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);

  const writeInputs = (channelId: number, inputs: readonly ChannelSource[]): void => {
    delInputs.run(channelId);
    inputs.forEach((src, i) => insInput.run(channelId, i, JSON.stringify(src)));
  };

  /** Inserts a checked config; a taken number → ChannelNumberTakenError naming the holder. */
  const insert = (cfg: ChannelConfig, position: number, holderHint?: (n: number) => string): number => {
    const t = now();
    let id: number;
    try {
      id = ins.get(cfg.number, cfg.name, cfg.group, cfg.enabled ? 1 : 0, position, version(), t, t, restJson(cfg))!.id;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ChannelNumberTakenError(cfg.number, holderHint?.(cfg.number) ?? holder(cfg.number));
      throw err;
    }
    writeInputs(id, cfg.inputs);
    return id;
  };

  const holder = (n: number): string => {
    const h = sel.nameByNumber.get(n);
    return h ? ` by "${h.name}"` : '';
  };

  const createTx = db.transaction((cfg: ChannelConfig): StoredChannel => {
    insert(cfg, sel.nextPosition.get()!.p);
    return load(sel.byNumber.get(cfg.number)!);
  });

  const updateTx = db.transaction((number: number, cfg: ChannelConfig, expectedVersion: number): StoredChannel => {
    const row = getRow(number);
    if (!row) throw notFound(number);
    if (row.version !== expectedVersion) throw new ChannelVersionConflictError(number, expectedVersion, row.version);
    try {
      upd.run(cfg.number, cfg.name, cfg.group, cfg.enabled ? 1 : 0, version(), now(), restJson(cfg), row.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ChannelNumberTakenError(cfg.number, holder(cfg.number));
      throw err;
    }
    writeInputs(row.id, cfg.inputs);
    return load(sel.byNumber.get(cfg.number)!);
  });

  const deleteTx = db.transaction((number: number, expectedVersion: number | undefined): StoredChannel => {
    const row = getRow(number);
    if (!row) throw notFound(number);
    if (expectedVersion !== undefined && row.version !== expectedVersion) throw new ChannelVersionConflictError(number, expectedVersion, row.version);
    const gone = load(row);
    del.run(row.id); // inputs: ON DELETE CASCADE
    return gone;
  });

  const reorderTx = db.transaction((moves: readonly ChannelMove[]): StoredChannel[] => {
    const ids = moves.map(([from]) => {
      const row = getRow(from);
      if (!row) throw notFound(from);
      return row.id;
    });
    const moved = new Set(ids);
    for (const [from, to] of moves) {
      const h = sel.nameByNumber.get(to);
      if (h && !moved.has(h.id)) throw new ChannelNumberTakenError(to, ` by "${h.name}", which is not moved (moving ${from} → ${to})`);
    }
    // Two passes so swaps and rotations never meet the UNIQUE index half-way:
    // park every moved channel on -id (ids are positive and unique), then
    // give each its new number.
    const t = now();
    moves.forEach(([from, to], i) => {
      if (from !== to) park.run(ids[i]);
    });
    moves.forEach(([from, to], i) => {
      if (from !== to) renumber.run(to, version(), t, ids[i]);
    });
    return moves.map(([, to]) => load(sel.byNumber.get(to)!));
  });

  // Logos belong to the channel row; an import makes new rows: carry each logo to the channel with the same number.
  // Prepared when first used (a store opened with an older migration list, in tests, has no logos table).
  let logoStatements: {
    byNumber: Database.Statement<[], { number: number; media_type: string; data: Buffer; updated_at_ms: number }>;
    insert: Database.Statement<[string, Buffer, number, number]>;
  } | null = null;
  const logoSql = () =>
    (logoStatements ??= {
      byNumber: db.prepare('SELECT c.number, l.media_type, l.data, l.updated_at_ms FROM logos l JOIN channels c ON c.id = l.channel_id'),
      insert: db.prepare('INSERT INTO logos (channel_id, media_type, data, updated_at_ms) SELECT id, ?, ?, ? FROM channels WHERE number = ?'),
    });
  const replaceAllTx = db.transaction((configs: readonly ChannelConfig[]): StoredChannel[] => {
    const logos = logoSql().byNumber.all();
    delAll.run(); // inputs and logos: ON DELETE CASCADE
    const firstIndex = new Map<number, number>();
    configs.forEach((cfg, i) => {
      insert(cfg, i, (n) => ` by channels[${firstIndex.get(n)}] (channels[${i}] repeats it)`);
      firstIndex.set(cfg.number, i);
    });
    for (const l of logos) logoSql().insert.run(l.media_type, l.data, l.updated_at_ms, l.number);
    return list();
  });

  function list(): StoredChannel[] {
    const inputs = new Map<number, ChannelSource[]>();
    for (const r of sel.allInputs.iterate()) {
      let l = inputs.get(r.channel_id);
      if (!l) inputs.set(r.channel_id, (l = []));
      l.push(JSON.parse(r.config) as ChannelSource);
    }
    return sel.all.all().map((row) => toStored(row, inputs.get(row.id) ?? []));
  }

  return {
    list,
    get(number) {
      const row = getRow(number);
      return row ? load(row) : null;
    },
    create(config) {
      throwIfInvalid(checkChannel(config, 'channel'));
      return createTx.immediate(config);
    },
    update(number, config, expectedVersion) {
      throwIfInvalid(checkChannel(config, 'channel'));
      if (!Number.isInteger(expectedVersion)) throw new StoreError(StoreErrorCode.invalid, `expected version: ${String(expectedVersion)} is not an integer`);
      return updateTx.immediate(number, config, expectedVersion);
    },
    delete(number, expectedVersion) {
      return deleteTx.immediate(number, expectedVersion);
    },
    reorder(moves) {
      throwIfInvalid(checkMoves(moves));
      const tos = new Map<number, number>();
      moves.forEach(([from, to]) => {
        const other = tos.get(to);
        if (other !== undefined) throw new ChannelNumberTakenError(to, `: both ${other} and ${from} would move to it`);
        tos.set(to, from);
      });
      return reorderTx.immediate(moves);
    },
    replaceAll(configs) {
      if (!Array.isArray(configs)) throw new StoreError(StoreErrorCode.invalid, 'channels: must be a list');
      throwIfInvalid(configs.flatMap((c, i) => checkChannel(c, `channels[${i}]`)));
      return replaceAllTx.immediate(configs);
    },
    isEmpty: () => sel.exists.get()!.e === 0,
    count: () => sel.count.get()!.n,
    stamp: () => {
      const r = sel.stamp.get()!;
      return `${r.v}-${r.n}`;
    },
  };
}

function restJson(cfg: ChannelConfig): string {
  // Everything but the columns and the inputs, so a field added to
  // ChannelConfig later is kept without a migration.
  const { number: _n, name: _a, group: _g, enabled: _e, source: _s, inputs: _i, ...rest } = cfg;
  return JSON.stringify(rest);
}

function toStored(row: ChannelRow, inputs: ChannelSource[]): StoredChannel {
  const rest = JSON.parse(row.config) as ChannelRest;
  const config: ChannelConfig = {
    ...rest,
    number: row.number,
    name: row.name,
    group: row.guide_group,
    enabled: row.enabled === 1,
    // As validateLineup gives it: the primary is inputs[0], the same object.
    source: inputs[0],
    inputs,
  };
  return { id: row.id, version: row.version, position: row.position, createdAtMs: row.created_at_ms, updatedAtMs: row.updated_at_ms, config };
}

/**
 * The invariants the store relies on. The full validation (addresses,
 * ports, source options) is core/lineup/config.ts's, run by the API and the
 * YAML import before they call the store.
 */
function checkChannel(cfg: ChannelConfig, path: string): string[] {
  const p: string[] = [];
  if (cfg === null || typeof cfg !== 'object') return [`${path}: must be a channel object`];
  if (!isChannelNumber(cfg.number)) p.push(`${path}.number: ${String(cfg.number)} is not an integer from ${CHANNEL_NUMBER_MIN} to ${CHANNEL_NUMBER_MAX}`);
  if (typeof cfg.name !== 'string' || cfg.name.trim() === '') p.push(`${path}.name: must be a non-empty string`);
  if (typeof cfg.group !== 'string') p.push(`${path}.group: must be a string`);
  if (typeof cfg.enabled !== 'boolean') p.push(`${path}.enabled: must be true or false`);
  if (!Array.isArray(cfg.inputs) || cfg.inputs.length < 1 || cfg.inputs.length > CHANNEL_INPUTS_MAX) {
    p.push(`${path}.inputs: must be a list of 1 to ${CHANNEL_INPUTS_MAX} sources`);
  } else if (JSON.stringify(cfg.source) !== JSON.stringify(cfg.inputs[0])) {
    // The store keeps inputs only; a different source would be lost.
    p.push(`${path}.source: must be inputs[0]`);
  }
  return p;
}

function checkMoves(moves: readonly ChannelMove[]): string[] {
  if (!Array.isArray(moves)) return ['moves: must be a list of [from, to] pairs'];
  const p: string[] = [];
  const froms = new Set<number>();
  moves.forEach((m, i) => {
    if (!Array.isArray(m) || m.length !== 2) {
      p.push(`moves[${i}]: must be a [from, to] pair`);
      return;
    }
    const [from, to] = m;
    if (!isChannelNumber(from)) p.push(`moves[${i}][0]: ${String(from)} is not a channel number`);
    if (!isChannelNumber(to)) p.push(`moves[${i}][1]: ${String(to)} is not an integer from ${CHANNEL_NUMBER_MIN} to ${CHANNEL_NUMBER_MAX}`);
    if (froms.has(from)) p.push(`moves[${i}][0]: channel ${from} is moved twice`);
    froms.add(from);
  });
  return p;
}

function isChannelNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= CHANNEL_NUMBER_MIN && n <= CHANNEL_NUMBER_MAX;
}

function throwIfInvalid(problems: string[]): void {
  if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
}
