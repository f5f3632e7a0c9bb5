/**
 * The routes the admin UI needs beyond the lineup CRUD: bulk multicast
 * assignment from a pool, the settings the UI validates with, a channel's
 * events, thumbnail and SDP, and viewers per channel in the status.
 */
import t from 'tap';
import type { AdminApiOptions } from '../../../../headend/control/admin-api.js';
import { ThumbnailError, type Thumbnails } from '../../../../headend/control/thumbnail.js';
import { join } from 'node:path';
import { FIXTURES } from '../../../helpers/headend.js';
import { adminFixture } from './fixtures.js';

function json(res: { body: string }): any {
  return JSON.parse(res.body);
}

t.test('assign-multicast: the next free addresses of the pool, in number order, skipping those others use', async (t) => {
  const f = await adminFixture(t);
  // Channel 3 takes .2 of the pool first: 1 and 2 must skip it.
  const c3 = json(await f.call('GET', '/api/channels/3', { cookie: f.cookies.operator }));
  const put = await f.call('PUT', '/api/channels/3', { cookie: f.cookies.operator, body: { ...c3, multicast: { group: '239.255.10.2', port: 5000 } } });
  t.equal(put.statusCode, 200);
  f.changes.length = 0;
  const res = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [2, 1] } });
  t.equal(res.statusCode, 200, res.body);
  const body = json(res);
  t.same(
    body.channels.map((c: any) => [c.number, `${c.multicast.group}:${c.multicast.port}`]),
    [
      [1, '239.255.10.1:5000'],
      [2, '239.255.10.3:5000'],
    ],
    'default pool 239.255.10.0/24 port 5000; .0 is not used, .2 belongs to channel 3',
  );
  t.same(body.changed, [1, 2]);
  t.same(f.changes.at(-1)?.changed, [1, 2], 'only the reassigned channels are applied (restarted)');
  t.equal(f.store.channels.get(3)!.config.multicast.group, '239.255.10.2', 'channel 3 kept its address');
  const audit = f.store.audit.list({ limit: 1 })[0];
  t.equal(audit.action, 'channel.assign-multicast');
  t.match(audit.detail, { pool: '239.255.10.0/24', port: 5000, assigned: { 1: '239.255.10.1', 2: '239.255.10.3' } });

  // Again: every channel already has its address: nothing restarts.
  f.changes.length = 0;
  const again = json(await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1, 2] } }));
  t.same(again.changed, [], 'assigning the same addresses again changes nothing');
  t.equal(f.changes.length, 0);
});

t.test('assign-multicast refuses a pool too small, a pool that is not multicast, unknown channels and viewers — changing nothing', async (t) => {
  const f = await adminFixture(t);
  const before = JSON.stringify(f.store.channels.list().map((c) => c.config.multicast));
  const small = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1, 2, 3], pool: '239.255.20.0/30', port: 6000 } });
  t.equal(small.statusCode, 409);
  t.equal(json(small).code, 'ROOMCAST_ERR_POOL_EXHAUSTED');
  t.match(json(small).message, /239\.255\.20\.0\/30 port 6000 has too few free addresses for 3 channels/);
  const unicast = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1], pool: '10.0.0.0/24' } });
  t.equal(unicast.statusCode, 400);
  t.match(json(unicast).problems, [{ message: /10\.0\.0\.0\/24 is not an IPv4 multicast network/ }]);
  const link = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1], pool: '224.0.0.0/24' } });
  t.equal(link.statusCode, 400, 'the link-local block 224.0.0.0/24 is refused by the channel validator');
  const unknown = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1, 77] } });
  t.equal(unknown.statusCode, 404);
  t.match(json(unknown).message, /no channel 77/);
  const badPort = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1], port: 70000 } });
  t.equal(badPort.statusCode, 400);
  t.match(json(badPort).problems, [{ path: 'body.port' }]);
  const dup = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1, 1] } });
  t.equal(dup.statusCode, 400, 'a channel listed twice is refused');
  const viewer = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.viewer, body: { channels: [1] } });
  t.equal(viewer.statusCode, 403);
  const csrf = await f.call('POST', '/api/channels/assign-multicast', { cookie: f.cookies.operator, body: { channels: [1] }, origin: 'http://evil.example' });
  t.equal(csrf.statusCode, 403);
  t.equal(json(csrf).code, 'ROOMCAST_ERR_CSRF');
  t.equal(JSON.stringify(f.store.channels.list().map((c) => c.config.multicast)), before, 'nothing changed');
  t.equal(f.changes.length, 0);
});

