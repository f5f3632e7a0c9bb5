import t from 'tap';
import fc from 'fast-check';
import { FIXTURES, readFixture, readOracle } from '../../../fixtures/ts-fixtures.js';
import {
  AUDIO_PID,
  PMT_PID,
  RecordingGateSink,
  VIDEO_PID,
  expectAt,
  expectFrom,
  ffmpegDecodeErrors,
  firstVideoFrame,
  layout,
  pesPtsAt,
  pkt,
} from '../../../helpers/agent-stb-ts.js';
import { TS_PACKET_SIZE, TsPid, tsHasPayload, tsPayloadUnitStartIndicator, tsPid, tsWriteNullPacket } from '../../../../core/mpegts/packet.js';
import { RandomAccessGate, type GateOptions } from '../../../../stb-agent/tuner/gate.js';
import { crc32Mpeg2 } from '../../../../core/mpegts/crc32.js';

const P = TS_PACKET_SIZE;

/** Feed `input` to a fresh gate in chunks of the given packet counts (cycled); one chunk when none. */
function gate(input: Buffer, chunks: number[] = [], opts: GateOptions = {}): { g: RandomAccessGate; sink: RecordingGateSink } {
  const sink = new RecordingGateSink();
  const g = new RandomAccessGate(sink, opts);
  const total = input.length / P;
  if (chunks.length === 0) {
    g.writePackets(input, 0, total);
    return { g, sink };
  }
  for (let at = 0, k = 0; at < total; k++) {
    const n = Math.min(chunks[k % chunks.length], total - at);
    g.writePackets(input, at * P, n);
    at += n;
  }
  return { g, sink };
}

/** Fixture packets by index list. */
function select(ts: Buffer, indices: number[]): Buffer {
  return Buffer.concat(indices.map((i) => pkt(ts, i)));
}

/** What one run looked like, in the shape the expectation is compared in. */
function observe(sink: RecordingGateSink, g: RandomAccessGate) {
  const out = sink.bytes();
  const psi = sink.psi[0] ?? Buffer.alloc(0);
  let firstVideo = -1;
  let firstAudio = -1;
  for (let o = psi.length; o < out.length; o += P) {
    const pid = tsPid(out, o);
    if (pid === VIDEO_PID && firstVideo < 0) firstVideo = o;
    if (pid === AUDIO_PID && firstAudio < 0) firstAudio = o;
  }
  return {
    starts: sink.starts,
    packetsBeforeStart: sink.packetsBeforeStart,
    psiPids: Array.from({ length: psi.length / P }, (_, k) => tsPid(psi, k * P)),
    firstVideoPusi: firstVideo >= 0 && tsPayloadUnitStartIndicator(out, firstVideo),
    firstVideoPts: firstVideo >= 0 ? pesPtsAt(out, firstVideo) : -1,
    audioStartsWithPusi: firstAudio >= 0 ? tsPayloadUnitStartIndicator(out, firstAudio) && tsHasPayload(out, firstAudio) : null,
    openedAtPacket: g.openedAtByte >= 0 ? g.openedAtByte / P : -1,
  };
}

