/**
 * The database holds the lineup (issue 5): on first start the headend imports
 * the channels of its --config into data/roomcast.db and creates the admin
 * account with a one-time password printed once; afterwards the database
 * wins over the file until --import-config; STB reports persist across a
 * restart; a database file that is not one stops the start with its name.
 */
import t from 'tap';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FIXTURES, HEADEND_MAIN, adminSession, startHeadend, tempDir } from '../helpers/headend.js';

const BASE = 42000 + (process.pid % 1000) * 8;
const HTTP = BASE;

function lineup(channels: [number, string][]): string {
  return `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, fcc: { enabled: false } }
channels:
${channels
  .map(
    ([n, name], i) => `  - number: ${n}
    name: ${name}
    multicast: { group: 239.255.211.${i + 1}, port: ${BASE + 2} }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }`,
  )
  .join('\n')}
`;
}

t.test('first start imports the file into the database; later starts use the database; --import-config replaces it', { timeout: 90_000 }, async (t) => {
  const dataDir = await tempDir('roomcast-store-');
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const a = lineup([
    [1, 'One'],
    [2, 'Two'],
  ]);
  const b = lineup([[9, 'Nine']]);

  // 1. First start: imported, admin created with a one-time password, printed once.
  let he = await startHeadend(a, { dataDir, args: ['--no-mdns'] });
  let chs = await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok'), 20_000, 'two channels');
  t.same(chs.map((c) => c.number), [1, 2]);
  t.match(he.output(), /lineup: 2 channels imported from .* into .*roomcast\.db \(first start\)/);
  const pw = /user "admin" created with the one-time password (\S+)/.exec(he.output());
  t.ok(pw && pw[1].length >= 16, 'a one-time admin password is printed on first start');
  const session = await adminSession(`http://127.0.0.1:${HTTP}/`, he.output());
  // An STB reports; it is kept in the database.
  const res = await fetch(`http://127.0.0.1:${HTTP}/api/stb/report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agentId: 'room-101', label: 'Room 101', channel: 2, zaps: { count: 3, viaBurst: 3, viaGate: 0, recentMs: [20, 25, 31] }, counters: { rtpLost: 0, rtpDuplicates: 0, ccErrors: 0, spliceGaps: 0 } }),
  });
  t.equal(res.status, 204);
  t.equal(await he.stop(), 0, 'stops cleanly (the database closed)');
  await rm(join(dataDir, 'status.json'), { force: true });

  // 2. Restart with another file: the database's lineup wins, the password is not printed again.
  await writeFile(join(dataDir, 'channels.yaml'), b);
  he = await startHeadend(b, { dataDir, args: ['--no-mdns'] });
  chs = await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok'), 20_000, 'the two channels from the database');
  t.same(chs.map((c) => c.name), ['One', 'Two'], 'the lineup comes from the database, not the changed file');
  t.match(he.output(), /lineup: 2 channels from .*roomcast\.db \(the database holds the lineup/);
  t.notMatch(he.output(), /one-time password/, 'the admin password is printed once only');
  t.equal((await fetch(`http://127.0.0.1:${HTTP}/api/stbs`)).status, 401, 'the fleet needs a login');
  const stbs = (await (await fetch(`http://127.0.0.1:${HTTP}/api/stbs`, { headers: session.headers })).json()) as { stbs: { agentId: string; label: string; channel: number; reports: number }[] };
  t.match(stbs.stbs, [{ agentId: 'room-101', label: 'Room 101', channel: 2, reports: 1 }], 'STB reports survive a restart');
  t.equal(await he.stop(), 0);
  await rm(join(dataDir, 'status.json'), { force: true });

  // 3. --import-config: the file replaces the lineup.
  he = await startHeadend(b, { dataDir, args: ['--no-mdns', '--import-config'] });
  chs = await he.waitFor((c) => c.length === 1 && c[0].state === 'ok', 20_000, 'channel 9');
  t.same(chs.map((c) => [c.number, c.name]), [[9, 'Nine']]);
  t.match(he.output(), /lineup: 1 channels imported from .* \(--import-config\)/);
  t.equal(await he.stop(), 0);
});

t.test('a data directory whose roomcast.db is not a database: refused with the file named, exit 2', async (t) => {
  const dataDir = await tempDir('roomcast-store-bad-');
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  await writeFile(join(dataDir, 'roomcast.db'), Buffer.alloc(8192, 0x5a));
  const cfg = join(dataDir, 'channels.yaml');
  await writeFile(cfg, lineup([[1, 'One']]));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(process.execPath, [HEADEND_MAIN, '--config', cfg, '--data', dataDir, '--no-mdns'], { env });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, err });
    });
  });
  t.equal(r.code, 2);
  t.match(r.err, /refusing to start/);
  t.match(r.err, new RegExp(`${join(dataDir, 'roomcast.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), `names the file: ${r.err.trim()}`);
});
