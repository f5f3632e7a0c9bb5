import { TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';
import type { RtpDepacketizerSink } from '../../../../core/rtp/depacketizer.js';

/**
 * A sink that copies what it is given (the depacketizer's buffers are
 * borrowed) and records where each discontinuity fell, in TS packets.
 */
export class CollectSink implements RtpDepacketizerSink {
  readonly chunks: Buffer[] = [];
  /** TS-packet index at which each discontinuity() arrived. */
  readonly discontinuities: number[] = [];
  packets = 0;

  writePackets(buf: Buffer, off: number, count: number): void {
    this.chunks.push(Buffer.from(buf.subarray(off, off + count * TS_PACKET_SIZE)));
    this.packets += count;
  }

  discontinuity(): void {
    this.discontinuities.push(this.packets);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * `count` TS packets whose bytes name them: sync byte, then the packet index
 * (uint32 BE) repeated, so any misordering or corruption is visible.
 */
export function tsPackets(count: number, first = 0): Buffer {
  const b = Buffer.alloc(count * TS_PACKET_SIZE);
  for (let i = 0; i < count; i++) {
    const off = i * TS_PACKET_SIZE;
    b[off] = 0x47;
    for (let p = off + 4; p + 4 <= off + TS_PACKET_SIZE; p += 4) b.writeUInt32BE(first + i, p);
  }
  return b;
}

/** Index written by tsPackets() in each TS packet of `b`. */
export function packetIndices(b: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + TS_PACKET_SIZE <= b.length; off += TS_PACKET_SIZE) out.push(b.readUInt32BE(off + 4));
  return out;
}
