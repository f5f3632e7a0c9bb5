/**
 * SRT input, listener mode, against the real libsrt peers on loopback:
 * ffmpeg (`-f mpegts srt://…?mode=caller`) and `srt-live-transmit` call the
 * headend; two channels share one UDP port, told apart by stream id; an
 * unknown stream id and an encrypting caller are refused with a reason and a
 * counter; ffmpeg decodes the multicast the headend makes of it.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, startHeadend, tempDir } from '../helpers/headend.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, tsPayloadUnitStartIndicator, tsPid } from '../../core/mpegts/packet.js';
import { RandomAccessGate } from '../../stb-agent/tuner/gate.js';
import { writeShutdown } from '../../core/srt/packet.js';
import { HandshakeType, HandshakeVersion, isSrtParseError, parseHandshake, peerIpFromIPv4, writeHandshake } from '../../core/srt/handshake.js';
import { randomBytes } from 'node:crypto';

const BASE = 34000 + (process.pid % 1500) * 12;
const SRT_PORT = BASE;
const G1 = `239.255.205.${(process.pid % 250) + 1}`;
const G2 = `239.255.206.${(process.pid % 250) + 1}`;

function run(cmd: string, args: string[], ms: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function ffmpegCaller(fixture: string, url: string): ChildProcess {
  // -re -stream_loop -1: a live encoder; killed at teardown (bounded by the test timeout).
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', join(FIXTURES, fixture), '-c', 'copy', '-f', 'mpegts', url], { stdio: 'ignore' });
}

/** ffmpeg → stdout → srt-live-transmit → us: libsrt's own tool as the caller. */
function sltCaller(fixture: string, url: string): ChildProcess {
  return spawn('sh', ['-c', `ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i '${join(FIXTURES, fixture)}' -c copy -f mpegts - | exec srt-live-transmit -q file://con '${url}'`], { stdio: 'ignore', detached: true });
}

async function captureMulticast(group: string, port: number, ms: number): Promise<Buffer> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const parts: Buffer[] = [];
  sock.on('message', (m) => parts.push(m.subarray(12)));
  await new Promise<void>((r) => sock.bind({ address: group, port }, () => r()));
  sock.addMembership(group, '127.0.0.1');
  await sleep(ms);
  sock.close();
  return Buffer.concat(parts);
}

t.test('SRT listener: ffmpeg and srt-live-transmit call in, stream ids route them, refusals are counted', { timeout: 90_000 }, async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 2}
  pacingDelayMs: 100
  fcc: { port: ${BASE + 4} }