for (const name of FIXTURES) {
  const ts = readFixture(name);
  const oracle = readOracle(name);
  const l = layout(ts, oracle);
  const total = l.packets;
  const keyPts = new Set(oracle.keyframePts);
  const firstGop = l.keyframeAuStart[1] + 8;

  t.test(`${name}: the model agrees with ffprobe (every access unit found, keyframes where ffprobe has them)`, async (t) => {
    t.same(l.auPts, oracle.pts, 'PES PTS per access unit = ffprobe packet PTS, decode order');
    t.equal(l.keyframeAuStart.length, oracle.keyframePts.length);
    t.ok(l.pat.length > 20 && l.pmt.length > 20, 'PAT/PMT every 0.1 s');
  });

  t.test(`${name}: from every 3rd packet of the first GOP the gate emits PAT, PMT, then a keyframe access unit, each other stream from its PES start`, async (t) => {
    const starts = [];
    for (let s = 0; s <= firstGop; s += 3) starts.push(s);
    // Right around each place that matters: the first PAT/PMT and the keyframes.
    for (const k of [l.pat[0], l.pmt[0], l.keyframeAuStart[0], l.keyframeAuStart[1], l.pat[1]]) starts.push(k - 1, k, k + 1);
    const got: unknown[] = [];
    const want: unknown[] = [];
    const bytesDiffer: number[] = [];
    for (const s of [...new Set(starts)].filter((s) => s >= 0).sort((a, b) => a - b)) {
      const e = expectFrom(ts, l, s);
      const { g, sink } = gate(ts.subarray(s * P));
      const o = observe(sink, g);
      got.push({ from: s, ...o, packetsBeforeStartCounter: g.counters.packetsBeforeStart, trimmed: g.counters.packetsTrimmed });
      want.push({
        from: s,
        starts: 1,
        packetsBeforeStart: 0,
        psiPids: [TsPid.PAT, PMT_PID], // (a) PAT then PMT first
        firstVideoPusi: true, // (b) the access unit's first packet …
        firstVideoPts: l.auPts[l.auStart.indexOf(e.rap)], // … of the keyframe the model expects
        audioStartsWithPusi: true, // (c)
        openedAtPacket: e.rap - s,
        packetsBeforeStartCounter: e.rap - s, // (g) every packet before the access unit
        trimmed: e.trimmed,
      });
      t.ok(keyPts.has(o.firstVideoPts), `from ${s}: first video PTS ${o.firstVideoPts} is a keyframe for ffprobe`);
      if (!sink.bytes().equals(Buffer.concat([e.psi, e.body]))) bytesDiffer.push(s);
      // (g) nothing is lost or made up: every packet fed is emitted, dropped before the start, or trimmed.
      t.equal(g.counters.packetsIn, total - s);
      t.equal(g.counters.packetsIn, g.counters.packetsBeforeStart + g.counters.packetsTrimmed + sink.packets, `from ${s}: packets in = before start + trimmed + emitted`);
    }
    t.same(got, want);
    t.same(bytesDiffer, [], 'output is byte for byte the latest PAT + PMT, then the fixture from the keyframe with audio trimmed to its PES start');
  });

  t.test(`${name}: output for any chunking is byte-identical to one write, and to the model`, async (t) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: firstGop + 300 }), fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 12 }), (s, chunks) => {
        const input = ts.subarray(s * P);
        const one = gate(input).sink.bytes();
        const { sink } = gate(input, chunks);
        const e = expectFrom(ts, l, s);
        return sink.bytes().equals(one) && one.equals(Buffer.concat([e.psi, e.body])) && sink.packetsBeforeStart === 0;
      }),
      { numRuns: 60, examples: [[0, [1]], [l.keyframeAuStart[1], [1]], [l.keyframeAuStart[1] - 1, [2]], [100, [7]]] },
    );
    t.pass();
  });

  t.test(`${name}: ffmpeg decodes the gate output with no error message and its first frame is a keyframe`, async (t) => {
    for (const s of [0, 57, 230, l.keyframeAuStart[1] - 2]) {
      const out = gate(ts.subarray(s * P)).sink.bytes();
      t.equal(ffmpegDecodeErrors(out), '', `from packet ${s}: ffmpeg -v error prints nothing`);
      const f = firstVideoFrame(out);
      t.ok(f.keyFrame, `from packet ${s}: first decoded frame is a keyframe (${f.pictType})`);
      t.ok(keyPts.has(f.pts), `from packet ${s}: first frame PTS ${f.pts} is an ffprobe keyframe of the fixture`);
    }
    // The control: the same cut without the gate is what a plain multicast join gives.
    t.not(ffmpegDecodeErrors(ts.subarray(57 * P)), '', 'ungated, the same cut makes ffmpeg complain (so the check can fail)');
  });

  t.test(`${name}: an access unit larger than holdMaxBytes is counted and the gate opens on the next keyframe`, async (t) => {
    // Clear payload_unit_start_indicator on the non-key access units between
    // two keyframes: to the inspector one access unit of ~400 packets, far
    // more than the smallest hold (64 packets).
    const broken = Buffer.from(ts);
    const k1 = l.keyframeAuStart[1];
    const merged = l.auStart.filter((i) => i > l.keyframeAuStart[0] && i < k1).slice(1);
    for (const i of merged) broken[i * P + 1] &= ~0x40;
    const from = l.keyframeAuStart[0] + 1;
    for (const chunks of [[], [1], [13]]) {
      const { g, sink } = gate(broken.subarray(from * P), chunks, { holdMaxBytes: 1 });
      t.ok(g.counters.holdOverflows > 0, `holdOverflows ${g.counters.holdOverflows} (chunks ${chunks})`);
      const e = expectFrom(broken, l, from);
      t.equal(e.rap, k1);
      t.equal(sink.packetsBeforeStart, 0);
      t.ok(sink.bytes().equals(Buffer.concat([e.psi, e.body])), `opens on the keyframe at packet ${k1}, bytes as the model`);
      t.equal(g.counters.packetsIn, g.counters.packetsBeforeStart + g.counters.packetsTrimmed + sink.packets, 'every packet accounted for');
    }
  });

  t.test(`${name}: garbage before the start does not throw and the gate still opens cleanly`, async (t) => {
    const pids = [TsPid.PAT, PMT_PID, VIDEO_PID, AUDIO_PID, TsPid.SDT, TsPid.NULL, 0x1234];
    const garbage = fc
      .array(fc.tuple(fc.uint8Array({ minLength: P, maxLength: P }), fc.constantFrom(...pids), fc.boolean()), { minLength: 1, maxLength: 40 })
      .map((list) =>
        Buffer.concat(
          list.map(([bytes, pid, sync]) => {
            const b = Buffer.from(bytes);
            if (sync) {
              b[0] = 0x47;
              b[1] = (b[1] & 0xe0) | (pid >> 8);
              b[2] = pid & 0xff;
            }
            return b;
          }),
        ),
      );
    fc.assert(
      fc.property(garbage, fc.integer({ min: 0, max: firstGop }), fc.boolean(), (junk, s, disc) => {
        const sink = new RecordingGateSink();
        const g = new RandomAccessGate(sink);
        g.writePackets(junk, 0, junk.length / P);
        if (disc) g.discontinuity();
        g.writePackets(ts, s * P, total - s);
        if (sink.starts !== 1 || sink.packetsBeforeStart !== 0) return false;
        // It opens on some keyframe at or after the clean start (garbage can
        // hide one PAT); from there on the output is exactly the model's.
        const rap = g.openedAtByte / P - junk.length / P + s;
        if (!l.keyframeAuStart.includes(rap)) return false;
        const e = expectAt(ts, Array.from({ length: total - s }, (_, k) => s + k), rap);
        const out = sink.bytes();
        if (disc && rap !== expectFrom(ts, l, s).rap) return false; // after discontinuity() garbage leaves no trace
        return out.subarray(e.psi.length).equals(e.body) && tsPid(out, 0) === TsPid.PAT && tsPid(out, P) === PMT_PID;
      }),
      { numRuns: 80 },
    );
    t.pass();
  });
}

