/**
 * The programme guide's HTTP side (headend/control/epg.ts) on the admin API
 * of a temporary store: uploads (plain and gzip, streamed) with their
 * reports, who may do what, broken XML changing nothing, a second import
 * refused while one runs, the feed URL and its refresh from a real HTTP
 * server; the public guide (per channel by number or slug, now/next,
 * /epg.xml checked by xmllint) and catch-up by programme against an HLS
 * index: each programme's state and the play redirect, with the reason
 * when there is nothing to play.
 */
import t from 'tap';
import http from 'node:http';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { SaxesParser } from 'saxes';
import HLS from 'hls-parser';
import { formatXmltvTime } from '../../../../core/epg/xmltv.js';
import { EpgRefresher, registerEpg } from '../../../../headend/control/epg.js';
import { HlsLibrary } from '../../../../headend/control/hls.js';
import { segmentFileName } from '../../../../headend/dataplane/hls.js';
import type { Store } from '../../../../headend/store/db.js';
import { adminFixture, lineup } from './fixtures.js';

const S = 1000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
/** The recording starts 10 minutes ago. */
const T0 = NOW - 600 * S;

interface P {
  ch: string;
  start: number;
  stop?: number;
  title?: string;
}

function xmltv(progs: P[]): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE tv SYSTEM "xmltv.dtd">',
    '<tv generator-info-name="test">',
    '<channel id="news.test"><display-name>News</display-name></channel>',
    '<channel id="sports.test"><display-name>Sports</display-name></channel>',
    '<channel id="other.test"><display-name>Not in the lineup</display-name></channel>',
    ...progs.map(
      (p) =>
        `<programme start="${formatXmltvTime(p.start)}"${p.stop !== undefined ? ` stop="${formatXmltvTime(p.stop)}"` : ''} channel="${p.ch}">${p.title !== undefined ? `<title lang="en">${esc(p.title)}</title>` : ''}<desc>About ${esc(p.title ?? '')}</desc></programme>`,
    ),
    '</tv>',
  ].join('\n');
}

const GUIDE: P[] = [
  { ch: 'news.test', start: T0 - 3600 * S, stop: T0 - 1800 * S, title: 'Old news' },
  { ch: 'news.test', start: T0 + 60 * S, stop: T0 + 120 * S, title: 'Morning News & Weather' },
  { ch: 'news.test', start: NOW - 60 * S, stop: NOW + 600 * S, title: 'Live at Noon' },
  { ch: 'news.test', start: NOW + 3600 * S, stop: NOW + 7200 * S, title: 'Evening <Show>' },
  { ch: 'sports.test', start: NOW - 300 * S, stop: NOW + 300 * S, title: 'Match' },
  { ch: 'other.test', start: NOW, stop: NOW + 60 * S, title: 'Unknown channel' },
  { ch: 'news.test', start: NOW + 9000 * S, stop: NOW + 8000 * S, title: 'Backwards' },
  { ch: 'sports.test', start: NOW + 600 * S, stop: NOW + 700 * S },
];