channels:
  - number: 1
    name: From ffmpeg
    multicast: { group: ${G1}, port: ${BASE + 6} }
    source: { type: srt, port: ${SRT_PORT}, streamId: cam/1, latencyMs: 120 }
  - number: 2
    name: From srt-live-transmit
    multicast: { group: ${G2}, port: ${BASE + 8} }
    source: { type: srt, port: ${SRT_PORT}, streamId: cam/2, latencyMs: 200 }
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await sleep(500);
  const a = ffmpegCaller('h264-aac-1s-gop.ts', `srt://127.0.0.1:${SRT_PORT}?mode=caller&streamid=cam/1&latency=120000`);
  const b = sltCaller('h265-aac-1s-gop.ts', `srt://127.0.0.1:${SRT_PORT}?mode=caller&streamid=cam/2&latency=120`);
  t.teardown(() => {
    a.kill('SIGKILL');
    try {
      process.kill(-b.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const chs = await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok' && x.stream.keyframes >= 2), 20_000, 'both SRT channels on air');
  const s1 = chs[0].input.source;
  const s2 = chs[1].input.source;
  t.equal(s1.srtConnections, 1, `channel 1 connected from ${s1.srtPeer}`);
  t.equal(s2.srtConnections, 1, `channel 2 connected from ${s2.srtPeer}`);
  t.match(chs[0].stream.streams, /H\.264/, 'channel 1 carries the ffmpeg caller (H.264)');
  t.match(chs[1].stream.streams, /H\.265/, 'channel 2 carries the srt-live-transmit caller (H.265)');
  t.equal(s2.srtLatencyMs, 200, 'latency: the larger of ours (200) and the caller\'s (120)');
  t.match(he.output(), /SRT caller 127\.0\.0\.1:\d+ \(stream id "cam\/1"\) connected/);

  // Refusals: an unknown stream id, and a caller that encrypts.
  const unknown = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-t', '1', '-re', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${SRT_PORT}?mode=caller&streamid=cam/9&connect_timeout=2000000`], 15_000);
  t.not(unknown.code, 0, 'ffmpeg with an unknown stream id fails to connect');
  const crypt = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-t', '1', '-re', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${SRT_PORT}?mode=caller&streamid=cam/1&passphrase=0123456789abc&connect_timeout=2000000`], 15_000);
  t.not(crypt.code, 0, 'an encrypting caller is refused');
  t.match(he.output(), /refused 127\.0\.0\.1:\d+ \(stream id "cam\/9"\): no channel listens for stream id "cam\/9"/, 'logged with the reason');

  // The multicast ffmpeg decodes, with continuous CC.
  const ts = await captureMulticast(G1, BASE + 6, 3000);
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  t.equal(ins.counters.ccErrors, 0, 'no CC error on the multicast');
  // A capture starts mid-GOP and ends mid-frame: start it on an I-frame (the
  // STB agent's gate) and end it at the last whole access unit.
  const out: Buffer[] = [];
  const gate = new RandomAccessGate({ start: (psi) => out.push(Buffer.from(psi)), writePackets: (b, o, n) => out.push(Buffer.from(b.subarray(o, o + n * TS_PACKET_SIZE))) });
  gate.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  let clean = Buffer.concat(out);
  for (let o = clean.length - TS_PACKET_SIZE; o >= 0; o -= TS_PACKET_SIZE) {
    if (tsPid(clean, o) === gate.inspector.videoPid && tsPayloadUnitStartIndicator(clean, o)) {
      clean = clean.subarray(0, o);
      break;
    }
  }
  t.ok(clean.length > 100 * TS_PACKET_SIZE, `${clean.length} bytes from the first I-frame`);
  const dir = await tempDir();
  const f = join(dir, 'ch1.ts');
  await writeFile(f, clean);
  const errs = await new Promise<string>((r) => execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-i', f, '-f', 'null', '-'], { timeout: 20_000 }, (_e, _o, se) => r(String(se))));
  t.equal(errs.trim(), '', 'ffmpeg decodes the multicast with no error');
  t.equal(chs[0].input.source.srtPacketsLost, 0, 'no loss on loopback');
  // Statistics like libsrt's: RTT (loopback: well under 10 ms), the receive
  // rate (the SRT payload is the TS: about the channel's input rate).
  const live = (await he.status())[0];
  const rtt = Number(live.input.source.srtRttMs);
  const rate = Number(live.input.source.srtReceiveRateBps);
  t.ok(rtt >= 0 && rtt < 10, `RTT ${rtt} ms`);
  t.ok(rate > 0.3 * live.inputBitrateBps && rate < 3 * live.inputBitrateBps, `SRT receive rate ${rate} bit/s, TS input ${live.inputBitrateBps} bit/s`);

  // Stop the ffmpeg caller: the channel reports the close, and a new caller is taken.
  a.kill('SIGKILL');
  // Nothing else feeds channel 1: the slate goes on the air (the multicast never stops).
  const gone = await he.waitFor((c) => c[0].input.restarts >= 1 && c[0].state === 'slate', 15_000, 'the vanished caller to be noticed and the slate on the air');
  t.match(gone[0].input.lastError ?? '', /stalled|SRT caller/, `why: ${gone[0].input.lastError}`);
  const a2 = ffmpegCaller('h264-aac-1s-gop.ts', `srt://127.0.0.1:${SRT_PORT}?mode=caller&streamid=cam/1&latency=120000`);
  t.teardown(() => a2.kill('SIGKILL'));
  const again = await he.waitFor((c) => c[0].state === 'ok' && (c[0].input.source.srtConnections as number) >= 1 && c[0].input.source.srtPacketsReceived !== null, 20_000, 'a new caller on channel 1');
  t.ok(again[0].input.restarts >= 1, `channel 1 took the new caller after restarting its input (${again[0].input.lastError})`);

  // srt-live-transmit stopped gracefully (SIGINT): libsrt sends SHUTDOWN, and
  // the channel knows at once — not after the peer idle timeout (5 s).
  const sigAt = Date.now();
  process.kill(-b.pid!, 'SIGINT');
  const shut = await he.waitFor((c) => /shut the connection down/.test(String(c[1].input.source.srtLastClose ?? '')), 4500, 'channel 2 told of the shutdown');
  t.pass(`channel 2: "${String(shut[1].input.source.srtLastClose)}", seen in the status ${Date.now() - sigAt} ms after SIGINT (the status lags up to 2 s)`);
  t.equal(he.proc.exitCode, null, 'the headend kept running');
});

t.test('SRT hostile input: garbage, truncation, a handshake flood, forged cookies and control packets are counted and ignored; the channel keeps playing', { timeout: 90_000 }, async (t) => {
  const port = BASE + 3;
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 5}
  pacingDelayMs: 100
  fcc: { enabled: false }
channels:
  - number: 1
    name: Under attack
    multicast: { group: ${G1}, port: ${BASE + 10} }
    source: { type: srt, port: ${port}, latencyMs: 120 }
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await sleep(500);
  const enc = ffmpegCaller('h264-aac-1s-gop.ts', `srt://127.0.0.1:${port}?mode=caller&latency=120000`);
  t.teardown(() => enc.kill('SIGKILL'));
  const up = await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2 && c[0].input.source.srtSocketId !== null, 20_000, 'the SRT channel on air');
  const socketId = Number(up[0].input.source.srtSocketId);
  const before = up[0];

  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => s.close());
  const send = (b: Buffer): void => s.send(b, port, '127.0.0.1');
  for (let i = 0; i < 200; i++) send(randomBytes(1 + (i % 1400)));
  for (let i = 1; i < 16; i++) send(Buffer.alloc(i, 0x80));
  const hs = (type: number, cookie: number): Buffer =>
    writeHandshake({ timestampUs: 0, destSocketId: 0, version: type === HandshakeType.INDUCTION ? HandshakeVersion.UDT4 : HandshakeVersion.SRT5, encryptionField: 0, extensionField: type === HandshakeType.INDUCTION ? 2 : 5, initialSequenceNumber: 1, mtuBytes: 1500, flowWindowPackets: 8192, handshakeType: type, socketId: 4242, synCookie: cookie, peerIp: peerIpFromIPv4('127.0.0.1'), ...(type === HandshakeType.CONCLUSION ? { hsReq: { srtVersion: 0x10501, srtFlags: 0xbf, receiverTsbpdDelayMs: 120, senderTsbpdDelayMs: 120 } } : {}) });
  let answers = 0;
  s.on('message', () => answers++);
  for (let i = 0; i < 500; i++) send(hs(HandshakeType.INDUCTION, 0));
  for (let i = 0; i < 50; i++) send(hs(HandshakeType.CONCLUSION, 0x12345678 + i));
  const shutdown = Buffer.alloc(20);
  writeShutdown(shutdown, 0, { timestampUs: 0, destSocketId: socketId });
  send(shutdown); // the right socket id, from the wrong address:port
  writeShutdown(shutdown, 0, { timestampUs: 0, destSocketId: socketId ^ 0x5a5a });
  send(shutdown);
  // A peer that speaks another version: a real cookie (from our INDUCTION answer), then a version-4 CONCLUSION.
  const v4 = dgram.createSocket('udp4');
  t.teardown(() => v4.close());
  const v4answers: Buffer[] = [];
  v4.on('message', (m) => v4answers.push(m));
  await new Promise<void>((r) => v4.bind(0, '127.0.0.1', () => r()));
  v4.send(hs(HandshakeType.INDUCTION, 0), port, '127.0.0.1');
  for (let i = 0; i < 50 && v4answers.length === 0; i++) await sleep(20);
  const induction = parseHandshake(v4answers[0], v4answers[0].length);
  t.ok(!isSrtParseError(induction) && induction.synCookie !== 0, 'the INDUCTION answer carries a cookie');
  const cookie = isSrtParseError(induction) ? 0 : induction.synCookie;
  const old = writeHandshake({ timestampUs: 0, destSocketId: 0, version: HandshakeVersion.UDT4, encryptionField: 0, extensionField: 2, initialSequenceNumber: 1, mtuBytes: 1500, flowWindowPackets: 8192, handshakeType: HandshakeType.CONCLUSION, socketId: 777, synCookie: cookie, peerIp: peerIpFromIPv4('127.0.0.1') });
  v4.send(old, port, '127.0.0.1');
  for (let i = 0; i < 50 && v4answers.length < 2; i++) await sleep(20);
  const refusal = v4answers[1] ? parseHandshake(v4answers[1], v4answers[1].length) : null;
  t.ok(refusal && !isSrtParseError(refusal) && refusal.handshakeType === 1000 + 8, `a version-4 caller is refused with REJ_VERSION (${refusal && !isSrtParseError(refusal) ? refusal.handshakeType : 'no answer'})`);
  await sleep(2500);
  const after = await he.waitFor((c) => (c[0].input.source.srtForeignPackets as number) > 0, 5000, 'the counters');
  const src = after[0].input.source as Record<string, number>;
  t.ok(src.srtMalformed + src.srtForeignPackets >= 200, `garbage and truncation counted: malformed ${src.srtMalformed}, foreign ${src.srtForeignPackets}`);
  t.equal(src.srtRefusedCookie, 50, 'every CONCLUSION with a forged cookie refused');
  t.ok(src.srtRefused >= 51, `refusals counted, the version one among them: ${src.srtRefused}`);
  t.ok(answers <= 500 + 1, `${answers} answers: an INDUCTION cookie each (as libsrt), nothing for the forged conclusions`);
  t.equal(src.srtConnections, before.input.source.srtConnections, 'no connection was made, none was broken');
  t.equal(after[0].input.restarts, before.input.restarts, 'the input never restarted');
  t.equal(after[0].tr101290.ccErrors, 0, 'the stream went on without a CC error');
  t.ok(after[0].inputBitrateBps > 0 && after[0].state === 'ok', `still on air: ${after[0].inputBitrateBps} bit/s`);
});

