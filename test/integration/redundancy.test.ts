/**
 * Input redundancy and the slate, with real encoders (ffmpeg) on loopback:
 * the primary dies → the backup is on the air within 500 ms, at an I-frame,
 * with continuity counters unbroken; the primary comes back → it returns
 * after the hold-off; everything dies → the slate within about a second, and
 * the multicast never stops; an encoder comes back → off the slate at once.
 * ffmpeg decodes what went out.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, startHeadend, tempDir, type RunningHeadend } from '../helpers/headend.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, tsPayloadUnitStartIndicator, tsPid } from '../../core/mpegts/packet.js';
import { RandomAccessGate } from '../../stb-agent/tuner/gate.js';
import type { ChannelSnapshot } from '../../headend/dataplane/messages.js';

const BASE = 38000 + (process.pid % 1200) * 8;
const A_PORT = BASE;
const B_PORT = BASE + 2;
const OUT_PORT = BASE + 4;
const GROUP = `239.255.209.${(process.pid % 250) + 1}`;

function encoder(port: number): ChildProcess {
  // A live encoder stand-in (1 s GOP); killed by the test.
  // ?bitrate= makes ffmpeg pace its UDP output like a CBR encoder (unpaced, it sends in ~280 ms bursts).
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', '-muxrate', '1000000', `udp://127.0.0.1:${port}?pkt_size=1316&bitrate=1000000`], { stdio: 'ignore' });
}

/** Everything the multicast carries, with arrival times. */
async function capture(): Promise<{ stop(): void; datagrams: { at: number; buf: Buffer }[] }> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const datagrams: { at: number; buf: Buffer }[] = [];
  sock.on('message', (m) => datagrams.push({ at: performance.now(), buf: m }));
  await new Promise<void>((r) => sock.bind({ address: GROUP, port: OUT_PORT }, () => r()));
  sock.addMembership(GROUP, '127.0.0.1');
  let open = true;
  return {
    stop: () => {
      if (open) sock.close();
      open = false;
    },
    datagrams,
  };
}

function maxGapBetween(d: { at: number }[], from: number, to: number): number {
  let gap = 0;
  let prev = -1;
  for (const x of d) {
    if (x.at < from || x.at > to) continue;
    if (prev >= 0 && x.at - prev > gap) gap = x.at - prev;
    prev = x.at;
  }
  return gap;
}

async function ch(he: RunningHeadend): Promise<ChannelSnapshot> {
  return (await he.status())[0];
}

t.test('primary dies → backup within 500 ms; primary back → returns after the hold-off; all dead → slate; back → off the slate', { timeout: 150_000 }, async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 6}
  pacingDelayMs: 250
  fcc: { enabled: false }
channels:
  - number: 1
    name: Redundant
    multicast: { group: ${GROUP}, port: ${OUT_PORT} }
    inputs:
      - { type: udp, address: 127.0.0.1, port: ${A_PORT} }
      - { type: udp, address: 127.0.0.1, port: ${B_PORT} }
    failover: { returnAfterS: 5 }
