import t from 'tap';
import { FIXTURES, dropPacket, fixturePath, insertAt, packetOffsets, readFixture, readOracle, run } from '../../../fixtures/ts-fixtures.js';
import { TS_PACKET_SIZE, tsCc, tsHasPayload, tsPayloadUnitStartIndicator, tsPid, tsWriteNullPacket } from '../../../../core/mpegts/packet.js';
import { crc32Mpeg2 } from '../../../../core/mpegts/crc32.js';
import { TsInspector } from '../../../../core/mpegts/inspector.js';
import { TsResync } from '../../../../core/mpegts/resync.js';
import type { AudioFormat, VideoFormat } from '../../../../core/codec/sps.js';
import { CLIPS, clipPath, ffprobeStreams, readClip, type ProbedStream } from '../codec/media-clips.js';

for (const name of FIXTURES) {
  t.test(`${name}: finds exactly the keyframes and video PTS values ffprobe reports`, async (t) => {
    const ts = readFixture(name);
    const oracle = readOracle(name);
    const r = run([ts]);
    t.equal(r.inspector.videoPid, oracle.pid, 'video PID from PAT → PMT');
    t.equal(r.inspector.videoStreamType, oracle.codecName === 'hevc' ? 0x24 : 0x1b);
    t.same(r.pts, oracle.pts, 'PTS per video access unit, decode order');
    t.same(r.keyframePts, oracle.keyframePts, 'keyframe PTS');
    t.equal(r.inspector.counters.keyframes, oracle.keyframePts.length);
    t.ok(oracle.keyframePts.length >= 6, 'oracle has a keyframe per second');
  });

  t.test(`${name}: clean fixture has no TR 101 290 priority-1 errors`, async (t) => {
    const c = run([readFixture(name)]).inspector.counters;
    t.equal(c.ccErrors, 0, 'ccErrors');
    t.equal(c.syncByteErrors, 0, 'syncByteErrors');
    t.equal(c.patErrors, 0, 'patErrors');
    t.equal(c.pmtErrors, 0, 'pmtErrors');
    t.equal(c.pidErrors, 0, 'pidErrors');
    t.equal(c.crcErrors, 0, 'crcErrors');
    t.equal(c.transportErrors, 0, 'transportErrors');
    t.equal(c.pesErrors, 0, 'pesErrors');
  });
}

t.test('learns the program, PCR PID, stream list and SDT service name', async (t) => {
  const ins = run([readFixture('h264-aac-1s-gop')]).inspector;
  t.equal(ins.programNumber, 1);
  t.equal(ins.pmtPid, 0x1000);
  t.equal(ins.pcrPid, ins.videoPid);
  t.same(
    ins.streams.map((s) => [s.streamType, s.elementaryPid]),
    [
      [0x1b, 0x100],
      [0x0f, 0x101],
    ],
  );
  t.equal(ins.serviceName, 'Roomcast-Test');
  t.equal(ins.providerName, 'Roomcast');
  t.same(ins.describe(), {
    serviceName: 'Roomcast-Test',
    videoPid: 0x100,
    pcrPid: 0x100,
    keyframes: 6,
    streams: '0x0100 H.264, 0x0101 AAC ADTS',
    video: {
      codec: 'h264',
      width: 320,
      height: 240,
      codedWidth: 320,
      codedHeight: 240,
      fps: 25,
      frameRate: { num: 25, den: 1 },
      fpsSource: 'vui',
      profile: 'Main',
      level: '1.3',
      profileIdc: 77,
      levelIdc: 13,
      tier: null,
      chromaFormatIdc: 1,
      bitDepth: 8,
      pixFmt: 'yuv420p',
      progressive: true,
      sar: { num: 1, den: 1 },
    },
    audio: { codec: 'aac', sampleRate: 48000, channels: 1, profile: 'LC' },
  });
});

