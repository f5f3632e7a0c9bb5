/** The programme guide in the store (headend/store/epg.ts, migration 003, issue 6 §4). */
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { formatXmltvTime, writeXmltv, type EpgProgramme } from '../../../../core/epg/xmltv.js';
import { EPG_KEEP_PAST_MS, EPG_QUERIES, EpgImportBusyError, type EpgImportReport } from '../../../../headend/store/epg.js';
import type { Store } from '../../../../headend/store/db.js';
import { fakeClock, tempStore } from './fixtures.js';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.UTC(2026, 11, 2); // midnight UTC of the clock's day
const LINEUP = ['bbc1.uk', 'arte.fr', 'zdf.de'];

interface P {
  ch: string;
  h: number;
  to?: number | null;
  title?: string;
  body?: string;
}

/** An XMLTV document; each programme on its own line (line 3 + channels + index). */
function doc(channels: string[], ps: P[]): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<tv>'];
  for (const id of channels) lines.push(`<channel id="${id}"><display-name>${id} feed</display-name></channel>`);
  for (const p of ps) {
    const stop = p.to === null ? '' : ` stop="${formatXmltvTime(T0 + (p.to ?? p.h + 1) * H)}"`;
    lines.push(`<programme start="${formatXmltvTime(T0 + p.h * H)}"${stop} channel="${p.ch}"><title>${p.title ?? `${p.ch} ${p.h}`}</title>${p.body ?? ''}</programme>`);
  }
  lines.push('</tv>', '');
  return lines.join('\n');
}

function setup(t: Parameters<typeof tempStore>[0]): { store: Store; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock(T0 + 12 * H);
  const { store } = tempStore(t, { now: clock.now, skipQuickCheck: true });
  return { store, clock };
}

async function load(store: Store, xml: string | Buffer, source = 'test'): Promise<EpgImportReport> {
  return store.epg.import([typeof xml === 'string' ? Buffer.from(xml) : xml], { channels: LINEUP, source });
}

const titles = (store: Store, id: string, from = T0 - 40 * DAY, to = T0 + 40 * DAY): string[] => store.epg.programmes(id, from, to).map((p) => p.title);

/** Every programme, every channel: what "nothing changed" compares. */
const everything = (store: Store): EpgProgramme[] => [...store.epg.iterateProgrammes(['bbc1.uk', 'arte.fr', 'zdf.de', 'cnn.us'])];

/** Rows an import may leave behind: staged ones, rows of a generation no channel reads, generations listed for deletion. */
const leftovers = (store: Store): number =>
  (
    store.db
      .prepare(
        `SELECT (SELECT count(*) FROM temp.epg_staging)
              + (SELECT count(*) FROM epg_programmes p WHERE NOT EXISTS (SELECT 1 FROM epg_current c WHERE c.tvg_id = p.tvg_id AND c.gen = p.gen))
              + (SELECT count(*) FROM epg_garbage) AS n`,
      )
      .get() as { n: number }
  ).n;

const NORMAL = doc(
  ['bbc1.uk', 'arte.fr', 'cnn.us'],
  [
    { ch: 'bbc1.uk', h: 10, body: '<desc>Headlines</desc><category>News</category><episode-num system="onscreen">E1</episode-num><icon src="http://i/1.png"/>' },
    { ch: 'bbc1.uk', h: 11 },
    { ch: 'bbc1.uk', h: 12, to: 14 },
    { ch: 'arte.fr', h: 10 },
    { ch: 'cnn.us', h: 10 },
  ],
);

