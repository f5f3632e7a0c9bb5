/**
 * Shared by the stb-agent tuner/output tests: a recording GateSink, an
 * independent model of what the I-frame gate must emit for a fixture fed
 * from a given packet, a strict per-PID continuity check, and ffmpeg/ffprobe
 * as real peers. The model reads the fixture with nothing but the packet
 * accessors and the PES header parser, and takes the keyframes from the
 * ffprobe oracle — never from the inspector the gate is built on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TS_PACKET_SIZE, TsPid, tsHasPayload, tsPayloadOffset, tsPayloadUnitStartIndicator, tsPid } from '../../core/mpegts/packet.js';
import { newPesHeader, pesParseHeader } from '../../core/mpegts/pes.js';
import type { GateSink } from '../../stb-agent/tuner/gate.js';
import type { Oracle } from '../fixtures/ts-fixtures.js';

/** scripts/make-fixtures.sh: `-mpegts_pmt_start_pid 0x1000 -mpegts_start_pid 0x100` → video 0x100, audio 0x101. */
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;

/** Records what a gate emits, in order; `packetsBeforeStart` counts packets written before the first start(). */
export class RecordingGateSink implements GateSink {
  readonly items: { psi: boolean; bytes: Buffer }[] = [];
  readonly psi: Buffer[] = [];
  starts = 0;
  packets = 0;
  packetsBeforeStart = 0;
  discontinuities = 0;

  constructor(private readonly next?: GateSink) {}

  start(psi: Buffer): void {
    this.starts++;
    const copy = Buffer.from(psi);
    this.psi.push(copy);
    this.items.push({ psi: true, bytes: copy });
    this.next?.start(psi);
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    if (this.starts === 0) this.packetsBeforeStart += count;
    this.packets += count;
    this.items.push({ psi: false, bytes: Buffer.from(buf.subarray(off, off + count * TS_PACKET_SIZE)) });
    this.next?.writePackets(buf, off, count);
  }

  discontinuity(): void {
    this.discontinuities++;
    this.next?.discontinuity?.();
  }

  /** Everything emitted, psi included, in order. */
  bytes(): Buffer {
    return Buffer.concat(this.items.map((i) => i.bytes));
  }
}

/** One packet of `ts` by index. */
export function pkt(ts: Buffer, i: number): Buffer {
  return ts.subarray(i * TS_PACKET_SIZE, (i + 1) * TS_PACKET_SIZE);
}

/** Where things are in a fixture, by packet index (not byte). */
export interface Layout {
  packets: number;
  pat: number[];
  pmt: number[];
  /** Packet index of each video access unit's first packet (PUSI), decode order. */
  auStart: number[];
  /** PES PTS of each access unit, as read from its first packet. */
  auPts: number[];
  /** auStart of the access units ffprobe marks as keyframes. */
  keyframeAuStart: number[];
}

export function layout(ts: Buffer, oracle: Oracle): Layout {
  const packets = ts.length / TS_PACKET_SIZE;
  const pat: number[] = [];
  const pmt: number[] = [];
  const auStart: number[] = [];
  const auPts: number[] = [];
  const h = newPesHeader();
  for (let i = 0; i < packets; i++) {
    const o = i * TS_PACKET_SIZE;
    const pid = tsPid(ts, o);
    if (pid === TsPid.PAT) pat.push(i);
    else if (pid === PMT_PID) pmt.push(i);
    else if (pid === oracle.pid && tsPayloadUnitStartIndicator(ts, o) && tsHasPayload(ts, o)) {
      const p = tsPayloadOffset(ts, o);
      if (pesParseHeader(ts, p, o + TS_PACKET_SIZE, h) > 0) {
        auStart.push(i);
        auPts.push(h.pts90k);
      }
    }
  }
  const key = new Set(oracle.keyframePts);
  return { packets, pat, pmt, auStart, auPts, keyframeAuStart: auStart.filter((_, k) => key.has(auPts[k])) };
}

/** PTS of the PES header in the packet at byte `o`, or -1. */
export function pesPtsAt(buf: Buffer, o: number): number {
  if (!tsPayloadUnitStartIndicator(buf, o) || !tsHasPayload(buf, o)) return -1;
  const h = newPesHeader();
  return pesParseHeader(buf, tsPayloadOffset(buf, o), o + TS_PACKET_SIZE, h) > 0 ? h.pts90k : -1;
}

export interface GateExpectation {
  /** Packet index of the access unit the gate opens on, -1 if it never opens. */
  rap: number;
  psi: Buffer;
  /** Packets after the psi: the fixture from rap on, other elementary streams trimmed to their first PES start. */
  body: Buffer;
  trimmed: number;
}

