/**
 * The VOD library (issue 6 §5) end to end, with real ffmpeg/ffprobe and a
 * real HTTP server: a film dropped in the inbox is remuxed (H.264/AAC) or
 * transcoded (MPEG-2/MP2) with progress; the playlist is checked with a
 * parser (hls-parser) and played by ffmpeg from the server; the poster is a
 * 320-px JPEG; uploads stream through POST /api/vod with a size cap; a
 * garbage file fails with ffprobe's reason and stays; a file still being
 * copied is not taken; a restart indexes the same assets and removes crash
 * leftovers; delete removes the files (and cancels a running job); path
 * traversal is refused and reads nothing outside the library.
 */
import t from 'tap';
import Fastify, { type FastifyInstance } from 'fastify';
import HLS from 'hls-parser';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, copyFile, link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { VodLibrary, type VodAsset } from '../../headend/vod/library.js';
import { registerVod, vodAdminRoutes } from '../../headend/control/vod.js';
import { tempDir } from '../helpers/headend.js';

const execFileP = promisify(execFile);
const CANARY = 'CANARY-outside-the-library-3f9a';

async function ffmpeg(args: string[]): Promise<void> {
  await execFileP('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 60_000 });
}

async function ffprobe(target: string): Promise<{ streams: { codec_type: string; codec_name: string; width?: number; height?: number }[]; format: { duration?: string } }> {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', target], { timeout: 30_000 });
  return JSON.parse(stdout);
}

/** A GET with the path sent as written (new URL() would resolve `..` before it leaves). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, signal: AbortSignal.timeout(10_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** POST a file as a stream (not buffered by the client either). */
function upload(port: number, name: string, file: string, bytes: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, method: 'POST', path: `/api/vod?name=${encodeURIComponent(name)}`, agent: false, signal: AbortSignal.timeout(30_000),
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** Every change the library reports, and a bounded wait for one. */
class Changes {
  readonly seen: VodAsset[] = [];
  private waiters: { test: (a: VodAsset) => boolean; resolve: (a: VodAsset) => void }[] = [];
  push(a: VodAsset): void {
    this.seen.push(a);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(a)) return true;
      w.resolve(a);
      return false;
    });
  }
  /** The first change (past or future) that passes `test`, within `timeoutMs`. */
  async wait(test: (a: VodAsset) => boolean, timeoutMs: number, what: string): Promise<VodAsset> {
    const past = this.seen.find(test);
    if (past) return past;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<VodAsset>((resolve) => this.waiters.push({ test, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms (seen: ${this.seen.map((a) => `${a.sourceName}:${a.state}`).join(', ')})`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
  done(sourceName: string, timeoutMs = 30_000): Promise<VodAsset> {
    return this.wait((a) => a.sourceName === sourceName && (a.state === 'ready' || a.state === 'failed'), timeoutMs, `end of the job of ${sourceName}`);
  }
}

/** ffmpeg plays the URL to the null muxer; the position it reached, s, and what it printed on stderr. */
async function play(url: string): Promise<{ durationS: number; stderr: string }> {
  const { stdout, stderr } = await execFileP('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-i', url, '-map', '0', '-f', 'null', '-', '-progress', 'pipe:1'], { timeout: 60_000 });
  const times = [...stdout.matchAll(/^out_time_us=(\d+)$/gm)].map((m) => Number(m[1]));
  return { durationS: (times.at(-1) ?? 0) / 1e6, stderr };
}

t.test('VOD library: inbox and upload → HLS, served, played, deleted, restarted; traversal refused', { timeout: 180_000 }, async (t) => {
  const root = await tempDir('roomcast-vod-');
  const src = join(root, 'src');
  const dir = join(root, 'library');
  const inbox = join(dir, 'inbox');
  await mkdir(src);
  await writeFile(join(root, 'secret.txt'), CANARY);

  // Inputs, each a few seconds of small video: H.264/AAC MP4 with a title tag (keyframe every second),
  // MPEG-2 + MP2 in MPEG-PS (a DVD-style file), a TS to copy slowly, random bytes named .mp4.
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=9', '-f', 'lavfi', '-i', 'sine=f=440:d=9:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-metadata', 'title=Test Film: Remux', '-shortest', join(src, 'film.mp4'),
  ]);
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25:d=10', '-f', 'lavfi', '-i', 'sine=f=220:d=10:sample_rate=48000',
    '-c:v', 'mpeg2video', '-b:v', '2M', '-c:a', 'mp2', '-shortest', '-f', 'vob', join(src, 'old_sport.mpg'),
  ]);
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-f', 'lavfi', '-i', 'sine=f=330:d=4:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-shortest', '-f', 'mpegts', join(src, 'slow.ts'),
  ]);
  await writeFile(join(src, 'x.mp4'), Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 2654435761) >>> 24)));

  const changes = new Changes();
  const logs: string[] = [];
  const options = { dir, scanIntervalMs: 200, settleMs: 500, log: (level: string, m: string) => void logs.push(`${level} ${m}`), onChange: (a: VodAsset) => changes.push(a) };
  let lib = new VodLibrary(options);
  await lib.start();
  t.teardown(() => lib.close());

  // The server: the public routes and the admin plugin in a bare fastify (the admin API's login is tested with it).
  const serve = async (l: VodLibrary): Promise<{ app: FastifyInstance; port: number; base: string }> => {
    const a = Fastify();
    registerVod(a, l);
    await a.register(vodAdminRoutes, { lib: l, maxUploadBytes: 64 * 1024 * 1024 });
    await a.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => a.close());
    const p = (a.server.address() as AddressInfo).port;
    return { app: a, port: p, base: `http://127.0.0.1:${p}` };
  };
  let { app, port, base } = await serve(lib);
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const bodies: Buffer[] = [];
  const get = async (path: string, headers?: Record<string, string>) => {
    const r = await rawGet(port, path, headers);
    bodies.push(r.body);
    return r;
  };

  const checkPlaylist = async (id: string, sourceFile: string): Promise<HLS.types.MediaPlaylist> => {
    const r = await get(`/vod/${id}/index.m3u8`);
    t.equal(r.status, 200, `${id}: playlist served`);
    t.equal(r.headers['content-type'], 'application/vnd.apple.mpegurl');
    const p = HLS.parse(r.body.toString('utf8')) as HLS.types.MediaPlaylist;
    t.equal(p.isMasterPlaylist, false, 'a media playlist');
    t.equal(p.playlistType, 'VOD', 'EXT-X-PLAYLIST-TYPE:VOD');
    t.equal(p.endlist, true, 'EXT-X-ENDLIST');
    t.ok(p.segments.length >= 2, `${p.segments.length} segments`);
    for (const s of p.segments) if (Math.round(s.duration) > p.targetDuration) t.fail(`${s.uri} lasts ${s.duration} s, over the target (RFC 8216 §4.3.3.1)`);
    const sum = p.segments.reduce((a, s) => a + s.duration, 0);
    const sourceS = Number((await ffprobe(join(src, sourceFile))).format.duration);
    t.ok(Math.abs(sum - sourceS) <= 4, `segments last ${sum.toFixed(2)} s, the source ${sourceS.toFixed(2)} s (± one 4-s segment)`);
    return p;
  };

  await t.test('an H.264/AAC MP4 dropped in the inbox is remuxed, served, played, with a 320-px poster', async (t) => {
    // A hard link: the file appears whole at once, and the test keeps the inode (restart test below).
    await link(join(src, 'film.mp4'), join(inbox, 'film.mp4'));
    const a = await changes.done('film.mp4');
    t.equal(a.state, 'ready', a.error ?? 'ready');
    t.match(a, { id: 'film', title: 'Test Film: Remux', mode: 'remux', video: 'h264 320x240', audio: /^aac 48000 Hz/, progress: 100 });
    t.ok(Math.abs(a.durationS! - 9) < 0.1, `duration ${a.durationS} s`);
    t.notOk(existsSync(join(inbox, 'film.mp4')), 'the source left the inbox (the package is the copy)');
    t.same((await readdir(join(dir, 'assets', 'film'))).filter((n) => !/^seg\d{5}\.ts$/.test(n)).sort(), ['index.m3u8', 'meta.json', 'poster.jpg']);

    const p = await checkPlaylist('film', 'film.mp4');
    const seg = await get(`/vod/film/${p.segments[0].uri}`);
    t.equal(seg.status, 200);
    t.equal(seg.headers['content-type'], 'video/mp2t');
    t.match(seg.headers['cache-control'], /immutable/);
    t.equal(seg.body[0], 0x47, 'a TS segment');
    const probe = await ffprobe(`${base}/vod/film/${p.segments[0].uri}`);
    t.same(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'the segment is H.264 + AAC, copied');
    const range = await get(`/vod/film/${p.segments[0].uri}`, { range: 'bytes=188-375' });
    t.equal(range.status, 206, 'byte ranges');
    t.same(range.body, seg.body.subarray(188, 376));

    const played = await play(`${base}/vod/film/index.m3u8`);
    t.equal(played.stderr, '', 'ffmpeg decodes it without an error');
    t.ok(Math.abs(played.durationS - 9) < 0.5, `ffmpeg played ${played.durationS.toFixed(2)} s of 9`);

    const poster = await get('/vod/film/poster.jpg');
    t.equal(poster.status, 200);
    t.equal(poster.headers['content-type'], 'image/jpeg');
    t.same([...poster.body.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG (SOI marker)');
    const pp = await ffprobe(`${base}/vod/film/poster.jpg`);
    t.equal(pp.streams[0].width, 320, 'poster 320 px wide');
    t.equal(pp.streams[0].height, 240, 'aspect ratio kept');
  });

  await t.test('MPEG-2 video with MP2 audio is transcoded to H.264/AAC, with progress between 0 and 100', async (t) => {
    await copyFile(join(src, 'old_sport.mpg'), join(inbox, 'old_sport.mpg'));
    const a = await changes.done('old_sport.mpg', 60_000);
    t.equal(a.state, 'ready', a.error ?? 'ready');
    t.match(a, { id: 'old-sport', title: 'old sport', mode: 'transcode', video: 'h264 640x360', audio: /^aac/ });
    const progress = changes.seen.filter((c) => c.id === 'old-sport' && c.state === 'packaging').map((c) => c.progress);
    t.ok(progress.some((v) => v !== null && v > 0 && v < 99), `progress seen while packaging: ${progress.join(', ')}`);
    t.same(progress, [...progress].sort((x, y) => x! - y!), 'progress never goes back');
    const p = await checkPlaylist('old-sport', 'old_sport.mpg');
    const probe = await ffprobe(`${base}/vod/old-sport/${p.segments[1].uri}`);
    t.same(probe.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const played = await play(`${base}/vod/old-sport/index.m3u8`);
    t.equal(played.stderr, '');
    t.ok(Math.abs(played.durationS - 10) < 0.5, `ffmpeg played ${played.durationS.toFixed(2)} s of 10`);
  });

  await t.test('an upload through POST /api/vod is streamed to the inbox and packaged', async (t) => {
    const bytes = (await stat(join(src, 'film.mp4'))).size;
    const r = await upload(port, 'C:\\Users\\it\\Desktop\\Mon Film é.mp4', join(src, 'film.mp4'), bytes);
    t.equal(r.status, 202, JSON.stringify(r.body));
    t.match(r.body, { id: 'mon-film-e', sourceName: 'Mon Film é.mp4', state: /^(queued|packaging)$/, playlist: null });
    const a = await changes.done('Mon Film é.mp4');
    t.equal(a.state, 'ready', a.error ?? 'ready');
    const one = await app.inject({ method: 'GET', url: '/api/vod/mon-film-e' });
    t.equal(one.statusCode, 200);
    t.match(one.json(), { id: 'mon-film-e', state: 'ready', mode: 'remux', playlist: '/vod/mon-film-e/index.m3u8', poster: /^\/vod\/mon-film-e\/poster\.jpg\?v=/ });
    // The same name again: a second inbox file and a second id, nothing overwritten.
    const again = await upload(port, 'Mon Film é.mp4', join(src, 'film.mp4'), bytes);
    t.match(again.body, { id: 'mon-film-e-2' });
    t.equal((await changes.done(again.body.sourceName)).state, 'ready');

    const wrongType = await app.inject({ method: 'POST', url: '/api/vod?name=a.mp4', headers: { 'content-type': 'application/json' }, payload: '{}' });
    t.equal(wrongType.statusCode, 415);
    t.match(wrongType.json(), { code: 'ROOMCAST_ERR_UNSUPPORTED_MEDIA_TYPE', message: /application\/octet-stream/ });
    const noName = await app.inject({ method: 'POST', url: '/api/vod', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(10) });
    t.equal(noName.statusCode, 400);
  });

  await t.test('an upload over the cap is refused and leaves nothing in the inbox', async (t) => {
    const small = Fastify();
    await small.register(vodAdminRoutes, { lib, maxUploadBytes: 1000 });
    t.teardown(() => small.close());
    const declared = await small.inject({ method: 'POST', url: '/api/vod?name=big.mp4', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(5000) });
    t.equal(declared.statusCode, 413, 'Content-Length over the cap: refused before reading');
    t.match(declared.json(), { code: 'ROOMCAST_ERR_BODY_TOO_LARGE', message: /5000 bytes, more than the 1000/ });
    // Chunked (no Content-Length): the byte count stops it.
    const chunks = Readable.from((function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(400, i);
    })());
    const chunked = await small.inject({ method: 'POST', url: '/api/vod?name=big.mp4', headers: { 'content-type': 'video/mp4' }, payload: chunks });
    t.equal(chunked.statusCode, 413);
    t.match(chunked.json(), { code: 'ROOMCAST_ERR_BODY_TOO_LARGE', message: /larger than 1000 bytes/ });
    // Over a real connection: the 413 still arrives (the request stream is not destroyed under it).
    await small.listen({ host: '127.0.0.1', port: 0 });
    const smallPort = (small.server.address() as AddressInfo).port;
    const real = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: smallPort, method: 'POST', path: '/api/vod?name=big.mp4', agent: false, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000) }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write(Buffer.alloc(400, i));
      req.end();
    });
    t.equal(real.status, 413, real.body);
    // A client that goes away half-way: the partial file goes too.
    const refusedBefore = lib.counters.uploadsRefused;
    const aborted = request({ host: '127.0.0.1', port: smallPort, method: 'POST', path: '/api/vod?name=cut.mp4', agent: false, headers: { 'content-type': 'application/octet-stream' } });
    aborted.on('error', () => {});
    aborted.write(Buffer.alloc(300));
    await sleep(100);
    aborted.destroy();
    for (const until = Date.now() + 5000; lib.counters.uploadsRefused === refusedBefore && Date.now() < until; ) await sleep(20);
    t.equal(lib.counters.uploadsRefused, refusedBefore + 1, 'the cut upload was counted as refused');
    t.same((await readdir(inbox)).filter((n) => n.startsWith('.upload-') || n.startsWith('big') || n.startsWith('cut')), [], 'no partial file left');
    t.notOk(lib.list().some((a) => a.sourceName.startsWith('big')));
  });

  await t.test('a garbage file fails with ffprobe\'s reason, stays in the inbox, and is retried only once it changes', async (t) => {
    await copyFile(join(src, 'x.mp4'), join(inbox, 'x.mp4'));
    const a = await changes.done('x.mp4');
    t.equal(a.state, 'failed');
    t.match(a.error, /^ffprobe cannot read it: .*x\.mp4: Invalid data found when processing input/);
    t.notMatch(a.error, new RegExp(root), 'the error names the file, not the server\'s path');
    t.ok(existsSync(join(inbox, 'x.mp4')), 'kept in the inbox: nothing lost');
    const list = (await app.inject({ method: 'GET', url: '/api/vod' })).json().assets as VodAsset[];
    t.match(list.find((x) => x.id === 'x'), { state: 'failed', error: /Invalid data/ });
    const failures = lib.counters.failed;
    // Several scans (every 200 ms) of an unchanged file: no new attempt.
    await sleep(1200);
    t.equal(lib.counters.failed, failures, 'not retried while unchanged');
    await appendFile(join(inbox, 'x.mp4'), Buffer.alloc(1000, 7));
    await changes.wait((c) => c.sourceName === 'x.mp4' && c.state === 'failed' && lib.counters.failed > failures, 10_000, 'a second attempt after the change');
    t.equal(lib.counters.failed, failures + 1, 'retried once after it changed');
    await app.inject({ method: 'DELETE', url: '/api/vod/x' });
    t.notOk(existsSync(join(inbox, 'x.mp4')), 'deleting a failed asset removes its source');
  });

  await t.test('a file still being copied is not taken until it stops growing', async (t) => {
    const data = await readFile(join(src, 'slow.ts'));
    const piece = Math.ceil(data.length / 10);
    // A slow copy: a piece every 150 ms (under the 500-ms settle time) for 1.5 s.
    for (let i = 0; i < 10; i++) {
      await appendFile(join(inbox, 'slow.ts'), data.subarray(i * piece, (i + 1) * piece));
      t.notOk(changes.seen.some((c) => c.sourceName === 'slow.ts'), `not taken after piece ${i + 1} of 10`);
      await sleep(150);
    }
    const a = await changes.done('slow.ts');
    t.equal(a.state, 'ready', a.error ?? 'ready');
    t.ok(Math.abs(a.durationS! - 4) < 0.2, `the whole file was packaged (${a.durationS} s of 4)`);
  });

  await t.test('path traversal and invalid names are refused and read nothing outside the library', async (t) => {
    const paths = [
      '/vod/../secret.txt',
      '/vod/../../etc/passwd',
      '/vod/..%2f..%2fetc/index.m3u8',
      '/vod/..%2f..%2fsecret.txt/x',
      '/vod/%2e%2e/index.m3u8',
      '/vod/%2e%2e/secret.txt',
      '/vod/film/..%2f..%2f..%2fsecret.txt',
      '/vod/film/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt',
      '/vod/film/meta.json',
      '/vod/film/..%5c..%5csecret.txt',
      '/vod/a%5c..%5csecret/index.m3u8',
      '/vod/film%00/index.m3u8',
      '/vod/film/poster.jpg%00.ts',
      '/vod/FILM/index.m3u8',
      `/vod/${'a'.repeat(300)}/index.m3u8`,
      `/vod/${'a'.repeat(60)}/index.m3u8`,
      '/api/vod/..%2f..%2fetc',
      '/api/vod/%2e%2e',
    ];
    for (const p of paths) {
      const r = await get(p);
      // 414 URI Too Long: fastify's answer to a parameter over its maxParamLength (100), before any route runs.
      t.ok(r.status === 404 || r.status === 400 || r.status === 414, `${p}: ${r.status}`);
    }
    const refused = await get('/vod/%2e%2e/index.m3u8');
    t.match(JSON.parse(refused.body.toString('utf8')), { statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', message: /"\.\." is refused: not a valid asset name/ });
    const unknown = await get('/vod/no-such-film/index.m3u8');
    t.match(JSON.parse(unknown.body.toString('utf8')), { statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', message: /there is no VOD asset "no-such-film"/ });
    for (const url of ['/api/vod/%2e%2e', '/api/vod/..%2f..%2finbox', '/api/vod/..%5c..']) {
      const d = await app.inject({ method: 'DELETE', url });
      t.equal(d.statusCode, 404, `DELETE ${url}`);
    }
    t.ok(existsSync(join(dir, 'assets', 'film', 'index.m3u8')) && existsSync(inbox), 'the library is intact');
    const leaked = bodies.filter((b) => b.includes(CANARY) || b.includes('root:x:0:0') || b.includes('"sourceMtimeMs"'));
    t.equal(leaked.length, 0, 'no response holds a file from outside the package');
  });

  await t.test('DELETE of a film being packaged kills the job and removes its work directory and source', async (t) => {
    await copyFile(join(src, 'old_sport.mpg'), join(inbox, 'cancel_me.mpg'));
    await changes.wait((c) => c.sourceName === 'cancel_me.mpg' && c.state === 'packaging' && (c.progress ?? 0) > 0, 30_000, 'progress of cancel_me.mpg');
    const d = await app.inject({ method: 'DELETE', url: '/api/vod/cancel-me' });
    t.equal(d.statusCode, 204);
    t.same((await readdir(join(dir, 'assets'))).filter((n) => n.includes('cancel-me')), [], 'no work directory, no package');
    t.notOk(existsSync(join(inbox, 'cancel_me.mpg')), 'the source is removed');
    t.equal((await app.inject({ method: 'GET', url: '/api/vod/cancel-me' })).statusCode, 404);
    t.notOk(changes.seen.some((c) => c.sourceName === 'cancel_me.mpg' && (c.state === 'ready' || c.state === 'failed')), 'the job neither published nor failed');
  });

  await t.test('DELETE removes the directory and the entry', async (t) => {
    const d = await app.inject({ method: 'DELETE', url: '/api/vod/mon-film-e-2' });
    t.equal(d.statusCode, 204);
    t.notOk(existsSync(join(dir, 'assets', 'mon-film-e-2')), 'directory gone');
    t.equal((await get('/vod/mon-film-e-2/index.m3u8')).status, 404);
    t.equal((await app.inject({ method: 'GET', url: '/api/vod/mon-film-e-2' })).statusCode, 404);
    t.equal((await app.inject({ method: 'DELETE', url: '/api/vod/mon-film-e-2' })).statusCode, 404, 'twice: not found');
  });

  await t.test('a restart indexes the same assets and removes the leftovers of a crash', async (t) => {
    const before = lib.list().filter((a) => a.state === 'ready');
    await lib.close();
    // Leftovers: an unfinished package, a partial upload, and a published film's source (a crash between publish and delete).
    await mkdir(join(dir, 'assets', '.work-half'));
    await writeFile(join(dir, 'assets', '.work-half', 'seg00000.ts'), Buffer.alloc(188, 0x47));
    await writeFile(join(inbox, '.upload-0123456789abcdef'), Buffer.alloc(100));
    await link(join(src, 'film.mp4'), join(inbox, 'film.mp4'));
    lib = new VodLibrary(options);
    await lib.start();
    ({ app, port, base } = await serve(lib));
    t.same(lib.list().filter((a) => a.state === 'ready'), before, 'the same assets, from their meta.json');
    t.notOk(existsSync(join(dir, 'assets', '.work-half')), 'the unfinished package is removed');
    t.same(await readdir(inbox), [], 'the partial upload and the already-packaged source are removed');
    t.equal((await get('/vod/film/index.m3u8')).status, 200, 'served after the restart');
    t.equal((await play(`${base}/vod/old-sport/index.m3u8`)).stderr, '');
  });
});
