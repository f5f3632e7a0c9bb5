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
 * Run as the stamper (inside the sender namespace): TS on stdin, the same
 * stamped TS to fd 3 and fd 4 (the stdin of each libsrt sender), both
 * written from one buffer in one turn of the event loop, so the two
 * receivers get identical bytes and identical stamps. Whole TS packets only:
 * a partial packet at the end of a read waits for the rest. When either
 * output is above its high-water mark, stdin is paused (backpressure to
 * ffmpeg, as a shell pipe would do) and the pause is counted: a bound on
 * what the stamper holds. One JSON line with its counters on SIGTERM.
 */
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TS_PACKET_SIZE, TS_SYNC_BYTE, TsPid, tsPid } from '../core/mpegts/packet.js';

export const STAMP_PID = 0x1ff0;
const MAGIC = 0x52435342; // "RCSB"
const OFF_MAGIC = 4;
const OFF_COUNTER = 8;
const OFF_SECONDS = 12;
const OFF_NANOS = 16;
/** Bytes held between reads: at most one partial packet. */
const CARRY_MAX = TS_PACKET_SIZE;
/** Per output: pause stdin above this (about 0.5 s at 8 Mbit/s). */
const HIGH_WATER_BYTES = 512 * 1024;

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
  const outs = [3, 4].map((fd) => new Socket({ fd, readable: false, writable: true }));
  const counters = { bytesIn: 0, packetsOut: 0, stamps: 0, notSync: 0, pauses: 0, outputErrors: 0 };
  let counter = 0;
  let cc = 0;
  const carry = Buffer.alloc(CARRY_MAX);
  let carried = 0;
  let paused = false;

  const resumeIfDrained = (): void => {
    if (paused && outs.every((o) => o.writableLength < HIGH_WATER_BYTES)) {
      paused = false;
      process.stdin.resume();
    }
  };
  for (const o of outs) {
    o.on('drain', resumeIfDrained);
    o.on('error', () => {
      counters.outputErrors++; // a sender went away: the bench reports it from the sender's side
    });
  }

  process.stdin.on('data', (chunk: Buffer) => {
    counters.bytesIn += chunk.length;
    // Whole packets only: the carried partial packet first, then the chunk.
    const total = carried + chunk.length;
    const whole = total - (total % TS_PACKET_SIZE);
    if (whole === 0) {
      chunk.copy(carry, carried);
      carried = total;
      return;
    }
    // A fresh buffer per chunk: socket writes do not copy, and both outputs share it.
    const out = Buffer.allocUnsafe(whole);
    carry.copy(out, 0, 0, carried);
    chunk.copy(out, carried, 0, whole - carried);
    const rest = total - whole;
    chunk.copy(carry, 0, chunk.length - rest);
    carried = rest;

    const [s, ns] = process.hrtime();
    for (let off = 0; off < whole; off += TS_PACKET_SIZE) {
      if (out[off] !== TS_SYNC_BYTE) {
        counters.notSync++;
        continue;
      }
      if (tsPid(out, off) !== TsPid.NULL) continue;
      writeStamp(out, off, counter, cc, s, ns);
      counter = (counter + 1) >>> 0;
      cc = (cc + 1) & 0x0f;
      counters.stamps++;
    }
    counters.packetsOut += whole / TS_PACKET_SIZE;
    for (const o of outs) o.write(out);
    if (!paused && outs.some((o) => o.writableLength >= HIGH_WATER_BYTES)) {
      paused = true;
      counters.pauses++;
      process.stdin.pause();
    }
  });
  const finish = (): void => {
    process.stdout.write(JSON.stringify(counters) + '\n', () => process.exit(0));
  };
  process.stdin.on('end', finish);
  process.once('SIGTERM', finish);
  process.stdout.write('ready\n');
}

if (process.argv[1] === STAMPER_PATH) stamperMain();
