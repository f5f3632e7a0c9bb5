import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFixture } from '../../../fixtures/ts-fixtures.js';
import { ffmpegDecodeErrors, strictCcErrors } from '../../../helpers/agent-stb-ts.js';
import { OutputRemux } from '../../../../core/mpegts/remux.js';
import { TsInspector } from '../../../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, tsPayloadUnitStartIndicator, tsPid } from '../../../../core/mpegts/packet.js';
import type { Pmt } from '../../../../core/mpegts/psi.js';

const P = TS_PACKET_SIZE;

/** Collects what the remux hands on. */
function collector(): { out: Buffer[]; sink: { writePackets(b: Buffer, o: number, n: number): void }; bytes(): Buffer } {
  const out: Buffer[] = [];
  return { out, sink: { writePackets: (b, o, n) => out.push(Buffer.from(b.subarray(o, o + n * P))) }, bytes: () => Buffer.concat(out) };
}

/** The stream's PMT and PMT PID as an inspector learns them. */
function pmtOf(ts: Buffer): { pmt: Pmt; pmtPid: number; videoPid: number } {
  const ins = new TsInspector();
  ins.writePackets(ts, 0, Math.min(ts.length / P, 2000));
  return { pmt: ins.pmt!, pmtPid: ins.pmtPid, videoPid: ins.videoPid };
}

/** A fixture re-published on other PIDs and another program (our own remux, other plan): a second encoder's view. */
function onOtherPids(ts: Buffer): Buffer {
  const c = collector();
  const r = new OutputRemux(c.sink, { programNumber: 7, pmtPid: 0x1100, firstEsPid: 0x200, transportStreamId: 9 });
  const { pmt, pmtPid } = pmtOf(ts);
  r.switchInput(pmt, pmtPid);
  r.writePackets(ts, 0, ts.length / P);
  return c.bytes();
}

/** Packet index of the n-th video access unit start at or after `from`. */
function auStart(ts: Buffer, videoPid: number, from: number): number {
  for (let i = from; i < ts.length / P; i++) if (tsPid(ts, i * P) === videoPid && tsPayloadUnitStartIndicator(ts, i * P)) return i;
  return -1;
}

/** Packet index where the access unit that contains the k-th keyframe starts. */
function keyframeStart(ts: Buffer, k: number): number {
  let idx = -1;
  let seen = 0;
  const ins = new TsInspector({
    listener: {
      randomAccess: (_b, _o, _p, au) => {
        if (seen++ === k) idx = au / P;
      },
    },
  });
  ins.writePackets(ts, 0, ts.length / P);
  return idx;
}

t.test('one program across a switch from H.264 on 0x100/0x101 to H.265 on 0x200/0x201 (another PMT PID and program)', async (t) => {
  // (A backup in the same format keeps every PID: next test.)
  const a = readFixture('h264-aac-1s-gop');
  const b = onOtherPids(readFixture('h265-aac-1s-gop'));
  const pa = pmtOf(a);
  const pb = pmtOf(b);
  t.equal(pb.pmtPid, 0x1100, 'input B really is on other PIDs');
  t.equal(pb.videoPid, 0x200);

  const c = collector();
  const r = new OutputRemux(c.sink);
  r.switchInput(pa.pmt, pa.pmtPid);
  // A until an access unit boundary after ~1 s, then B from a keyframe ~2 s in (its timestamps are later).
  const cutA = auStart(a, pa.videoPid, 1200);
  r.writePackets(a, 0, cutA);
  const fromB = keyframeStart(b, 2);
  r.switchInput(pb.pmt, pb.pmtPid);
  r.writePackets(b, fromB * P, b.length / P - fromB);
  const out = c.bytes();

  t.same(strictCcErrors(out), [], 'continuity counters run on across the switch on every PID');
  const ins = new TsInspector();
  const pids = new Set<number>();
  for (let o = 0; o < out.length; o += P) pids.add(tsPid(out, o));
  ins.writePackets(out, 0, out.length / P);
  t.same([...pids].sort((x, y) => x - y), [0x0000, 0x0100, 0x0101, 0x0102, 0x1000, 0x1fff].concat(pids.has(0x11) ? [0x11] : []).sort((x, y) => x - y), `only our PIDs: ${[...pids].map((p) => '0x' + p.toString(16)).join(' ')}`);
  t.equal(ins.programNumber, 1, 'program 1 throughout');
  t.equal(ins.pmtPid, 0x1000);
  t.equal(ins.videoPid, 0x102, 'H.265 video gets a PID of its own (0x102), so a decoder starts afresh');
  t.match(ins.describe().streams, /0x0101 AAC/, 'the audio, same format, stays on 0x101');
  t.match(ins.describe().streams, /H\.265/, 'the PMT now says H.265');
  t.equal(r.counters.pmtVersions, 1, 'our PMT version moved on once (the streams changed)');
  t.equal(ins.counters.ccErrors, 0);
  t.ok(ins.counters.discontinuityIndicators >= 1, 'the first PCR after the switch says discontinuity');
  t.equal(ins.counters.patErrors + ins.counters.pmtErrors, 0, 'PAT and PMT keep their cadence');
  t.equal(ffmpegDecodeErrors(out, 'remux-switch.ts'), '', 'ffmpeg decodes across the switch with no error');
});