`;
  let a = encoder(A_PORT);
  let b = encoder(B_PORT);
  t.teardown(() => {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  });
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].activeInput === 'primary' && c[0].inputs[1].healthy, 20_000, 'the primary on the air and the backup healthy');
  // The slate is made in the background: wait until the headend says so.
  for (let i = 0; i < 100 && !/slate made|slate without text/.test(he.output()); i++) await sleep(100);
  const cap = await capture();
  t.teardown(() => cap.stop());
  await sleep(2000);

  // 1. The primary dies.
  const killA = performance.now();
  a.kill('SIGKILL');
  const s1 = await he.waitFor((c) => c[0].activeInput === 'backup 1', 5000, 'the backup on the air');
  const sw = s1[0].lastSwitch!;
  t.equal(sw.from, 'primary');
  t.match(sw.reason, /primary silent for \d+ ms/, `why: ${sw.reason}`);
  t.ok(sw.atRandomAccess, `at an I-frame (the backup's last, kept while it was hot), ${sw.tookMs} ms after the decision`);
  await sleep(1500);
  const gap1 = maxGapBetween(cap.datagrams, killA - 100, performance.now());
  t.ok(gap1 < 500, `the multicast was silent ${gap1.toFixed(0)} ms at most around the switch (< 500)`);
  t.equal(s1[0].state, 'ok');

  // 2. The primary comes back: it returns only after the 5 s hold-off.
  a = encoder(A_PORT);
  const backAt = performance.now();
  await he.waitFor((c) => c[0].inputs[0].healthy, 10_000, 'the primary healthy again');
  await sleep(2000);
  t.equal((await ch(he)).activeInput, 'backup 1', 'still on the backup 2 s later (hold-off 5 s)');
  const s2 = await he.waitFor((c) => c[0].activeInput === 'primary', 10_000, 'the return to the primary');
  const heldS = (performance.now() - backAt) / 1000;
  t.ok(heldS >= 5, `returned after ${heldS.toFixed(1)} s`);
  t.match(s2[0].lastSwitch!.reason, /the primary has worked for 5 s/, `why: ${s2[0].lastSwitch!.reason}`);

  // 3. Everything dies: the slate, and the multicast does not stop for long.
  await sleep(1500);
  const killAll = performance.now();
  a.kill('SIGKILL');
  b.kill('SIGKILL');
  const s3 = await he.waitFor((c) => c[0].state === 'slate', 5000, 'the slate');
  t.equal(s3[0].activeInput, 'slate');
  t.match(s3[0].lastSwitch!.reason, /no input has worked for \d+ ms/);
  const slateAfter = Number(/no input has worked for (\d+) ms/.exec(s3[0].lastSwitch!.reason)?.[1]);
  t.ok(slateAfter <= 1000, `the slate decided ${slateAfter} ms after the last packet (within 1 s)`);
  await sleep(1500);
  const gap3 = maxGapBetween(cap.datagrams, killAll - 100, performance.now());
  t.ok(gap3 < 1500, `the multicast was silent ${gap3.toFixed(0)} ms at most before the slate (slate after 1 s without input)`);
  t.ok(cap.datagrams.some((d) => d.at > killAll + 1500), 'the slate is on the wire');

  // 4. The backup comes back: off the slate at once (no hold-off for the slate).
  b = encoder(B_PORT);
  const backAgainAt = performance.now();
  const s4 = await he.waitFor((c) => c[0].activeInput === 'backup 1', 10_000, 'off the slate');
  t.match(s4[0].lastSwitch!.reason, /backup 1 is back/);
  await sleep(1500);
  cap.stop();
  // On the wire: the first PCR that says discontinuity after the encoder
  // restarted is the backup's start. The slate queued ahead of it delays it
  // (the pacer plays what is queued first): the slate reads little ahead.
  const onWire = cap.datagrams.find((d) => {
    if (d.at < backAgainAt) return false;
    for (let o = 12; o + TS_PACKET_SIZE <= d.buf.length; o += TS_PACKET_SIZE) if ((d.buf[o + 3] & 0x20) !== 0 && d.buf[o + 4] > 0 && (d.buf[o + 5] & 0x90) === 0x90) return true;
    return false;
  });
  const offSlateMs = onWire ? onWire.at - backAgainAt : Infinity;
  t.ok(offSlateMs < 2500, `the backup on the wire ${offSlateMs.toFixed(0)} ms after its encoder restarted (encoder start, an I-frame, the pacing delay)`);
  // The slate reads little ahead: at the switch no more than the pacing delay
  // (250 ms), the slate's read-ahead (60 ms) and one short read of it (64
  // packets: ~190 ms of this 0.5 Mbit/s slate) were still to play — not the
  // ~3 s a whole 192 KiB read of it was before (a CI run saw 473 ms).
  t.ok(s4[0].lastSwitch!.queuedMs <= 250 + 60 + 240, `${s4[0].lastSwitch!.queuedMs} ms of the slate still queued at the switch (≤ pacing delay + read-ahead + one short read)`);

  // The whole capture: one program, CC continuous through four switches, decodable.
  const ts = Buffer.concat(cap.datagrams.map((d) => d.buf.subarray(12)));
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  t.equal(ins.counters.ccErrors, 0, 'no CC error through the switches (and the slate)');
  t.ok(ins.counters.discontinuityIndicators >= 4, `each switch flagged a PCR discontinuity (${ins.counters.discontinuityIndicators})`);
  t.equal(ins.programNumber, 1, 'one program');
  t.ok(ins.counters.pmtErrors === 0 && ins.counters.patErrors === 0, 'PAT and PMT never missing');
  // Each stretch between two switches decodes on its own: every switch starts
  // at an I-frame; a planned one (the return to the primary, off the slate)
  // also ends the old input on a whole picture; an unplanned one (an encoder
  // died) may leave its last picture cut — that is the one disturbance.
  const dir = await tempDir();
  const starts: number[] = [];
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) {
    if ((ts[o + 3] & 0x20) !== 0 && ts[o + 4] > 0 && (ts[o + 5] & 0x90) === 0x90) {
      let pat = o;
      while (pat > 0 && !(tsPid(ts, pat) === 0 && tsPayloadUnitStartIndicator(ts, pat))) pat -= TS_PACKET_SIZE;
      starts.push(pat);
    }
  }
  // Four switches (an input that restarts while on the air adds a flagged discontinuity of its own).
  t.ok(starts.length >= 4, `${starts.length} discontinuities for the switches: ${he.output().split('\n').filter((l) => /on the air/.test(l)).map((l) => l.replace(/^.*on the air: /, '')).join(' / ')}`);
  const bounds = [0, ...starts, ts.length];
  let total = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    let seg = ts.subarray(bounds[k], bounds[k + 1]);
    if (k === 0) {
      // The capture joined mid-GOP: from its first I-frame, as an STB would.
      const parts: Buffer[] = [];
      const gate = new RandomAccessGate({ start: (psi) => parts.push(Buffer.from(psi)), writePackets: (b, o, n) => parts.push(Buffer.from(b.subarray(o, o + n * TS_PACKET_SIZE))) });
      gate.writePackets(seg, 0, Math.floor(seg.length / TS_PACKET_SIZE));
      seg = Buffer.concat(parts);
    }
    if (k === bounds.length - 2) {
      for (let o = seg.length - TS_PACKET_SIZE; o >= 0; o -= TS_PACKET_SIZE) {
        if ((tsPid(seg, o) === 0x100 || tsPid(seg, o) === 0x102) && tsPayloadUnitStartIndicator(seg, o)) {
          seg = seg.subarray(0, o);
          break;
        }
      }
    }
    const f = join(dir, `stretch-${k}.ts`);
    await writeFile(f, seg);
    const errs = await new Promise<string[]>((r) =>
      execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-i', f, '-f', 'null', '-'], { timeout: 60_000 }, (_e, _o, se) =>
        r(String(se).split('\n').filter((l) => l.trim() !== '' && !/non monotonically increasing dts|Last message repeated/.test(l))),
      ),
    );
    total += errs.length;
    t.ok(errs.length <= 6, `stretch ${k}: ${errs.length} error lines${errs.length ? `: ${errs.slice(0, 2).join(' | ')}` : ''}`);
  }
  // Only the two encoder deaths may leave a cut last picture (a few lines each); a switch
  // that did not start at an I-frame would show dozens ("non-existing PPS", "no frame!").
  t.ok(total <= 12, `decode error lines over the whole run: ${total}`);
});