t.test('a normal import: the lineup channels are stored, the unknown one dropped, the report kept', async (t) => {
  const { store } = setup(t);
  t.equal(store.schemaVersion, 3);
  t.equal(store.epg.lastReport(), null);
  t.equal(store.epg.stamp(), '0-0');
  const r = await load(store, NORMAL, 'http://feed/guide.xml');
  t.equal(r.error, undefined);
  t.match(r, { source: 'http://feed/guide.xml', channelsInFile: 3, channelsKept: 2, programmesInFile: 5, programmesKept: 4, skipped: { unknownChannel: 1 }, gzip: false, pruned: 0 });
  t.equal(r.examples.length, 1);
  t.match(r.examples[0], /^programme at line 10 on "cnn.us"/);
  t.same(titles(store, 'bbc1.uk'), ['bbc1.uk 10', 'bbc1.uk 11', 'bbc1.uk 12']);
  t.same(titles(store, 'arte.fr'), ['arte.fr 10']);
  t.same(titles(store, 'cnn.us'), []);
  t.same(store.epg.byStart('bbc1.uk', T0 + 10 * H), {
    tvgId: 'bbc1.uk',
    startMs: T0 + 10 * H,
    stopMs: T0 + 11 * H,
    title: 'bbc1.uk 10',
    subTitle: null,
    description: 'Headlines',
    categories: ['News'],
    episode: 'E1',
    episodeSystem: 'onscreen',
    icon: 'http://i/1.png',
  });
  t.equal(store.epg.byStart('bbc1.uk', T0 + 10 * H + 1), null);
  t.same(
    store.epg.channels().map((c) => [c.tvgId, c.displayName]),
    [
      ['arte.fr', 'arte.fr feed'],
      ['bbc1.uk', 'bbc1.uk feed'],
    ],
  );
  const last = store.epg.lastReport();
  t.equal(last?.source, 'http://feed/guide.xml');
  t.equal(last?.atMs, T0 + 12 * H);
  t.same(last?.report.skipped, { unknownChannel: 1 });
  t.not(store.epg.stamp(), '0-0');
  t.equal(leftovers(store), 0, 'nothing left behind: staging empty, no superseded generation');
});

t.test('gzip input gives the same guide', async (t) => {
  const a = setup(t).store;
  const b = setup(t).store;
  await load(a, NORMAL);
  const r = await load(b, gzipSync(Buffer.from(NORMAL)));
  t.equal(r.gzip, true);
  t.equal(r.programmesKept, 4);
  t.same(everything(b), everything(a));
});

t.test('skip reasons found by the per-channel pass (overlap, no stop) are counted in the report with their line', async (t) => {
  const { store } = setup(t);
  const xml = doc(
    ['bbc1.uk'],
    [
      { ch: 'bbc1.uk', h: 10, to: 12 }, // line 4
      { ch: 'bbc1.uk', h: 11, to: 13 }, // 5: overlaps 10–12
      { ch: 'bbc1.uk', h: 13, to: null }, // 6: ends at 14 (next start)
      { ch: 'bbc1.uk', h: 14, to: 15 }, // 7
      { ch: 'bbc1.uk', h: 16, to: null }, // 8: last, no stop
      { ch: 'bbc1.uk', h: 9, to: 8 }, // 9: stop before start
      { ch: 'arte.fr', h: 10, to: 10 + 25 }, // 10: 25 h
    ],
  );
  const r = await load(store, xml);
  t.same(r.skipped, { stopNotAfterStart: 1, tooLong: 1, overlap: 1, noStop: 1 });
  t.equal(r.programmesKept, 3);
  t.equal(r.channelsKept, 1, 'arte.fr had no programme kept: its guide is not replaced');
  t.same(
    store.epg.programmes('bbc1.uk', T0, T0 + DAY).map((p) => [p.title, (p.startMs - T0) / H, (p.stopMs - T0) / H]),
    [
      ['bbc1.uk 10', 10, 12],
      ['bbc1.uk 13', 13, 14],
      ['bbc1.uk 14', 14, 15],
    ],
  );
  t.ok(r.examples.some((e) => e.startsWith('programme at line 5 on "bbc1.uk": starts at 20261202110000 +0000, before the previous programme ends')));
  t.ok(r.examples.some((e) => e.startsWith('programme at line 8 on "bbc1.uk": has no stop')));
  t.ok(r.examples.some((e) => e.startsWith('programme at line 9 on "bbc1.uk": stop 20261202080000 +0000 is before start 20261202090000 +0000')));
  t.ok(r.examples.some((e) => e.startsWith('programme at line 10 on "arte.fr": lasts 25 h')));
});

t.test('broken XML mid-file: the report names line and column, and the previous guide stays whole', async (t) => {
  const { store } = setup(t);
  await load(store, NORMAL);
  const before = everything(store);
  const stamp = store.epg.stamp();
  const lastBefore = store.epg.lastReport();
  // A new guide for bbc1.uk with 500 programmes (staged in batches) and then broken markup.
  const ps: P[] = Array.from({ length: 1500 }, (_, i) => ({ ch: 'bbc1.uk', h: i / 4, to: i / 4 + 0.25 }));
  const broken = doc(['bbc1.uk'], ps).replace('</tv>', '<programme start="x" <oops/></tv>');
  const r = await load(store, broken);
  t.match(r.error, /^line 1504, column \d+: /);
  t.equal(r.programmesKept, 0);
  t.same(everything(store), before, 'the guide is unchanged');
  t.equal(store.epg.stamp(), stamp, 'the stamp is unchanged');
  t.same(store.epg.lastReport(), lastBefore, 'the last stored report is the successful one');
  t.equal(leftovers(store), 0, 'nothing left behind: staging emptied, the new generation deleted');
});

