/**
 * Time stamps inside the transport stream, for bench/srt.ts: the stamper
 * sits between ffmpeg and the libsrt senders and replaces every null packet
 * (PID 0x1FFF, the -muxrate stuffing) with a stamp packet on a private PID
 * carrying a counter and the CLOCK_MONOTONIC time at which it handed the
 * bytes to the senders. The rate, the PCRs and every other PID stay exactly
 * as ffmpeg made them. At the far end of each receiver, the bench's receiver
 * role reads the stamps back: arrival − stamp is the end-to-end delay of
 * that packet, a gap in the counter is a TS packet that never came out.
 *
 * The stamp PID is declared in the program: the stamper rewrites each PMT
 * section (§2.4.4.8) to list it as stream_type 0x06, PES private data, no
 * descriptors, with a new CRC_32 (the PMT's version stays: every PMT
 * leaving the stamper is the same rewritten one). A receiver that remuxes to
 * one stable program — the headend's output remux (core/mpegts/remux.ts)
 * drops every PID its input's PMT does not list — then carries the stamps
 * as one of the program's "other" streams, on a PID of its own plan (0x102
 * after the video 0x100 and the audio 0x101), their payload untouched (the
 * remux rewrites PID and CC only). So {@link isStamp} knows a stamp by its
 * content, not its PID. Only a PMT whose section starts and ends in one
 * packet, payload only, is rewritten (ffmpeg's always is); any other is
 * passed as it is and counted (pmtNotRewritten).
 *
 * One clock: process.hrtime() is CLOCK_MONOTONIC, shared by every process
 * of the machine whatever network namespace it is in (ip netns does not
 * make a time namespace).
 *
 * Stamp packet (188 bytes, ISO/IEC 13818-1 §2.4.3.2 header, payload only),
 * one whole PES packet (§2.4.3.6), as stream_type 0x06 says its PID carries:
 *
 *   47 5F F0 1c   # sync | PUSI 1, PID 0x1FF0 (a receiver's remux may move it) | payload only, CC c (continuous per PID)
 *   00 00 01 BF   # packet_start_code_prefix | stream_id private_stream_2 (Table 2-22: no optional PES header)
 *   00 B2         # PES_packet_length 178: to the end of the TS packet
 *   52 43 53 42   # "RCSB"
 *   nn nn nn nn   # counter, u32 BE, +1 per stamp packet
 *   ss ss ss ss   # CLOCK_MONOTONIC seconds, u32 BE
 *   ff ff ff ff   # and nanoseconds, u32 BE
 *   FF …          # PES_packet_data_byte, stuffing
 *
 * Each stamp starts a PES packet because a receiver may hold an ES back
 * until its next PES start: the I-frame gate the headend passes an input
 * switch through (slate → primary, failover) drops the packets of every
 * other ES until its next payload_unit_start_indicator
 * (stb-agent/tuner/gate.ts) — stamps without one never got through.
 *
 * Run as the stamper (inside the sender namespace), `srt-stamp.js [N]`: TS
 * from ffmpeg on stdin; the same stamped TS to fds 3 … 3 + N − 1 (default
 * N = 2; the stdin of each libsrt sender), each unit of 7 packets (one SRT
 * payload) written to all of them in the same turn of the event loop, so
 * every receiver gets identical bytes and identical stamps. It also
 * re-paces the stream by its PCR, as a CBR encoder's output is paced:
 * `ffmpeg -re` writes a whole frame at once (an I-frame is ~100 ms of
 * airtime), and a receiver that re-times its output to
 * the PCR (the headend's pacer) would otherwise show that burst as delay
 * that is the source's, not the receiver's. A unit leaves when its last
 * packet is due: the first PCR 300 ms after it arrived, the rest at their
 * PCR distance from it, bytes in between interpolated (ISO/IEC 13818-1
 * §2.4.2.2: the PCR gives each byte's arrival time at a constant rate
 * between PCRs). A stamp is the time its unit was written.
 *
 * Bounds (STYLE.md §5): it holds at most 4 MiB (4 s at 8 Mbit/s; the pace
 * needs ~0.3 s) and, per output, 512 KiB not yet taken by the sender; above
 * either, stdin is paused (backpressure to ffmpeg, as a shell pipe would do)
 * and the pause counted. A PCR jump (loop, restart) re-anchors and is
 * counted. One JSON line with its counters on SIGTERM or at end of input.
 */
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { crc32Mpeg2 } from '../core/mpegts/crc32.js';
import { PCR_WRAP_27M, TS_PACKET_SIZE, TS_SYNC_BYTE, TsPid, tsPcr27M, tsPid } from '../core/mpegts/packet.js';
import { TableId, parsePat, parsePmt, psiPacketCount, psiPacketize, psiSectionLength, psiWritePmt } from '../core/mpegts/psi.js';