t.test('cold backups: an ffmpeg backup runs only while it is needed — started when the primary dies, on the air, stopped after the return', { timeout: 90_000 }, async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 6}
  pacingDelayMs: 250
  fcc: { enabled: false }
channels:
  - number: 1
    name: Cold
    multicast: { group: ${GROUP}, port: ${OUT_PORT} }
    inputs:
      - { type: udp, address: 127.0.0.1, port: ${A_PORT} }
      - type: ffmpeg
        format: lavfi
        url: "testsrc2=size=640x360:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]"
        profile: sd
        gopS: 1
    failover: { backups: cold, returnAfterS: 3 }
`;
  let a = encoder(A_PORT);
  t.teardown(() => a.kill('SIGKILL'));
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].activeInput === 'primary', 20_000, 'the primary on the air');
  await sleep(2000);
  let c = await ch(he);
  t.equal(c.inputs[1].running, false, 'the cold backup does not run while the primary works');
  t.equal(c.inputs[1].bytes, 0, 'and has read nothing');
  t.equal(c.inputs[1].source.ffmpegPid ?? null, null, 'no ffmpeg process for it');

  const cap = await capture();
  t.teardown(() => cap.stop());
  const killA = performance.now();
  a.kill('SIGKILL');
  const s1 = await he.waitFor((x) => x[0].activeInput === 'backup 1', 15_000, 'the cold backup on the air');
  const tookMs = performance.now() - killA;
  t.ok(s1[0].inputs[1].running, `the backup was started and is on the air ${tookMs.toFixed(0)} ms after the primary died (an encoder start: the slate may bridge it)`);
  await sleep(1000);
  const gap = maxGapBetween(cap.datagrams, killA - 100, performance.now());
  t.ok(gap < 1500, `the multicast was silent ${gap.toFixed(0)} ms at most (the slate comes after 700 ms without input)`);

  // The primary comes back: the return after the hold-off, and the cold backup stops.
  a = encoder(A_PORT);
  await he.waitFor((x) => x[0].activeInput === 'primary', 15_000, 'the return to the primary');
  c = await he.waitFor((x) => !x[0].inputs[1].running, 5000, 'the cold backup stopped');
  t.equal(c[0].inputs[1].running, false, 'the cold backup stopped once the primary was back on the air');
  cap.stop();
  const ts = Buffer.concat(cap.datagrams.map((d) => d.buf.subarray(12)));
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  t.equal(ins.counters.ccErrors, 0, 'no CC error through the switches');
});

t.test('the slate is made in the channel\'s own format: an H.265 320x240 mono channel gets an H.265 320x240 mono slate, on the same PIDs', { timeout: 120_000 }, async (t) => {
  const yaml = `
