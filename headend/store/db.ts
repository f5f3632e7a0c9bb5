/**
 * The headend's store: one SQLite file (better-sqlite3 12.x, DESIGN.md
 * "Dependencies") holding the channel lineup, users, sessions, the audit log
 * and STB reports. Once the database exists it is the lineup's source of
 * truth; channels.yaml is imported into an empty one (issue 5).
 *
 * Synchronous on purpose, and on the main thread only (DESIGN.md "Processes
 * and threads"): every call is a few prepared statements on a local file,
 * tens of microseconds, and a synchronous transaction cannot interleave with
 * another request. openStore refuses to run in a worker, where a blocking
 * call would stall the packet path.
 *
 * `openStore(file)` opens (or creates) the file, checks it, applies the
 * pending schema migrations (migrations/), and returns the repositories.
 */
import { isMainThread } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { createAuditRepository, type AuditRepository } from './audit.js';
import { createChannelRepository, type ChannelRepository } from './channels.js';
import { StoreError, StoreErrorCode, isCorruptionError } from './errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { createSessionRepository, type SessionRepository } from './sessions.js';
import { createStbRepository, type StbRepository } from './stbs.js';
import { createLogoRepository, type LogoRepository } from './logos.js';
import { createEpgRepository, type EpgRepository } from './epg.js';
import { createUserRepository, type LoginPolicy, type ScryptParams, type UserRepository } from './users.js';