export const STAMP_PID = 0x1ff0;
/** ISO/IEC 13818-1 Table 2-34: 0x06, PES packets containing private data — what a decoder that does not know it leaves alone. */
export const STAMP_STREAM_TYPE = 0x06;
const MAGIC = 0x52435342; // "RCSB"
/** §2.4.3.6: packet_start_code_prefix 0x000001, stream_id private_stream_2. */
const PES_START_PRIVATE_STREAM_2 = 0x000001bf;
const OFF_PES = 4;
/** PES_packet_length: the bytes after it, to the end of the TS packet. */
const PES_PACKET_LENGTH = TS_PACKET_SIZE - OFF_PES - 6;
const OFF_MAGIC = 10;
const OFF_COUNTER = 14;
const OFF_SECONDS = 18;
const OFF_NANOS = 22;
/** 7 TS packets: one SRT payload (srt-live-transmit -chunk 1316 reads exactly this much). */
export const UNIT_BYTES = 7 * TS_PACKET_SIZE;
/** Held before sending, at most (4 s of 8 Mbit/s): above it stdin is paused. */
const HOLD_MAX_BYTES = 4 * 1024 * 1024;
/** Per output: pause stdin above this (about 0.5 s at 8 Mbit/s). */
const HIGH_WATER_BYTES = 512 * 1024;
/** The first PCR is sent this long after it arrived: room for ffmpeg's per-frame bursts. */
const START_DELAY_MS = 300;
/** A PCR whose time is this far from where the previous one predicts is a discontinuity: re-anchor. */
const PCR_JUMP_MS = 1000;
const TICK_MS = 1;
const TICKS_PER_MS = 27_000;
/** Outputs (fd 3 onwards): at most this many. */
const MAX_OUTPUTS = 8;

export const STAMPER_PATH = fileURLToPath(import.meta.url);

/** CLOCK_MONOTONIC in ns as a double (exact to well under 1 µs for ~100 days of uptime). */
export function monoNs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e9 + ns;
}

/** Overwrite the packet at `off` with stamp `counter`, time `s`/`ns`, CC `cc`. */
export function writeStamp(buf: Buffer, off: number, counter: number, cc: number, s: number, ns: number): void {
  buf[off] = TS_SYNC_BYTE;
  buf[off + 1] = 0x40 | ((STAMP_PID >> 8) & 0x1f); // payload_unit_start_indicator: a PES packet starts here
  buf[off + 2] = STAMP_PID & 0xff;
  buf[off + 3] = 0x10 | (cc & 0x0f);
  buf.writeUInt32BE(PES_START_PRIVATE_STREAM_2, off + OFF_PES);
  buf.writeUInt16BE(PES_PACKET_LENGTH, off + OFF_PES + 4);
  buf.writeUInt32BE(MAGIC, off + OFF_MAGIC);
  buf.writeUInt32BE(counter >>> 0, off + OFF_COUNTER);
  buf.writeUInt32BE(s >>> 0, off + OFF_SECONDS);
  buf.writeUInt32BE(ns >>> 0, off + OFF_NANOS);
  buf.fill(0xff, off + OFF_NANOS + 4, off + TS_PACKET_SIZE);
}