t.test('a stream that fails, or an abort, changes nothing', async (t) => {
  const { store } = setup(t);
  await load(store, NORMAL);
  const before = everything(store);
  const stamp = store.epg.stamp();
  const replacement = Buffer.from(doc(['bbc1.uk'], Array.from({ length: 3000 }, (_, i) => ({ ch: 'bbc1.uk', h: i / 10, to: i / 10 + 0.1 }))));
  async function* dies(): AsyncGenerator<Buffer> {
    yield replacement.subarray(0, replacement.length - 100);
    throw new Error('connection reset');
  }
  const r = await store.epg.import(dies(), { channels: LINEUP, source: 'http://feed' });
  t.equal(r.error, 'reading the source: connection reset');
  t.same(everything(store), before);
  const ac = new AbortController();
  async function* slow(): AsyncGenerator<Buffer> {
    for (let o = 0; o < replacement.length; o += 4096) {
      yield replacement.subarray(o, o + 4096);
      if (o > 100_000) ac.abort();
    }
  }
  const a = await store.epg.import(slow(), { channels: LINEUP, source: 'x', signal: ac.signal });
  t.equal(a.error, 'aborted');
  t.same(everything(store), before);
  t.equal(store.epg.stamp(), stamp);
  t.equal(leftovers(store), 0);
});

t.test('an import replaces the guide of each channel in the file; a channel absent from it keeps its programmes', async (t) => {
  const { store } = setup(t);
  await load(store, doc([], [{ ch: 'bbc1.uk', h: 10 }, { ch: 'bbc1.uk', h: 11 }, { ch: 'arte.fr', h: 10 }, { ch: 'zdf.de', h: 10 }]));
  const s1 = store.epg.stamp();
  const r = await load(store, doc([], [{ ch: 'bbc1.uk', h: 15, title: 'new' }, { ch: 'zdf.de', h: 3, to: 2 }]));
  t.equal(r.channelsKept, 1);
  t.same(titles(store, 'bbc1.uk'), ['new'], 'bbc1.uk replaced whole');
  t.same(titles(store, 'arte.fr'), ['arte.fr 10'], 'arte.fr was not in the file: kept');
  t.same(titles(store, 'zdf.de'), ['zdf.de 10'], 'zdf.de had only a rejected programme: kept');
  t.not(store.epg.stamp(), s1, 'the stamp changes with each import');
});

t.test('what a killed import wrote is deleted by the next one; readers never saw it', async (t) => {
  const { store } = setup(t);
  await load(store, NORMAL);
  const before = everything(store);
  // As a headend killed in phase 2 leaves it: rows under a generation listed as garbage, not current.
  store.db.prepare("INSERT INTO epg_garbage (tvg_id, gen) VALUES ('bbc1.uk', 999)").run();
  const ins = store.db.prepare("INSERT INTO epg_programmes (tvg_id, gen, start_ms, stop_ms, title) VALUES ('bbc1.uk', 999, ?, ?, 'half-imported')");
  for (let i = 0; i < 2500; i++) ins.run(T0 + i * H, T0 + i * H + H);
  t.same(everything(store), before, 'a generation that is not current is invisible');
  t.equal(leftovers(store), 2501);
  const r = await load(store, doc([], [{ ch: 'arte.fr', h: 10, title: 'again' }]));
  t.equal(r.error, undefined);
  t.equal(leftovers(store), 0, 'the next import collected them, 1000 rows a transaction');
  t.same(titles(store, 'bbc1.uk'), ['bbc1.uk 10', 'bbc1.uk 11', 'bbc1.uk 12']);
});

