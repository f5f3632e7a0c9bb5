/**
 * STB agents in the hotel network (NETLAB.md): a headend namespace and three
 * STB namespaces behind a bridge with IGMP snooping. The agents zap for real:
 * the bridge's MDB shows what each joined, ffmpeg — not our code — decodes
 * what each agent hands its player after a zap, with the FCC burst and
 * without it, and the burst→multicast splice leaves no CC error and no lost
 * RTP datagram.
 *
 *   stb1 10.99.0.11  inside fcc.stbSubnets: zaps with the burst
 *   stb2 10.99.0.12  outside: the FCC server does not answer it → the gate
 *   stb3 10.99.0.13  outside; started without --headend: finds it over mDNS
 *
 * Needs root and ip netns; skipped with the reason otherwise, except in CI
 * where it fails instead (test/helpers/netlab.ts).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { childEnv, createHotelNet, netlabAvailable, netlabSkip, tsNodeArgv, type HotelNet } from '../helpers/netlab.js';
import { FIXTURES, REPO_ROOT, startHeadend, tempDir, type RunningHeadend } from '../helpers/headend.js';
import { HTTP_CAPTURE_PATH } from '../helpers/http-capture.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, tsPid } from '../../core/mpegts/packet.js';
import { writeRamsRequest } from '../../core/fcc/rams.js';
import type { ChildProcess } from 'node:child_process';

const avail = await netlabAvailable();
const AGENT_MAIN = join(REPO_ROOT, 'dist/stb-agent/main.js');
const PORT = 5000;
const GROUPS = ['239.255.30.1', '239.255.30.2', '239.255.30.3'];

function lineup(iface: string, fcc: boolean): string {
  return `
headend:
  interface: ${iface}
  pacingDelayMs: 150
  fcc: { enabled: ${fcc}, stbSubnets: [10.99.0.10/31] }
channels:
  - number: 1
    name: One (H.264)
    multicast: { group: ${GROUPS[0]}, port: ${PORT} }
    source: { type: file, path: ${join(FIXTURES, 'h264-aac-1s-gop.ts')} }
  - number: 2
    name: Two (H.265)
    multicast: { group: ${GROUPS[1]}, port: ${PORT} }
    source: { type: file, path: ${join(FIXTURES, 'h265-aac-1s-gop.ts')} }
  - number: 3
    name: Three (H.264)
    multicast: { group: ${GROUPS[2]}, port: ${PORT} }
    source: { type: file, path: ${join(FIXTURES, 'h264-aac-1s-gop.ts')} }
`;
}

interface Agent {
  proc: ChildProcess;
  ns: string;
  output(): string;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  status(): Promise<Record<string, unknown> & { lastZap: Zap | null; headend: string | null; lineupVersion: string | null; lastError: string | null; tuner: { depacketizer: Record<string, number> | null; splice: Record<string, number> | null } }>;
}
interface Zap {
  channel: number;
  firstByteMs: number | null;
  viaBurst: boolean;
  fallback: string | null;
  splicedMs: number | null;
}

async function startAgent(net: HotelNet, n: number, args: string[]): Promise<Agent> {
  const ns = net.stbs[n - 1];
  const dir = await tempDir('roomcast-stb-');
  const config = join(dir, 'stb.yaml');
  await writeFile(config, `agentId: stb${n}\nlabel: Room 10${n}\nreport: { intervalS: 1 }\nlineupRefreshS: 1\nstateFile: ${join(dir, 'state.json')}\n`);
  const proc = net.spawn(ns, [process.execPath, AGENT_MAIN, 'run', '--config', config, '--interface', net.stbAddress(n), '--log-level', 'debug', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const cli = async (a: string[]): Promise<{ code: number; stdout: string; stderr: string }> => net.exec(ns, [process.execPath, AGENT_MAIN, ...a], { allowFail: true, timeoutMs: 15_000 });
  return {
    proc,
    ns,
    output: () => out,
    cli,
    async status() {
      const r = await cli(['status']);
      if (r.code !== 0) throw new Error(`status: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
  };
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
      last = v;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Zap with the CLI (which waits for the first byte), then capture what a player gets for `seconds`. */
async function zapAndCapture(net: HotelNet, a: Agent, channel: number, seconds: number): Promise<{ file: string; zap: Zap; cliOut: string }> {
  const dir = await tempDir('roomcast-cap-');
  const file = join(dir, `ch${channel}.ts`);
  // /channel/<n>.ts zaps and streams: the player's view from the zap on.
  const cap = net.exec(a.ns, tsNodeArgv(HTTP_CAPTURE_PATH, [`http://127.0.0.1:8090/channel/${channel}.ts`, file, String(seconds)]), { timeoutMs: (seconds + 10) * 1000, env: childEnv() });
  const r = await cap;
  const st = await a.status();
  return { file, zap: st.lastZap as Zap, cliOut: r.stdout };
}