t.test('counts exactly one CC error when one video packet is dropped', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const video = packetOffsets(ts, 0x100).filter((o) => tsHasPayload(ts, o) && !tsPayloadUnitStartIndicator(ts, o));
  const broken = dropPacket(ts, video[Math.floor(video.length / 2)]);
  const c = run([broken]).inspector.counters;
  t.equal(c.ccErrors, 1);
  t.equal(c.keyframes, 6, 'keeps finding keyframes');
});

t.test('a duplicated packet is not a CC error, in the same chunk or the next', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const video = packetOffsets(ts, 0x100).filter((o) => tsHasPayload(ts, o));
  const at = video[100];
  const dup = ts.subarray(at, at + TS_PACKET_SIZE);
  const broken = insertAt(ts, at + TS_PACKET_SIZE, dup);
  const one = run([broken]).inspector.counters;
  t.equal(one.ccErrors, 0);
  t.equal(one.ccDuplicates, 1);
  // Split between original and duplicate: compared by fingerprint.
  const split = at + TS_PACKET_SIZE;
  const two = run([broken.subarray(0, split), broken.subarray(split)]).inspector.counters;
  t.equal(two.ccErrors, 0);
  t.equal(two.ccDuplicates, 1);
  // Twice is one too many (§2.4.3.3: "two, and only two").
  const thrice = insertAt(broken, at + TS_PACKET_SIZE, dup);
  t.equal(run([thrice]).inspector.counters.ccErrors, 1);
});

t.test('the same CC with different content is a CC error', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  const video = packetOffsets(ts, 0x100).filter((o) => tsHasPayload(ts, o) && !tsPayloadUnitStartIndicator(ts, o));
  const a = video[100];
  const b = video[101];
  ts[b + 3] = (ts[b + 3] & 0xf0) | tsCc(ts, a);
  t.equal(run([ts]).inspector.counters.ccErrors, 2, 'the repeat and the jump after it');
});

t.test('discontinuity_indicator makes any CC acceptable', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  // A video packet with an adaptation field: set discontinuity_indicator and jump its CC.
  const withAf = packetOffsets(ts, 0x100).filter((o) => (ts[o + 3] & 0x30) === 0x30 && ts[o + 4] > 0);
  const o = withAf[10];
  const jumped = Buffer.from(ts);
  jumped[o + 3] = (jumped[o + 3] & 0xf0) | ((tsCc(jumped, o) + 5) & 0x0f);
  const base = run([jumped]).inspector.counters.ccErrors;
  t.ok(base >= 1, 'a jump without the indicator is an error');
  jumped[o + 5] |= 0x80;
  // The packets after it continue from the jumped CC, so renumber them.
  let cc = tsCc(jumped, o);
  for (const p of packetOffsets(jumped, 0x100)) {
    if (p <= o) continue;
    if (tsHasPayload(jumped, p)) cc = (cc + 1) & 0x0f;
    jumped[p + 3] = (jumped[p + 3] & 0xf0) | cc;
  }
  const c = run([jumped]).inspector.counters;
  t.equal(c.ccErrors, 0);
  t.ok(c.discontinuityIndicators >= 1);
});

t.test('a corrupt sync byte is counted and the inspector keeps going', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  ts[TS_PACKET_SIZE * 1000] = 0x46;
  const r = run([ts]);
  t.equal(r.inspector.counters.syncByteErrors, 1, 'TR 101 290 1.2 Sync_byte_error');
  t.equal(r.resync.counters.syncLosses, 0, 'one corrupt sync byte is not a sync loss');
  t.equal(r.inspector.counters.keyframes, 6);
  t.equal(r.inspector.counters.ccErrors, 0);
});

t.test('inserted garbage is a sync loss with the bytes skipped counted, and nothing else is lost', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const garbage = Buffer.alloc(1000, 0x5a);
  garbage[100] = 0x47; // a false sync byte in the garbage
  const broken = insertAt(ts, TS_PACKET_SIZE * 500, garbage);
  const r = run([broken]);
  t.equal(r.resync.counters.syncLosses, 1);
  t.equal(r.resync.counters.bytesSkipped, 1000);
  t.equal(r.resync.counters.packets, ts.length / TS_PACKET_SIZE);
  t.equal(r.inspector.counters.ccErrors, 0);
  t.equal(r.inspector.counters.keyframes, 6);
});