/**
 * What a gate must emit when packets `packets` (indices into `ts`, in
 * order) are fed to it and it opens on the access unit starting at `rap`:
 * the latest PAT and PMT packets fed before `rap`, then every packet from
 * `rap` on except other elementary streams' packets before their first
 * payload_unit_start (ISO/IEC 13818-1 §2.4.3.6).
 */
export function expectAt(ts: Buffer, packets: number[], rap: number, esPids: number[] = [AUDIO_PID]): GateExpectation {
  const at = packets.indexOf(rap);
  let lastPat = -1;
  let lastPmt = -1;
  for (let k = 0; k < at; k++) {
    const pid = tsPid(ts, packets[k] * TS_PACKET_SIZE);
    if (pid === TsPid.PAT) lastPat = packets[k];
    else if (pid === PMT_PID) lastPmt = packets[k];
  }
  const waiting = new Set(esPids);
  const body: Buffer[] = [];
  let trimmed = 0;
  for (let k = at; k < packets.length; k++) {
    const o = packets[k] * TS_PACKET_SIZE;
    const pid = tsPid(ts, o);
    if (waiting.has(pid)) {
      if (!(tsPayloadUnitStartIndicator(ts, o) && tsHasPayload(ts, o))) {
        trimmed++;
        continue;
      }
      waiting.delete(pid);
    }
    body.push(pkt(ts, packets[k]));
  }
  return { rap, psi: Buffer.concat([pkt(ts, lastPat), pkt(ts, lastPmt)]), body: Buffer.concat(body), trimmed };
}

/**
 * The gate fed the whole fixture from packet `from` on must open on the first
 * keyframe access unit that starts after a PAT and then a PMT have gone by
 * (it learns the video PID from them, and copies them).
 */
export function expectFrom(ts: Buffer, l: Layout, from: number): GateExpectation {
  const pat = l.pat.find((i) => i >= from);
  const pmt = pat === undefined ? undefined : l.pmt.find((i) => i > pat);
  const rap = pmt === undefined ? undefined : l.keyframeAuStart.find((i) => i > pmt);
  const packets = Array.from({ length: l.packets - from }, (_, k) => from + k);
  if (rap === undefined) return { rap: -1, psi: Buffer.alloc(0), body: Buffer.alloc(0), trimmed: 0 };
  return expectAt(ts, packets, rap);
}

/**
 * Continuity errors by the letter of ISO/IEC 13818-1 §2.4.3.3, per PID:
 * a packet with payload carries the previous CC + 1, an adaptation-only
 * packet repeats it. Stricter than TsInspector: discontinuity_indicator
 * excuses nothing and a repeated CC is never a duplicate. Returns the packet
 * indices of the errors.
 */
export function strictCcErrors(buf: Buffer): number[] {
  const last = new Int8Array(8192).fill(-1);
  const errors: number[] = [];
  for (let o = 0; o < buf.length; o += TS_PACKET_SIZE) {
    const pid = tsPid(buf, o);
    if (pid === TsPid.NULL) continue;
    const cc = buf[o + 3] & 0x0f;
    const prev = last[pid];
    if (prev >= 0 && cc !== (tsHasPayload(buf, o) ? (prev + 1) & 0x0f : prev)) errors.push(o / TS_PACKET_SIZE);
    last[pid] = cc;
  }
  return errors;
}

/** A temp dir removed at process exit. */
let dir: string | null = null;
function tempFile(name: string, data: Buffer): string {
  if (dir === null) {
    const d = mkdtempSync(join(tmpdir(), 'roomcast-agent-'));
    dir = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const file = join(dir, name);
  writeFileSync(file, data);
  return file;
}

/** What `ffmpeg -v error -i f.ts -f null -` prints (stdout and stderr): '' for a clean decode. */
export function ffmpegDecodeErrors(ts: Buffer, name = 'decode.ts'): string {
  const file = tempFile(name, ts);
  return execFileSync('sh', ['-c', 'ffmpeg -nostdin -hide_banner -v error -i "$1" -f null - 2>&1', 'sh', file], { encoding: 'utf8' }).trim();
}

/** ffprobe's first decoded video frame: key_frame flag, picture type, pts. */
export function firstVideoFrame(ts: Buffer, name = 'probe.ts'): { keyFrame: boolean; pictType: string; pts: number } {
  const file = tempFile(name, ts);
  const csv = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'frame=key_frame,pict_type,pts', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  const fields = csv.trim().split('\n')[0].split(',');
  // csv order follows ffprobe's frame section: key_frame, pts, pict_type.
  return { keyFrame: fields[0] === '1', pts: Number(fields[1]), pictType: fields[2] };
}