t.test('counts as dropped before the start exactly the packets the player never saw', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const l = layout(ts, readOracle('h264-aac-1s-gop'));
  const s = 20;
  const { g, sink } = gate(ts.subarray(s * P), [5]);
  const e = expectFrom(ts, l, s);
  t.equal(g.counters.packetsBeforeStart, e.rap - s, 'the packets from the tune to the keyframe access unit');
  t.equal(g.counters.packetsTrimmed, e.trimmed, 'audio packets before its first PES start');
  t.equal(sink.packets, l.packets - e.rap - e.trimmed);
  t.equal(g.counters.startsWithoutPsi, 0);
  t.equal(g.counters.holdOverflows, 0);
});

t.test(
  'counts held packets dropped by discontinuity() before the start in packetsBeforeStart',

  async (t) => {
    const ts = readFixture('h264-aac-1s-gop');
    const l = layout(ts, readOracle('h264-aac-1s-gop'));
    const sink = new RecordingGateSink();
    const g = new RandomAccessGate(sink);
    // Mid-GOP: PAT/PMT learnt, the packets since the last video access unit start are held.
    const cut = 300;
    g.writePackets(ts, 100 * P, cut - 100);
    const held = cut - l.auStart.filter((i) => i < cut).pop()!;
    t.ok(held > 0, `${held} packets held at the discontinuity`);
    g.discontinuity();
    g.writePackets(ts, cut * P, l.packets - cut);
    t.equal(sink.starts, 1);
    t.equal(g.counters.packetsIn, g.counters.packetsBeforeStart + g.counters.packetsTrimmed + sink.packets, 'packets in = before start + trimmed + emitted');
  },
);

