/** The XMLTV reader, per-channel pass and writer (core/epg/xmltv.ts, issue 6 §4). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { SaxesParser } from 'saxes';
import {
  ChannelSequencer,
  formatXmltvTime,
  parseXmltvTime,
  readXmltv,
  SkipTally,
  writeXmltv,
  XMLTV_LIMITS,
  type EpgProgramme,
  type XmltvChannel,
  type XmltvProgramme,
  type XmltvReadResult,
  type XmltvSource,
} from '../../../../core/epg/xmltv.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const H = 3_600_000;
const KNOWN = new Set(['bbc1.uk', 'arte.fr']);

/**
 * One table, three uses (STYLE.md §7): each XMLTV time form, the ms it
 * means, and (for UTC) the form the writer gives back.
 */
const TIMES: { s: string; ms: number | null; why: string }[] = [
  { s: '20261202100000 +0000', ms: Date.UTC(2026, 11, 2, 10), why: 'full form, UTC' },
  { s: '20261202100000 +0100', ms: Date.UTC(2026, 11, 2, 9), why: '+0100 is an hour ahead of UTC' },
  { s: '20261202100000 -0530', ms: Date.UTC(2026, 11, 2, 15, 30), why: 'negative zone with minutes' },
  { s: '20261202100000+0200', ms: Date.UTC(2026, 11, 2, 8), why: 'no space before the zone' },
  { s: '20261202100000', ms: Date.UTC(2026, 11, 2, 10), why: 'no zone is UTC (xmltv.dtd)' },
  { s: '202612021000', ms: Date.UTC(2026, 11, 2, 10), why: 'no seconds' },
  { s: '202612021000 +0100', ms: Date.UTC(2026, 11, 2, 9), why: 'no seconds, with a zone' },
  { s: ' 20261202100059 +0000 ', ms: Date.UTC(2026, 11, 2, 10, 0, 59), why: 'surrounding blanks' },
  { s: '20240229120000 +0000', ms: Date.UTC(2024, 1, 29, 12), why: 'a leap day' },
  { s: '20250229120000 +0000', ms: null, why: '29 February of a common year' },
  { s: '20261302100000 +0000', ms: null, why: 'month 13' },
  { s: '20261202240000 +0000', ms: null, why: 'hour 24' },
  { s: '20261202100000 +1500', ms: null, why: 'zone beyond +14:00' },
  { s: '20261202', ms: null, why: 'a date alone is no start time' },
  { s: '2026-12-02T10:00:00Z', ms: null, why: 'ISO 8601 extended is not XMLTV' },
  { s: '', ms: null, why: 'empty' },
];

t.test('XMLTV times: every form parses to the instant it names, and UTC ones format back', async (t) => {
  for (const c of TIMES) {
    t.equal(parseXmltvTime(c.s), c.ms, `${JSON.stringify(c.s)}: ${c.why}`);
    if (c.ms !== null) t.equal(parseXmltvTime(formatXmltvTime(c.ms)), c.ms, `${c.why}: format → parse`);
  }
  t.equal(formatXmltvTime(Date.UTC(2026, 0, 5, 7, 8, 9)), '20260105070809 +0000');
});

/* ------------------------------------------------------------------------ */

interface P {
  ch?: string;
  start?: string | null;
  stop?: string | null;
  title?: string | null;
  body?: string;
}

/** An XMLTV document, one element per line (so line numbers are predictable: line 4 + index). */
function doc(channels: string[], programmes: P[], extra = ''): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE tv SYSTEM "xmltv.dtd">', '<tv generator-info-name="test">'];
  for (const id of channels) lines.push(`<channel id="${id}"><display-name>${id} name</display-name><icon src="http://logo/${id}.png"/></channel>`);
  for (const p of programmes) {
    const attrs = [
      p.start === null ? '' : ` start="${p.start ?? '20261202100000 +0000'}"`,
      p.stop === null ? '' : ` stop="${p.stop ?? '20261202110000 +0000'}"`,
      p.ch === undefined ? ' channel="bbc1.uk"' : p.ch === '' ? '' : ` channel="${p.ch}"`,
    ].join('');
    const title = p.title === null ? '' : `<title>${p.title ?? 'News'}</title>`;
    lines.push(`<programme${attrs}>${title}${p.body ?? ''}</programme>`);
  }
  lines.push(extra + '</tv>', '');
  return lines.join('\n');
}