t.test('settings: what the UI validates with, for any logged-in role, nothing secret', async (t) => {
  const f = await adminFixture(t, { fleetKey: 'a-fleet-key-of-20-chars' });
  t.equal((await f.call('GET', '/api/settings')).statusCode, 401);
  const res = await f.call('GET', '/api/settings', { cookie: f.cookies.viewer });
  t.equal(res.statusCode, 200);
  t.same(json(res), { interface: '127.0.0.1', httpPort: 8080, https: false, fcc: true, multicastPool: '239.255.10.0/24', multicastPort: 5000, hls: false, vod: false });
  t.notMatch(res.body, /fleet/);
});

t.test('events, SDP and thumbnail of a channel', async (t) => {
  const thumbs = {
    get: async (n: number) => {
      if (n === 1) return { jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), atMs: 1_700_000_000_000 };
      throw new ThumbnailError('ROOMCAST_ERR_NO_PICTURE', `channel ${n} has no picture yet`);
    },
  } as unknown as Thumbnails;
  const o: Partial<AdminApiOptions> = {
    events: (n) => (n === 1 ? [{ atMs: 1_700_000_000_000, kind: 'switch', message: 'primary → backup 1: silent 300 ms' }] : []),
    sdp: (n) => (n === 1 ? 'v=0\r\ns=News\r\n' : null),
    thumbnails: thumbs,
  };
  const f = await adminFixture(t, o);
  const ev = await f.call('GET', '/api/channels/1/events', { cookie: f.cookies.viewer });
  t.same(json(ev), { events: [{ at: '2023-11-14T22:13:20.000Z', kind: 'switch', message: 'primary → backup 1: silent 300 ms' }] });
  t.equal((await f.call('GET', '/api/channels/99/events', { cookie: f.cookies.viewer })).statusCode, 404);
  t.equal((await f.call('GET', '/api/channels/1/events')).statusCode, 401);

  const sdp = await f.call('GET', '/api/channels/1/sdp', { cookie: f.cookies.viewer });
  t.equal(sdp.statusCode, 200);
  t.match(sdp.headers['content-type'], /^application\/sdp/);
  t.match(sdp.headers['content-disposition'], /filename="1\.sdp"/);
  t.equal(sdp.body, 'v=0\r\ns=News\r\n');
  const noSdp = await f.call('GET', '/api/channels/2/sdp', { cookie: f.cookies.viewer });
  t.equal(noSdp.statusCode, 404);
  t.match(json(noSdp).message, /not an enabled RTP channel/);

  const jpg = await f.call('GET', '/api/channels/1/thumbnail.jpg', { cookie: f.cookies.viewer });
  t.equal(jpg.statusCode, 200);
  t.equal(jpg.headers['content-type'], 'image/jpeg');
  t.same([...jpg.rawPayload.subarray(0, 2)], [0xff, 0xd8]);
  const none = await f.call('GET', '/api/channels/2/thumbnail.jpg', { cookie: f.cookies.viewer });
  t.equal(none.statusCode, 404);
  t.same(json(none), { statusCode: 404, code: 'ROOMCAST_ERR_NO_PICTURE', error: 'Not Found', message: 'channel 2 has no picture yet' });
  t.equal((await f.call('GET', '/api/channels/1/thumbnail.jpg')).statusCode, 401, 'pictures need a login too');
});

t.test('without thumbnails (no ffmpeg wiring) the route says so', async (t) => {
  const f = await adminFixture(t);
  const res = await f.call('GET', '/api/channels/1/thumbnail.jpg', { cookie: f.cookies.viewer });
  t.equal(res.statusCode, 404);
  t.match(json(res).message, /thumbnails are off/);
});