async function setup(t: { ok(v: unknown): void; teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-epgroutes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hls = new HlsLibrary({ dir, segmentS: 2, windowS: 3600, log: () => undefined });
  await hls.load();
  t.teardown(() => hls.close());
  await mkdir(join(dir, '1'));
  for (let ms = T0; ms < NOW; ms += 2 * S) {
    const s = { number: 1, startMs: ms, durationMs: 2000, discontinuity: ms === T0, bytes: 188, file: '' };
    s.file = segmentFileName(s);
    await writeFile(join(dir, '1', s.file), Buffer.alloc(188, 0x47));
    hls.add(s);
  }
  const channels = () => lineup().map((c) => ({ ...c, tvgId: c.number === 1 ? 'news.test' : c.number === 2 ? 'sports.test' : null }));
  let storeRef: Store | null = null;
  const f = await adminFixture(
    t,
    (store) => {
      storeRef = store;
      store.channels.replaceAll(channels());
      return { epgRefresher: new EpgRefresher({ epg: store.epg, lineupIds: () => ['news.test', 'sports.test'], log: () => undefined }) };
    },
    {},
    (app, store) => registerEpg(app, { epg: store.epg, lineup: () => store.channels.list().map((c) => c.config), hls, logoUrls: () => new Map([[1, 'http://h/logos/1?v=1']]) }),
  );
  t.ok(storeRef);
  return { f, hls };
}

const json = (r: { body: string }) => JSON.parse(r.body);

t.test('upload: the report counts what was kept and skipped, and why; gzip alike; roles, origin and type checked', async (t) => {
  const { f } = await setup(t);
  const text = xmltv(GUIDE);
  const up = (cookie: string | null, payload: string | Buffer, type = 'application/xml', origin?: string | null) =>
    f.call('POST', '/api/epg/import', { cookie, payload, headers: { 'content-type': type }, ...(origin !== undefined ? { origin } : {}) });

  t.equal((await up(null, text)).statusCode, 401, 'no session: 401');
  t.equal((await up(f.cookies.viewer, text)).statusCode, 403, 'a viewer may not import');
  t.equal(json(await up(f.cookies.operator, text, 'application/xml', 'http://evil.example')).code, 'ROOMCAST_ERR_CSRF', 'another origin: refused');
  const wrong = await up(f.cookies.operator, text, 'application/json');
  t.equal(wrong.statusCode, 415);
  t.match(json(wrong).message, /send the XMLTV file as application\/xml/);

  const r = await up(f.cookies.operator, text);
  t.equal(r.statusCode, 200, r.body);
  const rep = json(r).report;
  t.equal(rep.programmesKept, 5, '4 on channel 1 (the old one too: it is only 40 min old), 1 on channel 2');
  t.equal(rep.channelsKept, 2);
  t.same(rep.skipped, { unknownChannel: 1, stopNotAfterStart: 1, noTitle: 1 }, 'every skip with its reason');
  t.match(rep.examples.join('\n'), /line \d+/, 'examples name the line');
  const z = await up(f.cookies.operator, gzipSync(Buffer.from(text)), 'application/gzip');
  t.equal(json(z).report.programmesKept, 5, 'the same file gzip-compressed: the same guide');
  t.equal(json(z).report.gzip, true);

  const audit = f.store.audit.list({ limit: 10 }).map((e) => e.action);
  t.ok(audit.includes('epg.import'), 'the import is in the audit log');
});

t.test('broken XML: 422 naming line and column, the guide unchanged; a second import while one runs: 409', async (t) => {
  const { f } = await setup(t);
  await f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: xmltv(GUIDE), headers: { 'content-type': 'application/xml' } });
  const before = json(await f.call('GET', '/api/epg/1?from=' + (T0 - 7200 * S) / 1000 + '&to=' + (NOW + 86400 * S) / 1000)).programmes;
  const broken = xmltv(GUIDE.slice(0, 2)).replace('</tv>', '<programme start="x" channel="news.test"><title>Cut</programme></tv>');
  const r = await f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: broken, headers: { 'content-type': 'text/xml' } });
  t.equal(r.statusCode, 422);
  t.equal(json(r).code, 'ROOMCAST_ERR_IMPORT_FAILED');
  t.match(json(r).message, /the guide was not changed: .*line \d+, column \d+/);
  t.ok(json(r).report, 'with the report');
  const after = json(await f.call('GET', '/api/epg/1?from=' + (T0 - 7200 * S) / 1000 + '&to=' + (NOW + 86400 * S) / 1000)).programmes;
  t.same(after, before, 'the guide is as it was');

  // An upload that is still coming holds the importer; a second one is refused.
  const slow = new PassThrough();
  const first = f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: slow as unknown as Buffer, headers: { 'content-type': 'application/xml' } });
  slow.write(xmltv(GUIDE).slice(0, 400));
  for (let i = 0; i < 100 && !f.store.epg.importing(); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(f.store.epg.importing(), 'the first import runs');
  const second = await f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: xmltv(GUIDE), headers: { 'content-type': 'application/xml' } });
  t.equal(second.statusCode, 409, 'a second one: 409');
  t.equal(json(second).code, 'ROOMCAST_ERR_BUSY');
  slow.end(xmltv(GUIDE).slice(400));
  t.equal((await first).statusCode, 200, 'the first one completes');
});