const at = (h: number, m = 0): string => formatXmltvTime(Date.UTC(2026, 11, 2, h, m));

interface Read {
  result: XmltvReadResult;
  channels: XmltvChannel[];
  programmes: XmltvProgramme[];
  tally: SkipTally;
}

async function read(source: XmltvSource, opts: { batchSize?: number; known?: Set<string>; signal?: AbortSignal; maxDecodedBytes?: number } = {}): Promise<Read> {
  const channels: XmltvChannel[] = [];
  const programmes: XmltvProgramme[] = [];
  const tally = new SkipTally();
  const result = await readXmltv(
    source,
    { channel: (c) => void channels.push(c), programmes: (b) => void programmes.push(...b) },
    { channels: opts.known ?? KNOWN, nowMs: NOW, tally, batchSize: opts.batchSize, signal: opts.signal, maxDecodedBytes: opts.maxDecodedBytes },
  );
  return { result, channels, programmes, tally };
}

/** `b` delivered `n` bytes at a time, asynchronously, as a socket would. */
async function* chunked(b: Buffer, n: number): AsyncGenerator<Buffer> {
  for (let o = 0; o < b.length; o += n) {
    yield b.subarray(o, o + n);
    if (o % 4096 === 0) await new Promise((r) => setImmediate(r));
  }
}

const NORMAL = doc(
  ['bbc1.uk', 'arte.fr', 'cnn.us'],
  [
    { ch: 'bbc1.uk', start: at(10), stop: at(11), title: 'News &amp; Weather', body: '<sub-title>Late</sub-title><desc lang="en">Headlines.</desc><category>News</category><category>Current affairs</category><icon src="https://img/n.jpg"/><episode-num system="xmltv_ns">1 . 4 . 0/1</episode-num>' },
    { ch: 'bbc1.uk', start: at(11), stop: at(12, 30), title: 'Film', body: '<episode-num system="onscreen">S02E05</episode-num><episode-num system="xmltv_ns">1.4.</episode-num>' },
    { ch: 'arte.fr', start: at(10), stop: at(11), title: 'Journal' },
    { ch: 'cnn.us', start: at(10), stop: at(11), title: 'Headline News' },
  ],
);

t.test('a normal file: two lineup channels kept, the third dropped as unknown, every field read', async (t) => {
  const r = await read([Buffer.from(NORMAL)]);
  t.equal(r.result.error, undefined);
  t.equal(r.result.channelsInFile, 3);
  t.equal(r.result.programmesInFile, 4);
  t.equal(r.result.gzip, false);
  t.equal(r.result.bytesRead, Buffer.byteLength(NORMAL));
  t.same(r.channels, [
    { id: 'bbc1.uk', displayName: 'bbc1.uk name', icon: 'http://logo/bbc1.uk.png' },
    { id: 'arte.fr', displayName: 'arte.fr name', icon: 'http://logo/arte.fr.png' },
  ]);
  t.equal(r.programmes.length, 3);
  t.same(r.programmes[0], {
    tvgId: 'bbc1.uk',
    startMs: Date.UTC(2026, 11, 2, 10),
    stopMs: Date.UTC(2026, 11, 2, 11),
    title: 'News & Weather',
    subTitle: 'Late',
    description: 'Headlines.',
    categories: ['News', 'Current affairs'],
    episode: '1.4.0/1',
    episodeSystem: 'xmltv_ns',
    icon: 'https://img/n.jpg',
    line: 7,
  });
  t.equal(r.programmes[1].episode, 'S02E05', 'onscreen is preferred to xmltv_ns');
  t.equal(r.programmes[1].episodeSystem, 'onscreen');
  t.same(r.tally.counts, { unknownChannel: 1 });
  t.same(r.tally.examples, ['programme at line 10 on "cnn.us": the channel is not in the lineup (no channel has this tvgId)']);
});