t.test('garbage inside a packet: one sync loss, the displaced bytes skipped, keyframes continue', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const broken = insertAt(ts, TS_PACKET_SIZE * 500 + 77, Buffer.alloc(50, 0x00));
  const r = run([broken]);
  t.equal(r.resync.counters.syncLosses, 1);
  // The cut packet still starts with 0x47, so it passes (its content is damaged);
  // sync is lost at the next boundary and its 50 displaced bytes are skipped.
  t.equal(r.resync.counters.bytesSkipped, 50);
  t.equal(r.resync.counters.packets, ts.length / TS_PACKET_SIZE);
  t.equal(r.inspector.counters.keyframes, 6);
});

/** `ts` with the packets of `pid` in byte range [from, to) replaced by null packets: byte positions (and so PCR timing) stay. */
function nullOut(ts: Buffer, pid: number, from: number, to: number): Buffer {
  const out = Buffer.from(ts);
  for (let o = 0; o < out.length; o += TS_PACKET_SIZE) {
    if (o < from || o >= to || tsPid(out, o) !== pid) continue;
    tsWriteNullPacket(out, o);
  }
  return out;
}

// 700 kbit/s CBR (scripts/make-fixtures.sh -muxrate 700k).
const BYTES_PER_SECOND = 700_000 / 8;

t.test('PCR interval, jitter and rate come from the stream: CBR fixture is clean', async (t) => {
  const c = run([readFixture('h264-aac-1s-gop')]).inspector.counters;
  t.ok(c.pcrCount >= 6 * 25, `pcrCount ${c.pcrCount}`);
  t.ok(c.pcrIntervalMaxMs > 0 && c.pcrIntervalMaxMs <= 40, `PCR interval max ${c.pcrIntervalMaxMs} ms`);
  t.equal(c.pcrRepetitionErrors, 0);
  t.equal(c.pcrDiscontinuityErrors, 0);
  t.ok(c.pcrJitterMaxNs < 100, `CBR mux: PCR jitter ${c.pcrJitterMaxNs} ns`);
  t.equal(c.pcrAccuracyErrors, 0);
  t.equal(c.bitrateBps, 700_000);
  t.ok(Math.abs(c.streamTimeMs - 6000) < 100, `stream time ${c.streamTimeMs} ms`);
});

t.test('counts one PAT_error for a 1 s gap in the PAT, timed by PCR', async (t) => {
  const ts = nullOut(readFixture('h264-aac-1s-gop'), 0, BYTES_PER_SECOND * 1, BYTES_PER_SECOND * 2);
  const c = run([ts]).inspector.counters;
  t.equal(c.patErrors, 1);
  t.equal(c.pmtErrors, 0);
  t.equal(c.ccErrors, 1, 'PID 0 CC jumps over the gap');
});

t.test('counts one PMT_error for a 1 s gap in the PMT', async (t) => {
  const ts = nullOut(readFixture('h264-aac-1s-gop'), 0x1000, BYTES_PER_SECOND * 1, BYTES_PER_SECOND * 2);
  const c = run([ts]).inspector.counters;
  t.equal(c.pmtErrors, 1);
  t.equal(c.patErrors, 0);
});

t.test('counts a PAT_error for a wrong table_id on PID 0', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  // Rewrite one PAT section to table_id 0x01 with a valid CRC: only the table_id is wrong.
  const o = packetOffsets(ts, 0)[3];
  const sec = o + 5; // payload_unit_start: pointer_field 0, section at byte 5
  const len = 3 + (((ts[sec + 1] & 0x0f) << 8) | ts[sec + 2]);
  ts[sec] = 0x01;
  ts.writeUInt32BE(crc32Mpeg2(ts, sec, sec + len - 4), sec + len - 4);
  t.equal(run([ts]).inspector.counters.patErrors, 1);
});

