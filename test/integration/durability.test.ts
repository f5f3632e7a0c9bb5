/**
 * Durability (issue 5): `kill -9` the headend in the middle of a burst of
 * 1,000 lineup edits made through the admin API; after a restart the
 * database opens, every edit the API acknowledged is there, and none is
 * half-applied (the channel reads back whole and valid).
 */
import t from 'tap';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, adminSession, startHeadend, tempDir } from '../helpers/headend.js';

const BASE = 46000 + (process.pid % 1000) * 8;
const HTTP = BASE;

t.test('kill -9 during 1,000 API edits: every acknowledged edit survives, nothing half-applied', { timeout: 120_000 }, async (t) => {
  const dataDir = await tempDir('roomcast-durable-');
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // Channel 5 is disabled: editing it restarts nothing, so the burst measures the store, not the data plane.
  const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, fcc: { enabled: false } }
channels:
  - number: 1
    name: On air
    multicast: { group: 239.255.213.1, port: ${BASE + 2} }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
  - number: 5
    name: Edited
    enabled: false
    multicast: { group: 239.255.213.5, port: ${BASE + 2} }
    inputs:
      - { type: udp, address: 127.0.0.1, port: ${BASE + 4} }
      - { type: udp, address: 127.0.0.1, port: ${BASE + 6} }
`;
  let he = await startHeadend(yaml, { dataDir, args: ['--no-mdns'] });
  await he.waitFor((c) => c.length === 1 && c[0].state === 'ok', 20_000, 'channel 1');
  const base = `http://127.0.0.1:${HTTP}/`;
  const s = await adminSession(base, he.output());
  let ch = (await (await fetch(`${base}api/channels/5`, { headers: s.headers })).json()) as Record<string, unknown> & { version: number };
  const acked: { name: string; version: number }[] = [];
  let killed = false;
  let failures = 0;
  // The kill lands at a moment of its own, with an edit in flight, not between two.
  const t0 = performance.now();
  let killAfterMs = Infinity;
  for (let i = 0; i < 1000 && failures < 3; i++) {
    if (i === 50) killAfterMs = ((performance.now() - t0) / 50) * (300 + Math.random() * 200);
    if (!killed && performance.now() - t0 >= killAfterMs) {
      setTimeout(() => he.proc.kill('SIGKILL'), 1); // while this edit is on its way
      killed = true;
    }
    // Each edit changes two things at once (the name and the backup's port): half of one would show.
    const name = `Edit ${i}`;
    const inputs = [{ type: 'udp', address: '127.0.0.1', port: BASE + 4 }, { type: 'udp', address: '127.0.0.1', port: 20000 + i }];
    try {
      const r = await fetch(`${base}api/channels/5`, {
        method: 'PUT',
        headers: { ...s.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ ...ch, name, inputs }),
        signal: AbortSignal.timeout(5000),
      });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      ch = (await r.json()) as typeof ch;
      acked.push({ name, version: ch.version });
    } catch {
      failures++;
    }
  }
  t.ok(killed, 'killed with SIGKILL in the middle of the burst');
  t.ok(acked.length >= 250 && acked.length < 1000, `${acked.length} edits acknowledged before the kill`);
  await new Promise((r) => (he.proc.exitCode !== null || he.proc.signalCode !== null ? r(null) : he.proc.once('exit', r)));
  await rm(join(dataDir, 'status.json'), { force: true });

  he = await startHeadend(yaml, { dataDir, args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 1 && c[0].state === 'ok', 20_000, 'channel 1 after the restart');
  t.match(he.output(), /lineup: 2 channels from .*roomcast\.db/, 'the database opened');
  t.notMatch(he.output(), /one-time password/, 'the same database: no new admin');
  const s2 = await fetch(`${base}api/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: new URL(base).origin }, body: JSON.stringify({ username: 'admin', password: 'a-new-admin-password-1' }) });
  t.equal(s2.status, 200, 'the changed password survived too');
  const cookie = (s2.headers.get('set-cookie') ?? '').split(';')[0];
  const now = (await (await fetch(`${base}api/channels/5`, { headers: { cookie } })).json()) as { name: string; version: number; inputs: { port: number }[] };
  const last = acked[acked.length - 1];
  // The last acknowledged edit is there — or one after it that committed as the kill landed.
  const n = Number(/^Edit (\d+)$/.exec(now.name)?.[1] ?? -1);
  t.ok(n === acked.length - 1 || n === acked.length, `channel 5 reads "${now.name}" (last acknowledged: "${last.name}")`);
  t.ok(now.version >= last.version, `version ${now.version} ≥ the last acknowledged ${last.version}`);
  t.equal(now.inputs[1].port, 20000 + n, 'the name and the inputs of one edit together: nothing half-applied');
  let updates = 0;
  for (let page = 0; page < 10; page++) {
    const audit = (await (await fetch(`${base}api/audit?limit=500&offset=${page * 500}`, { headers: { cookie } })).json()) as { entries: { action: string }[] };
    updates += audit.entries.filter((e) => e.action === 'channel.update').length;
    if (audit.entries.length < 500) break;
  }
  t.ok(updates >= acked.length, `${updates} channel.update entries in the audit log for ${acked.length} acknowledged edits`);
});
