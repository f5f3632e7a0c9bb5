import t from 'tap';
import fc from 'fast-check';
import {
  seqDiff,
  seqNext,
  seqAdd,
  seqExtend,
  tsDiff32,
  createRtpSeqState,
  probationSeq,
  updateSeq,
  extendedMaxSeq,
  cumulativeLost,
  MAX_DROPOUT,
} from '../../../../core/rtp/seq.js';

t.test('seqDiff is the signed 16-bit distance across the 65535 → 0 wrap', async (t) => {
  t.equal(seqDiff(0, 65535), 1);
  t.equal(seqDiff(65535, 0), -1);
  t.equal(seqDiff(5, 3), 2);
  t.equal(seqDiff(3, 5), -2);
  t.equal(seqDiff(32767, 0), 32767);
  t.equal(seqDiff(32768, 0), -32768);
  t.equal(seqDiff(100, 100), 0);
});

t.test('seqNext and seqAdd wrap at 2^16', async (t) => {
  t.equal(seqNext(65535), 0);
  t.equal(seqNext(0), 1);
  t.equal(seqAdd(65530, 10), 4);
  t.equal(seqAdd(3, -5), 65534);
});

t.test('seqDiff(seqAdd(a, n), a) === n for every |n| < 2^15', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -32768, max: 32767 }), (a, n) => seqDiff(seqAdd(a, n), a) === n),
  );
  t.pass();
});

t.test('tsDiff32 is the signed 32-bit distance across the 2^32 wrap', async (t) => {
  t.equal(tsDiff32(0, 0xffffffff), 1);
  t.equal(tsDiff32(0xffffffff, 0), -1);
  t.equal(tsDiff32(3003, 0), 3003);
  t.equal(tsDiff32(1501, 0xfffffa25), 3000); // 90 kHz frame step across the wrap
});

t.test('seqExtend picks the extended number nearest the reference', async (t) => {
  t.equal(seqExtend(0, 65535), 65536);
  t.equal(seqExtend(65535, 65536), 65535);
  t.equal(seqExtend(10, 3 * 65536 + 5), 3 * 65536 + 10);
  t.equal(seqExtend(65530, 3 * 65536 + 5), 3 * 65536 - 6);
});

t.test('RFC 3550 A.1: probation, wrap into cycles, and a confirmed large jump', async (t) => {
  const s = createRtpSeqState();
  probationSeq(s, 65534);
  t.equal(updateSeq(s, 65534), false, 'first packet is on probation');
  t.equal(updateSeq(s, 65535), true, 'second sequential packet validates the source');
  t.equal(updateSeq(s, 0), true);
  t.equal(updateSeq(s, 2), true, 'one lost');
  t.equal(extendedMaxSeq(s), 65536 + 2, 'one cycle counted');
  t.equal(cumulativeLost(s), 1);
  const jump = (2 + MAX_DROPOUT + 10) & 0xffff;
  t.equal(updateSeq(s, jump), false, 'a very large jump is held back');
  t.equal(updateSeq(s, seqNext(jump)), true, 'and accepted when the next one follows');
  t.equal(extendedMaxSeq(s), seqNext(jump));
  t.equal(cumulativeLost(s), 0, 'restarted counts');
  t.equal(updateSeq(s, jump), true, 'a reordered packet is counted, not a jump');
});

t.test('RFC 3550 A.1: probation restarts when the second packet is not sequential', async (t) => {
  const s = createRtpSeqState();
  probationSeq(s, 100);
  t.equal(updateSeq(s, 100), false);
  t.equal(updateSeq(s, 200), false, 'not sequential: probation again');
  t.equal(updateSeq(s, 201), true);
});