t.test('counts a CRC_error for a corrupted PMT section and keeps the last good PMT', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  const o = packetOffsets(ts, 0x1000)[5];
  ts[o + 5 + 9] ^= 0x04; // a bit inside the section body
  const r = run([ts]);
  t.equal(r.inspector.counters.crcErrors, 1);
  t.equal(r.inspector.counters.pmtErrors, 0, 'the neighbouring PMTs are within 0.5 s');
  t.equal(r.inspector.videoPid, 0x100);
});

t.test('counts one PID_error when the audio PID is absent for over 5 s', async (t) => {
  const ts = nullOut(readFixture('h264-aac-1s-gop'), 0x101, BYTES_PER_SECOND / 2, Infinity);
  t.equal(run([ts]).inspector.counters.pidErrors, 1);
  t.equal(run([ts], { pidTimeoutMs: 10_000 }).inspector.counters.pidErrors, 0, 'period is the caller\'s');
});

t.test('a caller clock replaces PCR time and is read once per writePackets call', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const chunks: Buffer[] = [];
  for (let o = 0; o < ts.length; o += 7 * TS_PACKET_SIZE) chunks.push(ts.subarray(o, o + 7 * TS_PACKET_SIZE));
  let reads = 0;
  const still = run(chunks, {
    clock: {
      nowMs() {
        reads++;
        return 0;
      },
    },
  });
  t.equal(reads, chunks.length, 'one read per datagram-sized call');
  t.equal(still.inspector.counters.patErrors, 0, 'a clock that stands still expires nothing');
  t.equal(still.inspector.counters.streamTimeMs, 0);
  let now = 0;
  const fast = run(chunks, {
    clock: {
      nowMs() {
        return (now += 1000); // one second per call: every PAT interval is too long
      },
    },
  });
  t.ok(fast.inspector.counters.patErrors > 10);
});

t.test('random access: RAI confirmed by the IDR scan, and IDRs found when RAI is missing', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  const withRai = run([ts]).inspector.counters;
  t.equal(withRai.randomAccessIndicators, 6);
  t.equal(withRai.randomAccessConfirmed, 6);
  t.equal(withRai.keyframesWithoutRai, 0);
  // Clear every random_access_indicator: keyframes still found, counted the other way.
  for (let o = 0; o < ts.length; o += TS_PACKET_SIZE) {
    if ((ts[o + 3] & 0x20) !== 0 && ts[o + 4] > 0) ts[o + 5] &= ~0x40;
  }
  const r = run([ts]);
  t.equal(r.inspector.counters.keyframes, 6);
  t.equal(r.inspector.counters.keyframesWithoutRai, 6);
  t.equal(r.inspector.counters.randomAccessIndicators, 0);
  t.same(r.keyframePts, readOracle('h264-aac-1s-gop').keyframePts);
});

t.test('randomAccess reports the byte index of the packet that starts the access unit', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const r = run([ts]);
  for (const at of r.keyframeAuStart) {
    t.equal(at % TS_PACKET_SIZE, 0);
    t.ok(tsPayloadUnitStartIndicator(ts, at));
    t.equal(((ts[at + 1] & 0x1f) << 8) | ts[at + 2], 0x100);
  }
});

