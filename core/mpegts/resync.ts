/**
 * Resync: arbitrary byte chunks in, whole 188-byte TS packets out
 * (DESIGN.md "The packet path", first stage).
 *
 * - Aligned fast path: a chunk that starts on a packet boundary is handed to
 *   the sink as is — same buffer, no copy, one call per run of packets.
 * - A remainder (< 188 bytes while in sync) is carried in a preallocated
 *   scratch buffer of 4 packets; only that remainder and the bytes that
 *   complete it are copied, never a whole chunk (the mux.js
 *   TransportPacketStream copies every chunk that follows a remainder).
 * - Sync acquisition needs 3 consecutive sync bytes 188 bytes apart (fewer
 *   only at end of input). In sync, a single corrupt sync byte followed by a
 *   good one is passed through — the inspector counts it as TR 101 290 1.2
 *   Sync_byte_error; two consecutive corrupt sync bytes are a sync loss
 *   (TR 101 290 §5.2.1 1.1 TS_sync_loss, hysteresis after its note: "two or
 *   more consecutive corrupted sync bytes"), after which bytes are skipped
 *   until sync is acquired again.
 */
import { TS_PACKET_SIZE, TS_SYNC_BYTE } from './packet.js';
import type { TsPacketSink } from './sink.js';

/** Sync bytes, 188 apart, that acquire sync. */
const ACQUIRE_SYNC_COUNT = 3;
const ACQUIRE_SPAN = (ACQUIRE_SYNC_COUNT - 1) * TS_PACKET_SIZE;
/**
 * Scratch size in packets. A carry never exceeds ACQUIRE_SPAN bytes (while
 * searching) or one packet (while in sync), so a scratch of 2 * ACQUIRE_SPAN
 * bytes always gets past the carried bytes in one pass (see push()).
 */
const SCRATCH_PACKETS = 2 * (ACQUIRE_SYNC_COUNT - 1);

export class TsResync {
  private sink: TsPacketSink;
  private scratch = Buffer.alloc(SCRATCH_PACKETS * TS_PACKET_SIZE);
  /** Bytes carried at the start of `scratch`. */
  private carry = 0;
  private locked = false;

  /** Fixed-shape counters; never reset except by the owner. */
  readonly counters = {
    /** Whole packets handed to the sink. */
    packets: 0,
    /** Times sync was acquired (the first time included). */
    syncAcquisitions: 0,
    /** TR 101 290 1.1 TS_sync_loss. */
    syncLosses: 0,
    /** Bytes dropped while searching for sync or left over at end(). */
    bytesSkipped: 0,
    /** Packets passed with a corrupt sync byte (one at a time, lock kept). */
    syncByteErrors: 0,
  };

  constructor(sink: TsPacketSink) {
    this.sink = sink;
  }

  /**
   * Feed the next chunk of the input. The chunk is borrowed: packets of it
   * may go to the sink in place, and nothing of it is kept after return
   * except a copied remainder.
   */
  push(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    if (this.carry > 0) {
      const scratch = this.scratch;
      const carry = this.carry;
      const take = Math.min(scratch.length - carry, len);
      chunk.copy(scratch, carry, 0, take);
      const filled = carry + take;
      const consumed = this.process(scratch, 0, filled, false);
      if (take === len) {
        if (consumed > 0 && consumed < filled) scratch.copyWithin(0, consumed, filled);
        this.carry = filled - consumed;
        return;
      }
      // The scratch was full, so process() consumed past the carried bytes
      // (it keeps at most ACQUIRE_SPAN = scratch.length / 2 bytes).
      pos = consumed - carry;
      this.carry = 0;
    }
    const consumed = this.process(chunk, pos, len, false);
    if (consumed < len) {
      chunk.copy(this.scratch, 0, consumed, len);
      this.carry = len - consumed;
    }
  }

  /** End of input: flush what can still be recognised, then `sink.end()`. */
  end(): void {
    if (this.carry > 0) {
      const consumed = this.process(this.scratch, 0, this.carry, true);
      this.counters.bytesSkipped += this.carry - consumed;
      this.carry = 0;
    }
    this.sink.end?.();
  }

  /** A new input attempt: drop carried bytes and sync, tell the sink. */
  reset(): void {
    this.carry = 0;
    this.locked = false;
    this.sink.discontinuity?.();
  }

  /**
   * Emit the whole packets in `buf[start .. end)`; returns the index of the
   * first byte not consumed (kept by the caller for the next chunk).
   */
  private process(buf: Buffer, start: number, end: number, final: boolean): number {
    const c = this.counters;
    let p = start;
    while (p < end) {
      if (!this.locked) {
        let q = p;
        let found = false;
        while (q < end) {
          q = buf.indexOf(TS_SYNC_BYTE, q);
          if (q < 0 || q >= end) {
            q = end;
            break;
          }
          if (q + ACQUIRE_SPAN < end) {
            if (buf[q + TS_PACKET_SIZE] === TS_SYNC_BYTE && buf[q + ACQUIRE_SPAN] === TS_SYNC_BYTE) {
              found = true;
              break;
            }
          } else if (!final) {
            break; // wait for the bytes that confirm it
          } else if (q + TS_PACKET_SIZE >= end || buf[q + TS_PACKET_SIZE] === TS_SYNC_BYTE) {
            found = true; // end of input: confirm with what there is
            break;
          }
          q++;
        }
        c.bytesSkipped += q - p;
        p = q;
        if (!found) return final ? end : p;
        this.locked = true;
        c.syncAcquisitions++;
      }
      // In sync at p: emit the run of packets up to a sync loss or the end.
      const runStart = p;
      let lost = false;
      while (end - p >= TS_PACKET_SIZE) {
        if (buf[p] !== TS_SYNC_BYTE) {
          const next = p + TS_PACKET_SIZE;
          if (next < end) {
            if (buf[next] !== TS_SYNC_BYTE) {
              lost = true;
              break;
            }
            c.syncByteErrors++;
          } else if (!final) {
            break; // decide when the next packet's first byte arrives
          } else {
            lost = true;
            break;
          }
        }
        p += TS_PACKET_SIZE;
      }
      if (p > runStart) {
        const n = (p - runStart) / TS_PACKET_SIZE;
        c.packets += n;
        this.sink.writePackets(buf, runStart, n);
      }
      if (lost) {
        this.locked = false;
        c.syncLosses++;
        continue;
      }
      return p; // a partial packet (or one awaiting its successor) remains
    }
    return p;
  }
}