/**
 * Is the packet at `off` a stamp packet? By its content, whatever its PID (a
 * receiver's remux moves it): payload_unit_start_indicator and no
 * transport_error, not scrambled, payload only (§2.4.3.2), a private_stream_2
 * PES start and the magic. No video or audio PES starts so (their stream_id
 * is 0xE0… / 0xC0… / 0xBD); the receiver role also keeps to the PID its
 * first stamp came on.
 */
export function isStamp(buf: Uint8Array, off: number): boolean {
  return (
    (buf[off + 1] & 0xc0) === 0x40 &&
    (buf[off + 3] & 0xf0) === 0x10 &&
    buf[off + OFF_PES] === 0x00 &&
    buf[off + OFF_PES + 1] === 0x00 &&
    buf[off + OFF_PES + 2] === 0x01 &&
    buf[off + OFF_PES + 3] === 0xbf &&
    buf[off + OFF_MAGIC] === 0x52 &&
    buf[off + OFF_MAGIC + 1] === 0x43 &&
    buf[off + OFF_MAGIC + 2] === 0x53 &&
    buf[off + OFF_MAGIC + 3] === 0x42
  );
}

export function stampCounter(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off + OFF_COUNTER);
}

/** The stamp's CLOCK_MONOTONIC time, ns (same scale as {@link monoNs}). */
export function stampNs(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off + OFF_SECONDS) * 1e9 + buf.readUInt32BE(off + OFF_NANOS);
}

/**
 * Where the one section that the packet at `off` carries begins, or -1: the
 * packet must be payload only with payload_unit_start_indicator, and the
 * section (pointer_field, §2.4.4.2) must end inside it, followed only by
 * 0xFF stuffing, with a good CRC_32 (Annex A: 0 over the whole section).
 */
function singleSectionAt(buf: Uint8Array, off: number): number {
  if ((buf[off + 1] & 0x40) === 0 || (buf[off + 3] & 0x30) !== 0x10) return -1;
  const end = off + TS_PACKET_SIZE;
  const s = off + 5 + buf[off + 4];
  if (s + 3 > end) return -1;
  const len = 3 + psiSectionLength(buf, s);
  if (len < 12 || s + len > end) return -1;
  for (let p = s + len; p < end; p++) if (buf[p] !== 0xff) return -1;
  return crc32Mpeg2(buf, s, s + len) === 0 ? s : -1;
}

/** program_map_PID of the first program of the PAT in the packet at `off`, or -1. */
export function patFirstPmtPid(buf: Uint8Array, off: number): number {
  const s = singleSectionAt(buf, off);
  if (s < 0 || buf[s] !== TableId.PAT) return -1;
  const pat = parsePat(buf, s, 3 + psiSectionLength(buf, s));
  return pat !== null && pat.programs.length > 0 ? pat.programs[0].programMapPid : -1;
}

export const PmtRewrite = {
  /** The stamp PID was added; the packet now carries the new section. */
  REWRITTEN: 0,
  /** It was listed already: the packet is as it was. */
  ALREADY: 1,
  /** Not a PMT section that starts and ends in this packet, current, with room for 5 more bytes: left as it was. */
  UNFIT: 2,
} as const;
export type PmtRewrite = (typeof PmtRewrite)[keyof typeof PmtRewrite];

/**
 * Rewrite, in place, the PMT in the packet at `off` so that it also lists
 * {@link STAMP_PID} as {@link STAMP_STREAM_TYPE} with no ES_info (a 5-byte
 * loop entry, §2.4.4.8 Table 2-33), its section_length and CRC_32 made anew
 * by core/mpegts/psi.ts. The header's PID and CC stay; `scratch` holds the
 * new section (1024 bytes: a PMT's most, §2.4.4.8). Runs per PMT (ffmpeg
 * sends ~10 a second), not per packet.
 */
