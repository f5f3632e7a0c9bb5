/**
 * roomcast-stb against a headend on loopback (no namespaces needed): the
 * commands an integrator uses, and the UDP and stdout outputs decoded by
 * ffmpeg. The network behaviour (IGMP, snooping, FCC across a LAN) is in
 * stb-netlab.test.ts.
 */
import t from 'tap';
import dgram from 'node:dgram';
import http from 'node:http';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_MAIN, agentEnv, stbCli } from '../helpers/agent.js';
import { FIXTURES, startHeadend, tempDir } from '../helpers/headend.js';
import { TS_PACKET_SIZE, tsPid } from '../../core/mpegts/packet.js';
import { TsInspector } from '../../core/mpegts/inspector.js';

const BASE = 30000 + (process.pid % 1500) * 8;
const HTTP = BASE;
const FCC = BASE + 2;
const CONTROL = BASE + 4;
const UDP_OUT = BASE + 6;
const G = (k: number): string => `239.255.203.${((process.pid + k) % 250) + 1}`;

const env = agentEnv;
const cli = (args: string[]) => stbCli(CONTROL, args);

function ffmpegErrors(file: string): Promise<string> {
  return new Promise((resolve) => execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], { timeout: 30_000 }, (_e, _o, se) => resolve(String(se).trim())));
}

/** Cut after the last whole video access unit (a capture stops mid-frame). */
function wholeFrames(ts: Buffer, videoPid: number): Buffer {
  const end = ts.length - (ts.length % TS_PACKET_SIZE);
  for (let o = end - TS_PACKET_SIZE; o >= 0; o -= TS_PACKET_SIZE) if (tsPid(ts, o) === videoPid && (ts[o + 1] & 0x40) !== 0) return ts.subarray(0, o);
  return ts.subarray(0, end);
}

/** Byte offset of the last start in an output: the PAT just before the last PCR with discontinuity_indicator. */
function lastStart(ts: Buffer): number {
  let disc = -1;
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) if ((ts[o + 3] & 0x20) !== 0 && ts[o + 4] > 0 && (ts[o + 5] & 0x90) === 0x90) disc = o;
  for (let o = disc; o >= 0; o -= TS_PACKET_SIZE) if (tsPid(ts, o) === 0 && (ts[o + 1] & 0x40) !== 0) return o;
  return 0;
}