t.test('a backup in the same format on other PIDs: every output PID stays, no PMT version change; packets outside the plan are dropped and counted', async (t) => {
  const a = readFixture('h264-aac-1s-gop');
  const pa = pmtOf(a);
  const c = collector();
  const r = new OutputRemux(c.sink);
  r.switchInput(pa.pmt, pa.pmtPid);
  r.writePackets(a, 0, 500);
  const b = onOtherPids(a);
  const pb = pmtOf(b);
  r.switchInput(pb.pmt, pb.pmtPid);
  r.writePackets(b, 500 * P, 500);
  t.equal(r.counters.pmtVersions, 0, 'same streams: the same PMT');
  const ins = new TsInspector();
  const all = c.bytes();
  ins.writePackets(all, 0, all.length / P);
  t.equal(ins.videoPid, 0x100, 'video still on 0x100 although the backup sends it on 0x200');
  const stray = Buffer.from(a.subarray(0, P));
  stray[1] = (stray[1] & 0xe0) | 0x07;
  stray[2] = 0x77; // PID 0x777, not in the PMT
  r.writePackets(stray, 0, 1);
  t.equal(r.counters.packetsDropped, 1);
  t.same(strictCcErrors(c.bytes()), []);
});

t.test('nothing goes out before the first input; an input whose PMT is not known yet passes only PAT and null packets', async (t) => {
  const a = readFixture('h264-aac-1s-gop');
  const c = collector();
  const r = new OutputRemux(c.sink);
  r.writePackets(a, 0, 100);
  t.equal(c.out.length, 0);
  t.equal(r.counters.packetsDropped, 100);
  r.switchInput(null, -1);
  r.writePackets(a, 0, 50);
  const out = c.bytes();
  for (let o = 0; o < out.length; o += P) if (tsPid(out, o) !== 0 && tsPid(out, o) !== 0x1fff && tsPid(out, o) !== 0x11) t.fail(`PID 0x${tsPid(out, o).toString(16)} before the PMT`);
  const pa = pmtOf(a);
  r.updateInput(pa.pmt, pa.pmtPid);
  r.writePackets(a, 50 * P, 400);
  const ins = new TsInspector();
  const all = c.bytes();
  ins.writePackets(all, 0, all.length / P);
  t.equal(ins.videoPid, 0x100, 'once the PMT is known the program is there');
  t.same(strictCcErrors(all), []);
});

