/**
 * Changes apply live (issue 5): editing one channel through the admin API
 * restarts that channel only; the other three keep streaming — their RTP
 * sequence numbers run on without a gap, their multicast never pauses, and
 * their pipelines are not restarted. A change the validator refuses changes
 * nothing.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, adminSession, startHeadend } from '../helpers/headend.js';

const BASE = 44000 + (process.pid % 1000) * 8;
const HTTP = BASE;
const PORT = BASE + 2;
const G = (n: number): string => `239.255.212.${n}`;

interface Watch {
  n: number;
  datagrams: number;
  seqGaps: number;
  maxGapMs: number;
  last: number;
  lastAt: number;
  close(): void;
}

async function watch(n: number): Promise<Watch> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const w: Watch = { n, datagrams: 0, seqGaps: 0, maxGapMs: 0, last: -1, lastAt: 0, close: () => sock.close() };
  sock.on('message', (m) => {
    const now = performance.now();
    const seq = m.readUInt16BE(2);
    if (w.last >= 0 && seq !== ((w.last + 1) & 0xffff)) w.seqGaps++;
    if (w.lastAt > 0 && now - w.lastAt > w.maxGapMs) w.maxGapMs = now - w.lastAt;
    w.last = seq;
    w.lastAt = now;
    w.datagrams++;
  });
  await new Promise<void>((r) => sock.bind({ address: G(n), port: PORT }, () => r()));
  sock.addMembership(G(n), '127.0.0.1');
  return w;
}

t.test('editing one channel restarts it alone; the other three stream on without a gap', { timeout: 90_000 }, async (t) => {
  const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, pacingDelayMs: 200, fcc: { enabled: false } }
channels:
${[1, 2, 3, 4]
  .map(
    (n) => `  - number: ${n}
    name: Channel ${n}
    multicast: { group: ${G(n)}, port: ${PORT} }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }`,
  )
  .join('\n')}
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 4 && c.every((x) => x.state === 'ok'), 20_000, 'four channels');
  const base = `http://127.0.0.1:${HTTP}/`;
  const s = await adminSession(base, he.output());
  const watches = await Promise.all([1, 3, 4].map((n) => watch(n)));
  t.teardown(() => watches.forEach((w) => w.close()));
  await sleep(1500);
  const before = await he.status();

  // A bad edit (a multicast group taken by channel 3) is refused and changes nothing.
  const ch2 = (await (await fetch(`${base}api/channels/2`, { headers: s.headers })).json()) as Record<string, unknown> & { version: number; multicast: Record<string, unknown> };
  const put = (body: unknown): Promise<Response> => fetch(`${base}api/channels/2`, { method: 'PUT', headers: { ...s.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const bad = await put({ ...ch2, multicast: { ...ch2.multicast, group: G(3) } });
  t.equal(bad.status, 400, 'a colliding multicast address is refused');
  const badBody = (await bad.json()) as { problems?: { path: string; message: string }[] };
  t.match(JSON.stringify(badBody.problems), /already used by/, `with the reason: ${JSON.stringify(badBody.problems)}`);

  // The good edit: channel 2 gets a new name.
  const editAt = performance.now();
  const ok = await put({ ...ch2, name: 'Channel Two (renamed)' });
  t.equal(ok.status, 200, 'saved');
  const after = await he.waitFor((c) => c.find((x) => x.number === 2)?.name === 'Channel Two (renamed)' && c.every((x) => x.state === 'ok'), 15_000, 'channel 2 renamed and back on the air');
  await sleep(1500);
  const windowMs = performance.now() - editAt;
  for (const w of watches) {
    t.equal(w.seqGaps, 0, `channel ${w.n}: RTP sequence continuous through the edit (${w.datagrams} datagrams)`);
    t.ok(w.maxGapMs < 150, `channel ${w.n}: never silent more than ${w.maxGapMs.toFixed(0)} ms`);
    const b = before.find((x) => x.number === w.n)!;
    const a = after.find((x) => x.number === w.n)!;
    t.ok(a.uptimeS >= b.uptimeS, `channel ${w.n}: not restarted (up ${b.uptimeS} → ${a.uptimeS} s)`);
  }
  const a2 = (await he.status()).find((x) => x.number === 2)!;
  t.ok(a2.uptimeS * 1000 <= windowMs + 1500, `channel 2 restarted (up ${a2.uptimeS} s)`);
  const lineup = (await (await fetch(`${base}api/lineup`)).json()) as { version: string; channels: { number: number; name: string }[] };
  t.equal(lineup.channels.find((c) => c.number === 2)?.name, 'Channel Two (renamed)', 'the agents\' lineup has the new name');
  t.match(await (await fetch(`${base}playlist.m3u`)).text(), /Channel Two \(renamed\)/, 'and the playlist');
  t.match(he.output(), /channel 2 "Channel Two \(renamed\)" restarted/, 'logged');
  const audit = (await (await fetch(`${base}api/audit`, { headers: s.headers })).json()) as { entries?: { action: string; target: string; username: string }[] };
  t.match(JSON.stringify(audit), /channel\.update/, 'the audit log has the edit');
});
