import t from 'tap';
import { tsPid, tsCc, tsPcr27M, tsWritePcr27M, tsPayloadOffset, tsPayloadUnitStartIndicator, tsRandomAccessIndicator, TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';

// Annotated vector:
//   47 41 00 1a   # sync | TEI 0 PUSI 1 PID 0x0100 | AFC 3 (adaptation + payload) CC 10
//   07 50         # adaptation_field_length 7 | RAI 1 PCR_flag 1
//   ...           # PCR base/extension
function packet(): Buffer {
  const b = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  b.set([0x47, 0x41, 0x00, 0x3a, 0x07, 0x50], 0);
  return b;
}

t.test('reads header fields at offsets', async (t) => {
  const b = packet();
  t.equal(tsPid(b, 0), 0x100);
  t.equal(tsCc(b, 0), 10);
  t.equal(tsPayloadUnitStartIndicator(b, 0), true);
  t.equal(tsRandomAccessIndicator(b, 0), true);
  t.equal(tsPayloadOffset(b, 0), 4 + 1 + 7);
});

t.test('PCR round-trips through write and read, including values above 2^32', async (t) => {
  const b = packet();
  for (const pcr of [0, 1, 299, 300, 27_000_000 * 3600 * 26 + 123, (2 ** 33 - 1) * 300 + 299]) {
    tsWritePcr27M(b, 0, pcr);
    t.equal(tsPcr27M(b, 0), pcr, `pcr ${pcr}`);
  }
});

t.test('packet without adaptation field has no PCR and payload at 4', async (t) => {
  const b = packet();
  b[3] = 0x15;
  t.equal(tsPcr27M(b, 0), -1);
  t.equal(tsPayloadOffset(b, 0), 4);
});
