/**
 * RTP sequence-number and timestamp wrap arithmetic (RFC 3550 §5.1: the
 * sequence number is 16 bits, the timestamp 32 bits, both wrap) and the
 * extended-sequence bookkeeping of RFC 3550 Appendix A.1 / A.3, as small pure
 * functions over numbers and a caller-owned state object (no allocation per
 * datagram).
 */

export const SEQ_MOD = 0x10000;
export const TS_MOD = 0x100000000;

/**
 * RFC 3550 A.1 constants: a jump of at least MAX_DROPOUT ahead, or more than
 * MAX_MISORDER behind, is not loss or reordering but a possible sender restart
 * that must be confirmed by MIN_SEQUENTIAL in-order packets.
 */
export const MAX_DROPOUT = 3000;
export const MAX_MISORDER = 100;
export const MIN_SEQUENTIAL = 2;

/** Signed 16-bit distance `a - b` in [-32768, 32767]: > 0 when `a` is after `b`. */
export function seqDiff(a: number, b: number): number {
  return ((a - b) << 16) >> 16;
}

/** The sequence number after `seq`, wrapping 65535 → 0. */
export function seqNext(seq: number): number {
  return (seq + 1) & 0xffff;
}

/** `seq + n` modulo 2^16 (n may be negative). */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/** Signed 32-bit distance `a - b` between two RTP timestamps (mod 2^32). */
export function tsDiff32(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Extend the 16-bit `seq` to the extended sequence number nearest to the
 * extended reference `refExt` (within ±32768): the A.1 "cycles" idea for a
 * receiver that already holds an extended position.
 */
export function seqExtend(seq: number, refExt: number): number {
  return refExt + seqDiff(seq, refExt & 0xffff);
}

/** RFC 3550 A.1 `source` per-SSRC sequence state. Caller-owned, reusable. */
export interface RtpSeqState {
  /** Highest sequence number seen (16 bits). */
  maxSeq: number;
  /** Shifted count of sequence-number cycles (multiples of 2^16). */
  cycles: number;
  /** First sequence number of the current run. */
  baseSeq: number;
  /** Last "bad" sequence number + 1 (A.1), or SEQ_MOD + 1 when none. */
  badSeq: number;
  /** Sequential packets still needed before the source is valid. */
  probation: number;
  /** Packets received (A.3). */
  received: number;
  expectedPrior: number;
  receivedPrior: number;
}

export function createRtpSeqState(): RtpSeqState {
  return {
    maxSeq: 0,
    cycles: 0,
    baseSeq: 0,
    badSeq: SEQ_MOD + 1,
    probation: 0,
    received: 0,
    expectedPrior: 0,
    receivedPrior: 0,
  };
}

/** A.1 `init_seq`. */
export function initSeq(s: RtpSeqState, seq: number): void {
  s.baseSeq = seq;
  s.maxSeq = seq;
  s.badSeq = SEQ_MOD + 1; // so seq == badSeq is false
  s.cycles = 0;
  s.received = 0;
  s.receivedPrior = 0;
  s.expectedPrior = 0;
}

/** Start a source on probation (A.1: a new SSRC needs MIN_SEQUENTIAL packets). */
export function probationSeq(s: RtpSeqState, seq: number): void {
  initSeq(s, seq);
  s.maxSeq = (seq - 1) & 0xffff;
  s.probation = MIN_SEQUENTIAL;
}

/**
 * A.1 `update_seq`: account one packet. Returns false when the packet should
 * be ignored (still on probation, or a large jump awaiting confirmation).
 */
export function updateSeq(s: RtpSeqState, seq: number): boolean {
  const udelta = (seq - s.maxSeq) & 0xffff;
  if (s.probation > 0) {
    // A.1's C code compares `seq == s->max_seq + 1` after integer promotion,
    // which never matches at max_seq 65535; compare modulo 2^16 instead.
    if (seq === ((s.maxSeq + 1) & 0xffff)) {
      s.probation--;
      s.maxSeq = seq;
      if (s.probation === 0) {
        initSeq(s, seq);
        s.received++;
        return true;
      }
    } else {
      s.probation = MIN_SEQUENTIAL - 1;
      s.maxSeq = seq;
    }
    return false;
  } else if (udelta < MAX_DROPOUT) {
    // In order, with a permissible gap.
    if (seq < s.maxSeq) s.cycles += SEQ_MOD; // wrapped
    s.maxSeq = seq;
  } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
    // A very large jump: restart only if two sequential packets confirm it.
    if (seq === s.badSeq) {
      initSeq(s, seq);
    } else {
      s.badSeq = (seq + 1) & 0xffff;
      return false;
    }
  }
  // else: duplicate or reordered packet.
  s.received++;
  return true;
}

/** A.3 extended highest sequence number received. */
export function extendedMaxSeq(s: RtpSeqState): number {
  return s.cycles + s.maxSeq;
}

/** A.3 packets expected so far. */
export function expectedPackets(s: RtpSeqState): number {
  return extendedMaxSeq(s) - s.baseSeq + 1;
}

/** A.3 cumulative number of packets lost (may be negative with duplicates). */
export function cumulativeLost(s: RtpSeqState): number {
  return expectedPackets(s) - s.received;
}
