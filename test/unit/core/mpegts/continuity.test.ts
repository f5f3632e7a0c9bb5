import t from 'tap';
import { readFixture, readOracle } from '../../../fixtures/ts-fixtures.js';
import { AUDIO_PID, PMT_PID, RecordingGateSink, VIDEO_PID, ffmpegDecodeErrors, firstVideoFrame, layout, pkt, strictCcErrors } from '../../../helpers/agent-stb-ts.js';
import { TS_PACKET_SIZE, TsPid, tsCc, tsDiscontinuityIndicator, tsHasPayload, tsHasPcr, tsPayloadUnitStartIndicator, tsPid } from '../../../../core/mpegts/packet.js';
import { TsInspector } from '../../../../core/mpegts/inspector.js';
import { ContinuityRestamper } from '../../../../core/mpegts/continuity.js';
import { RandomAccessGate } from '../../../../stb-agent/tuner/gate.js';

const P = TS_PACKET_SIZE;
const H264 = readFixture('h264-aac-1s-gop');
const H265 = readFixture('h265-aac-1s-gop');
const L264 = layout(H264, readOracle('h264-aac-1s-gop'));

function hex(annotated: string): Buffer {
  return Buffer.from(annotated.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

function inspectorCcErrors(ts: Buffer): number {
  const ins = new TsInspector();
  ins.writePackets(ts, 0, ts.length / P);
  return ins.counters.ccErrors;
}

/**
 * One player connection across a zap: channel A's gate from packet `aFrom`
 * up to (not including) packet `aTo`, then channel B's gate over `b` from
 * packet `bFrom`, both into one ContinuityRestamper. `rec` keeps what the
 * gates emitted (the restamper's input) item by item.
 */
function zap(a: Buffer, aFrom: number, aTo: number, b: Buffer, bFrom: number) {
  const chunks: Buffer[] = [];
  const r = new ContinuityRestamper((c) => chunks.push(c));
  const rec = new RecordingGateSink(r);
  const gA = new RandomAccessGate(rec);
  gA.writePackets(a, aFrom * P, aTo - aFrom);
  const itemsA = rec.items.length;
  const gB = new RandomAccessGate(rec);
  gB.writePackets(b, bFrom * P, b.length / P - bFrom);
  const input = rec.bytes();
  const out = Buffer.concat(chunks);
  const bAt = Buffer.concat(rec.items.slice(0, itemsA).map((i) => i.bytes)).length / P; // first packet of B's start (its PSI)
  return { r, rec, gA, gB, input, out, bAt, bPsi: rec.psi[1] };
}

/** Last packet index < `before` of `pid` in `ts`. */
function lastOf(ts: Buffer, pid: number, before: number): number {
  for (let i = before - 1; i >= 0; i--) if (tsPid(ts, i * P) === pid) return i;
  return -1;
}

/** A cut of A where the last packet of every PID carries payload (see the todo test for the other kind). */
function payloadEndedCut(ts: Buffer, c: number): boolean {
  return [VIDEO_PID, AUDIO_PID, TsPid.PAT, PMT_PID].every((pid) => tsHasPayload(ts, lastOf(ts, pid, c) * P));
}

const A_FROM = 100; // opens on the keyframe at packet 467
const B_FROM = 1000; // opens on the keyframe at packet 1405 of its fixture
const CUTS = Array.from({ length: 60 }, (_, k) => 520 + k * 13).filter((c) => payloadEndedCut(H264, c));

t.test('H.264 then H.265 on one connection: 0 CC errors per TsInspector and per a strict per-PID check, for many cut points', async (t) => {
  t.ok(CUTS.length > 30, `${CUTS.length} cuts`);
  const bad: { cut: number; inspector: number; strict: number[] }[] = [];
  for (const cut of CUTS) {
    const z = zap(H264, A_FROM, cut, H265, B_FROM);
    t.equal(z.rec.starts, 2);
    // Control: without the restamper the same bytes jump at the zap.
    if (cut === CUTS[0]) t.ok(strictCcErrors(z.input).length > 0, 'the gates\' output alone has CC jumps at the zap');
    const inspector = inspectorCcErrors(z.out);
    const strict = strictCcErrors(z.out);
    if (inspector !== 0 || strict.length !== 0) bad.push({ cut, inspector, strict });
  }
  t.same(bad, []);
});

t.test('the restamper changes nothing but the CC nibble, and discontinuity_indicator on the first PCR after the second start', async (t) => {
  for (const cut of CUTS.slice(0, 8)) {
    const z = zap(H264, A_FROM, cut, H265, B_FROM);
    t.equal(z.out.length, z.input.length, 'same packets, same count');
    let firstPcrAfterB = -1;
    for (let o = z.bAt * P; o < z.out.length && firstPcrAfterB < 0; o += P) if (tsHasPcr(z.out, o)) firstPcrAfterB = o / P;
    t.ok(firstPcrAfterB > 0 && tsPid(z.out, firstPcrAfterB * P) === VIDEO_PID, `first PCR after B's start at packet ${firstPcrAfterB}, on the PCR PID`);
    t.ok(tsDiscontinuityIndicator(z.out, firstPcrAfterB * P), 'carries discontinuity_indicator (ISO/IEC 13818-1 §2.4.3.5)');
    t.notOk(tsDiscontinuityIndicator(z.input, firstPcrAfterB * P), 'which the source did not');
    const diffs: string[] = [];
    for (let o = 0; o < z.out.length; o += P) {
      for (let k = 0; k < P; k++) {
        let x = z.out[o + k] ^ z.input[o + k];
        if (k === 3) x &= 0xf0; // the CC nibble may change
        if (k === 5 && o === firstPcrAfterB * P) x &= ~0x80; // and this one flag
        if (x !== 0) diffs.push(`packet ${o / P} byte ${k}`);
      }
    }
    t.same(diffs, [], `cut ${cut}: every other bit as the gates emitted it`);
    t.equal(z.r.counters.pcrMarked, 1, 'one PCR marked: the first start of a connection is not a discontinuity');
    t.equal(z.r.counters.starts, 2);
    t.equal(z.r.counters.packets, z.out.length / P);
  }
});

t.test('injected PSI copies take the next CC of their PID, and the stream\'s own next PAT/PMT the one after', async (t) => {
  const z = zap(H264, A_FROM, CUTS[5], H265, B_FROM);
  for (const [k, pid] of [
    [0, TsPid.PAT],
    [1, PMT_PID],
  ] as const) {
    const at = z.bAt + k;
    t.equal(tsPid(z.out, at * P), pid);
    const prev = lastOf(z.out, pid, at);
    t.equal(tsCc(z.out, at * P), (tsCc(z.out, prev * P) + 1) & 0x0f, `injected ${pid === 0 ? 'PAT' : 'PMT'} copy: previous CC + 1`);
    let next = -1;
    for (let i = at + 1; i < z.out.length / P && next < 0; i++) if (tsPid(z.out, i * P) === pid) next = i;
    t.equal(tsCc(z.out, next * P), (tsCc(z.out, at * P) + 1) & 0x0f, 'the stream\'s own next one: + 1 again');
  }
  t.equal(tsPid(z.out, 0), TsPid.PAT, 'the very first packet of the connection is a PAT');
});

t.test('a real CC jump inside the second stream still shows: exactly one CC error for one dropped video packet', async (t) => {
  const l265 = layout(H265, readOracle('h265-aac-1s-gop'));
  // A video packet with payload, not an access unit's first, well after B's keyframe.
  const rapB = l265.keyframeAuStart.find((i) => i > B_FROM)!;
  let victim = rapB + 300;
  while (!(tsPid(H265, victim * P) === VIDEO_PID && tsHasPayload(H265, victim * P) && !tsPayloadUnitStartIndicator(H265, victim * P))) victim++;
  const b = Buffer.concat([H265.subarray(0, victim * P), H265.subarray((victim + 1) * P)]);
  const z = zap(H264, A_FROM, CUTS[3], b, B_FROM);
  t.equal(inspectorCcErrors(z.out), 1, 'TsInspector');
  t.equal(strictCcErrors(z.out).length, 1, 'strict check');
  const clean = zap(H264, A_FROM, CUTS[3], H265, B_FROM);
  t.equal(inspectorCcErrors(clean.out), 0, 'and none without the drop');
});

/*
 * Annotated vectors on one PID, 0x0100 (adaptation fields without PCR, so
 * that no discontinuity_indicator excuses anything to the inspector).
 * ISO/IEC 13818-1 §2.4.3.3: continuity_counter "shall not be incremented
 * when the adaptation_field_control of the packet equals '00' or '10'".
 */
let marker = 0;
function payloadPacket(cc: number): Buffer {
  const b = Buffer.alloc(P, marker++ & 0xff); // distinct payloads: no packet is a duplicate of another (§2.4.3.3)
  hex(`47 01 00 ${(0x10 | cc).toString(16).padStart(2, '0')}  # sync | PUSI 0 PID 0x0100 | payload only, CC`).copy(b);
  return b;
}
function adaptationOnlyPacket(cc: number): Buffer {
  const b = Buffer.alloc(P, 0xff);
  hex(`47 01 00 ${(0x20 | cc).toString(16).padStart(2, '0')}  # sync | PID 0x0100 | adaptation only, CC
       b7 00                                                   # adaptation_field_length 183 | no flags, then stuffing`).copy(b);
  return b;
}
function restamp(parts: (Buffer | 'start')[]): number[] {
  const chunks: Buffer[] = [];
  const r = new ContinuityRestamper((c) => chunks.push(c));
  for (const p of parts) {
    if (p === 'start') r.start(Buffer.alloc(0));
    else r.writePackets(p, 0, p.length / P);
  }
  const out = Buffer.concat(chunks);
  return Array.from({ length: out.length / P }, (_, k) => tsCc(out, k * P));
}

t.test('adaptation-field-only packets keep the "not incremented" rule across a start', async (t) => {
  // A: payload CC 3. Start. B: adaptation-only CC 9, payload 10, adaptation-only 10, payload 11.
  const ccs = restamp([payloadPacket(3), 'start', adaptationOnlyPacket(9), payloadPacket(10), adaptationOnlyPacket(10), payloadPacket(11)]);
  t.same(ccs, [3, 3, 4, 4, 5], 'B\'s leading adaptation-only packet repeats A\'s last CC; payload packets count on');
  const chunks: Buffer[] = [];
  const r = new ContinuityRestamper((c) => chunks.push(c));
  r.writePackets(payloadPacket(3), 0, 1);
  r.start(Buffer.alloc(0));
  for (const p of [adaptationOnlyPacket(9), payloadPacket(10)]) r.writePackets(p, 0, 1);
  t.equal(inspectorCcErrors(Buffer.concat(chunks)), 0);
});

t.test(
  'a stream that ends on an adaptation-field-only packet: the next stream\'s first payload packet takes last CC + 1',

  async (t) => {
    // A: payload CC 3, adaptation-only CC 3 (not incremented). Start. B: payload CC 9.
    t.same(restamp([payloadPacket(3), adaptationOnlyPacket(3), 'start', payloadPacket(9)]), [3, 3, 4]);
    // B starting on an adaptation-only packet after A ended on one: same CC again.
    t.same(restamp([payloadPacket(3), adaptationOnlyPacket(3), 'start', adaptationOnlyPacket(9), payloadPacket(10)]), [3, 3, 3, 4]);
    const chunks: Buffer[] = [];
    const r = new ContinuityRestamper((c) => chunks.push(c));
    r.writePackets(Buffer.concat([payloadPacket(3), adaptationOnlyPacket(3)]), 0, 2);
    r.start(Buffer.alloc(0));
    r.writePackets(payloadPacket(9), 0, 1);
    t.equal(inspectorCcErrors(Buffer.concat(chunks)), 0, 'TsInspector');
    // The same with the fixtures: A cut right after a PCR-only video packet.
    const afCuts = Array.from({ length: 60 }, (_, k) => 520 + k * 13).filter((c) => !tsHasPayload(H264, lastOf(H264, VIDEO_PID, c) * P));
    t.ok(afCuts.length > 5);
    t.same(
      afCuts.filter((c) => strictCcErrors(zap(H264, A_FROM, c, H265, B_FROM).out).length > 0),
      [],
      'strict per-PID check at every such cut',
    );
  },
);

t.test('ffmpeg decodes channel A then, after a start, channel B on one connection with no error message', async (t) => {
  // Cut A where the video access unit and the audio PES both end (the next
  // packet of each is a PES start): A's last access unit is whole. Channel B
  // is the H.264 fixture from a later point: another start, timestamps
  // jumping ahead. (The same codec, as ffmpeg does not switch codecs on an
  // unversioned PMT change. Timestamps jumping back under 10 s make the
  // ffmpeg CLI's null muxer — not a decoder — print "non monotonically
  // increasing dts": it ignores discontinuity_indicator and only corrects
  // jumps over -dts_delta_threshold.)
  const isStart = (i: number, pid: number) => {
    for (let k = i; k < L264.packets; k++) if (tsPid(H264, k * P) === pid) return tsPayloadUnitStartIndicator(H264, k * P) && tsHasPayload(H264, k * P);
    return false;
  };
  const cuts = [700, 1100, 1500].map((c) => {
    while (!(isStart(c, VIDEO_PID) && isStart(c, AUDIO_PID) && payloadEndedCut(H264, c))) c++;
    return c;
  });
  for (const cut of cuts) {
    const z = zap(H264, A_FROM, cut, H264, cut + 150);
    t.equal(strictCcErrors(z.out).length, 0);
    t.equal(ffmpegDecodeErrors(z.out, 'zap.ts'), '', `cut at ${cut}: ffmpeg -v error prints nothing`);
    t.ok(firstVideoFrame(z.out, 'zap.ts').keyFrame, 'starts on a keyframe');
  }
});

t.test('every packet of a start is written in one chunk the receiver owns', async (t) => {
  const chunks: Buffer[] = [];
  const r = new ContinuityRestamper((c) => chunks.push(c));
  const psi = Buffer.concat([pkt(H264, L264.pat[0]), pkt(H264, L264.pmt[0])]);
  r.start(psi);
  t.equal(chunks.length, 1);
  t.not(chunks[0], psi, 'a copy');
  t.ok(chunks[0].equals(psi), 'first start: the copies keep their own CC');
  const src = Buffer.from(H264.subarray(3 * P, 13 * P)); // the access unit after the PSI: PIDs seen for the first time
  r.writePackets(src, 0, 10);
  src.fill(0);
  t.ok(chunks[1].equals(H264.subarray(3 * P, 13 * P)), 'the written chunk does not alias the caller\'s buffer');
});