// (f) PSI cached from an earlier tune. The input starts just before a
// keyframe and its PAT/PMT packets are removed for 200 packets after it:
// the keyframe arrives before this tune's first PMT.
function cachedPsiCase(name: string) {
  const ts = readFixture(name);
  const l = layout(ts, readOracle(name));
  const k1 = l.keyframeAuStart[1];
  const k2 = l.keyframeAuStart[2];
  const from = k1 - 8;
  const kept = Array.from({ length: l.packets - from }, (_, k) => from + k).filter((i) => {
    const pid = tsPid(ts, i * P);
    return i > k1 + 200 || (pid !== TsPid.PAT && pid !== PMT_PID);
  });
  const input = select(ts, kept);
  // The earlier tune of the channel: its gate's psiPackets().
  const earlier = gate(ts.subarray(0, k1 * P - 8 * P));
  const cache = earlier.g.psiPackets();
  return { ts, l, k1, k2, kept, input, cache };
}

for (const name of FIXTURES) {
  t.test(`${name}: without cached PSI, a keyframe that arrives before any PAT/PMT is skipped: the gate waits for the next`, async (t) => {
    const { ts, l, k2, kept, input } = cachedPsiCase(name);
    for (const chunks of [[], [1], [9]]) {
      const { sink } = gate(input, chunks);
      const e = expectAt(ts, kept, k2);
      t.equal(sink.packetsBeforeStart, 0);
      t.ok(sink.bytes().equals(Buffer.concat([e.psi, e.body])), `opens on the keyframe at ${k2} with this tune's PAT/PMT (chunks ${chunks})`);
      t.equal(pesPtsAt(sink.bytes(), e.psi.length), l.auPts[l.auStart.indexOf(k2)]);
    }
  });

  t.test(
    `${name}: with cached PSI the gate opens on a keyframe that arrives before this tune's PAT/PMT, cache first`,
  
    async (t) => {
      const { ts, l, k1, kept, input, cache } = cachedPsiCase(name);
      t.ok(cache !== null && cache.length === 2 * P, 'the earlier tune has PAT + PMT to cache');
      for (const chunks of [[], [1], [9]]) {
        const { g, sink } = gate(input, chunks, { cachedPsi: cache });
        const e = expectAt(ts, kept, k1);
        t.equal(sink.packetsBeforeStart, 0, `nothing before start() (chunks ${chunks})`);
        t.equal(sink.starts, 1);
        t.ok(sink.psi[0]?.equals(cache!), 'the cached PAT/PMT go first');
        t.ok(sink.bytes().subarray(P * 2).equals(e.body), `then the fixture from the keyframe at ${k1}`);
        t.equal(pesPtsAt(sink.bytes(), 2 * P), l.auPts[l.auStart.indexOf(k1)]);
        t.equal(g.counters.startsWithoutPsi, 0);
      }
    },
  );
}

t.test('psiPackets() is the latest PAT then PMT of the tune (what the next tune can cache); the start injects those that went by before it', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const l = layout(ts, readOracle('h264-aac-1s-gop'));
  const from = 200;
  const to = 600;
  const { g, sink } = gate(ts.subarray(from * P, to * P));
  const rap = expectFrom(ts, l, from).rap;
  const psiAt = (before: number): Buffer => Buffer.concat([pkt(ts, l.pat.filter((i) => i < before).pop()!), pkt(ts, l.pmt.filter((i) => i < before).pop()!)]);
  t.ok(sink.psi[0].equals(psiAt(rap)), 'the PAT + PMT before the I-frame went first to the player');
  t.ok(g.psiPackets()?.equals(psiAt(to)), 'psiPackets(): the latest ones of the tune');
  t.equal(new RandomAccessGate(new RecordingGateSink()).psiPackets(), null, 'null before both are known');
});

/** The fixture's PMT packet at `i` with version_number + 1 (CRC recomputed): a changed program. */
function bumpedPmt(ts: Buffer, i: number): Buffer {
  const b = Buffer.from(pkt(ts, i));
  const sec = 5 + b[4]; // after pointer_field
  const len = 3 + (((b[sec + 1] & 0x0f) << 8) | b[sec + 2]);
  const v = (((b[sec + 5] >> 1) & 0x1f) + 1) & 0x1f;
  b[sec + 5] = (b[sec + 5] & 0xc1) | (v << 1);
  b.writeUInt32BE(crc32Mpeg2(b, sec, sec + len - 4), sec + len - 4);
  return b;
}