export interface StoreOptions {
  /**
   * How long a statement waits for a lock another connection holds (an
   * operator's `sqlite3` shell, a backup) before failing with SQLITE_BUSY.
   * It blocks the main thread meanwhile: keep it short. Default 5000.
   */
  busyTimeoutMs?: number;
  /** The clock, ms since the epoch (tests). Default Date.now. */
  now?: () => number;
  /** Skip the `PRAGMA quick_check` at open (O(database size); a few ms for a headend's database). */
  skipQuickCheck?: boolean;
  /** Login sessions last this long. Default 12 h. */
  sessionTtlMs?: number;
  /** Sessions kept per user, oldest dropped first. Default 20. */
  sessionsPerUser?: number;
  /** Lockout after failed logins. Default 5 failures → 15 min. */
  loginPolicy?: LoginPolicy;
  /** Password hashing cost for new hashes. Default N=2^15 r=8 p=1. */
  scrypt?: ScryptParams;
  /** Audit entries kept. Default 100 000. */
  auditMaxRows?: number;
  /** STB reports kept per agent. Default 100. */
  stbHistoryPerAgent?: number;
  /** STB agents kept. Default 10 000. */
  stbMaxAgents?: number;
  /** The migrations to apply instead of the real ones (tests of the migration runner). */
  migrations?: readonly Migration[];
  /** Told about migrations applied at open. */
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface Store {
  /** The database file, as given. */
  readonly file: string;
  /** The schema version of the database (PRAGMA user_version) after the migrations. */
  readonly schemaVersion: number;
  readonly channels: ChannelRepository;
  /** Channel logos (follow renumbering; carried over by an import to the same number). */
  readonly logos: LogoRepository;
  /** The programme guide, imported from XMLTV (issue 6 §4). */
  readonly epg: EpgRepository;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly audit: AuditRepository;
  readonly stbs: StbRepository;
  /**
   * Runs `fn` in one IMMEDIATE transaction, so that several repository calls
   * commit together or not at all (a channel edit and its audit entry).
   * Repository calls inside become savepoints. `fn` must be synchronous:
   * an await inside would commit half-way.
   */
  transaction<T>(fn: () => T): T;
  /** `PRAGMA integrity_check`: `['ok']` for a sound database, else the problems found. */
  integrityCheck(): string[];
  /** The better-sqlite3 connection, for diagnostics and tests. */
  readonly db: Database.Database;
  /** Closes the connection (checkpointing the WAL); the store is unusable afterwards. */
  close(): void;
}

/** WAL bytes kept on disk after a checkpoint; a burst of writes may grow it past this meanwhile. */
const JOURNAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Opens the store at `file` (created if missing; ':memory:' for a throwaway one).
 * @throws StoreError `ROOMCAST_ERR_STORE_OPEN` naming the file when it cannot
 *   be opened, is not a SQLite database or is corrupt;
 *   `ROOMCAST_ERR_STORE_SCHEMA_TOO_NEW` naming both versions when it was
 *   written by a newer headend; `ROOMCAST_ERR_STORE_MIGRATION` when a
 *   migration fails (the database stays at the version before it).
 */
export function openStore(file: string, opts: StoreOptions = {}): Store {
  if (!isMainThread) {
    throw new StoreError(StoreErrorCode.invalid, 'the store runs on the main thread only (DESIGN.md "Processes and threads"): open it there');
  }
  const migrations = opts.migrations ?? MIGRATIONS;
  checkMigrationList(migrations);
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const now = opts.now ?? Date.now;

  let db: Database.Database;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (err) {
    throw new StoreError(StoreErrorCode.open, `${file}: cannot open the database: ${(err as Error).message}`, { cause: err });
  }
  let schemaVersion: number;
  try {
    configure(db, file, busyTimeoutMs);
    if (!opts.skipQuickCheck) {
      const problems = (db.pragma('quick_check(10)') as { quick_check: string }[]).map((r) => r.quick_check);
      if (problems.length !== 1 || problems[0] !== 'ok') {
        throw new StoreError(StoreErrorCode.open, `${file} is corrupt (PRAGMA quick_check: ${problems.join('; ')}); restore a backup or move it away to start empty`);
      }
    }
    schemaVersion = migrate(db, file, migrations, opts.log);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    if (isCorruptionError(err)) {
      throw new StoreError(
        StoreErrorCode.open,
        `${file} is not a SQLite database, or is corrupt (${(err as Error).message}); restore a backup or move it away to start empty`,
        { cause: err },
      );
    }
    throw new StoreError(StoreErrorCode.open, `${file}: cannot open the database: ${(err as Error).message}`, { cause: err });
  }

  const store: Store = {
    file,
    schemaVersion,
    db,
    channels: createChannelRepository(db, now),
    logos: createLogoRepository(db, now),
    epg: createEpgRepository(db, now),
    users: createUserRepository(db, now, { scrypt: opts.scrypt, loginPolicy: opts.loginPolicy }),
    sessions: createSessionRepository(db, now, { ttlMs: opts.sessionTtlMs, perUser: opts.sessionsPerUser }),
    audit: createAuditRepository(db, now, { maxRows: opts.auditMaxRows }),
    stbs: createStbRepository(db, now, { historyPerAgent: opts.stbHistoryPerAgent, maxAgents: opts.stbMaxAgents }),
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    integrityCheck: () => (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check),
    close: () => db.close(),
  };
  return store;
}

function configure(db: Database.Database, file: string, busyTimeoutMs: number): void {
  // The first statement that reads the file: a non-database fails here with SQLITE_NOTADB.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal' && !(db.memory && mode === 'memory')) {
    throw new StoreError(StoreErrorCode.open, `${file}: cannot use WAL mode (journal_mode is ${String(mode)}); is the file on a network filesystem?`);
  }
  // Durable against a killed process (kill -9, a crash, the OOM killer):
  // in WAL mode a commit has appended the transaction to the -wal file with
  // write() before COMMIT returns, and the OS keeps written data when the
  // process dies. SQLite's documentation (pragma.html#pragma_synchronous):
  // "Transactions are durable across application crashes regardless of the
  // synchronous setting or journal mode". NORMAL only skips the fsync per
  // commit (FULL's "additional sync operation of the WAL file after each
  // transaction commit"), so a power cut or kernel crash may roll back the
  // last transactions, never corrupt the database ("WAL mode is always
  // consistent with synchronous=NORMAL"). The first claim is what
  // test/unit/headend/store/durability.test.ts checks with SIGKILL.
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  // Off by default in SQLite, per connection: inputs, sessions and STB
  // history rely on ON DELETE CASCADE.
  db.pragma('foreign_keys = ON');
  // A checkpoint truncates the WAL back to this size: without it a burst of
  // writes leaves a large -wal file behind for good.
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  if (db.pragma('foreign_keys', { simple: true }) !== 1) throw new StoreError(StoreErrorCode.open, `${file}: this SQLite build cannot enforce foreign keys`);
}

/** Applies the migrations above the database's user_version, each in its own transaction. Returns the new version. */
function migrate(db: Database.Database, file: string, migrations: readonly Migration[], log: StoreOptions['log']): number {
  const latest = migrations.length > 0 ? migrations[migrations.length - 1].version : 0;
  const userVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  const current = userVersion();
  if (current > latest) {
    throw new StoreError(
      StoreErrorCode.schemaTooNew,
      `${file}: the database's schema version is ${current}, newer than this headend's ${latest}: ` +
        `it was written by a newer roomcast. Run that version, or restore a backup made by this one.`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    const before = userVersion();
    try {
      // IMMEDIATE: a second headend opening the same file at once waits,
      // then sees the new version and skips the migration.
      db.transaction(() => {
        if (userVersion() >= m.version) return;
        db.exec(m.sql);
        // user_version lives in the database header: it commits or rolls back with the migration.
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (err) {
      if (isCorruptionError(err)) throw err;
      throw new StoreError(
        StoreErrorCode.migration,
        `${file}: schema migration ${m.name} failed, the database stays at version ${before}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    log?.('info', `${file}: applied schema migration ${m.name} (version ${before} → ${m.version})`);
  }
  return userVersion();
}

/** Programmer errors in the migration list: versions must be 1, 2, 3 … in order. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations[${i}] (${m.name}) has version ${m.version}, expected ${i + 1}`);
  });
}