t.test('roomcast-stb on loopback: CLI, zap up/down/last, UDP and stdout outputs', { timeout: 120_000 }, async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${HTTP}
  pacingDelayMs: 100
  fcc: { port: ${FCC} }
channels:
${[1, 2, 3]
  .map(
    (k) => `  - number: ${k * 10}
    name: Channel ${k * 10}
    multicast: { group: ${G(k)}, port: ${BASE + 8 + 2 * k}${k === 3 ? ', source: 127.0.0.1' : ''} }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, k === 2 ? 'h265-aac-1s-gop.ts' : 'h264-aac-1s-gop.ts'))} }`,
  )
  .join('\n')}
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 3 && c.every((x) => x.state === 'ok' && x.stream.keyframes >= 2), 20_000, 'three channels');

  // The UDP output's receiver, before the agent starts.
  const udp = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  udp.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => udp.bind(UDP_OUT, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());

  const dir = await tempDir('roomcast-stb-lo-');
  const agent: ChildProcess = spawn(
    process.execPath,
    [AGENT_MAIN, 'run', '--headend', `http://127.0.0.1:${HTTP}`, '--interface', '127.0.0.1', '--control-port', String(CONTROL), '--udp', `127.0.0.1:${UDP_OUT}`, '--stdout', '--state-file', join(dir, 'state.json')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: env() },
  );
  t.teardown(() => agent.kill('SIGKILL'));
  const stdoutChunks: Buffer[] = [];
  let log = '';
  agent.stdout!.on('data', (d: Buffer) => stdoutChunks.push(d));
  agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));

  // The first channel (no state yet) is tuned without being asked.
  let st: { channel: number | null; lastZap: { firstByteMs: number | null } | null } = { channel: null, lastZap: null };
  for (let i = 0; i < 100 && !(st.lastZap && st.lastZap.firstByteMs !== null); i++) {
    await sleep(100);
    const r = await cli(['status']);
    if (r.code === 0) st = JSON.parse(r.stdout);
  }
  t.equal(st.channel, 10, 'the first channel of the lineup is tuned at start');
  t.match(log, /lineup .*: 3 channels/, 'logs (to stderr, stdout carries the TS)');

  const ch = await cli(['channels']);
  t.equal(ch.code, 0);
  t.match(ch.stdout, /\*\s+10\s+Channel 10/, 'channels marks the current one');
  t.match(ch.stdout, /\s+30\s+Channel 30/);

  // A player on the agent's HTTP output that follows zaps (connected mid-GOP of channel 10).
  const httpChunks: Buffer[] = [];
  const httpRes = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${CONTROL}/stream.ts`, resolve);
    req.on('error', reject);
    t.teardown(() => req.destroy());
  });
  httpRes.on('data', (d: Buffer) => httpChunks.push(d));
  t.equal(httpRes.statusCode, 200);
  t.equal(httpRes.headers['content-type'], 'video/mp2t', 'GET /stream.ts: MPEG-TS');
  await sleep(1500); // channel 10 has a 1 s GOP: the player's stream has started

  for (const [arg, want] of [
    ['up', 20],
    ['up', 30],
    ['up', 10],
    ['down', 30],
    ['last', 10],
    ['20', 20],
  ] as const) {
    const r = await cli(['zap', arg]);
    t.equal(r.code, 0, `zap ${arg}: ${r.stdout.trim()}${r.stderr.trim()}`);
    t.match(r.stdout, new RegExp(`^channel ${want} `), `zap ${arg} → ${want}`);
    t.match(r.stdout, /first byte to the player after [\d.]+ ms via FCC burst/);
  }
  const bad = await cli(['zap', '99']);
  t.equal(bad.code, 1, 'an unknown channel is an error');
  t.match(bad.stderr, /channel 99 is not in the lineup \(10, 20, 30\)/);
  t.equal((await cli(['zap', 'sideways'])).code, 2, 'a bad argument is a usage error');
  const noAgent = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [AGENT_MAIN, 'status', '--control-port', String(CONTROL + 1)], { timeout: 10_000, env: env() }, (err, _o, se) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr: String(se) })),
  );
  t.equal(noAgent.code, 1);
  t.match(noAgent.stderr, /no agent answers on http:\/\/127\.0\.0\.1:\d+\/.*is roomcast-stb running\?/, 'says what is wrong when no agent runs');

  // Outputs: channel 20 (H.265) since the last zap; collect 2 s more.
  const udpFrom = datagrams.length;
  const outFrom = stdoutChunks.length;
  await sleep(2000);
  const udpDgrams = datagrams.slice(udpFrom);
  t.ok(udpDgrams.length > 20, `${udpDgrams.length} UDP datagrams`);
  t.ok(udpDgrams.every((d) => d.length === 7 * TS_PACKET_SIZE && d[0] === 0x47), 'each 7 × 188 bytes, starting with 0x47');
  const udpTs = Buffer.concat(datagrams);
  const stdoutTs = Buffer.concat(stdoutChunks);
  t.equal(tsPid(udpTs, 0), 0, 'the UDP stream starts with the PAT');
  t.equal(tsPid(stdoutTs, 0), 0, 'stdout starts with the PAT');
  t.ok(stdoutChunks.length > outFrom);
  // Whole, they span the start and six zaps; continuity runs on across them.
  const httpTs = Buffer.concat(httpChunks);
  t.equal(tsPid(httpTs, 0), 0, 'the HTTP stream starts with the PAT though the player connected mid-GOP');
  for (const [name, ts] of [
    ['udp', udpTs],
    ['stdout', stdoutTs],
    ['http', httpTs],
  ] as const) {
    const ins = new TsInspector();
    ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
    t.equal(ins.counters.ccErrors, 0, `${name}: continuity counters run on across the start and six zaps`);
    t.ok(ins.counters.discontinuityIndicators >= 6, `${name}: the first PCR after each zap says so (${ins.counters.discontinuityIndicators})`);
    // The stream since the last zap alone decodes without an error.
    const last = lastStart(ts);
    const f = join(dir, `${name}.ts`);
    await writeFile(f, wholeFrames(ts.subarray(last), 0x100));
    t.equal(await ffmpegErrors(f), '', `${name}: ffmpeg decodes the last channel from its start`);
  }
  // A restarted agent tunes the channel it was on (startChannel: last, from its state file).
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  const again = spawn(process.execPath, [AGENT_MAIN, 'run', '--headend', `http://127.0.0.1:${HTTP}`, '--interface', '127.0.0.1', '--control-port', String(CONTROL), '--state-file', join(dir, 'state.json')], {
    stdio: 'ignore',
    env: env(),
  });
  t.teardown(() => again.kill('SIGKILL'));
  let st2: { channel: number | null; previous: number | null } = { channel: null, previous: null };
  for (let i = 0; i < 100 && st2.channel === null; i++) {
    await sleep(100);
    const r = await cli(['status']);
    if (r.code === 0) st2 = JSON.parse(r.stdout);
  }
  t.equal(st2.channel, 20, 'after a restart the last channel is tuned again');
  t.equal(st2.previous, 10, 'and "last" still knows the one before');

  // Channel 30 is SSM (multicast.source): the agent joins (S, G) — the
  // kernel's filter lists the source for the group, INCLUDE mode — and the
  // multicast flows after the splice.
  const z30 = await cli(['zap', '30']);
  t.equal(z30.code, 0, `zap 30: ${z30.stdout.trim()}${z30.stderr.trim()}`);
  const hex = (ip: string): string => '0x' + ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  let filter = '';
  let tuner: { onMulticast: boolean; depacketizer: { packets?: number; received?: number } | null } | null = null;
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    filter = await readFile('/proc/net/mcfilter', 'utf8');
    const r = await cli(['status']);
    if (r.code === 0) tuner = JSON.parse(r.stdout).tuner;
    if (tuner?.onMulticast && filter.includes(hex(G(3)))) break;
  }
  const row = filter.split('\n').find((l) => l.includes(`${hex(G(3))} ${hex('127.0.0.1')}`));
  t.ok(row, `(S, G) = (127.0.0.1, ${G(3)}) in /proc/net/mcfilter: ${row?.trim()}`);
  t.match(row ?? '', /\s+1\s+0\s*$/, 'INCLUDE mode: the source is included, not excluded');
  t.equal(tuner?.onMulticast, true, 'spliced onto the SSM multicast');
  const before = JSON.stringify(tuner?.depacketizer);
  await sleep(700);
  const later = JSON.parse((await cli(['status'])).stdout).tuner;
  t.not(JSON.stringify(later.depacketizer), before, `the SSM group keeps flowing: ${JSON.stringify(later.depacketizer)}`);
  again.kill('SIGTERM');
});