t.test(
  'psiPackets() follows a PMT change after the start (the doc: "the latest PAT and PMT packets of this tune")',

  async (t) => {
    const ts = readFixture('h264-aac-1s-gop');
    const l = layout(ts, readOracle('h264-aac-1s-gop'));
    const input = Buffer.from(ts);
    const changed = l.pmt.filter((i) => i > 1000);
    for (const i of changed) bumpedPmt(ts, i).copy(input, i * P);
    const { g } = gate(input);
    const last = changed[changed.length - 1];
    t.ok(g.psiPackets()?.subarray(P).equals(pkt(input, last)), 'the PMT of version 1, as the stream now carries it');
  },
);

t.test(
  'h265: a keyframe access unit whose IRAP comes after more than holdMaxBytes opens nothing and leaks nothing; the next keyframe opens the gate, for any chunking',

  async (t) => {
    // 60 null packets (CBR stuffing) right after the keyframe access unit's
    // first packet: its IRAP NAL unit (13 packets in) is recognised after
    // the 64-packet hold has overflowed and dropped the access unit's start.
    const name = 'h265-aac-1s-gop';
    const ts = readFixture(name);
    const l = layout(ts, readOracle(name));
    const k1 = l.keyframeAuStart[1];
    const nulls = Buffer.alloc(60 * P);
    for (let k = 0; k < 60; k++) tsWriteNullPacket(nulls, k * P);
    const from = 100;
    const input = Buffer.concat([ts.subarray(from * P, (k1 + 1) * P), nulls, ts.subarray((k1 + 1) * P)]);
    const outputs: Buffer[] = [];
    for (const chunks of [[1], [7], []]) {
      const { g, sink } = gate(input, chunks, { holdMaxBytes: 1 });
      t.ok(g.counters.holdOverflows > 0, `holdOverflows (chunks ${chunks})`);
      t.equal(g.counters.startsWithoutPsi, 1, 'the keyframe whose start was dropped is not a start');
      t.equal(sink.packetsBeforeStart, 0, 'nothing reaches the player before start()');
      t.equal(pesPtsAt(sink.bytes(), 2 * P), l.auPts[l.auStart.indexOf(l.keyframeAuStart[2])], 'opens on the next keyframe');
      outputs.push(sink.bytes());
    }
    t.ok(outputs.every((o) => o.equals(outputs[0])), 'same bytes for every chunking');
  },
);

t.test('an open gate passes a discontinuity on and stays open', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const sink = new RecordingGateSink();
  const g = new RandomAccessGate(sink);
  g.writePackets(ts, 0, 1000);
  t.ok(g.open);
  const before = sink.packets;
  g.discontinuity();
  g.writePackets(ts, 1000 * P, 10);
  t.equal(sink.discontinuities, 1);
  t.ok(g.open);
  t.equal(sink.packets, before + 10, 'everything after it passes');
  t.equal(sink.starts, 1, 'no second start');
});

t.test('a keyframe of a gate that never saw PAT/PMT cannot open it (only video, no PSI)', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const l = layout(ts, readOracle('h264-aac-1s-gop'));
  const noPsi = select(
    ts,
    Array.from({ length: l.packets }, (_, i) => i).filter((i) => tsPid(ts, i * P) !== TsPid.PAT && tsPid(ts, i * P) !== PMT_PID),
  );
  const { g, sink } = gate(noPsi, [11]);
  t.notOk(g.open);
  t.equal(sink.packets + sink.starts, 0, 'nothing at all');
});

t.test('a re-tune with cached PAT/PMT counts no CC error on a clean stream (the cache does not continue the live counters)', async (t) => {
  for (const name of FIXTURES) {
    const ts = readFixture(name);
    const first = gate(ts.subarray(0, 800 * P)).g;
    const cache = first.psiPackets();
    t.ok(cache, `${name}: PSI cached by the first tune`);
    for (const from of [1000, 1500, 2001]) {
      const { g } = gate(ts.subarray(from * P), [], { cachedPsi: cache });
      t.ok(g.open, `${name} from packet ${from}: opened`);
      t.equal(g.inspector.counters.ccErrors, 0, `${name} from packet ${from}: no CC error`);
    }
  }
});
