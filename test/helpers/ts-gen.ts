/**
 * Synthetic transport streams for tests that need exact control of PCR
 * spacing and packet counts (media content comes from the ffmpeg fixtures).
 */
import { TS_PACKET_SIZE, tsWritePcr27M } from '../../core/mpegts/packet.js';

/**
 * `count` packets on `pid` with running CC; every `pcrEvery`-th packet (from
 * the first) carries a PCR advancing by `pcrStep27M`. Returns the stream and
 * the PCR of each PCR packet by packet index.
 */
export function makeCbrStream(opts: { pid?: number; count: number; pcrEvery: number; pcrStep27M: number; firstPcr27M?: number }): {
  ts: Buffer;
  pcrAt: Map<number, number>;
} {
  const pid = opts.pid ?? 0x100;
  const ts = Buffer.alloc(opts.count * TS_PACKET_SIZE, 0xff);
  const pcrAt = new Map<number, number>();
  let pcr = opts.firstPcr27M ?? 27_000_000;
  for (let i = 0; i < opts.count; i++) {
    const o = i * TS_PACKET_SIZE;
    ts[o] = 0x47;
    ts[o + 1] = (pid >> 8) & 0x1f;
    ts[o + 2] = pid & 0xff;
    if (i % opts.pcrEvery === 0) {
      ts[o + 3] = 0x30 | (i & 0x0f); // adaptation + payload
      ts[o + 4] = 7;
      ts[o + 5] = 0x10; // PCR_flag
      tsWritePcr27M(ts, o, pcr);
      pcrAt.set(i, pcr);
      pcr += opts.pcrStep27M;
    } else {
      ts[o + 3] = 0x10 | (i & 0x0f);
    }
    ts[o + 4 + (i % opts.pcrEvery === 0 ? 8 : 0)] = i & 0xff; // a marker byte in the payload
  }
  return { ts, pcrAt };
}