t.test('gzip is recognised by its magic bytes, and gives the same result', async (t) => {
  const plain = await read([Buffer.from(NORMAL)]);
  const gz = gzipSync(Buffer.from(NORMAL));
  const r = await read(chunked(gz, 7));
  t.equal(r.result.gzip, true);
  t.equal(r.result.error, undefined);
  t.equal(r.result.bytesRead, gz.length);
  t.equal(r.result.bytesDecoded, Buffer.byteLength(NORMAL));
  t.same(r.programmes, plain.programmes);
  t.same(r.channels, plain.channels);
  t.same(r.tally.counts, plain.tally.counts);
  const oneByte = await read(chunked(gz, 1));
  t.same(oneByte.programmes, plain.programmes, 'gzip delivered a byte at a time');
});

t.test('a file delivered one byte at a time, as a Node Readable, a web stream, one Buffer or one string parses the same', async (t) => {
  const whole = await read([Buffer.from(NORMAL)]);
  const bytes = await read(chunked(Buffer.from(NORMAL), 1));
  t.same(bytes.programmes, whole.programmes);
  t.same(bytes.channels, whole.channels);
  t.same(bytes.tally, whole.tally);
  const stream = await read(Readable.from([Buffer.from(NORMAL)]));
  t.same(stream.programmes, whole.programmes);
  const buffer = await read(Buffer.from(NORMAL));
  t.same(buffer.programmes, whole.programmes, 'one whole Buffer (not its bytes one by one)');
  const text = await read(NORMAL);
  t.same(text.programmes, whole.programmes, 'one whole string');
  const web = await read(Readable.toWeb(Readable.from(chunked(Buffer.from(NORMAL), 100))) as unknown as XmltvSource);
  t.same(web.programmes, whole.programmes, 'a web ReadableStream (fetch body)');
});

t.test('a multi-byte UTF-8 title split across chunks arrives whole', async (t) => {
  const title = 'Café 東京 😀 Ω';
  const xml = Buffer.from(doc(['bbc1.uk'], [{ title }]));
  const emoji = xml.indexOf(Buffer.from('😀'));
  t.ok(emoji > 0);
  // Cut inside the 4-byte emoji and inside the 3-byte 東.
  const kanji = xml.indexOf(Buffer.from('東'));
  const parts = [xml.subarray(0, kanji + 1), xml.subarray(kanji + 1, emoji + 2), xml.subarray(emoji + 2, emoji + 3), xml.subarray(emoji + 3)];
  const r = await read(parts);
  t.equal(r.programmes[0].title, title);
  const each = await read(chunked(xml, 1));
  t.equal(each.programmes[0].title, title);
});

t.test('every per-programme skip reason is counted, with an example naming the line', async (t) => {
  const xml = doc(
    ['bbc1.uk'],
    [
      { ch: 'nope.tv' }, // line 5
      { ch: '' }, // 6: no channel attribute
      { start: null }, // 7
      { start: 'yesterday' }, // 8
      { stop: '2026120211' }, // 9
      { start: at(11), stop: at(10) }, // 10
      { start: at(10), stop: at(10) }, // 11
      { start: at(0), stop: formatXmltvTime(Date.UTC(2026, 11, 3, 1)) }, // 12: 25 h
      { start: '19891231230000 +0000', stop: '19900101000000 +0000' }, // 13
      { start: '20280101000000 +0000', stop: '20280101010000 +0000' }, // 14
      { title: null }, // 15
      { title: '   ' }, // 16: blank
      { start: at(20), stop: at(21), title: 'kept' }, // 17
    ],
  );
  const r = await read([Buffer.from(xml)]);
  t.equal(r.result.error, undefined);
  t.same(r.tally.counts, { unknownChannel: 2, badStart: 2, badStop: 1, stopNotAfterStart: 2, tooLong: 1, outOfRange: 2, noTitle: 2 });
  t.same(
    r.programmes.map((p) => p.title),
    ['kept'],
  );
  t.same(r.tally.examples, [
    'programme at line 5 on "nope.tv": the channel is not in the lineup (no channel has this tvgId)',
    'programme at line 6 on "": no channel attribute',
    'programme at line 7 on "bbc1.uk": no start',
    'programme at line 8 on "bbc1.uk": start "yesterday" is not an XMLTV time (YYYYMMDDhhmmss ±hhmm)',
    'programme at line 9 on "bbc1.uk": stop "2026120211" is not an XMLTV time (YYYYMMDDhhmmss ±hhmm)',
    'programme at line 10 on "bbc1.uk": stop 20261202100000 +0000 is before start 20261202110000 +0000',
    'programme at line 11 on "bbc1.uk": stop 20261202100000 +0000 is the same as start 20261202100000 +0000',
    'programme at line 12 on "bbc1.uk": lasts 25 h (from 20261202000000 +0000 to 20261203010000 +0000), more than 24 h',
    'programme at line 13 on "bbc1.uk": start 19891231230000 +0000 is before 1990',
    'programme at line 14 on "bbc1.uk": start 20280101000000 +0000 is more than a year ahead',
    'programme at line 15 on "bbc1.uk": no title (starts 20261202100000 +0000)',
    'programme at line 16 on "bbc1.uk": no title (starts 20261202100000 +0000)',
  ]);
});

