/**
 * STB agent reports: the latest per agent (the fleet table) and a short
 * history per agent (the channel detail's "recent zaps", loss trends).
 *
 * Bounded twice: each agent keeps its newest `historyPerAgent` reports
 * (trimmed on insert), and at most `maxAgents` agents are kept (the least
 * recently seen goes when a new one reports). Agents report every few
 * seconds for ever: without the bounds the database grows by a row per
 * report per room until the disk is full.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';

export const DEFAULT_STB_HISTORY_PER_AGENT = 100;
export const DEFAULT_STB_MAX_AGENTS = 10_000;
/** One report as JSON text; the API refuses bigger bodies before this (16 KiB). */
export const STB_REPORT_MAX_BYTES = 64 * 1024;

export interface StbReportInput {
  agentId: string;
  label: string | null;
  /** The address the report came from. */
  ip: string | null;
  /** Channel the agent is tuned to, null when idle. */
  channel: number | null;
  /** The whole report (zaps, counters …), any JSON value. */
  report: unknown;
}

export interface StoredStb {
  agentId: string;
  label: string | null;
  ip: string | null;
  channel: number | null;
  report: unknown;
  /** Reports received from this agent. */
  reports: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface StbHistoryEntry {
  id: number;
  atMs: number;
  channel: number | null;
  report: unknown;
}

export interface StbRepository {
  /** Stores a report as the agent's latest and appends it to its history. */
  record(report: StbReportInput): StoredStb;
  /** Every agent, most recently seen first. */
  list(): StoredStb[];
  get(agentId: string): StoredStb | null;
  /** Newest first, at most `limit` (default and maximum: historyPerAgent). */
  history(agentId: string, limit?: number): StbHistoryEntry[];
  /** Forgets an agent and its history. */
  delete(agentId: string): boolean;
}

interface StbRow {
  agent_id: string;
  label: string | null;
  ip: string | null;
  channel: number | null;
  report: string;
  reports: number;
  first_seen_ms: number;
  last_seen_ms: number;
}

const STB_COLUMNS = 'agent_id, label, ip, channel, report, reports, first_seen_ms, last_seen_ms';

export function createStbRepository(
  db: Database.Database,
  now: () => number,
  opts: { historyPerAgent?: number; maxAgents?: number } = {},
): StbRepository {
  const historyPerAgent = Math.max(1, opts.historyPerAgent ?? DEFAULT_STB_HISTORY_PER_AGENT);
  const maxAgents = Math.max(1, opts.maxAgents ?? DEFAULT_STB_MAX_AGENTS);
  const upsert = db.prepare<{ agentId: string; label: string | null; ip: string | null; channel: number | null; report: string; t: number }, StbRow>(
    `INSERT INTO stbs (agent_id, label, ip, channel, report, reports, first_seen_ms, last_seen_ms)
     VALUES (:agentId, :label, :ip, :channel, :report, 1, :t, :t)
     ON CONFLICT (agent_id) DO UPDATE SET
       label = excluded.label, ip = excluded.ip, channel = excluded.channel, report = excluded.report,
       reports = reports + 1, last_seen_ms = excluded.last_seen_ms
     RETURNING ${STB_COLUMNS}`,
  );
  const insHistory = db.prepare<[string, number, number | null, string]>('INSERT INTO stb_history (agent_id, at_ms, channel, report) VALUES (?, ?, ?, ?)');
  // Everything older than the agent's historyPerAgent-th newest report (index stb_history_by_agent).
  const trimHistory = db.prepare<{ agentId: string; keep: number }>(
    `DELETE FROM stb_history WHERE agent_id = :agentId AND id <=
       (SELECT id FROM stb_history WHERE agent_id = :agentId ORDER BY id DESC LIMIT 1 OFFSET :keep)`,
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM stbs');
  const evict = db.prepare<[string, number]>(
    'DELETE FROM stbs WHERE agent_id IN (SELECT agent_id FROM stbs WHERE agent_id <> ? ORDER BY last_seen_ms ASC, agent_id LIMIT ?)',
  );
  const all = db.prepare<[], StbRow>(`SELECT ${STB_COLUMNS} FROM stbs ORDER BY last_seen_ms DESC, agent_id`);
  const one = db.prepare<[string], StbRow>(`SELECT ${STB_COLUMNS} FROM stbs WHERE agent_id = ?`);
  const hist = db.prepare<[string, number], { id: number; at_ms: number; channel: number | null; report: string }>(
    'SELECT id, at_ms, channel, report FROM stb_history WHERE agent_id = ? ORDER BY id DESC LIMIT ?',
  );
  const del = db.prepare<[string]>('DELETE FROM stbs WHERE agent_id = ?');

  const recordTx = db.transaction((r: StbReportInput, json: string, t: number): StbRow => {
    const row = upsert.get({ agentId: r.agentId, label: r.label, ip: r.ip, channel: r.channel, report: json, t })!;
    if (row.reports === 1) {
      // A new agent: make room by forgetting the least recently seen others.
      const excess = count.get()!.n - maxAgents;
      if (excess > 0) evict.run(r.agentId, excess);
    }
    insHistory.run(r.agentId, t, r.channel, json);
    trimHistory.run({ agentId: r.agentId, keep: historyPerAgent });
    return row;
  });

  return {
    record(r) {
      const problems: string[] = [];
      if (typeof r.agentId !== 'string' || r.agentId === '' || r.agentId.length > 128) problems.push('agentId: must be a string of 1 to 128 characters');
      if (r.channel !== null && !Number.isInteger(r.channel)) problems.push(`channel: ${String(r.channel)} is not an integer or null`);
      let json = '';
      try {
        json = JSON.stringify(r.report ?? null);
      } catch (err) {
        problems.push(`report: not JSON-serialisable (${(err as Error).message})`);
      }
      if (Buffer.byteLength(json) > STB_REPORT_MAX_BYTES) problems.push(`report: larger than ${STB_REPORT_MAX_BYTES} bytes`);
      if (problems.length > 0) throw new StoreError(StoreErrorCode.invalid, problems.join('; '));
      return toStb(recordTx.immediate({ ...r, label: r.label ?? null, ip: r.ip ?? null }, json, now()));
    },
    list: () => all.all().map(toStb),
    get(agentId) {
      const row = one.get(agentId);
      return row ? toStb(row) : null;
    },
    history(agentId, limit = historyPerAgent) {
      const n = Number.isFinite(limit) ? Math.min(historyPerAgent, Math.max(1, Math.trunc(limit))) : historyPerAgent;
      return hist.all(agentId, n).map((h) => ({ id: h.id, atMs: h.at_ms, channel: h.channel, report: JSON.parse(h.report) as unknown }));
    },
    delete: (agentId) => del.run(agentId).changes > 0,
  };
}

function toStb(r: StbRow): StoredStb {
  return {
    agentId: r.agent_id,
    label: r.label,
    ip: r.ip,
    channel: r.channel,
    report: JSON.parse(r.report) as unknown,
    reports: r.reports,
    firstSeenMs: r.first_seen_ms,
    lastSeenMs: r.last_seen_ms,
  };
}