export function declareStampPid(buf: Buffer, off: number, scratch: Buffer): PmtRewrite {
  const s = singleSectionAt(buf, off);
  if (s < 0 || buf[s] !== TableId.PMT) return PmtRewrite.UNFIT;
  const pmt = parsePmt(buf, s, 3 + psiSectionLength(buf, s));
  // psiWritePmt writes current_next_indicator 1, section 0 of 0: keep away from any other.
  if (pmt === null || !pmt.currentNextIndicator || buf[s + 6] !== 0 || buf[s + 7] !== 0) return PmtRewrite.UNFIT;
  if (pmt.streams.some((x) => x.elementaryPid === STAMP_PID)) return PmtRewrite.ALREADY;
  pmt.streams.push({ streamType: STAMP_STREAM_TYPE, elementaryPid: STAMP_PID, esInfo: new Uint8Array(0) });
  const len = psiWritePmt(scratch, 0, pmt);
  if (psiPacketCount(len) !== 1) return PmtRewrite.UNFIT;
  psiPacketize(scratch, 0, len, tsPid(buf, off), buf[off + 3] & 0x0f, buf, off);
  return PmtRewrite.REWRITTEN;
}

function stamperMain(): void {
  const n = Number(process.argv[2] ?? 2);
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_OUTPUTS)) {
    process.stderr.write(`stamper: ${String(process.argv[2])} outputs: give 1..${MAX_OUTPUTS}\n`);
    process.exit(2);
  }
  const outs = Array.from({ length: n }, (_, i) => new Socket({ fd: 3 + i, readable: false, writable: true }));
  const counters = {
    bytesIn: 0,
    units: 0,
    stamps: 0,
    notSync: 0,
    pauses: 0,
    outputErrors: 0,
    reanchors: 0,
    lateUnits: 0,
    maxLateMs: 0,
    bytesBeforePcr: 0,
    pmtRewritten: 0,
    pmtNotRewritten: 0,
  };
  let counter = 0;
  let cc = 0;
  /** The PMT's PID, from the PAT (-1 until one is seen). */
  let pmtPid = -1;
  const pmtScratch = Buffer.alloc(1024);
  // What is held: hold[rd, wr) is stream bytes [base + rd, base + wr).
  let hold = Buffer.alloc(HOLD_MAX_BYTES + 64 * 1024);
  let rd = 0;
  let wr = 0;
  let base = 0;
  let partial = 0; // bytes of an incomplete packet at hold[wr, wr + partial)
  // PCR marks: stream byte index of the packet and the wall time (performance.now() ms) it is due.
  const markByte: number[] = [];
  const markWall: number[] = [];
  let pcrPid = -1;
  let lastPcr = -1;
  let lastWall = NaN;
  let paused = false;

  const pauseCheck = (): void => {
    const full = wr - rd > HOLD_MAX_BYTES || outs.some((o) => o.writableLength >= HIGH_WATER_BYTES);
    if (full && !paused) {
      paused = true;
      counters.pauses++;
      process.stdin.pause();
    } else if (!full && paused) {
      paused = false;
      process.stdin.resume();
    }
  };
  for (const o of outs) {
    o.on('drain', pauseCheck);
    o.on('error', () => {
      counters.outputErrors++; // a sender went away: the bench reports it from the sender's side
    });
  }

  /** Due time of stream byte `x`, by linear interpolation between the PCR marks around it; NaN if the next is not known yet. */
  const dueOf = (x: number): number => {
    if (markByte.length === 0) return NaN;
    if (x < markByte[0]) return -Infinity; // before the first PCR: no time, send now
    for (let i = 0; i + 1 < markByte.length; i++) {
      if (x < markByte[i + 1]) return markWall[i] + ((x - markByte[i]) / (markByte[i + 1] - markByte[i])) * (markWall[i + 1] - markWall[i]);
    }
    return NaN;
  };

  process.stdin.on('data', (chunk: Buffer) => {
    counters.bytesIn += chunk.length;
    if (wr + partial + chunk.length > hold.length) {
      // Compact (what is held is bounded by HOLD_MAX_BYTES + a chunk).
      const need = wr - rd + partial + chunk.length;
      const next = need > hold.length ? Buffer.alloc(need + 64 * 1024) : hold;
      hold.copy(next, 0, rd, wr + partial);
      hold = next;
      base += rd;
      wr -= rd;
      rd = 0;
    }
    chunk.copy(hold, wr + partial);
    const end = wr + partial + chunk.length;
    const now = performance.now();
    let o = wr;
    for (; o + TS_PACKET_SIZE <= end; o += TS_PACKET_SIZE) {
      if (hold[o] !== TS_SYNC_BYTE) {
        counters.notSync++;
        continue;
      }
      const pcr = tsPcr27M(hold, o);
      if (pcr < 0 || (pcrPid >= 0 && tsPid(hold, o) !== pcrPid)) continue;
      pcrPid = tsPid(hold, o);
      let wall: number;
      if (lastPcr < 0) {
        wall = now + START_DELAY_MS;
      } else {
        const d = (pcr - lastPcr + PCR_WRAP_27M) % PCR_WRAP_27M;
        wall = lastWall + d / TICKS_PER_MS;
        if (d / TICKS_PER_MS > PCR_JUMP_MS || wall < now - PCR_JUMP_MS) {
          wall = now + START_DELAY_MS;
          counters.reanchors++;
        }
      }
      lastPcr = pcr;
      lastWall = wall;
      markByte.push(base + o);
      markWall.push(wall);
    }
    wr = o;
    partial = end - o;
    if (markByte.length === 0) counters.bytesBeforePcr = base + wr;
    pauseCheck();
  });

  /** Send every whole unit whose last packet is due (a CBR sender sends a datagram when it is full). */
  const tick = (): void => {
    const now = performance.now();
    while (wr - rd >= UNIT_BYTES) {
      const due = dueOf(base + rd + UNIT_BYTES - TS_PACKET_SIZE);
      if (Number.isNaN(due) || due > now) break;
      if (Number.isFinite(due) && now - due > 2) {
        counters.lateUnits++;
        if (now - due > counters.maxLateMs) counters.maxLateMs = Math.round((now - due) * 100) / 100;
      }
      // A fresh buffer per unit: socket writes do not copy, and all outputs share it.
      const unit = Buffer.allocUnsafe(UNIT_BYTES);
      hold.copy(unit, 0, rd, rd + UNIT_BYTES);
      rd += UNIT_BYTES;
      const [s, ns] = process.hrtime();
      for (let off = 0; off < UNIT_BYTES; off += TS_PACKET_SIZE) {
        if (unit[off] !== TS_SYNC_BYTE) continue;
        const pid = tsPid(unit, off);
        if (pid === TsPid.NULL) {
          writeStamp(unit, off, counter, cc, s, ns);
          counter = (counter + 1) >>> 0;
          cc = (cc + 1) & 0x0f;
          counters.stamps++;
        } else if (pid === TsPid.PAT) {
          const p = patFirstPmtPid(unit, off);
          if (p >= 0) pmtPid = p;
        } else if (pid === pmtPid && (unit[off + 1] & 0x40) !== 0) {
          if (declareStampPid(unit, off, pmtScratch) === PmtRewrite.UNFIT) counters.pmtNotRewritten++;
          else counters.pmtRewritten++;
        }
      }
      counters.units++;
      for (const out of outs) out.write(unit);
    }
    // Forget the marks behind what was sent (keep the one at or before the read position).
    let drop = 0;
    while (drop + 1 < markByte.length && markByte[drop + 1] <= base + rd) drop++;
    if (drop > 0) {
      markByte.splice(0, drop);
      markWall.splice(0, drop);
    }
    pauseCheck();
  };
  const timer = setInterval(tick, TICK_MS);

  const finish = (): void => {
    clearInterval(timer);
    process.stdout.write(JSON.stringify(counters) + '\n', () => process.exit(0));
  };
  process.stdin.on('end', finish);
  process.once('SIGTERM', finish);
  process.stdout.write('ready\n');
}

if (process.argv[1] === STAMPER_PATH) stamperMain();
