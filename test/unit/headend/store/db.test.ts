import t from 'tap';
import { openSync, readFileSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openStore } from '../../../../headend/store/db.js';
import { StoreError, StoreErrorCode } from '../../../../headend/store/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../../headend/store/migrations/index.js';
import { channel, tempDir, tempStore } from './fixtures.js';

t.test('creates the schema in a new file: WAL, synchronous=NORMAL, foreign keys on, busy timeout, user_version = the latest migration', async (t) => {
  const logs: string[] = [];
  const { store } = tempStore(t, { busyTimeoutMs: 1234, log: (_l, m) => logs.push(m) });
  t.equal(store.schemaVersion, SCHEMA_VERSION);
  t.equal(store.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(store.db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
  t.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
  t.equal(store.db.pragma('busy_timeout', { simple: true }), 1234);
  t.strictSame(store.integrityCheck(), ['ok']);
  const tables = store.db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
    .all()
    .map((r) => r.name);
  t.strictSame(tables, ['audit', 'channels', 'counters', 'epg_channels', 'epg_current', 'epg_garbage', 'epg_import', 'epg_programmes', 'epg_settings', 'inputs', 'logos', 'sessions', 'stb_history', 'stbs', 'users']);
  t.match(logs, [/001-initial \(version 0 → 1\)/, /002-logos \(version 1 → 2\)/, /003-epg \(version 2 → 3\)/]);
  t.ok(store.channels.isEmpty());
});

t.test('reopening keeps the data and applies no migration again', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'r.db');
  const a = openStore(file);
  a.channels.create(channel(7));
  a.audit.append({ username: 'admin', action: 'channel.create', target: 'channel 7' });
  a.close();
  const logs: string[] = [];
  const b = openStore(file, { log: (_l, m) => logs.push(m) });
  t.teardown(() => b.close());
  t.equal(b.schemaVersion, SCHEMA_VERSION);
  t.strictSame(logs, [], 'nothing to migrate');
  t.equal(b.channels.get(7)?.config.name, 'Channel 7');
  t.equal(b.audit.count(), 1);
});

t.test('applies pending migrations in order, each with its version, from an older database', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'm.db');
  const v1 = openStore(file, { migrations: MIGRATIONS.slice(0, 1) });
  v1.channels.create(channel(3));
  v1.close();
  const logs: string[] = [];
  const extra = [
    ...MIGRATIONS.slice(0, 1),
    { version: 2, name: '002-test-a', sql: 'CREATE TABLE test_a (x INTEGER) STRICT; INSERT INTO test_a VALUES (1);' },
    // Depends on 002: fails if run before it.
    { version: 3, name: '003-test-b', sql: 'CREATE TABLE test_b AS SELECT x + 1 AS y FROM test_a;' },
  ];
  const v3 = openStore(file, { migrations: extra, log: (_l, m) => logs.push(m) });
  t.teardown(() => v3.close());
  t.equal(v3.schemaVersion, 3);
  t.match(logs, [/002-test-a \(version 1 → 2\)/, /003-test-b \(version 2 → 3\)/]);
  t.equal(v3.db.prepare<[], { y: number }>('SELECT y FROM test_b').get()?.y, 2);
  t.equal(v3.channels.get(3)?.config.number, 3, 'data kept');
});

t.test('a failing migration rolls back whole and leaves the database at the version before it', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'f.db');
  openStore(file, { migrations: MIGRATIONS.slice(0, 1) }).close();
  const bad = [...MIGRATIONS.slice(0, 1), { version: 2, name: '002-broken', sql: 'CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);' }];
  t.throws(() => openStore(file, { migrations: bad }), {
    code: StoreErrorCode.migration,
    message: /f\.db: schema migration 002-broken failed, the database stays at version 1: no such table: no_such_table/,
  });
  const raw = new Database(file, { readonly: true });
  t.teardown(() => raw.close());
  t.equal(raw.pragma('user_version', { simple: true }), 1);
  t.strictSame(raw.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'half'`).get(), { n: 0 }, 'the first statement of the migration was rolled back too');
});

t.test('refuses a database written by a newer headend, naming both schema versions', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'new.db');
  openStore(file).close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  raw.close();
  const err = t.throws(() => openStore(file)) as StoreError;
  t.equal(err.code, StoreErrorCode.schemaTooNew);
  t.equal(err.severity, 'critical');
  t.match(err.message, file);
  t.match(err.message, `schema version is ${SCHEMA_VERSION + 5}, newer than this headend's ${SCHEMA_VERSION}`);
  const again = new Database(file, { readonly: true });
  t.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 5, 'left untouched');
  again.close();
});