t.test('examples are bounded: at most 5 per reason and 20 in all, the counts stay exact', async (t) => {
  const ps: P[] = [];
  for (let i = 0; i < 30; i++) ps.push({ ch: `x${i}` }, { start: 'bad' }, { title: null }, { stop: 'bad' }, { start: at(3), stop: at(2) });
  const r = await read([Buffer.from(doc([], ps))]);
  t.same(r.tally.counts, { unknownChannel: 30, badStart: 30, noTitle: 30, badStop: 30, stopNotAfterStart: 30 });
  t.equal(r.tally.examples.length, 20);
  t.equal(r.tally.total(), 150);
});

t.test('title, sub-title and desc: the one without lang, else the first; desc capped at 4 KiB on a code point', async (t) => {
  const long = 'é'.repeat(3000); // 6000 bytes
  const xml = doc(
    ['bbc1.uk'],
    [
      { title: null, body: '<title lang="fr">Les infos</title><title>The news</title><sub-title lang="de">A</sub-title><sub-title lang="fr">B</sub-title>' + `<desc>${long}</desc>` },
      { start: at(12), stop: at(13), title: null, body: '<title lang="de">Nachrichten</title><title lang="en">News</title><icon src="javascript:alert(1)"/><icon src="http://x/ok.png"/><constructor>not a field</constructor><__proto__/>' },
    ],
  );
  const r = await read([Buffer.from(xml)]);
  t.equal(r.programmes[0].title, 'The news');
  t.equal(r.programmes[0].subTitle, 'A');
  t.equal(Buffer.byteLength(r.programmes[0].description!), 4096);
  t.equal(r.programmes[0].description, 'é'.repeat(2048));
  t.equal(r.programmes[1].title, 'Nachrichten');
  t.equal(r.programmes[1].icon, 'http://x/ok.png', 'a javascript: icon is passed over for the next http(s) one');
});

t.test('broken XML mid-file stops the read with its line and column', async (t) => {
  const good = doc(['bbc1.uk'], [{ start: at(1), stop: at(2) }, { start: at(2), stop: at(3) }]);
  const broken = good.replace('<programme start="20261202020000', '<programme start="20261202020000" & oops');
  const r = await read(chunked(Buffer.from(broken), 16));
  t.match(r.result.error, /^line 6, column \d+: /);
  t.ok(r.result.error!.length < 200, r.result.error);
  const cut = await read([Buffer.from(good.slice(0, good.indexOf('</tv>')))]);
  t.match(cut.result.error, /^line \d+, column \d+: unclosed tag: tv/, 'a truncated file is broken XML too');
  const html = await read([Buffer.from('<!DOCTYPE html><html><body>502 Bad Gateway</body></html>')]);
  t.match(html.result.error, /^line 1, column \d+: the root element is <html>, not <tv>: not an XMLTV document/);
  const empty = await read([]);
  t.match(empty.result.error, /^line 1, column 0: /);
});