t.test('status counts viewers per channel from recent STB reports', async (t) => {
  let now = Date.now();
  const f = await adminFixture(t, { now: () => now });
  const report = (agentId: string, channel: number | null) =>
    f.store.stbs.record({ agentId, label: null, ip: '10.0.0.1', channel, report: { agentId } });
  report('a', 1);
  report('b', 1);
  report('c', 3);
  report('d', null);
  const s = json(await f.call('GET', '/api/status', { cookie: f.cookies.viewer }));
  t.same(s.viewers, { 1: 2, 3: 1 }, 'idle agents watch nothing');
  t.equal(s.channels.length, 3);
  // Reports older than 5 minutes do not count (the fleet is re-read at most every 5 s).
  now += 6 * 60_000;
  const later = json(await f.call('GET', '/api/status', { cookie: f.cookies.viewer }));
  t.same(later.viewers, {}, 'agents silent for 5 minutes are not viewers');
});

t.test('a file input whose file is missing or not a file is refused at save time, naming it; the headend keeps what it had', async (t) => {
  const f = await adminFixture(t);
  const doc = (path: string) => ({ number: 20, name: 'Loop', multicast: { group: '239.255.1.20', port: 5000 }, source: { type: 'file', path } });
  const missing = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: doc('/nonexistent/loop.ts') });
  t.equal(missing.statusCode, 400);
  t.same(json(missing).problems, [{ path: 'channel.source.path', message: '/nonexistent/loop.ts does not exist on the headend' }]);
  const dir = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: doc(FIXTURES) });
  t.same(json(dir).problems, [{ path: 'channel.source.path', message: `${FIXTURES} is not a file` }]);
  t.equal(f.store.channels.get(20), null, 'nothing saved');
  t.equal(f.changes.length, 0, 'nothing applied');
  const ok = await f.call('POST', '/api/channels', { cookie: f.cookies.operator, body: doc(join(FIXTURES, 'h264-aac-1s-gop.ts')) });
  t.equal(ok.statusCode, 201, 'a readable file is taken');
  // A backup input's path is named by its index.
  const c1 = json(await f.call('GET', '/api/channels/1', { cookie: f.cookies.operator }));
  const put = await f.call('PUT', '/api/channels/1', { cookie: f.cookies.operator, body: { ...c1, source: undefined, inputs: [c1.source, { type: 'file', path: '/nonexistent/backup.ts' }] } });
  t.same(json(put).problems, [{ path: 'channel.inputs[1].path', message: '/nonexistent/backup.ts does not exist on the headend' }]);
});

t.test('GET /api/channels is made once per lineup state: an ETag, 304 on revalidation, and every change shows at once', async (t) => {
  const f = await adminFixture(t);
  const a = await f.call('GET', '/api/channels', { cookie: f.cookies.viewer });
  t.equal(a.statusCode, 200);
  t.match(a.headers['content-type'], /^application\/json/);
  const etag = String(a.headers.etag);
  t.match(etag, /^"lineup-\d+-3-0-0"$/, 'the lineup state: channels (max version, count) and logos (count, last change)');
  t.notMatch(a.body, /TEST-passphrase/, 'the cached body is the masked one');
  const b = await f.call('GET', '/api/channels', { cookie: f.cookies.operator });
  t.equal(b.body, a.body, 'the same lineup: the same body');
  const c = await f.call('GET', '/api/channels', { cookie: f.cookies.viewer, headers: { 'if-none-match': etag } });
  t.equal(c.statusCode, 304);
  t.equal(c.body, '');
  t.equal((await f.call('GET', '/api/channels', { headers: { 'if-none-match': etag } })).statusCode, 401, 'the ETag does not bypass the login');

  const ch1 = JSON.parse(a.body).channels[0];
  await f.call('PUT', '/api/channels/1', { cookie: f.cookies.operator, body: { ...ch1, name: 'News 24' } });
  const d = await f.call('GET', '/api/channels', { cookie: f.cookies.viewer, headers: { 'if-none-match': etag } });
  t.equal(d.statusCode, 200, 'after an edit the old ETag no longer matches');
  t.equal(JSON.parse(d.body).channels[0].name, 'News 24');
  await f.call('DELETE', `/api/channels/2?version=${JSON.parse(d.body).channels[1].version}`, { cookie: f.cookies.operator });
  const e = JSON.parse((await f.call('GET', '/api/channels', { cookie: f.cookies.viewer })).body);
  t.same(e.channels.map((x: { number: number }) => x.number), [1, 3], 'a delete shows at once');
  await f.call('POST', '/api/channels/reorder', { cookie: f.cookies.operator, body: { moves: [[1, 2]] } });
  const g = JSON.parse((await f.call('GET', '/api/channels', { cookie: f.cookies.viewer })).body);
  t.same(g.channels.map((x: { number: number }) => x.number), [2, 3], 'and a renumbering');
});

