/**
 * The pipeline-stage interface of the packet path (DESIGN.md "The packet
 * path", STYLE.md §2): a stage receives whole 188-byte TS packets in runs,
 * and in-band control in order with the data (after mux.js `flush` and
 * GStreamer events).
 */
export interface TsPacketSink {
  /**
   * `count` whole TS packets at `buf[off .. off + count * 188)`.
   * Ownership: *borrowed* — valid until the call returns; copy to keep.
   */
  writePackets(buf: Buffer, off: number, count: number): void;
  /** The input restarted or lost bytes it cannot account for: drop continuity state. */
  discontinuity?(): void;
  /** The input ended (one attempt of a source is over). */
  end?(): void;
}