t.test('SRT caller mode: the headend calls srt-live-transmit listening; a call nobody answers is retried with the reason recorded', { timeout: 90_000 }, async (t) => {
  const listenPort = BASE + 9;
  const deadPort = BASE + 11;
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 5}
  pacingDelayMs: 100
  fcc: { enabled: false }
channels:
  - number: 1
    name: We call
    multicast: { group: ${G1}, port: ${BASE + 10} }
    source: { type: srt, mode: caller, address: 127.0.0.1, port: ${listenPort}, latencyMs: 120 }
  - number: 2
    name: Nobody there
    multicast: { group: ${G2}, port: ${BASE + 12} }
    source: { type: srt, mode: caller, address: 127.0.0.1, port: ${deadPort}, latencyMs: 120 }
`;
  const listener = spawn('sh', ['-c', `ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i '${join(FIXTURES, 'h264-aac-1s-gop.ts')}' -c copy -f mpegts - | exec srt-live-transmit -q file://con 'srt://:${listenPort}?mode=listener&latency=120'`], { stdio: 'ignore', detached: true });
  t.teardown(() => {
    try {
      process.kill(-listener.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  await sleep(700);
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  const chs = await he.waitFor((c) => c.length === 2 && c[0].state === 'ok' && c[0].stream.keyframes >= 2 && c[1].input.restarts >= 1, 25_000, 'channel 1 on air and channel 2 retried');
  t.equal(chs[0].input.source.srtConnections, 1, 'connected to the listener');
  t.match(chs[0].stream.streams, /H\.264/);
  t.equal(chs[0].tr101290.ccErrors, 0);
  t.match(chs[1].input.lastError ?? '', new RegExp(`SRT call to 127\\.0\\.0\\.1:${deadPort}: no answer from 127\\.0\\.0\\.1:${deadPort} within 3000 ms`), `why: ${chs[1].input.lastError}`);
  t.not(chs[1].state, 'ok', `channel 2 is ${chs[1].state}, not ok`);
});

t.test('SRT encryption (AES-CTR, passphrase): ffmpeg calls in with AES-128, we call srt-live-transmit with AES-256; a wrong passphrase and a clear caller are refused', { timeout: 90_000 }, async (t) => {
  const lPort = BASE + 1;
  const cPort = BASE + 9;
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 5}
  pacingDelayMs: 100
  fcc: { enabled: false }
channels:
  - number: 1
    name: Encrypted, they call
    multicast: { group: ${G1}, port: ${BASE + 10} }
    source: { type: srt, port: ${lPort}, latencyMs: 120, passphrase: "hotel-contribution-1" }
  - number: 2
    name: Encrypted, we call
    multicast: { group: ${G2}, port: ${BASE + 12} }
    source: { type: srt, mode: caller, address: 127.0.0.1, port: ${cPort}, latencyMs: 120, passphrase: "hotel-contribution-2", pbkeylen: 32 }
`;
  const listener = spawn('sh', ['-c', `ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i '${join(FIXTURES, 'h264-aac-1s-gop.ts')}' -c copy -f mpegts - | exec srt-live-transmit -q file://con 'srt://:${cPort}?mode=listener&latency=120&passphrase=hotel-contribution-2&pbkeylen=32'`], { stdio: 'ignore', detached: true });
  t.teardown(() => {
    try {
      process.kill(-listener.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  await sleep(700);
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await sleep(500);
  const enc = ffmpegCaller('h265-aac-1s-gop.ts', `srt://127.0.0.1:${lPort}?mode=caller&latency=120000&passphrase=hotel-contribution-1`);
  t.teardown(() => enc.kill('SIGKILL'));
  const chs = await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok' && x.stream.keyframes >= 2), 25_000, 'both encrypted channels on air');
  t.equal(chs[0].input.source.srtEncrypted, 'yes', 'channel 1 decrypts');
  t.match(chs[0].stream.streams, /H\.265/, 'the decrypted TS is what ffmpeg sent (H.265, keyframes found)');
  t.match(chs[1].stream.streams, /H\.264/, 'channel 2 (AES-256, our keys) decrypts what srt-live-transmit sends');
  for (const c of chs) t.equal(c.tr101290.ccErrors, 0, `channel ${c.number}: no CC error`);
  const wrong = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-t', '1', '-re', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${lPort}?mode=caller&passphrase=not-the-secret&connect_timeout=2000000`], 15_000);
  t.not(wrong.code, 0, 'a wrong passphrase cannot connect');
  const clear = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-t', '1', '-re', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${lPort}?mode=caller&connect_timeout=2000000`], 15_000);
  t.not(clear.code, 0, 'a caller without a passphrase cannot connect to an encrypted input');
  const after = await he.waitFor((c) => (c[0].input.source.srtRefused as number) >= 2, 5000, 'the refusals counted');
  t.equal(after[0].input.source.srtRefusedBadSecret, 1, 'one wrong passphrase');
  t.equal(after[0].input.source.srtRefusedEncryption, 1, 'one clear caller');
  t.match(he.output(), /refused 127\.0\.0\.1:\d+: wrong passphrase/);
  t.equal(after[0].input.restarts, 0, 'channel 1 kept its caller throughout');
});
