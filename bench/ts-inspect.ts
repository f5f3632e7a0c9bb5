/**
 * Benchmark: TS inspection throughput, Roomcast vs. mux.js (STYLE.md §6).
 *
 * Input: an 8 Mbit/s H.264 + AAC transport stream (1280x720, 25 fps, GOP 50,
 * CBR mux) made once by ffmpeg into os.tmpdir(), repeated in memory to about
 * 100 MB; without ffmpeg, the test fixture repeated instead. Both sides get
 * the same bytes in the same 64 KiB chunks, as a file or pipe source would
 * deliver them.
 *
 * What is measured, "find the keyframes and the video PTS":
 * - ours: TsResync → TsInspector (PSI, CC, PCR, TR 101 290 counters, PES
 *   headers, IDR detection).
 * - mux.js: its m2ts pipeline TransportPacketStream → TransportParseStream →
 *   ElementaryStream → codecs.h264.H264Stream, counting IDR access units
 *   (IDR slices with first_mb_in_slice = 0). mux.js's tools/ts-inspector
 *   inspect() would be cheaper but reports only the *first* keyframe of a
 *   segment, so it cannot answer the question; the pipeline is mux.js's
 *   closest equivalent.
 *
 * Run: npx tsc && node dist/bench/ts-inspect.js
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TsInspector } from '../core/mpegts/inspector.js';
import { TsResync } from '../core/mpegts/resync.js';

const TARGET_BYTES = 100 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const RUNS_OURS = 7;
const RUNS_MUXJS = 3;

interface MuxStream {
  push(data: unknown): void;
  flush(): void;
  pipe(dest: MuxStream): MuxStream;
  on(event: string, fn: (data: never) => void): void;
}
interface MuxJs {
  mp2t: {
    TransportPacketStream: new () => MuxStream;
    TransportParseStream: new () => MuxStream;
    ElementaryStream: new () => MuxStream;
  };
  codecs: { h264: { H264Stream: new () => MuxStream } };
}

const require = createRequire(import.meta.url);

function makeSource(): { bytes: Buffer; description: string } {
  const file = join(tmpdir(), 'roomcast-bench-h264-8M-20s.ts');
  const args = [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=20',
    '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=20',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
    '-b:v', '7M', '-maxrate', '7M', '-bufsize', '3M',
    '-c:a', 'aac', '-b:a', '128k',
    '-f', 'mpegts', '-muxrate', '8M', file,
  ];
  let one: Buffer;
  let description: string;
  try {
    if (!existsSync(file) || statSync(file).size < 1_000_000) execFileSync('ffmpeg', args, { stdio: 'inherit' });
    one = readFileSync(file);
    description = `ffmpeg 8 Mbit/s H.264 720p25 GOP 50 + AAC (${file})`;
  } catch {
    const fixture = fileURLToPath(new URL('../../test/fixtures/h264-aac-1s-gop.ts', import.meta.url));
    one = readFileSync(fixture);
    description = `test fixture h264-aac-1s-gop.ts (ffmpeg unavailable)`;
  }
  const copies = Math.max(1, Math.round(TARGET_BYTES / one.length));
  return { bytes: Buffer.concat(Array<Buffer>(copies).fill(one)), description: `${description} ×${copies}` };
}

function chunksOf(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += CHUNK_BYTES) out.push(bytes.subarray(o, o + CHUNK_BYTES));
  return out;
}

function runOurs(chunks: Buffer[]): { keyframes: number; videoPes: number } {
  const inspector = new TsInspector();
  const resync = new TsResync(inspector);
  for (const c of chunks) resync.push(c);
  resync.end();
  return { keyframes: inspector.counters.keyframes, videoPes: inspector.counters.videoPes };
}

function runMuxJs(mux: MuxJs, chunks: Buffer[]): { keyframes: number; videoPes: number } {
  const packets = new mux.mp2t.TransportPacketStream();
  const parse = new mux.mp2t.TransportParseStream();
  const elementary = new mux.mp2t.ElementaryStream();
  const h264 = new mux.codecs.h264.H264Stream();
  packets.pipe(parse).pipe(elementary);
  let keyframes = 0;
  let videoPes = 0;
  elementary.on('data', (pes: { type: string }) => {
    if (pes.type !== 'video') return;
    videoPes++;
    h264.push(pes);
  });
  h264.on('data', (nal: { nalUnitTypeCode: number; data: Uint8Array }) => {
    // An IDR access unit = an IDR slice with first_mb_in_slice 0 (ue(v) 0 is a single '1' bit).
    if (nal.nalUnitTypeCode === 5 && (nal.data[1] & 0x80) !== 0) keyframes++;
  });
  for (const c of chunks) packets.push(c);
  packets.flush();
  h264.flush();
  return { keyframes, videoPes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function measure(runs: number, fn: () => { keyframes: number; videoPes: number }, mb: number) {
  let result = fn(); // warm-up
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    rates.push(mb / (ms / 1000));
  }
  return { mbPerS: median(rates), result };
}

export async function benchTsInspect(): Promise<Record<string, unknown>> {
  const mux = require('mux.js') as MuxJs;
  const { bytes, description } = makeSource();
  const chunks = chunksOf(bytes);
  const mb = bytes.length / 1e6;
  const ours = measure(RUNS_OURS, () => runOurs(chunks), mb);
  const theirs = measure(RUNS_MUXJS, () => runMuxJs(mux, chunks), mb);
  const match = ours.result.keyframes === theirs.result.keyframes;
  const out = {
    name: 'ts-inspect',
    input: description,
    inputMB: Math.round(mb * 10) / 10,
    chunkBytes: CHUNK_BYTES,
    measured:
      'keyframes + video PTS: ours TsResync→TsInspector (full TR 101 290 p1 + PCR); ' +
      'mux.js TransportPacketStream→TransportParseStream→ElementaryStream→H264Stream',
    oursMBps: Math.round(ours.mbPerS),
    muxjsMBps: Math.round(theirs.mbPerS),
    ratio: Math.round((ours.mbPerS / theirs.mbPerS) * 10) / 10,
    oursKeyframes: ours.result.keyframes,
    muxjsKeyframes: theirs.result.keyframes,
    oursVideoPes: ours.result.videoPes,
    muxjsVideoPes: theirs.result.videoPes,
    keyframesMatch: match,
    runs: { ours: RUNS_OURS, muxjs: RUNS_MUXJS, statistic: 'median' },
  };
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchTsInspect();
  console.log(`ts-inspect: ${r.input}, ${r.inputMB} MB in ${CHUNK_BYTES}-byte chunks`);
  console.log(`  measured: ${r.measured}`);
  console.log(`  ours   ${r.oursMBps} MB/s  keyframes ${r.oursKeyframes}  video PES ${r.oursVideoPes}`);
  console.log(`  mux.js ${r.muxjsMBps} MB/s  keyframes ${r.muxjsKeyframes}  video PES ${r.muxjsVideoPes}`);
  console.log(`  ratio ours/mux.js ${r.ratio}× (median of ${RUNS_OURS} / ${RUNS_MUXJS} runs)`);
  if (!r.keyframesMatch) {
    console.log(`  MISMATCH: keyframe counts differ (ours ${r.oursKeyframes}, mux.js ${r.muxjsKeyframes})`);
    process.exitCode = 1;
  }
}