t.test('refuses a file that is not a SQLite database, naming it, and leaves it unchanged', async (t) => {
  const dir = tempDir(t);
  for (const [name, content] of [
    ['channels.yaml', Buffer.from('channels:\n  - number: 1\n'.repeat(200))],
    ['random.bin', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) & 0xff))],
  ] as const) {
    const file = join(dir, name);
    writeFileSync(file, content);
    t.throws(() => openStore(file), {
      code: StoreErrorCode.open,
      message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a SQLite database, or is corrupt`),
    }, name);
    t.ok(readFileSync(file).equals(content), `${name} not modified`);
  }
});

t.test('refuses a SQLite file whose pages are corrupt, naming it', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'corrupt.db');
  const s = openStore(file);
  for (let n = 1; n <= 300; n++) s.channels.create(channel(n));
  s.close();
  t.ok(statSync(file).size > 8 * 4096, 'several pages');
  // Keep page 1 (the header and schema), overwrite pages 3 and 4 with noise.
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(2 * 4096, 0xa5), 0, 2 * 4096, 2 * 4096);
  closeSync(fd);
  t.throws(() => openStore(file), { code: StoreErrorCode.open, message: new RegExp(`corrupt\\.db (is corrupt|is not a SQLite database, or is corrupt)`) });
});

t.test('a file in a missing directory is an open error naming the file', async (t) => {
  const file = join(tempDir(t), 'no', 'such', 'dir.db');
  t.throws(() => openStore(file), { code: StoreErrorCode.open, message: new RegExp(`dir\\.db: cannot open the database`) });
});

t.test('store.transaction commits several repositories together, or none when it throws', async (t) => {
  const { store } = tempStore(t);
  store.transaction(() => {
    store.channels.create(channel(1));
    store.audit.append({ username: 'op', action: 'channel.create', target: 'channel 1' });
  });
  t.equal(store.channels.count(), 1);
  t.equal(store.audit.count(), 1);
  t.throws(
    () =>
      store.transaction(() => {
        store.channels.create(channel(2));
        store.audit.append({ username: 'op', action: 'channel.create', target: 'channel 2' });
        store.channels.create(channel(1)); // taken
      }),
    { code: StoreErrorCode.channelNumberTaken },
  );
  t.equal(store.channels.count(), 1, 'channel 2 rolled back');
  t.equal(store.audit.count(), 1, 'its audit entry too');
});

t.test('refuses to open in a worker thread (SQLite stays off the data plane)', async (t) => {
  const dbUrl = new URL('../../../../headend/store/db.ts', import.meta.url).href;
  const file = join(tempDir(t), 'w.db');
  // tap's TypeScript loader is registered per thread: register it in the worker too.
  const loaders = process.execArgv.filter((a) => a.startsWith('--import=') && a.includes('@tapjs/typescript')).map((a) => a.slice('--import='.length));
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    Promise.all(workerData.loaders.map((l) => import(l))).then(() => import(workerData.dbUrl)).then(
      (m) => { try { m.openStore(workerData.file); parentPort.postMessage('opened'); } catch (e) { parentPort.postMessage(e.code + ': ' + e.message); } },
      (e) => parentPort.postMessage('import failed: ' + e.message),
    );`;
  const w = new Worker(code, { eval: true, workerData: { dbUrl, file, loaders } });
  const msg = await new Promise<string>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  t.match(msg, /^ROOMCAST_ERR_STORE_INVALID: the store runs on the main thread only/);
});

t.test('errors carry the HTTP status the API maps them to', async (t) => {
  t.equal(new StoreError(StoreErrorCode.channelVersionConflict, 'x').statusCode, 409);
  t.equal(new StoreError(StoreErrorCode.channelNotFound, 'x').statusCode, 404);
  t.equal(new StoreError(StoreErrorCode.invalid, 'x').statusCode, 400);
  t.equal(new StoreError(StoreErrorCode.open, 'x').severity, 'critical');
  t.equal(new StoreError(StoreErrorCode.channelNumberTaken, 'x').severity, 'recoverable');
});