t.test('follows PMT version changes and ignores sections with current_next_indicator 0', async (t) => {
  const { psiWritePat, psiWritePmt, psiPacketize } = await import('../../../../core/mpegts/psi.js');
  const { TsInspector } = await import('../../../../core/mpegts/inspector.js');
  const sec = Buffer.alloc(1024);
  const pkt = Buffer.alloc(TS_PACKET_SIZE);
  let changes = 0;
  const ins = new TsInspector({ listener: { psiChanged: () => void changes++ } });
  const ccs = new Map<number, number>();
  const send = (len: number, pid: number): void => {
    const cc = ccs.get(pid) ?? 0;
    psiPacketize(sec, 0, len, pid, cc, pkt, 0);
    ccs.set(pid, (cc + 1) & 0x0f);
    ins.writePackets(pkt, 0, 1);
  };
  const pmt = (version: number, videoPid: number, streamType: number) => ({
    programNumber: 1,
    versionNumber: version,
    pcrPid: videoPid,
    programInfo: new Uint8Array(0),
    streams: [{ streamType, elementaryPid: videoPid, esInfo: new Uint8Array(0) }],
  });
  send(psiWritePat(sec, 0, 1, 0, [{ programNumber: 1, programMapPid: 0x1000 }]), 0);
  send(psiWritePmt(sec, 0, pmt(0, 0x100, 0x1b)), 0x1000);
  t.equal(ins.videoPid, 0x100);
  t.equal(ins.videoStreamType, 0x1b);
  // Same version again: not re-applied.
  const before = changes;
  send(psiWritePmt(sec, 0, pmt(0, 0x100, 0x1b)), 0x1000);
  t.equal(changes, before);
  // Version 1 announced as "next" (current_next_indicator 0): not applied yet.
  const len = psiWritePmt(sec, 0, pmt(1, 0x200, 0x24));
  sec[5] &= 0xfe;
  const { crc32Mpeg2: crc } = await import('../../../../core/mpegts/crc32.js');
  sec.writeUInt32BE(crc(sec, 0, len - 4), len - 4);
  send(len, 0x1000);
  t.equal(ins.videoPid, 0x100, 'next table not applied');
  // Version 1 current: applied.
  send(psiWritePmt(sec, 0, pmt(1, 0x200, 0x24)), 0x1000);
  t.equal(ins.videoPid, 0x200);
  t.equal(ins.videoStreamType, 0x24);
  t.equal(ins.pcrPid, 0x200);
  t.equal(changes, before + 1);
  t.equal(ins.counters.crcErrors, 0);
});

// ------------------------------------------------------------------ stream format

/** TsResync → TsInspector over `ts`, counting formatChanged events. */
function inspect(ts: Buffer, chunk = 64 * 1024): { ins: TsInspector; formatChanges: number } {
  let formatChanges = 0;
  const ins = new TsInspector({ listener: { formatChanged: () => void formatChanges++ } });
  const resync = new TsResync(ins);
  for (let o = 0; o < ts.length; o += chunk) resync.push(ts.subarray(o, o + chunk));
  resync.end();
  return { ins, formatChanges };
}

/** The part of a tap Test the comparison needs. */
interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
}

/** The describe() format against ffprobe's view of the same file. */
function sameAsFfprobe(t: Asserts, v: Readonly<VideoFormat> | null, a: Readonly<AudioFormat> | null, p: { video?: ProbedStream; audio?: ProbedStream }): void {
  const pv = p.video!;
  t.ok(v !== null, 'video format known');
  if (v === null) return;
  t.equal(v.codec, pv.codec_name === 'hevc' ? 'h265' : pv.codec_name, 'codec');
  t.equal(v.width, pv.width, 'width');
  t.equal(v.height, pv.height, 'height');
  t.equal(`${v.frameRate?.num}/${v.frameRate?.den}`, pv.r_frame_rate, 'frame rate');
  t.equal(v.profile, pv.profile, 'profile');
  t.equal(v.levelIdc, pv.level, 'level');
  t.equal(v.pixFmt, pv.pix_fmt, 'pix_fmt');
  t.equal(v.sar === null ? 'N/A' : `${v.sar.num}:${v.sar.den}`, pv.sample_aspect_ratio ?? 'N/A', 'SAR');
  // ffprobe says 'unknown' for progressive HEVC (no SEI pic_struct to tell it).
  if (pv.field_order === 'progressive' || pv.field_order === 'tt' || pv.field_order === 'bb') t.equal(v.progressive, pv.field_order === 'progressive', 'field order');
  const pa = p.audio;
  if (pa === undefined) {
    t.equal(a, null, 'no audio');
    return;
  }
  t.ok(a !== null, 'audio format known');
  if (a === null) return;
  t.equal(a.codec, pa.codec_name, 'audio codec');
  t.equal(a.sampleRate, Number(pa.sample_rate), 'sample rate');
  t.equal(a.channels, pa.channels, 'channels');
  t.equal(a.profile ?? 'unknown', pa.profile ?? 'unknown', 'audio profile');
}