function ffmpegErrors(file: string): Promise<string> {
  return new Promise((resolve) => execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], { timeout: 30_000 }, (_e, _o, se) => resolve(String(se).trim())));
}

function firstFrame(file: string): Promise<{ keyFrame: boolean; pictType: string } | null> {
  return new Promise((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type', '-read_intervals', '%+#1', '-of', 'json', file], { timeout: 30_000 }, (_e, out) => {
      try {
        const f = (JSON.parse(String(out)) as { frames: { key_frame: number; pict_type: string }[] }).frames[0];
        resolve(f ? { keyFrame: f.key_frame === 1, pictType: f.pict_type } : null);
      } catch {
        resolve(null);
      }
    }),
  );
}

/** The capture's TS, cut after its last whole video access unit (the capture stops mid-frame). */
async function wholeFrames(file: string): Promise<{ ts: Buffer; cut: string }> {
  const ts = await readFile(file);
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  let end = ts.length - (ts.length % TS_PACKET_SIZE);
  for (let o = end - TS_PACKET_SIZE; o >= 0; o -= TS_PACKET_SIZE) {
    if (tsPid(ts, o) === ins.videoPid && (ts[o + 1] & 0x40) !== 0) {
      end = o;
      break;
    }
  }
  const cut = `${file}.whole.ts`;
  await writeFile(cut, ts.subarray(0, end));
  return { ts: ts.subarray(0, end), cut };
}