t.test('programmes that ended more than 31 days ago are pruned at import', async (t) => {
  const { store, clock } = setup(t);
  const r0 = await load(store, doc([], [{ ch: 'arte.fr', h: -25 * 24 }, { ch: 'arte.fr', h: -10 * 24 }, { ch: 'arte.fr', h: 10 }, { ch: 'zdf.de', h: -40 * 24 }]));
  t.equal(r0.pruned, 1, 'one that ended 40 days ago goes at once');
  t.same(titles(store, 'zdf.de', T0 - 50 * DAY), []);
  t.equal(titles(store, 'arte.fr').length, 3);
  clock.advance(10 * DAY);
  const r = await load(store, doc([], [{ ch: 'bbc1.uk', h: 10 }]));
  t.equal(r.pruned, 1);
  t.same(titles(store, 'arte.fr'), [`arte.fr ${-10 * 24}`, 'arte.fr 10'], 'only the one that ended more than 31 days ago (35) went');
  t.equal(EPG_KEEP_PAST_MS, 31 * DAY);
});

t.test('a second import while one runs is refused with a clear error; the first completes', async (t) => {
  const { store } = setup(t);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const xml = Buffer.from(NORMAL);
  async function* held(): AsyncGenerator<Buffer> {
    yield xml.subarray(0, 100);
    await gate;
    yield xml.subarray(100);
  }
  const first = store.epg.import(held(), { channels: LINEUP, source: 'first' });
  t.equal(store.epg.importing(), true);
  await t.rejects(store.epg.import([xml], { channels: LINEUP, source: 'second' }), EpgImportBusyError);
  await t.rejects(store.epg.import([xml], { channels: LINEUP, source: 'second' }), { message: /an EPG import is already running \(from first, started / });
  release();
  const r = await first;
  t.equal(r.error, undefined);
  t.equal(r.programmesKept, 4);
  t.equal(store.epg.importing(), false);
  t.equal((await load(store, NORMAL)).error, undefined, 'once it has finished, the next one runs');
});

t.test('now/next for many channels and range queries, from the primary key', async (t) => {
  const { store } = setup(t);
  await load(
    store,
    doc(
      [],
      [
        { ch: 'bbc1.uk', h: 10 },
        { ch: 'bbc1.uk', h: 11, to: 12 },
        { ch: 'bbc1.uk', h: 13, to: 14 }, // gap 12–13
        { ch: 'arte.fr', h: 8, to: 20 },
        { ch: 'zdf.de', h: 23, to: 24 },
      ],
    ),
  );
  const nn = (atH: number) =>
    Object.fromEntries([...store.epg.nowNext(['bbc1.uk', 'arte.fr', 'zdf.de', 'none.tv'], T0 + atH * H)].map(([k, v]) => [k, [v.now?.title ?? null, v.next?.title ?? null]]));
  t.same(nn(10.5), { 'bbc1.uk': ['bbc1.uk 10', 'bbc1.uk 11'], 'arte.fr': ['arte.fr 8', null], 'zdf.de': [null, 'zdf.de 23'] });
  t.same(nn(11), { 'bbc1.uk': ['bbc1.uk 11', 'bbc1.uk 13'], 'arte.fr': ['arte.fr 8', null], 'zdf.de': [null, 'zdf.de 23'] }, 'a programme is on from its start');
  t.same(nn(12.5), { 'bbc1.uk': [null, 'bbc1.uk 13'], 'arte.fr': ['arte.fr 8', null], 'zdf.de': [null, 'zdf.de 23'] }, 'in a gap: nothing now');
  t.same(nn(25), {}, 'after the guide ends: nobody');
  t.same(store.epg.nowNext([], T0).size, 0);

  t.same(titles(store, 'bbc1.uk', T0 + 10.5 * H, T0 + 13 * H), ['bbc1.uk 10', 'bbc1.uk 11'], 'overlapping [from, to): the running one in, the one starting at `to` out');
  t.same(titles(store, 'arte.fr', T0 + 19 * H, T0 + 19.5 * H), ['arte.fr 8'], 'a 12-h programme that started before `from`');
  t.same(titles(store, 'bbc1.uk', T0 + 12 * H, T0 + 13 * H), [], 'a range in a gap');

  const plan = (sql: string, ...args: unknown[]): string =>
    (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join(' | ');
  const nowPlan = plan(EPG_QUERIES.now, '["a"]', 0, 0);
  t.notMatch(nowPlan, /SCAN p\b|SCAN epg_programmes/, `now: no table scan (${nowPlan})`);
  t.match(nowPlan, /SEARCH c USING PRIMARY KEY \(tvg_id=\?\).*SEARCH p USING PRIMARY KEY \(tvg_id=\? AND gen=\? AND start_ms=\?\).*SEARCH epg_programmes USING PRIMARY KEY \(tvg_id=\? AND gen=\? AND start_ms<\?\)/);
  const nextPlan = plan(EPG_QUERIES.next, '["a"]', 0);
  t.match(nextPlan, /SEARCH c USING PRIMARY KEY \(tvg_id=\?\).*SEARCH p USING PRIMARY KEY \(tvg_id=\? AND gen=\? AND start_ms=\?\).*SEARCH epg_programmes USING PRIMARY KEY \(tvg_id=\? AND gen=\? AND start_ms>\?\)/, nextPlan);
  const rangePlan = plan(EPG_QUERIES.range, 'a', 0, 1, 0, 10);
  t.match(rangePlan, /SEARCH p USING PRIMARY KEY \(tvg_id=\? AND gen=\? AND start_ms>\? AND start_ms<\?\)/, rangePlan);
});

t.test('export → import round trip gives the same programmes', async (t) => {
  const a = setup(t).store;
  await load(
    a,
    doc(
      ['bbc1.uk'],
      [
        { ch: 'bbc1.uk', h: 10, title: 'Q&amp;A &lt;live&gt; "x"', body: '<sub-title>s</sub-title><desc>d &amp; e</desc><category>A</category><category>B</category><icon src="http://i/x.png?a=1&amp;b=2"/><episode-num system="xmltv_ns">0.1.</episode-num>' },
        { ch: 'bbc1.uk', h: 11 },
        { ch: 'arte.fr', h: 9, to: 9.5 },
        { ch: 'zdf.de', h: 1 },
      ],
    ),
  );
  const lineup = [
    { number: 1, name: 'BBC One', tvgId: 'bbc1.uk' },
    { number: 2, name: 'Arte', tvgId: 'arte.fr' },
    { number: 3, name: 'No EPG', tvgId: null },
  ];
  const ids = lineup.flatMap((c) => (c.tvgId ? [c.tvgId] : []));
  const xml = [...writeXmltv(lineup, a.epg.iterateProgrammes(ids))].join('');
  const b = setup(t).store;
  const r = await load(b, xml);
  t.equal(r.error, undefined);
  t.same(r.skipped, {});
  t.same([...b.epg.iterateProgrammes(ids)], [...a.epg.iterateProgrammes(ids)]);
  t.equal([...b.epg.iterateProgrammes(['zdf.de'])].length, 0, 'zdf.de is not in the exported lineup');
  t.same(
    [...a.epg.iterateProgrammes(['bbc1.uk'], T0 + 11 * H, T0 + 12 * H)].map((p) => p.title),
    ['bbc1.uk 11'],
    'the iterator takes a window too',
  );
});

t.test('iterateProgrammes pages, so other statements run while it is paused', async (t) => {
  const { store } = setup(t);
  await load(store, doc([], Array.from({ length: 2500 }, (_, i) => ({ ch: 'bbc1.uk', h: i / 10, to: i / 10 + 0.1 }))));
  const it = store.epg.iterateProgrammes(['bbc1.uk', 'bbc1.uk']);
  let n = 0;
  for (const p of it) {
    n++;
    if (n === 1 || n === 1500) t.equal(store.epg.byStart('bbc1.uk', p.startMs)?.title, p.title, 'a query between two items works');
  }
  t.equal(n, 2500, 'every programme once, the duplicate id ignored');
});

t.test('settings: defaults, set, clear, and every invalid field named', async (t) => {
  const { store } = setup(t);
  t.same(store.epg.settings(), { url: null, refreshHours: 24 });
  t.same(store.epg.setSettings({ url: 'https://feed.example/guide.xml.gz' }), { url: 'https://feed.example/guide.xml.gz', refreshHours: 24 });
  t.same(store.epg.setSettings({ refreshHours: 6 }), { url: 'https://feed.example/guide.xml.gz', refreshHours: 6 });
  const err = t.throws(() => store.epg.setSettings({ url: 'file:///etc/passwd', refreshHours: 0.5 })) as Error & { code: string };
  t.equal(err.code, 'ROOMCAST_ERR_STORE_INVALID');
  t.match(err.message, /epg\.url: "file:\/\/\/etc\/passwd" is not an http\(s\) URL/);
  t.match(err.message, /epg\.refreshHours: 0\.5 is not a whole number of hours from 1 to 168/);
  t.same(store.epg.settings(), { url: 'https://feed.example/guide.xml.gz', refreshHours: 6 }, 'a refused change changes nothing');
  t.same(store.epg.setSettings({ url: null }), { url: null, refreshHours: 6 });
});