const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

t.test('logos: an operator uploads a PNG; anyone may fetch it (players show it); the lineup names its URL', async (t) => {
  const f = await adminFixture(t);
  const put = (cookie: string | null, payload: Buffer, type: string, origin?: string | null) =>
    f.call('PUT', '/api/channels/2/logo', { cookie, payload, headers: { 'content-type': type }, ...(origin !== undefined ? { origin } : {}) });
  const ok = await put(f.cookies.operator, PNG_1X1, 'image/png');
  t.equal(ok.statusCode, 200, ok.body);
  const url = json(ok).logo as string;
  t.match(url, /^\/logos\/2\?v=\d+$/);
  const list = json(await f.call('GET', '/api/channels', { cookie: f.cookies.viewer }));
  t.same(list.channels.map((c: { logo: string | null }) => c.logo), [null, url, null], 'GET /api/channels shows the new logo at once');

  const img = await f.call('GET', url);
  t.equal(img.statusCode, 200, 'fetched without a login');
  t.equal(img.headers['content-type'], 'image/png');
  t.equal(img.headers['content-security-policy'], "default-src 'none'");
  t.equal(img.headers['x-content-type-options'], 'nosniff');
  t.ok(img.rawPayload.equals(PNG_1X1), 'the very bytes');
  t.equal((await f.call('GET', '/logos/2', { headers: { 'if-none-match': String(img.headers.etag) } })).statusCode, 304);
  t.equal((await f.call('GET', '/logos/1')).statusCode, 404);

  // A channel body sent back with its read-only `logo` key is taken (the key is ignored).
  const ch2 = list.channels[1];
  t.equal((await f.call('PUT', '/api/channels/2', { cookie: f.cookies.operator, body: { ...ch2, name: 'Sports HD' } })).statusCode, 200);
  t.equal(f.store.audit.list({ limit: 2 })[1].action, 'channel.logo', 'the upload is in the audit log');

  const del = await f.call('DELETE', '/api/channels/2/logo', { cookie: f.cookies.operator });
  t.equal(del.statusCode, 204);
  t.equal((await f.call('GET', '/logos/2')).statusCode, 404, 'removed');
});

t.test('logos refused: another type, bytes that are not what they claim, too large, a viewer, a foreign origin, no channel', async (t) => {
  const f = await adminFixture(t);
  const put = (c: { cookie?: string | null; payload: Buffer; type: string; origin?: string | null; n?: number }) =>
    f.call('PUT', `/api/channels/${c.n ?? 1}/logo`, { cookie: c.cookie === undefined ? f.cookies.operator : c.cookie, payload: c.payload, headers: { 'content-type': c.type }, ...(c.origin !== undefined ? { origin: c.origin } : {}) });
  const svg = await put({ payload: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), type: 'image/svg+xml' });
  t.equal(svg.statusCode, 415, 'SVG (it can carry script) is not taken');
  t.match(json(svg).message, /image\/png, image\/jpeg, image\/webp/);
  const lie = await put({ payload: Buffer.from('<html>not an image</html>'), type: 'image/png' });
  t.equal(lie.statusCode, 400);
  t.match(json(lie).problems, [{ message: /not a PNG, JPEG or WebP image/ }]);
  const mismatch = await put({ payload: PNG_1X1, type: 'image/jpeg' });
  t.equal(mismatch.statusCode, 400);
  t.match(json(mismatch).problems, [{ message: /the file is image\/png, not image\/jpeg/ }]);
  const big = await put({ payload: Buffer.concat([PNG_1X1, Buffer.alloc(300 * 1024)]), type: 'image/png' });
  t.equal(big.statusCode, 413);
  t.equal((await put({ cookie: f.cookies.viewer, payload: PNG_1X1, type: 'image/png' })).statusCode, 403);
  t.equal((await put({ cookie: null, payload: PNG_1X1, type: 'image/png' })).statusCode, 401);
  t.equal((await put({ payload: PNG_1X1, type: 'image/png', origin: 'http://evil.example' })).statusCode, 403);
  t.equal((await put({ payload: PNG_1X1, type: 'image/png', n: 77 })).statusCode, 404);
  t.same([...f.store.logos.list().keys()], [], 'nothing stored');
});