t.test('feed URL: admin only, http(s) only; refresh fetches it from a real server; a feed that fails is reported', async (t) => {
  const { f } = await setup(t);
  let status = 200;
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/gzip' }).end(status === 200 ? gzipSync(xmltv(GUIDE)) : 'gone');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/guide.xml.gz`;

  t.equal((await f.call('PUT', '/api/epg/settings', { cookie: f.cookies.operator, body: { url } })).statusCode, 403, 'an operator may not set the feed');
  const bad = await f.call('PUT', '/api/epg/settings', { cookie: f.cookies.admin, body: { url: 'ftp://x/guide.xml' } });
  t.equal(bad.statusCode, 400);
  t.match(json(bad).message, /url/);
  const hours = await f.call('PUT', '/api/epg/settings', { cookie: f.cookies.admin, body: { refreshHours: 0 } });
  t.equal(hours.statusCode, 400, 'a refresh every 0 hours: refused');
  const ok = await f.call('PUT', '/api/epg/settings', { cookie: f.cookies.admin, body: { url, refreshHours: 6 } });
  t.same(json(ok), { url, refreshHours: 6 });

  const r = await f.call('POST', '/api/epg/refresh', { cookie: f.cookies.operator });
  t.equal(r.statusCode, 200, r.body);
  t.equal(json(r).report.programmesKept, 5, 'the feed imported');
  t.equal(json(r).report.source, url);
  const st = json(await f.call('GET', '/api/epg', { cookie: f.cookies.viewer }));
  t.equal(st.settings.url, url);
  t.equal(st.lastImport.source, url);
  t.same(st.coverage.withoutTvgId, [3], 'channel 3 has no tvgId');
  t.same(st.coverage.withoutGuide, [], 'both others have a guide');

  status = 404;
  const fail = await f.call('POST', '/api/epg/refresh', { cookie: f.cookies.operator });
  t.equal(fail.statusCode, 422);
  t.match(json(fail).message, /answered HTTP 404/);
  t.match(json(await f.call('GET', '/api/epg', { cookie: f.cookies.viewer })).lastRefreshError, /HTTP 404/, 'the error stays visible');
  t.equal(json(await f.call('GET', '/api/epg/1')).programmes.length > 0, true, 'the guide from before is kept');
});