t.test('gzip and stream errors are reported, never thrown', async (t) => {
  const gz = gzipSync(Buffer.from(NORMAL));
  const corrupt = Buffer.from(gz);
  corrupt[20] ^= 0xff;
  corrupt[40] ^= 0xff;
  const r = await read([corrupt]);
  t.match(r.result.error, /^(gzip: |line )/);
  const truncated = await read([gz.subarray(0, gz.length - 30)]);
  t.match(truncated.result.error, /^gzip: unexpected end of file/);
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.from(NORMAL.slice(0, 300));
    throw new Error('socket hang up');
  }
  const s = await read(failing());
  t.equal(s.result.error, 'reading the source: socket hang up');
  async function* failingGz(): AsyncGenerator<Buffer> {
    yield gz.subarray(0, 50);
    throw new Error('ECONNRESET');
  }
  const g = await read(failingGz());
  t.match(g.result.error, /ECONNRESET/);
});

t.test('memory bounds: a construct with no end, absurd nesting, a gzip bomb', async (t) => {
  const endless = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.from('<?xml version="1.0"?><tv><!-- ');
    const filler = Buffer.alloc(64 * 1024, 'a');
    // 8 MiB of one comment: twice the bound, then stop (the reader must have given up long before).
    for (let i = 0; i < 128; i++) yield filler;
    yield Buffer.from(' --></tv>');
  };
  const r = await read(endless());
  t.match(r.result.error, new RegExp(`more than ${XMLTV_LIMITS.pendingChars} characters without the end of a text, comment or tag`));
  t.ok(r.result.bytesRead < 6 * 1024 * 1024, `stopped early (${r.result.bytesRead} bytes read)`);
  const deep = await read([Buffer.from(`<tv>${'<a>'.repeat(40)}${'</a>'.repeat(40)}</tv>`)]);
  t.match(deep.result.error, /elements nested deeper than 32/);
  const bomb = gzipSync(Buffer.from(doc(['bbc1.uk'], [], `<!-- ${'x'.repeat(1_000_000)} -->`)));
  const b = await read([bomb], { maxDecodedBytes: 100_000 });
  t.match(b.result.error, /more than 100000 bytes of XML/);
});

t.test('the encoding named by the XML declaration is used (ISO-8859-1)', async (t) => {
  const xml = doc(['bbc1.uk'], [{ title: 'Télé à la carte' }]).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"');
  const r = await read([Buffer.from(xml, 'latin1')]);
  t.equal(r.programmes[0].title, 'Télé à la carte');
  const bad = await read([Buffer.from(xml.replace('ISO-8859-1', 'x-no-such-charset'), 'latin1')]);
  t.match(bad.result.error, /names the encoding "x-no-such-charset"/);
});

t.test('abort stops the read', async (t) => {
  const ac = new AbortController();
  ac.abort();
  const r = await read([Buffer.from(NORMAL)], { signal: ac.signal });
  t.equal(r.result.error, 'aborted');
});

t.test('batches: the sink gets at most batchSize programmes a call, and the reader waits for it', async (t) => {
  const ps: P[] = Array.from({ length: 25 }, (_, i) => ({ start: at(0, i * 2), stop: at(0, i * 2 + 1) }));
  const sizes: number[] = [];
  let busy = false;
  const result = await readXmltv(
    chunked(Buffer.from(doc(['bbc1.uk'], ps)), 100),
    {
      channel: () => {},
      programmes: async (b) => {
        t.notOk(busy, 'never called while the previous call runs');
        busy = true;
        sizes.push(b.length);
        await new Promise((r) => setTimeout(r, 2));
        busy = false;
      },
    },
    { channels: KNOWN, nowMs: NOW, batchSize: 10 },
  );
  t.equal(result.programmesPassed, 25);
  t.ok(sizes.every((n) => n <= 10 && n > 0), String(sizes));
  t.equal(sizes.reduce((a, b) => a + b, 0), 25);
});

/* ------------------------------------------------------------------------ */