t.test('a PMT longer than one packet: ours goes out whole, the packets around it keep their order', async (t) => {
  const { psiWritePat, psiWritePmt, psiPacketize } = await import('../../../../core/mpegts/psi.js');
  const { tsWriteNullPacket } = await import('../../../../core/mpegts/packet.js');
  // 30 audio streams with a 6-byte descriptor each: a PMT section of ~350 bytes (2 packets).
  const streams = [{ streamType: 0x1b, elementaryPid: 0x300, esInfo: new Uint8Array(0) }];
  for (let k = 0; k < 30; k++) streams.push({ streamType: 0x0f, elementaryPid: 0x301 + k, esInfo: new Uint8Array([0x0a, 4, 0x65, 0x6e, 0x67, 0]) });
  const pmt = { programNumber: 3, versionNumber: 0, currentNextIndicator: true, pcrPid: 0x300, programInfo: new Uint8Array(0), streams };
  const sec = Buffer.alloc(1024);
  const input: Buffer[] = [];
  const patLen = psiWritePat(sec, 0, 1, 0, [{ programNumber: 3, programMapPid: 0x500 }]);
  const pat = Buffer.alloc(P);
  psiPacketize(sec, 0, patLen, 0, 0, pat, 0);
  const pmtLen = psiWritePmt(sec, 0, pmt);
  const pmtPk = Buffer.alloc(4 * P);
  const pmtN = psiPacketize(sec, 0, pmtLen, 0x500, 0, pmtPk, 0);
  t.equal(pmtN, 2, 'their PMT takes two packets');
  const es = (pid: number, cc: number, marker: number): Buffer => {
    const b = Buffer.alloc(P, 0xff);
    b[0] = 0x47;
    b[1] = pid >> 8;
    b[2] = pid & 0xff;
    b[3] = 0x10 | cc;
    b[4] = marker;
    return b;
  };
  input.push(pat, pmtPk.subarray(0, pmtN * P));
  for (let i = 0; i < 10; i++) input.push(es(0x300, i, i), es(0x301, i, 100 + i));
  const nul = Buffer.alloc(P);
  tsWriteNullPacket(nul, 0);
  input.push(nul, pat, pmtPk.subarray(0, pmtN * P), es(0x300, 10, 10));
  const ts = Buffer.concat(input);
  const c = collector();
  const r = new OutputRemux(c.sink);
  r.switchInput(pmt, 0x500);
  r.writePackets(ts, 0, ts.length / P);
  const out = c.bytes();
  const ins = new TsInspector();
  ins.writePackets(out, 0, out.length / P);
  t.equal(ins.counters.crcErrors, 0, 'our two-packet PMT assembles with a good CRC');
  t.equal(ins.streams.length, 31, 'all 31 streams in it');
  t.equal(ins.videoPid, 0x100);
  const markers = [];
  for (let o = 0; o < out.length; o += P) if (tsPid(out, o) === 0x100) markers.push(out[o + 4]);
  t.same(markers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'video packets in order, none lost or doubled');
  t.same(strictCcErrors(out), []);
});

t.test('service: our SDT names the channel for our program number, at the input\'s SDT cadence and at each switch; ffprobe reads it', async (t) => {
  const a = readFixture('h264-aac-1s-gop');
  const c = collector();
  const r = new OutputRemux(c.sink, { service: { name: 'Canal Fünf — Nachrichten' } });
  const { pmt, pmtPid } = pmtOf(a);
  const inSdts = packetsOf(a, 0x11).filter((o) => tsPayloadUnitStartIndicator(a, o)).length;
  r.switchInput(pmt, pmtPid);
  r.writePackets(a, 0, a.length / P);
  const out = c.bytes();
  const ins = new TsInspector();
  ins.writePackets(out, 0, out.length / P);
  t.equal(ins.serviceName, 'Canal Fünf — Nachrichten', 'the inspector finds our name for the selected program (UTF-8 behind 0x15)');
  t.equal(ins.counters.ccErrors, 0);
  t.equal(packetsOf(out, 0x11).length, inSdts + 1, `one SDT packet per input SDT section (${inSdts}) plus one at the switch`);
  const file = join(await mkdtemp(join(tmpdir(), 'roomcast-sdt-')), 'out.ts');
  t.teardown(() => rm(dirname(file), { recursive: true, force: true }));
  await writeFile(file, out);
  const probe = await new Promise<string>((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'program=program_id:program_tags=service_name,service_provider', '-of', 'compact', file], { timeout: 20_000 }, (_e, o) => resolve(String(o))),
  );
  t.match(probe, /program_id=1\|.*service_name=Canal Fünf — Nachrichten/, `ffprobe: ${probe.trim()}`);
  t.match(probe, /service_provider=Roomcast/);
  t.equal(ffmpegDecodeErrors(out), '', 'still decodes');

  // Without `service` the input's SDT passes as it was.
  const c2 = collector();
  const r2 = new OutputRemux(c2.sink);
  r2.switchInput(pmt, pmtPid);
  r2.writePackets(a, 0, a.length / P);
  const ins2 = new TsInspector();
  const out2 = c2.bytes();
  ins2.writePackets(out2, 0, out2.length / P);
  t.equal(ins2.serviceName, pmtServiceName(a), 'the encoder\'s own name');
  t.not(ins2.serviceName, '');
});

function packetsOf(ts: Buffer, pid: number): number[] {
  const r: number[] = [];
  for (let o = 0; o + P <= ts.length; o += P) if (tsPid(ts, o) === pid) r.push(o);
  return r;
}

function pmtServiceName(ts: Buffer): string {
  const ins = new TsInspector();
  ins.writePackets(ts, 0, ts.length / P);
  return ins.serviceName;
}
