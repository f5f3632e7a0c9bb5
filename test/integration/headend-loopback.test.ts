/**
 * The built headend as a process on loopback, fed by real peers: ffmpeg
 * sends the fixture as raw UDP and as RTP (`-f rtp_mpegts`), and the test
 * throws garbage and truncated datagrams at the same ports. Runs everywhere
 * (no namespaces needed).
 */
import t from 'tap';
import dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, runHeadendOnce, startHeadend } from '../helpers/headend.js';

const FIXTURE = join(FIXTURES, 'h264-aac-1s-gop.ts');
// Unique ports per run so parallel test files never collide.
const BASE = 20000 + (process.pid % 2000) * 8;
const UDP_IN = BASE;
const RTP_IN = BASE + 2;

const MCAST_IN = BASE + 6;
const MCAST_IN_GROUP = `239.255.201.${(process.pid % 250) + 1}`;

function feeder(kind: 'udp' | 'rtp' | 'multicast', port: number): ChildProcess {
  const out =
    kind === 'udp'
      ? ['-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`]
      : kind === 'rtp'
        ? ['-f', 'rtp_mpegts', `rtp://127.0.0.1:${port}`]
        : // An IRD multicasting on the headend's input interface (loopback here: NETLAB.md, both sides name 127.0.0.1).
          ['-f', 'mpegts', `udp://${MCAST_IN_GROUP}:${port}?localaddr=127.0.0.1&ttl=1&pkt_size=1316`];
  // -re -stream_loop -1: a live encoder stand-in; killed by the test (bounded by the test timeout).
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', FIXTURE, '-c', 'copy', ...out], { stdio: 'ignore' });
  return p;
}

t.test('a configuration with five mistakes is refused with all five listed, and nothing starts', async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
channels:
  - number: 1
    name: One
    multicast: { group: 239.1.1.300, port: 5000 }
    source: { type: ffmpeg, url: "testsrc", format: lavfi }
  - number: 1
    name: Two
    multicast: { group: 239.1.1.2, port: 5000 }
    source: { type: udp, port: 1234 }
  - number: 3
    name: Three
    multicast: { group: 239.1.1.2, port: 5000 }
    source: { type: file, path: x.ts, speed: 2 }
`;
  const { code, output } = await runHeadendOnce(yaml);
  t.equal(code, 2, 'exits non-zero');
  const expected = [
    'channels[0].multicast.group: 239.1.1.300 is not an IPv4 multicast address',
    'channels[1].number: 1 is already used by channels[0]',
    'channels[1].source.address: is required',
    'channels[2].source.speed: unknown key (allowed here: type, stallMs, path)',
    'channels[2].multicast: 239.1.1.2:5000 is already used by channels[1]',
  ];
  for (const line of expected) t.match(output, line, line);
  t.match(output, /5 problems/);
  t.notMatch(output, /channel 1 "/, 'no channel was started');
});

t.test('UDP (unicast and multicast) and RTP inputs: garbage and truncated datagrams are counted, a garbage-only input is restarted, other channels untouched', { timeout: 90_000 }, async (t) => {
  const yaml = `
headend: { interface: 127.0.0.1, pacingDelayMs: 200, workers: 2 }
channels:
  - number: 1
    name: UDP in
    multicast: { group: 239.255.200.1, port: ${BASE + 4} }
    source: { type: udp, address: 127.0.0.1, port: ${UDP_IN}, stallMs: 1500 }
  - number: 2
    name: RTP in
    multicast: { group: 239.255.200.2, port: ${BASE + 4} }
    source: { type: rtp, address: 127.0.0.1, port: ${RTP_IN} }
  - number: 3
    name: File loop
    multicast: { group: 239.255.200.3, port: ${BASE + 4} }
    source: { type: file, path: ${FIXTURE} }
  - number: 4
    name: Multicast in
    multicast: { group: 239.255.200.4, port: ${BASE + 4} }
    source: { type: udp, address: ${MCAST_IN_GROUP}, port: ${MCAST_IN}, interface: 127.0.0.1 }
`;
  const he = await startHeadend(yaml);
  t.teardown(() => he.stop());
  let udpFeed = feeder('udp', UDP_IN);
  const rtpFeed = feeder('rtp', RTP_IN);
  const mcastFeed = feeder('multicast', MCAST_IN);
  t.teardown(() => {
    udpFeed.kill('SIGKILL');
    rtpFeed.kill('SIGKILL');
    mcastFeed.kill('SIGKILL');
  });
  await he.waitFor((chs) => chs.length === 4 && chs.every((c) => c.state === 'ok'), 15_000, 'all four channels ok');
  t.match(he.output(), /2 data-plane workers/, 'channels sharded across two workers, each reporting its own');

  const sock = dgram.createSocket('udp4');
  t.teardown(() => sock.close());
  const send = (buf: Buffer, port: number): Promise<void> =>
    new Promise((resolve) => sock.send(buf, port, '127.0.0.1', () => resolve()));

  // 1. Garbage mixed into a live UDP feed: counted, the channel keeps playing.
  for (let i = 0; i < 50; i++) await send(randomBytes(1 + (i * 37) % 1400), UDP_IN);
  // Truncated and hostile RTP: shorter than a header, wrong version, bad padding.
  const hostile = [Buffer.alloc(3), Buffer.from([0x00, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from([0xa0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff])];
  for (let i = 0; i < 30; i++) await send(hostile[i % hostile.length], RTP_IN);
  // The status lags by up to two 1-s ticks (the worker's snapshot, then the
  // status file): wait for the counts rather than a fixed time.
  let chs = await he
    .waitFor((c) => c[0].input.syncLosses + c[0].input.bytesSkipped > 0 && Number(c[1].input.source.rtpMalformed) >= 20, 5000, 'garbage counted')
    .catch(() => he.status());
  const udp = chs.find((c) => c.number === 1)!;
  const rtp = chs.find((c) => c.number === 2)!;
  t.ok(udp.input.syncLosses + udp.input.bytesSkipped > 0, `UDP garbage counted: ${udp.input.syncLosses} sync losses, ${udp.input.bytesSkipped} bytes skipped`);
  t.equal(udp.state, 'ok', 'UDP channel still ok');
  t.ok(Number(rtp.input.source.rtpMalformed) >= 20, `RTP malformed counted: ${rtp.input.source.rtpMalformed}`);
  t.equal(rtp.state, 'ok', 'RTP channel still ok');
  t.equal(udp.input.restarts, 0);
  t.equal(rtp.input.restarts, 0);

  // 2. The UDP encoder dies and only garbage arrives: restarted, with the reason.
  udpFeed.kill('SIGKILL');
  const garbageUntil = Date.now() + 3000;
  while (Date.now() < garbageUntil) {
    await send(randomBytes(1316).fill(0x00, 0, 1), UDP_IN); // never starts with 0x47
    await sleep(20);
  }
  chs = await he.waitFor((c) => c[0].input.restarts >= 1, 5000, 'UDP input restarted');
  t.match(chs[0].input.lastError ?? '', /^garbage: data arrives but no TS packet/, `reason: ${chs[0].input.lastError}`);

  // 3. Silence: the next attempt stalls and says so.
  chs = await he.waitFor((c) => /^stalled/.test(c[0].input.lastError ?? ''), 6000, 'a stalled attempt');
  t.pass(`stall reason: ${chs[0].input.lastError}`);

  // 4. The encoder comes back: the channel is ok again without a headend restart.
  udpFeed = feeder('udp', UDP_IN);
  await he.waitFor((c) => c[0].state === 'ok', 15_000, 'UDP channel back');

  // The other channels never restarted and never stopped sending.
  chs = await he.status();
  for (const n of [2, 3, 4]) {
    const c = chs.find((x) => x.number === n)!;
    t.equal(c.input.restarts, 0, `channel ${n} never restarted`);
    t.equal(c.state, 'ok', `channel ${n} ok`);
    t.ok(c.outputBitrateBps > 200_000, `channel ${n} sending ${c.outputBitrateBps} bps`);
  }
  t.equal(chs[2].tr101290.ccErrors, 0, 'file loop: no CC error across loops');
  const log = he.output();
  t.match(log, /\[ch1\] input failed after .*garbage/, 'the restart and its reason are logged');
  await readFile(join(he.dataDir, 'playlist.m3u'), 'utf8').then((m3u) => t.match(m3u, /udp:|rtp:\/\/@239\.255\.200\.1/));
});

t.test('the README quick start: the bundled channels.yaml puts 4 channels on air, one log line each, then a health line each', { timeout: 60_000 }, async (t) => {
  const yaml = await readFile(join(FIXTURES, '../../channels.yaml'), 'utf8');
  const he = await startHeadend(yaml);
  t.teardown(() => he.stop());
  const chs = await he.waitFor((c) => c.length >= 4 && c.every((x) => x.state === 'ok' && x.outputBitrateBps > 1_400_000), 20_000, 'four demo channels ok at full rate');
  for (const c of chs) {
    t.ok(c.outputBitrateBps > 1_000_000, `channel ${c.number} "${c.name}" sends ${(c.outputBitrateBps / 1e6).toFixed(2)} Mbit/s`);
    t.ok(c.stream.keyframes >= 1 && /H\.264/.test(c.stream.streams) && /AAC/.test(c.stream.streams), `channel ${c.number}: ${c.stream.streams}`);
    t.equal(c.tr101290.ccErrors, 0);
  }
  t.equal(new Set(chs.map((c) => c.stream.serviceName)).size, 4, 'four distinct services');
  for (const c of chs) {
    // ffmpeg's -stats progress, parsed from its stderr into the channel status.
    t.ok(Number(c.input.source.ffmpegFps) > 0 && Number(c.input.source.ffmpegSpeed) > 0.5, `channel ${c.number} ffmpeg: ${c.input.source.ffmpegFps} fps, speed ${c.input.source.ffmpegSpeed}x`);
  }
  for (const n of [1, 2, 3, 4]) t.match(he.output(), new RegExp(`channel ${n} "[^"]+" \\[\\w+\\] → rtp://@239\\.255\\.1\\.${n}:5000 \\(rtp\\), 1\\.62 Mbps CBR`));
  // Health lines come every headend.healthIntervalS (10 s in the bundled file).
  const until = Date.now() + 15_000;
  while (Date.now() < until && !/ch 4 ok \| in /.test(he.output())) await sleep(250);
  for (const n of [1, 2, 3, 4]) t.match(he.output(), new RegExp(`ch ${n} ok \\| in [\\d.]+ Mbps \\| out [\\d.]+ Mbps \\| cc 0`), `health line for channel ${n}`);
  const m3u = await readFile(join(he.dataDir, 'playlist.m3u'), 'utf8');
  t.match(m3u, /#EXTINF:-1 tvg-id="news.roomcast" tvg-chno="1" tvg-name="Roomcast News" group-title="News",Roomcast News\nrtp:\/\/@239\.255\.1\.1:5000/);

  // An encoder that hangs without exiting (SIGSTOP): no data for stallMs
  // (3 s by default) → the attempt is ended, ffmpeg killed, a new one started.
  const before = await he.status();
  const pid = Number(before[0].input.source.ffmpegPid);
  process.kill(pid, 'SIGSTOP');
  const restarts0 = before[0].input.restarts;
  const after = await he.waitFor((c) => c[0].input.restarts > restarts0 && c[0].state === 'ok', 12_000, 'channel 1 restarted after its ffmpeg hung');
  t.match(after[0].input.lastError ?? '', /^stalled: no data for \d+ ms/, `reason: ${after[0].input.lastError}`);
  t.not(Number(after[0].input.source.ffmpegPid), pid, 'a new ffmpeg process');
  let hungGone = false;
  try {
    process.kill(pid, 0);
  } catch {
    hungGone = true;
  }
  t.ok(hungGone, 'the hung ffmpeg was killed, not left behind');
  for (const c of after.slice(1)) t.equal(c.input.restarts, before.find((b) => b.number === c.number)?.input.restarts, `channel ${c.number} untouched`);
  t.equal(await he.stop(), 0, 'SIGTERM stops it cleanly with exit code 0');
});