function prog(line: number, startH: number, stopH: number | null, title = `p${line}`): XmltvProgramme {
  const t0 = Date.UTC(2026, 11, 2);
  return { tvgId: 'bbc1.uk', startMs: t0 + startH * H, stopMs: stopH === null ? null : t0 + stopH * H, title, subTitle: null, description: null, categories: [], episode: null, episodeSystem: null, icon: null, line };
}

function sequence(ps: XmltvProgramme[]): { kept: EpgProgramme[]; tally: SkipTally } {
  const tally = new SkipTally();
  const kept: EpgProgramme[] = [];
  const s = new ChannelSequencer(tally, (p) => kept.push(p));
  for (const p of [...ps].sort((a, b) => a.startMs - b.startMs || a.line - b.line)) s.push(p);
  s.end();
  return { kept, tally };
}

t.test('overlaps: the earlier-starting programme is kept, a same-start one keeps the first in the file', async (t) => {
  const { kept, tally } = sequence([prog(1, 10, 12), prog(2, 11, 13), prog(3, 12, 13), prog(4, 12, 14), prog(5, 14, 15)]);
  t.same(
    kept.map((p) => p.title),
    ['p1', 'p3', 'p5'],
  );
  t.same(tally.counts, { overlap: 2 });
  t.same(tally.examples, [
    'programme at line 2 on "bbc1.uk": starts at 20261202110000 +0000, before the previous programme ends at 20261202120000 +0000',
    'programme at line 4 on "bbc1.uk": starts at 20261202120000 +0000, before the previous programme ends at 20261202130000 +0000',
  ]);
});

t.test('a missing stop ends at the next start; the last one, or one 24 h before the next, is skipped', async (t) => {
  const { kept, tally } = sequence([prog(1, 10, null), prog(2, 11, null), prog(3, 11, 12), prog(4, 12, 13), prog(5, 14, null), prog(6, 40, 41), prog(7, 41, null)]);
  t.same(
    kept.map((p) => [p.title, (p.stopMs - Date.UTC(2026, 11, 2)) / H]),
    [
      ['p1', 11],
      ['p2', 12],
      ['p4', 13],
      ['p6', 41],
    ],
  );
  t.same(tally.counts, { overlap: 1, tooLong: 1, noStop: 1 });
  t.same(tally.examples, [
    'programme at line 3 on "bbc1.uk": starts at 20261202110000 +0000 like the programme at line 2, kept',
    "programme at line 5 on \"bbc1.uk\": has no stop, and the channel's next programme starts 26 h later (more than 24 h)",
    "programme at line 7 on \"bbc1.uk\": has no stop and is the channel's last programme",
  ]);
  t.throws(() => {
    const s = new ChannelSequencer(new SkipTally(), () => {});
    s.push(prog(1, 5, 6));
    s.push(prog(2, 4, 5));
  }, /start order/);
});

/* ------------------------------------------------------------------------ */

const EXPORT_CHANNELS = [
  { number: 1, name: 'BBC One & "Two" <HD>', tvgId: 'bbc1.uk', logoUrl: 'http://h/logos/1?a=1&b=2' },
  { number: 2, name: 'No guide', tvgId: null },
  { number: 3, name: 'Arte', tvgId: 'arte.fr' },
  { number: 4, name: 'Arte HD', tvgId: 'arte.fr' },
];

const EXPORT_PROGRAMMES: EpgProgramme[] = [
  {
    tvgId: 'bbc1.uk',
    startMs: Date.UTC(2026, 11, 2, 10),
    stopMs: Date.UTC(2026, 11, 2, 11),
    title: 'Q&A: <live> "today" it\'s on',
    subTitle: 'a > b',
    description: 'Tom & Jerry <3 "quotes" — été 😀',
    categories: ['News', 'Talk & chat'],
    episode: 'S01E02',
    episodeSystem: 'onscreen',
    icon: 'https://img/x.png?w=1&h=2',
  },
  { tvgId: 'bbc1.uk', startMs: Date.UTC(2026, 11, 2, 11), stopMs: Date.UTC(2026, 11, 2, 11, 30), title: 'Plain', subTitle: null, description: null, categories: [], episode: '0.1.', episodeSystem: 'xmltv_ns', icon: null },
  { tvgId: 'arte.fr', startMs: Date.UTC(2026, 11, 2, 10, 15), stopMs: Date.UTC(2026, 11, 2, 10, 45), title: 'Journal', subTitle: null, description: null, categories: [], episode: null, episodeSystem: null, icon: null },
  { tvgId: 'other.tv', startMs: Date.UTC(2026, 11, 2, 10), stopMs: Date.UTC(2026, 11, 2, 11), title: 'not in the lineup', subTitle: null, description: null, categories: [], episode: null, episodeSystem: null, icon: null },
];