for (const name of FIXTURES) {
  t.test(`${name}: describe() gives the video and audio format ffprobe reports`, async (t) => {
    const { ins, formatChanges } = inspect(readFixture(name));
    const d = ins.describe();
    sameAsFfprobe(t, d.video, d.audio, ffprobeStreams(fixturePath(`${name}.ts`)));
    t.equal(d.video?.fpsSource, 'vui');
    t.equal(formatChanges, 2, 'one event for the video, one for the audio: the SPS of each later IDR is the same bytes and not parsed again');
    t.equal(ins.counters.spsErrors, 0);
  });
}

for (const clip of CLIPS) {
  t.test(`ffmpeg clip ${clip.name} (${clip.covers}): describe() agrees with ffprobe`, async (t) => {
    const file = clipPath(clip);
    const { ins } = inspect(readClip(clip), 7 * 188);
    sameAsFfprobe(t, ins.videoFormat, ins.audioFormat, ffprobeStreams(file));
    t.equal(ins.counters.spsErrors, 0);
  });
}

t.test('without VUI timing, fps comes from the median DTS step and says so', async (t) => {
  const clip = CLIPS.find((c) => c.name.includes('no-vui-timing'))!;
  const { ins } = inspect(readClip(clip));
  t.match(ins.videoFormat, { fps: 25, frameRate: { num: 25, den: 1 }, fpsSource: 'pts' });
  const withTiming = inspect(readClip(CLIPS[0])).ins.videoFormat;
  t.match(withTiming, { frameRate: { num: 30000, den: 1001 }, fpsSource: 'vui' }, 'a VUI rate is not second-guessed');
});

t.test('the format follows the stream: a spliced-in 1080p29.97 / 44.1 kHz clip replaces the fixture format', async (t) => {
  const ts = Buffer.concat([readFixture('h264-aac-1s-gop'), readClip(CLIPS[0])]);
  const { ins, formatChanges } = inspect(ts);
  t.match(ins.videoFormat, { width: 1920, height: 1080, frameRate: { num: 30000, den: 1001 } });
  t.match(ins.audioFormat, { codec: 'aac', sampleRate: 44100, channels: 1 });
  t.equal(formatChanges, 4, 'video and audio of each part, once each');
});

t.test('a corrupt SPS is counted, changes nothing, and the next good SPS is parsed', async (t) => {
  const ts = Buffer.from(readFixture('h264-aac-1s-gop'));
  // The first SPS: 00 00 00 01 67 <profile> <constraints> <level> <ue...>.
  const at = ts.indexOf(Buffer.from([0, 0, 0, 1, 0x67]));
  t.ok(at > 0);
  ts[at + 8] = 0x02; // seq_parameter_set_id becomes ue 63 + ...: above its range 0..31
  const { ins, formatChanges } = inspect(ts);
  t.equal(ins.counters.spsErrors, 1, 'the corrupt one, once');
  t.match(ins.videoFormat, { width: 320, height: 240, fps: 25 }, 'from the second IDR on');
  t.equal(formatChanges, 2);
  t.equal(ins.counters.keyframes, 6, 'random access detection is unaffected');
});

t.test('an input restart (discontinuity) keeps the last known format for the slate', async (t) => {
  const { ins } = inspect(readFixture('h265-aac-1s-gop'));
  const v = ins.videoFormat;
  ins.discontinuity();
  t.equal(ins.videoFormat, v);
  t.match(ins.describe(), { video: { codec: 'h265', width: 320 }, audio: { codec: 'aac', sampleRate: 48000 } });
});