t.test('public guide: a channel by number or slug with catch-up states; now/next; /epg.xml well-formed with ETag', async (t) => {
  const { f } = await setup(t);
  await f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: xmltv(GUIDE), headers: { 'content-type': 'application/xml' } });
  const g = json(await f.call('GET', `/api/epg/1?from=${new Date(T0 - 7200 * S).toISOString()}&to=${(NOW + 86400 * S) / 1000}`));
  t.equal(g.tvgId, 'news.test');
  t.same(
    g.programmes.map((p: { title: string; catchup: string }) => [p.title, p.catchup]),
    [
      ['Old news', 'expired'],
      ['Morning News & Weather', 'available'],
      ['Live at Noon', 'airing'],
      ['Evening <Show>', 'future'],
    ],
    'each programme with where it stands for catch-up',
  );
  const morning = g.programmes[1];
  t.equal(morning.id, (T0 + 60 * S) / 1000, 'a programme is named by its start (Unix seconds)');
  t.equal(morning.play, `/api/epg/1/${morning.id}/play`);
  t.equal(g.programmes[0].play, null, 'nothing to play for an expired one');
  t.same(json(await f.call('GET', '/api/epg/news?from=' + T0 / 1000)).channel, 1, 'the slug of the name works too');
  t.equal((await f.call('GET', '/api/epg/7')).statusCode, 404);
  t.equal((await f.call('GET', '/api/epg/1?from=yesterday')).statusCode, 400);
  t.equal((await f.call('GET', `/api/epg/1?from=${NOW / 1000}&to=${NOW / 1000 - 60}`)).statusCode, 400, 'to before from: 400');
  t.same(json(await f.call('GET', '/api/epg/3')).programmes, [], 'a channel without tvgId: an empty guide');

  const nn = json(await f.call('GET', '/api/epg/now-next'));
  t.equal(nn.channels['1'].now.title, 'Live at Noon');
  t.equal(nn.channels['1'].next.title, 'Evening <Show>');
  t.equal(nn.channels['2'].now.title, 'Match');
  t.notOk(nn.channels['3'], 'no entry for a channel without a guide');

  const x = await f.call('GET', '/epg.xml');
  t.equal(x.statusCode, 200);
  t.match(x.headers['content-type'], /application\/xml/);
  const parser = new SaxesParser();
  const titles: string[] = [];
  let inTitle = false;
  parser.on('opentag', (tag) => void (inTitle = tag.name === 'title'));
  parser.on('text', (s) => inTitle && titles.push(s));
  parser.on('closetag', () => void (inTitle = false));
  t.doesNotThrow(() => parser.write(x.body).close(), 'well-formed (saxes)');
  t.ok(titles.includes('Evening <Show>') && titles.includes('Morning News & Weather'), 'text escaped and read back');
  t.notOk(x.body.includes('other.test'), 'only the lineup\'s channels');
  t.match(x.body, /<icon src="http:\/\/h\/logos\/1\?v=1"/, 'the channel logo');
  if (spawnSync('sh', ['-c', 'command -v xmllint']).status === 0) {
    const file = join(await mkdtemp(join(tmpdir(), 'roomcast-epgxml-')), 'epg.xml');
    await writeFile(file, x.body);
    t.doesNotThrow(() => execFileSync('xmllint', ['--noout', file], { stdio: 'pipe' }), 'xmllint finds it well-formed');
  } else t.skip('xmllint (libxml2-utils) is not installed');
  const again = await f.call('GET', '/epg.xml', { headers: { 'if-none-match': String(x.headers.etag) } });
  t.equal(again.statusCode, 304, 'unchanged: 304 for its ETag');
});

t.test('catch-up by programme: a redirect to its playlist (VOD once over, EVENT while airing); 404 with the reason otherwise', async (t) => {
  const { f } = await setup(t);
  await f.call('POST', '/api/epg/import', { cookie: f.cookies.operator, payload: xmltv(GUIDE), headers: { 'content-type': 'application/xml' } });
  const id = (ms: number) => ms / 1000;
  const over = await f.call('GET', `/api/epg/1/${id(T0 + 60 * S)}/play`);
  t.equal(over.statusCode, 302);
  t.equal(over.headers.location, `/hls/1/index-${id(T0 + 60 * S)}-60.m3u8`, 'a finished programme: its time range');
  const airing = await f.call('GET', `/api/epg/news/${id(NOW - 60 * S)}/play`);
  t.equal(airing.statusCode, 302);
  t.match(String(airing.headers.location), /^\/hls\/1\/index\.m3u8\?start=.*&end=/, 'airing: start-over to its end');
  for (const [ms, why] of [
    [T0 - 3600 * S, /older than channel 1's archive/],
    [NOW + 3600 * S, /has not been on the air yet/],
    [NOW + 12345 * S, /no programme starting at/],
  ] as const) {
    const r = await f.call('GET', `/api/epg/1/${id(ms)}/play`);
    t.equal(r.statusCode, 404);
    t.match(json(r).message, why);
  }
  t.match(json(await f.call('GET', `/api/epg/2/${id(NOW - 300 * S)}/play`)).message, /keeps no catch-up archive/, 'channel 2 has no recording');
  t.match(json(await f.call('GET', `/api/epg/3/${id(NOW)}/play`)).message, /no tvgId/);
  // The playlist it points to, as the HLS routes serve it, is the programme.
  const lib = (await setup(t)).hls;
  const r = lib.range(1, T0 + 60 * S, T0 + 120 * S);
  const p = HLS.parse((r as { text: string }).text) as HLS.types.MediaPlaylist;
  t.equal(p.segments.length, 30, '60 s of 2 s segments');
});