function parseStrict(xml: string): { names: string[]; attrs: Record<string, string>[] } {
  const p = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  const names: string[] = [];
  const attrs: Record<string, string>[] = [];
  p.on('opentag', (tag) => {
    names.push(tag.name);
    attrs.push(tag.attributes);
  });
  p.write(xml).close();
  return { names, attrs };
}

t.test('the export is well-formed XMLTV, escapes &<>" and reads back to the same programmes', async (t) => {
  const chunks = [...writeXmltv(EXPORT_CHANNELS, EXPORT_PROGRAMMES)];
  const xml = chunks.join('');
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="roomcast">/);
  t.match(xml, /BBC One &amp; &quot;Two&quot; &lt;HD&gt;/);
  t.match(xml, /Q&amp;A: &lt;live&gt; &quot;today&quot; it&apos;s on/);
  t.match(xml, /start="20261202100000 \+0000" stop="20261202110000 \+0000"/);
  t.notMatch(xml, /not in the lineup/, 'programmes of ids outside the lineup are left out');
  const { names, attrs } = parseStrict(xml);
  t.equal(names.filter((n) => n === 'channel').length, 2, 'one <channel> per distinct tvgId; the channel without one has none');
  t.same(
    attrs.filter((_, i) => names[i] === 'channel').map((a) => a.id),
    ['bbc1.uk', 'arte.fr'],
  );
  t.equal(names.filter((n) => n === 'programme').length, 3);

  const back = await read([Buffer.from(xml)]);
  t.equal(back.result.error, undefined);
  t.same(
    back.programmes.map(({ line: _line, ...p }) => p),
    EXPORT_PROGRAMMES.slice(0, 3),
    'export → import gives the same programmes',
  );
  t.same(back.channels, [
    { id: 'bbc1.uk', displayName: 'BBC One & "Two" <HD>', icon: 'http://h/logos/1?a=1&b=2' },
    { id: 'arte.fr', displayName: 'Arte', icon: null },
  ]);
});

t.test('the export drops characters XML cannot carry, so it stays well-formed', async (t) => {
  const nasty = { ...EXPORT_PROGRAMMES[2], title: 'a\u0000b\u0007c\ud800d\ufffe' };
  const xml = [...writeXmltv(EXPORT_CHANNELS, [nasty])].join('');
  t.doesNotThrow(() => parseStrict(xml));
  t.match(xml, /<title>abcd<\/title>/);
});

t.test('the export is streamed in bounded chunks', async (t) => {
  const many = Array.from({ length: 2000 }, (_, i) => ({ ...EXPORT_PROGRAMMES[2], startMs: EXPORT_PROGRAMMES[2].startMs + i * H, stopMs: EXPORT_PROGRAMMES[2].startMs + i * H + H / 2 }));
  let pulled = 0;
  const lazy = (function* () {
    for (const p of many) {
      pulled++;
      yield p;
    }
  })();
  const gen = writeXmltv(EXPORT_CHANNELS, lazy);
  const first = gen.next();
  t.notOk(first.done);
  t.ok(pulled < many.length, `the first chunk did not pull every programme (${pulled})`);
  const rest = [...gen];
  t.ok([first.value as string, ...rest].every((c) => c.length < 20_000), 'every chunk is about 16 KiB at most');
  t.equal((await read([Buffer.from([first.value, ...rest].join(''))])).programmes.length, 2000);
});