headend:
  interface: 127.0.0.1
  httpPort: ${BASE + 6}
  pacingDelayMs: 250
  fcc: { enabled: false }
channels:
  - number: 1
    name: HEVC
    multicast: { group: ${GROUP}, port: ${OUT_PORT} }
    source: { type: udp, address: 127.0.0.1, port: ${A_PORT} }
`;
  const a = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', join(FIXTURES, 'h265-aac-1s-gop.ts'), '-c', 'copy', '-f', 'mpegts', '-muxrate', '1000000', `udp://127.0.0.1:${A_PORT}?pkt_size=1316&bitrate=1000000`], { stdio: 'ignore' });
  t.teardown(() => a.kill('SIGKILL'));
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  const up = await he.waitFor((c) => c[0].state === 'ok' && /h265_320x240_25-1_yuv420p_sar1_aac_48000_mono/.test(c[0].slateFile ?? ''), 60_000, 'a slate in the channel\'s format');
  const f = up[0].sourceFormat!;
  t.match(f.video, { codec: 'h265', width: 320, height: 240, fps: 25 }, `the input's format from its SPS: ${f.video.codec} ${f.video.width}x${f.video.height} ${f.video.fps} fps`);
  t.match(f.audio, { codec: 'aac', sampleRate: 48000, channels: 1 });
  t.pass(`slate: ${up[0].slateFile}`);

  const cap = await capture();
  t.teardown(() => cap.stop());
  await sleep(1000);
  const killAt = performance.now();
  a.kill('SIGKILL');
  await he.waitFor((c) => c[0].state === 'slate', 5000, 'the slate on the air');
  await sleep(2500);
  cap.stop();
  t.ok(maxGapBetween(cap.datagrams, killAt - 100, performance.now()) < 1500, 'the multicast did not stop');
  const ts = Buffer.concat(cap.datagrams.map((d) => d.buf.subarray(12)));
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.floor(ts.length / TS_PACKET_SIZE));
  t.equal(ins.counters.ccErrors, 0, 'CC continuous into the slate');
  t.equal(ins.counters.pmtErrors, 0);
  // The slate's stretch, from the PAT before its discontinuity, on its own.
  let disc = -1;
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) if ((ts[o + 3] & 0x20) !== 0 && ts[o + 4] > 0 && (ts[o + 5] & 0x90) === 0x90) disc = o;
  t.ok(disc > 0, 'the switch to the slate is flagged');
  let pat = disc;
  while (pat > 0 && !(tsPid(ts, pat) === 0 && tsPayloadUnitStartIndicator(ts, pat))) pat -= TS_PACKET_SIZE;
  const dir = await tempDir();
  const file = join(dir, 'slate.ts');
  await writeFile(file, ts.subarray(pat));
  const probe = await new Promise<string>((r) =>
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,r_frame_rate,sample_rate,channels,id', '-of', 'compact', file], { timeout: 30_000 }, (_e, o) => r(String(o))),
  );
  t.match(probe, /codec_name=hevc\|width=320\|height=240\|.*r_frame_rate=25\/1/, `ffprobe of the slate: ${probe.trim().replace(/\n/g, ' / ')}`);
  t.match(probe, /codec_name=aac\|sample_rate=48000\|channels=1/);
  // Same codecs, so the remux kept the PIDs: the slate came on with no PMT change.
  const before = ts.subarray(0, pat);
  const pidsOf = (b: Buffer): Set<number> => {
    const s = new Set<number>();
    for (let o = 0; o + TS_PACKET_SIZE <= b.length; o += TS_PACKET_SIZE) s.add(tsPid(b, o));
    return s;
  };
  t.same([...pidsOf(ts.subarray(pat))].filter((p) => p !== 0x1fff).sort(), [...pidsOf(before)].filter((p) => p !== 0x1fff).sort(), 'the same PIDs before and during the slate');
});
