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
 * One clock: process.hrtime() is CLOCK_MONOTONIC, shared by every process
 * of the machine whatever network namespace it is in (ip netns does not
 * make a time namespace).
 *
 * Stamp packet (188 bytes, ISO/IEC 13818-1 §2.4.3.2 header, payload only):
 *
 *   47 1F F0 1c   # sync | PID 0x1FF0 | payload only, CC c (continuous per PID)
 *   52 43 53 42   # "RCSB"
 *   nn nn nn nn   # counter, u32 BE, +1 per stamp packet
 *   ss ss ss ss   # CLOCK_MONOTONIC seconds, u32 BE
 *   ff ff ff ff   # and nanoseconds, u32 BE
 *   FF …          # stuffing
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
import { PCR_WRAP_27M, TS_PACKET_SIZE, TS_SYNC_BYTE, TsPid, tsPcr27M, tsPid } from '../core/mpegts/packet.js';

export const STAMP_PID = 0x1ff0;
const MAGIC = 0x52435342; // "RCSB"
const OFF_MAGIC = 4;
const OFF_COUNTER = 8;
const OFF_SECONDS = 12;
const OFF_NANOS = 16;
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
  buf[off + 1] = (STAMP_PID >> 8) & 0x1f;
  buf[off + 2] = STAMP_PID & 0xff;
  buf[off + 3] = 0x10 | (cc & 0x0f);
  buf.writeUInt32BE(MAGIC, off + OFF_MAGIC);
  buf.writeUInt32BE(counter >>> 0, off + OFF_COUNTER);
  buf.writeUInt32BE(s >>> 0, off + OFF_SECONDS);
  buf.writeUInt32BE(ns >>> 0, off + OFF_NANOS);
  buf.fill(0xff, off + OFF_NANOS + 4, off + TS_PACKET_SIZE);
}

/** Is the packet at `off` a stamp packet? (PID and magic.) */
export function isStamp(buf: Uint8Array, off: number): boolean {
  return (
    tsPid(buf, off) === STAMP_PID &&
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

function stamperMain(): void {
  const n = Number(process.argv[2] ?? 2);
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_OUTPUTS)) {
    process.stderr.write(`stamper: ${String(process.argv[2])} outputs: give 1..${MAX_OUTPUTS}\n`);
    process.exit(2);
  }
  const outs = Array.from({ length: n }, (_, i) => new Socket({ fd: 3 + i, readable: false, writable: true }));
  const counters = { bytesIn: 0, units: 0, stamps: 0, notSync: 0, pauses: 0, outputErrors: 0, reanchors: 0, lateUnits: 0, maxLateMs: 0, bytesBeforePcr: 0 };
  let counter = 0;
  let cc = 0;
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
        if (unit[off] !== TS_SYNC_BYTE || tsPid(unit, off) !== TsPid.NULL) continue;
        writeStamp(unit, off, counter, cc, s, ns);
        counter = (counter + 1) >>> 0;
        cc = (cc + 1) & 0x0f;
        counters.stamps++;
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