t.test('xmllint (libxml2) finds the export well-formed, and valid against the xmltv.dtd declarations it uses', async (t) => {
  const has = spawnSync('sh', ['-c', 'command -v xmllint'], { encoding: 'utf8' }).status === 0;
  if (!has) {
    t.skip('xmllint is not installed (Debian libxml2-utils); saxes checked well-formedness above');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-xmltv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'guide.xml');
  writeFileSync(f, [...writeXmltv(EXPORT_CHANNELS, EXPORT_PROGRAMMES)].join(''));
  t.doesNotThrow(() => execFileSync('xmllint', ['--noout', f], { stdio: 'pipe' }));
  // The export's DOCTYPE names "xmltv.dtd": beside it, the declarations of the elements it uses, as xmltv.dtd has
  // them (content models in full, so element order is checked), and xmllint --valid loads and applies them.
  writeFileSync(join(dir, 'xmltv.dtd'), XMLTV_DTD_SUBSET);
  const valid = spawnSync('xmllint', ['--noout', '--valid', f], { encoding: 'utf8' });
  t.equal(valid.status, 0, `valid against the xmltv.dtd declarations: ${valid.stderr}`);
});

/**
 * From the XMLTV project's xmltv.dtd: the declarations of every element the
 * export writes, each content model whole (so the order title, sub-title,
 * desc, category, icon, episode-num is what the DTD says); the elements we
 * never write are declared EMPTY only so that the models parse.
 */
const XMLTV_DTD_SUBSET = `
<!ELEMENT tv (channel*, programme*)>
<!ATTLIST tv date CDATA #IMPLIED source-info-url CDATA #IMPLIED source-info-name CDATA #IMPLIED
             source-data-url CDATA #IMPLIED generator-info-name CDATA #IMPLIED generator-info-url CDATA #IMPLIED>
<!ELEMENT channel (display-name+, icon*, url*)>
<!ATTLIST channel id CDATA #REQUIRED>
<!ELEMENT display-name (#PCDATA)>
<!ATTLIST display-name lang CDATA #IMPLIED>
<!ELEMENT icon EMPTY>
<!ATTLIST icon src CDATA #REQUIRED width CDATA #IMPLIED height CDATA #IMPLIED>
<!ELEMENT url (#PCDATA)>
<!ELEMENT programme (title+, sub-title*, desc*, credits?, date?, category*, keyword*, language?, orig-language?,
                     length?, icon*, url*, country*, episode-num*, video?, audio?, previously-shown?, premiere?,
                     last-chance?, new?, subtitles*, rating*, star-rating*, review*, image*)>
<!ATTLIST programme start CDATA #REQUIRED stop CDATA #IMPLIED pdc-start CDATA #IMPLIED vps-start CDATA #IMPLIED
                    showview CDATA #IMPLIED videoplus CDATA #IMPLIED channel CDATA #REQUIRED clumpidx CDATA "0/1">
<!ELEMENT title (#PCDATA)>
<!ATTLIST title lang CDATA #IMPLIED>
<!ELEMENT sub-title (#PCDATA)>
<!ATTLIST sub-title lang CDATA #IMPLIED>
<!ELEMENT desc (#PCDATA)>
<!ATTLIST desc lang CDATA #IMPLIED>
<!ELEMENT category (#PCDATA)>
<!ATTLIST category lang CDATA #IMPLIED>
<!ELEMENT episode-num (#PCDATA)>
<!ATTLIST episode-num system CDATA "onscreen">
<!ELEMENT credits EMPTY> <!ELEMENT date EMPTY> <!ELEMENT keyword EMPTY> <!ELEMENT language EMPTY>
<!ELEMENT orig-language EMPTY> <!ELEMENT length EMPTY> <!ELEMENT country EMPTY> <!ELEMENT video EMPTY>
<!ELEMENT audio EMPTY> <!ELEMENT previously-shown EMPTY> <!ELEMENT premiere EMPTY> <!ELEMENT last-chance EMPTY>
<!ELEMENT new EMPTY> <!ELEMENT subtitles EMPTY> <!ELEMENT rating EMPTY> <!ELEMENT star-rating EMPTY>
<!ELEMENT review EMPTY> <!ELEMENT image EMPTY>
`;
