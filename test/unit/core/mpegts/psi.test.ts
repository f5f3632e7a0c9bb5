import t from 'tap';
import { crc32Mpeg2 } from '../../../../core/mpegts/crc32.js';
import {
  PsiSectionAssembler,
  parsePat,
  parsePmt,
  parseSdt,
  psiPacketCount,
  psiPacketize,
  psiWritePat,
  psiWritePmt,
  type Pat,
  type Pmt,
  type PsiSectionSink,
} from '../../../../core/mpegts/psi.js';
import { TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';

/** Hex with comments: `#` to end of line is dropped (mux.js test/utils.js style). */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** Collects the sections an assembler delivers (copied: they are borrowed). */
class Collect implements PsiSectionSink {
  sections: Buffer[] = [];
  psiSection(_pid: number, buf: Buffer, off: number, len: number): void {
    this.sections.push(Buffer.from(buf.subarray(off, off + len)));
  }
}

t.test('CRC-32/MPEG-2 of "123456789" is 0x0376E6E7', async (t) => {
  t.equal(crc32Mpeg2(Buffer.from('123456789'), 0, 9), 0x0376e6e7);
  t.equal(crc32Mpeg2(Buffer.alloc(0), 0, 0), 0xffffffff, 'initial value, no final XOR');
  const v = Buffer.from('123456789');
  t.equal(crc32Mpeg2(v, 4, 9, crc32Mpeg2(v, 0, 4)), 0x0376e6e7, 'continues over split ranges');
});

// One PAT section, ISO/IEC 13818-1 §2.4.4.3.
const PAT_VECTOR = hex(`
  00          # table_id 0x00 program_association_section
  b0 0d       # section_syntax_indicator 1 | '0' | reserved 11 | section_length 13
  00 01       # transport_stream_id 1
  c1          # reserved 11 | version_number 0 | current_next_indicator 1
  00 00       # section_number 0 | last_section_number 0
  00 01 f0 00 # program_number 1 | reserved 111 | program_map_PID 0x1000
  2a b1 04 b2 # CRC_32
`);

t.test('parses an annotated PAT vector', async (t) => {
  t.equal(crc32Mpeg2(PAT_VECTOR, 0, PAT_VECTOR.length), 0, 'CRC over the whole section is 0 (Annex A)');
  t.same(parsePat(PAT_VECTOR, 0, PAT_VECTOR.length), {
    transportStreamId: 1,
    versionNumber: 0,
    currentNextIndicator: true,
    networkPid: -1,
    programs: [{ programNumber: 1, programMapPid: 0x1000 }],
  });
});

// SDT actual, ETSI EN 300 468 §5.2.3, with two service_descriptors (§6.2.33).
const SDT_VECTOR = hex(`
  42          # table_id 0x42 service_description_section, actual TS
  f0 39       # section_syntax_indicator 1 | reserved_future_use 1 | reserved 11 | section_length 57
  00 01       # transport_stream_id 1
  c1          # reserved 11 | version_number 0 | current_next_indicator 1
  00 00       # section_number 0 | last_section_number 0
  ff 01       # original_network_id 0xff01
  ff          # reserved_future_use
  00 01       # service_id 1
  fc          # reserved_future_use 111111 | EIT_schedule_flag 0 | EIT_present_following_flag 0
  80 15       # running_status 4 (running) | free_CA_mode 0 | descriptors_loop_length 21
  48 13       #   service_descriptor, length 19
  01          #   service_type 0x01 digital television
  08 52 6f 6f 6d 63 61 73 74         #   service_provider_name_length 8 "Roomcast"
  08 4c 6f 62 62 79 20 54 56         #   service_name_length 8 "Lobby TV"
  00 02       # service_id 2
  fd          # reserved_future_use | EIT_present_following_flag 1
  80 0e       # running_status 4 | free_CA_mode 0 | descriptors_loop_length 14
  48 0c       #   service_descriptor, length 12
  19          #   service_type 0x19 advanced codec HD digital television
  00          #   service_provider_name_length 0
  09 15 43 61 66 c3 a9 20 54 56      #   service_name_length 9: 0x15 = UTF-8 (Annex A.2), "Café TV"
  9d a9 10 2c # CRC_32
`);

t.test('parses service names from an annotated SDT vector', async (t) => {
  t.equal(crc32Mpeg2(SDT_VECTOR, 0, SDT_VECTOR.length), 0);
  const sdt = parseSdt(SDT_VECTOR, 0, SDT_VECTOR.length);
  t.ok(sdt);
  t.equal(sdt?.transportStreamId, 1);
  t.equal(sdt?.originalNetworkId, 0xff01);
  t.same(sdt?.services, [
    { serviceId: 1, serviceType: 0x01, providerName: 'Roomcast', serviceName: 'Lobby TV' },
    { serviceId: 2, serviceType: 0x19, providerName: '', serviceName: 'Café TV' },
  ]);
  t.equal(parseSdt(SDT_VECTOR, 0, SDT_VECTOR.length - 1), null, 'length must match section_length');
});

// One table, three uses: parse the written section, round-trip it through TS
// packets, and assemble it across packet boundaries.
const PAT_CASES: { name: string; pat: Pat }[] = [
  {
    name: 'one program',
    pat: { transportStreamId: 1, versionNumber: 0, currentNextIndicator: true, networkPid: -1, programs: [{ programNumber: 1, programMapPid: 0x1000 }] },
  },
  {
    name: 'many programs, version 31',
    pat: {
      transportStreamId: 0xabcd,
      versionNumber: 31,
      currentNextIndicator: true,
      networkPid: -1,
      programs: Array.from({ length: 60 }, (_, i) => ({ programNumber: i + 1, programMapPid: 0x20 + i })),
    },
  },
];
const PMT_CASES: { name: string; pmt: Pmt }[] = [
  {
    name: 'H.264 + AAC',
    pmt: {
      programNumber: 1,
      versionNumber: 3,
      currentNextIndicator: true,
      pcrPid: 0x100,
      programInfo: new Uint8Array(0),
      streams: [
        { streamType: 0x1b, elementaryPid: 0x100, esInfo: new Uint8Array(0) },
        { streamType: 0x0f, elementaryPid: 0x101, esInfo: new Uint8Array([0x0a, 0x04, 0x65, 0x6e, 0x67, 0x00]) }, // ISO_639 "eng"
      ],
    },
  },
  {
    name: 'descriptors long enough to span three packets',
    pmt: {
      programNumber: 7,
      versionNumber: 1,
      currentNextIndicator: true,
      pcrPid: 0x1fff,
      programInfo: new Uint8Array(200).fill(0x11),
      streams: [
        { streamType: 0x24, elementaryPid: 0x200, esInfo: new Uint8Array(150).fill(0x22) },
        { streamType: 0x06, elementaryPid: 0x201, esInfo: new Uint8Array(100).fill(0x33) },
      ],
    },
  },
];

function roundTrip(section: Buffer, pid: number): Buffer[] {
  const n = psiPacketCount(section.length);
  const ts = Buffer.alloc(n * TS_PACKET_SIZE);
  t.equal(psiPacketize(section, 0, section.length, pid, 14, ts, 0), n);
  const got = new Collect();
  const asm = new PsiSectionAssembler(pid, got);
  for (let o = 0; o < ts.length; o += TS_PACKET_SIZE) asm.push(ts, o);
  t.equal(asm.counters.crcErrors, 0);
  return got.sections;
}

for (const c of PAT_CASES) {
  t.test(`PAT write → packetize → assemble → parse round-trips: ${c.name}`, async (t) => {
    const buf = Buffer.alloc(1024);
    const len = psiWritePat(buf, 0, c.pat.transportStreamId, c.pat.versionNumber, c.pat.programs);
    const section = buf.subarray(0, len);
    t.same(parsePat(section, 0, len), c.pat);
    const sections = roundTrip(section, 0);
    t.equal(sections.length, 1);
    t.same(sections[0], section, 'same bytes');
    t.same(parsePat(sections[0], 0, sections[0].length), c.pat);
  });
}

for (const c of PMT_CASES) {
  t.test(`PMT write → packetize → assemble → parse round-trips: ${c.name}`, async (t) => {
    const buf = Buffer.alloc(1024);
    const len = psiWritePmt(buf, 0, c.pmt);
    const section = buf.subarray(0, len);
    t.same(parsePmt(section, 0, len), c.pmt);
    const sections = roundTrip(section, 0x1000);
    t.equal(sections.length, 1);
    t.same(parsePmt(sections[0], 0, sections[0].length), c.pmt);
  });
}

t.test('assembles several sections in one packet, a section tail before the pointer, and stops at 0xFF stuffing', async (t) => {
  const pat = Buffer.from(PAT_VECTOR);
  const pmtBuf = Buffer.alloc(1024);
  const pmtLen = psiWritePmt(pmtBuf, 0, PMT_CASES[0].pmt);
  const pmt = pmtBuf.subarray(0, pmtLen);
  // Packet 1: pointer 0, ten PAT sections, then the PMT section up to the packet's end.
  // Packet 2: pointer_field = the PMT's remaining bytes, then the PMT again whole, then stuffing.
  const p1 = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  hex('47 40 64 10 00').copy(p1, 0); // sync | PUSI 1 PID 0x0064 | payload only CC 0 | pointer_field 0
  let o = 5;
  for (let i = 0; i < 10; i++) o += pat.copy(p1, o);
  const split = TS_PACKET_SIZE - o;
  pmt.copy(p1, o, 0, split);
  const p2 = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  hex('47 40 64 11').copy(p2, 0); // PUSI 1 CC 1
  p2[4] = pmt.length - split; // pointer_field: the tail of the previous section
  o = 5;
  o += pmt.copy(p2, o, split);
  o += pmt.copy(p2, o);
  const got = new Collect();
  const asm = new PsiSectionAssembler(0x64, got);
  asm.push(p1, 0);
  asm.push(p2, 0);
  t.same(got.sections, [...Array<Buffer>(10).fill(pat), pmt, pmt]);
  t.ok(split > 0 && split < pmt.length, 'the PMT really spans the two packets');
  t.equal(asm.counters.crcErrors, 0);
  t.equal(asm.counters.psiMalformed, 0);
});

t.test('counts a CRC error and delivers nothing for a corrupted section', async (t) => {
  const section = Buffer.from(PAT_VECTOR);
  section[9] ^= 0x01;
  const ts = Buffer.alloc(TS_PACKET_SIZE);
  psiPacketize(section, 0, section.length, 0, 0, ts, 0);
  const got = new Collect();
  const asm = new PsiSectionAssembler(0, got);
  asm.push(ts, 0);
  t.equal(got.sections.length, 0);
  t.equal(asm.counters.crcErrors, 1);
});

t.test('a lost packet in the middle of a spanning section drops that section, not the next', async (t) => {
  const buf = Buffer.alloc(1024);
  const len = psiWritePmt(buf, 0, PMT_CASES[1].pmt);
  const n = psiPacketCount(len);
  const ts = Buffer.alloc(2 * n * TS_PACKET_SIZE);
  psiPacketize(buf, 0, len, 0x1000, 0, ts, 0);
  psiPacketize(buf, 0, len, 0x1000, n, ts, n * TS_PACKET_SIZE);
  const got = new Collect();
  const asm = new PsiSectionAssembler(0x1000, got);
  for (let i = 0; i < 2 * n; i++) if (i !== 1) asm.push(ts, i * TS_PACKET_SIZE);
  t.equal(got.sections.length, 1);
  t.equal(asm.counters.psiMalformed, 1);
});

t.test('parsers return null for malformed sections instead of throwing', async (t) => {
  t.equal(parsePat(PAT_VECTOR, 0, 5), null);
  t.equal(parsePmt(PAT_VECTOR, 0, PAT_VECTOR.length), null, 'wrong table_id');
  const pmtBuf = Buffer.alloc(1024);
  const len = psiWritePmt(pmtBuf, 0, PMT_CASES[0].pmt);
  pmtBuf[11] = 0xff; // program_info_length beyond the section
  t.equal(parsePmt(pmtBuf, 0, len), null);
});