t.test('STB agents in a snooped hotel network', { skip: netlabSkip(avail), timeout: 240_000 }, async (t) => {
  const net = await createHotelNet({ stbs: 3 });
  t.teardown(() => net.destroy());
  // Fast leave on stb1's port: its old group is pruned at once (NETLAB.md).
  await net.exec(net.sw, ['bridge', 'link', 'set', 'dev', net.stbPort(1), 'fastleave', 'on']);
  let he: RunningHeadend = await startHeadend(lineup(net.headendAddress, true), { wrap: ['ip', 'netns', 'exec', net.he] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 3 && c.every((x) => x.state === 'ok' && x.stream.keyframes >= 2), 30_000, 'three channels on air');
  const api = `http://${net.headendAddress}:8080/`;

  const a1 = await startAgent(net, 1, ['--headend', api]);
  const a2 = await startAgent(net, 2, ['--headend', api]);
  t.teardown(() => {
    a1.proc.kill('SIGTERM');
    a2.proc.kill('SIGTERM');
  });
  await waitFor('stb1 tuned', 15_000, async () => (await a1.status()).lastZap?.firstByteMs !== null && (await a1.status()).lastZap);
  await waitFor('stb2 tuned', 15_000, async () => (await a2.status()).lastZap?.firstByteMs !== null && (await a2.status()).lastZap);

  await t.test('zapping joins and leaves for real: the MDB shows each STB on its current group only; a left group stops at once', async (t) => {
    for (const [a, ch] of [
      [a1, 2],
      [a2, 3],
    ] as const) {
      const r = await a.cli(['zap', String(ch)]);
      t.equal(r.code, 0, `roomcast-stb zap ${ch}: ${r.stdout.trim()}`);
    }
    const mdb = await waitFor('the MDB to settle', 5000, async () => {
      const m = await net.mdb();
      const ports1 = [...m.entries()].filter(([, ports]) => ports.includes(net.stbPort(1))).map(([g]) => g);
      const ports2 = [...m.entries()].filter(([, ports]) => ports.includes(net.stbPort(2))).map(([g]) => g);
      return ports1.length === 1 && ports2.length === 1 && ports1[0] === GROUPS[1] && ports2[0] === GROUPS[2] ? m : null;
    });
    t.same(mdb.get(GROUPS[1]), [net.stbPort(1)], `${GROUPS[1]}: only stb1`);
    t.same(mdb.get(GROUPS[2]), [net.stbPort(2)], `${GROUPS[2]}: only stb2`);
    t.notOk(mdb.has(GROUPS[0]), `nobody left on ${GROUPS[0]}`);
    // stb1 leaves channel 2 for 1: with fast leave, 239.255.30.2 stops reaching stb1 at once.
    t.equal((await a1.cli(['zap', '1'])).code, 0);
    await sleep(300);
    const stop = await net.countUdpTo(net.stbs[0], GROUPS[1], PORT);
    await sleep(1000);
    const after = await stop();
    t.equal(after.packets, 0, `stb1 got ${after.packets} packets of ${GROUPS[1]} in the second after leaving it`);
    const still = await net.countUdpTo(net.stbs[0], GROUPS[0], PORT);
    await sleep(500);
    t.ok((await still()).packets > 0, 'and does get its new group');
  });

  await t.test('with the burst (stb1): every zap decodes from the first byte, starts on an I-frame, the splice loses nothing', async (t) => {
    for (const ch of [2, 3, 1, 2]) {
      const { file, zap } = await zapAndCapture(net, a1, ch, 2.5);
      t.equal(zap.channel, ch);
      t.ok(zap.viaBurst, `channel ${ch}: started from the FCC burst (first byte after ${zap.firstByteMs} ms, spliced onto the multicast after ${zap.splicedMs} ms)`);
      t.ok(zap.splicedMs !== null, 'spliced onto the multicast');
      const { ts, cut } = await wholeFrames(file);
      t.ok(ts.length > 50 * TS_PACKET_SIZE, `${ts.length} bytes captured`);
      t.equal(tsPid(ts, 0), 0, 'the player gets the PAT first');
      t.equal(await ffmpegErrors(cut), '', 'ffmpeg decodes it with no error');
      const f = await firstFrame(cut);
      t.ok(f?.keyFrame, `first decoded frame is a key frame (${f?.pictType})`);
      const ins = new TsInspector();
      ins.writePackets(ts, 0, ts.length / TS_PACKET_SIZE);
      t.equal(ins.counters.ccErrors, 0, 'no CC error across the burst→multicast splice');
    }
    const st = await a1.status();
    const dp = st.tuner.depacketizer!;
    t.equal(dp.lost, 0, 'no RTP datagram missing at the splice');
    t.ok((dp.duplicates ?? 0) + (st.tuner.splice?.duplicatesDropped ?? 0) >= 0, `duplicates dropped: ${dp.duplicates} + ${st.tuner.splice?.duplicatesDropped}`);
    t.equal(st.tuner.splice?.gaps, 0, 'no gap at the splice');
  });

  await t.test('without an FCC answer (stb2 is outside fcc.stbSubnets): zaps fall back to the I-frame gate and still decode from the first byte', async (t) => {
    for (const ch of [1, 2]) {
      const { file, zap } = await zapAndCapture(net, a2, ch, 3);
      t.notOk(zap.viaBurst, `channel ${ch}: via the multicast (${zap.fallback}), first byte after ${zap.firstByteMs} ms`);
      t.match(zap.fallback ?? '', /no RAMS-I within 80 ms/);
      const { cut } = await wholeFrames(file);
      t.equal(await ffmpegErrors(cut), '', 'ffmpeg decodes it with no error');
      t.ok((await firstFrame(cut))?.keyFrame, 'first decoded frame is a key frame');
    }
  });

  await t.test('abuse: RAMS-R from outside the subnets gets nothing; garbage is counted; the headend keeps serving', async (t) => {
    // The lineup, read inside the headend's namespace (the test process is outside the network).
    const ssrc = await waitFor('the lineup', 5000, async () => {
      const lj = await net.exec(net.he, [process.execPath, '-e', `fetch('${api}api/lineup').then(r => r.text()).then((b) => process.stdout.write(b))`], { timeoutMs: 5000 });
      return (JSON.parse(lj.stdout) as { channels: { ssrc: number }[] }).channels[0].ssrc;
    });
    const probe = `
      import dgram from 'node:dgram';
      const s = dgram.createSocket('udp4');
      let got = 0;
      s.on('message', () => got++);
      s.bind(0, process.argv[1], () => {
        const req = Buffer.from(process.argv[2], 'hex');
        for (let i = 0; i < 50; i++) s.send(req, 5560, '${net.headendAddress}');
        s.send(Buffer.from('garbage'), 5560, '${net.headendAddress}');
        s.send(req.subarray(0, 7), 5560, '${net.headendAddress}');
        setTimeout(() => { s.close(); process.stdout.write(JSON.stringify({ got }) + '\\n'); }, 1500);
      });`;
    const req = writeRamsRequest({ senderSsrc: 1, mediaSsrc: ssrc }).toString('hex');
    const outside = await net.exec(net.stbs[2], [process.execPath, '--input-type=module', '-e', probe, net.stbAddress(3), req], { timeoutMs: 10_000 });
    t.same(JSON.parse(outside.stdout || 'null'), { got: 0 }, 'stb3 (outside the subnets) got not one byte back for 52 datagrams');
    const inside = await net.exec(net.stbs[0], [process.execPath, '--input-type=module', '-e', probe, net.stbAddress(1), 'ffff'], { timeoutMs: 10_000 });
    t.same(JSON.parse(inside.stdout || 'null'), { got: 0 }, 'garbage from stb1 gets no answer');
    const st = await waitFor('the FCC counters', 3000, async () => {
      const j = JSON.parse(await readFile(join(he.dataDir, 'status.json'), 'utf8')) as { fcc: { counters: Record<string, number> }[] };
      const c = j.fcc[0].counters;
      return c.refusedOutsideSubnet >= 52 && c.malformed >= 52 ? c : null;
    });
    t.ok(st.refusedOutsideSubnet >= 52, `refusedOutsideSubnet ${st.refusedOutsideSubnet} (stb2's RAMS-R count here too)`);
    t.ok(st.malformed >= 52, `malformed ${st.malformed}`);
    const r = await a1.cli(['zap', '3']);
    t.match(r.stdout, /via FCC burst/, `stb1 still zaps with the burst: ${r.stdout.trim()}`);
  });

  await t.test('the headend records what the agents report', async (t) => {
    // The fleet is behind the admin login: log in inside the headend's
    // namespace with the one-time password (and change it, as required).
    const pw = /user "admin" created with the one-time password (\S+)/.exec(he.output())?.[1] ?? '';
    const login = [
      `const b = ${JSON.stringify(api)}, o = new URL(b).origin, pw = ${JSON.stringify(pw)};`,
      `const post = (p, body, c) => fetch(b + p, { method: 'POST', headers: { 'content-type': 'application/json', origin: o, ...(c ? { cookie: c } : {}) }, body: JSON.stringify(body) });`,
      `(async () => { let r = await post('api/login', { username: 'admin', password: pw }); let c = (r.headers.get('set-cookie') || '').split(';')[0];`,
      `r = await post('api/me/password', { current: pw, new: 'netlab-admin-password' }, c); c = (r.headers.get('set-cookie') || c).split(';')[0]; console.log(c); })();`,
    ].join('\n');
    const cookie = (await net.exec(net.he, [process.execPath, '-e', login], { timeoutMs: 10_000 })).stdout.trim();
    t.ok(cookie.includes('='), 'logged in');
    const list = await waitFor('both agents reported', 5000, async () => {
      const r = await net.exec(net.he, [process.execPath, '-e', `fetch('${api}api/stbs', { headers: { cookie: ${JSON.stringify(cookie)} } }).then(r => r.text()).then(console.log)`], { timeoutMs: 5000 });
      const j = JSON.parse(r.stdout) as { stbs: { agentId: string; channel: number; address: string; zaps: { count: number; viaBurst: number } }[] };
      return j.stbs.length >= 2 ? j.stbs : null;
    });
    const s1 = list.find((s) => s.agentId === 'stb1');
    t.ok(s1, 'stb1 reported');
    t.equal(s1?.address, net.stbAddress(1));
    t.ok((s1?.zaps.viaBurst ?? 0) >= 4, `stb1: ${s1?.zaps.count} zaps, ${s1?.zaps.viaBurst} via the burst`);
  });

  await t.test('an agent with no --headend finds it over mDNS within 2 s', async (t) => {
    const t0 = Date.now();
    const a3 = await startAgent(net, 3, []);
    t.teardown(() => a3.proc.kill('SIGTERM'));
    await waitFor('stb3 to find the headend', 8000, async () => (await a3.status().catch(() => null))?.headend);
    const foundLine = /found the headend over mDNS/.exec(a3.output());
    const elapsed = Date.now() - t0;
    t.ok(foundLine, 'logged');
    t.ok(elapsed < 2000 + 1500, `found after ${elapsed} ms (process start included; mDNS answer itself below)`);
    const st = await a3.status();
    t.equal(st.headend, api, 'the API URL from the TXT record');
    // The agent's own measure: from its start to the answer.
    const m = /after (\d+) ms/.exec(a3.output().split('\n').find((l) => l.includes('found the headend')) ?? '');
    t.ok(m && Number(m[1]) < 2000, `mDNS discovery took ${m?.[1]} ms`);
  });

  await t.test('the FCC server stopped (headend restarted without it): the agent reloads the lineup and zaps via the gate', async (t) => {
    const before = (await a1.status()).lineupVersion;
    await he.stop();
    he = await startHeadend(lineup(net.headendAddress, false), { wrap: ['ip', 'netns', 'exec', net.he] });
    await he.waitFor((c) => c.length === 3 && c.every((x) => x.state === 'ok' && x.stream.keyframes >= 2), 30_000, 'three channels on air again');
    await waitFor('stb1 to load the new lineup (lineupRefreshS 1)', 10_000, async () => (await a1.status()).lineupVersion !== before);
    const { file, zap } = await zapAndCapture(net, a1, 2, 3);
    t.notOk(zap.viaBurst, `via the multicast: ${zap.fallback ?? 'no FCC in the lineup'}, first byte after ${zap.firstByteMs} ms`);
    const { cut } = await wholeFrames(file);
    t.equal(await ffmpegErrors(cut), '', 'ffmpeg decodes it with no error');
  });
});
