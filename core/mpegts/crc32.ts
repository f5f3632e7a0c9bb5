/**
 * CRC-32 of MPEG-2 PSI sections: ISO/IEC 13818-1 Annex A (CRC_32 in every
 * section with section_syntax_indicator = 1). Polynomial 0x04C11DB7, MSB
 * first, initial value 0xFFFFFFFF, no reflection, no final XOR — the
 * "CRC-32/MPEG-2" of the CRC catalogue (check value of "123456789" is
 * 0x0376E6E7).
 *
 * Annex A's property used by the PSI assembler: the CRC over a whole section
 * *including* its CRC_32 field is 0 when the section is intact.
 */

const CRC32_MPEG2_TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = (c & 0x80000000) !== 0 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32/MPEG-2 of `buf[start .. end)`, as an unsigned 32-bit number.
 * Pass a previous result as `crc` to continue over a further range.
 */
export function crc32Mpeg2(buf: Uint8Array, start: number, end: number, crc = 0xffffffff): number {
  let c = crc | 0;
  for (let i = start; i < end; i++) c = (c << 8) ^ CRC32_MPEG2_TABLE[((c >>> 24) ^ buf[i]) & 0xff];
  return c >>> 0;
}
