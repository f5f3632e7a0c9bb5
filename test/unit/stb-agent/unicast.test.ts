/**
 * The agent's catch-up/VOD playback (stb-agent/unicast.ts) against a real
 * HTTP server holding a playlist ffmpeg's HLS muxer made from a fixture:
 * what reaches the output starts PAT, PMT, I-frame and is the segments in
 * order (ffmpeg decodes it); it is paced by the segments' durations; an
 * EVENT playlist is followed as it grows; a segment that cannot be fetched
 * is skipped after retries; a missing playlist is an error with the
 * server's reason; stop() stops the output at once. And the catch-up time
 * forms a guest types.
 */
import t from 'tap';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { parseCatchupTime } from '../../../stb-agent/agent.js';
import { UnicastPlayback, parseMediaPlaylist } from '../../../stb-agent/unicast.js';
import { TS_PACKET_SIZE, tsPid } from '../../../core/mpegts/packet.js';
import { RecordingGateSink, ffmpegDecodeErrors, firstVideoFrame } from '../../helpers/agent-stb-ts.js';
import { FIXTURES } from '../../helpers/headend.js';

const execFileP = promisify(execFile);

interface Served {
  base: string;
  /** Path → body (a function: made per request); absent → 404. */
  files: Map<string, Buffer | (() => Buffer)>;
  hits: Map<string, number>;
}

async function serve(t: { teardown(fn: () => unknown): void }): Promise<Served> {
  const files = new Map<string, Buffer | (() => Buffer)>();
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const f = files.get(p);
    if (!f) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `nothing at ${p}` }));
      return;
    }
    res.writeHead(200).end(typeof f === 'function' ? f() : f);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, files, hits };
}

/** ffmpeg's HLS muxer on the 6 s H.264 fixture: 1 s segments, copied. */
async function ffmpegHls(t: { teardown(fn: () => unknown): void }): Promise<{ playlist: string; segments: { name: string; bytes: Buffer }[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-unicast-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await execFileP('ffmpeg', ['-v', 'error', '-i', join(FIXTURES, 'h264-aac-1s-gop.ts'), '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_segment_filename', join(dir, 's%02d.ts'), join(dir, 'index.m3u8')]);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ts')).sort();
  return { playlist: await readFile(join(dir, 'index.m3u8'), 'utf8'), segments: await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) }))) };
}

const quiet = (): void => undefined;

t.test('catch-up times: HH:MM is the latest such time not after now; ISO and Unix seconds; anything else is a programme', async (t) => {
  const now = new Date(2026, 11, 2, 19, 30, 0).getTime(); // local time, like the STB's
  t.equal(parseCatchupTime('18:00', now), new Date(2026, 11, 2, 18, 0, 0).getTime(), 'earlier today');
  t.equal(parseCatchupTime('20:15:30', now), new Date(2026, 11, 1, 20, 15, 30).getTime(), 'later than now: yesterday');
  t.equal(parseCatchupTime('2026-12-02T18:00:00Z', now), Date.UTC(2026, 11, 2, 18));
  t.equal(parseCatchupTime('2026-12-02 18:00Z', now), Date.UTC(2026, 11, 2, 18));
  t.equal(parseCatchupTime('1796230800', now), 1_796_230_800_000);
  for (const s of ['news at six', '25:00', '18:61', '2026-13-45T99:00', '12345', '']) t.equal(parseCatchupTime(s, now), null, JSON.stringify(s));
});

t.test('a playlist: segment URLs resolved against where it is; a multivariant playlist or garbage refused', async (t) => {
  const p = parseMediaPlaylist('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1.5,\n/hls/1/b.ts\n#EXT-X-ENDLIST\n', 'http://h:8080/hls/1/index-1-60.m3u8');
  t.same(p.segments, [
    { uri: 'http://h:8080/hls/1/a.ts', durationMs: 2000, discontinuity: false },
    { uri: 'http://h:8080/hls/1/b.ts', durationMs: 1500, discontinuity: true },
  ]);
  t.equal(p.ended, true);
  t.throws(() => parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n', 'http://h/'), /multivariant/);
  t.throws(() => parseMediaPlaylist('<html>', 'http://h/'), /not an HLS playlist/);
});

t.test('VOD playlist: the output is the segments in order from PAT, PMT, I-frame, paced by their durations, and decodes', { timeout: 60_000 }, async (t) => {
  const srv = await serve(t);
  const hls = await ffmpegHls(t);
  srv.files.set('/v/index.m3u8', Buffer.from(hls.playlist));
  for (const s of hls.segments) srv.files.set(`/v/${s.name}`, s.bytes);
  const out = new RecordingGateSink();
  const ended: string[] = [];
  const p = new UnicastPlayback({ url: `${srv.base}/v/index.m3u8`, label: 'test', out, leadMs: 1000, log: quiet, onEnd: (r) => ended.push(r) });
  await p.load();
  t.equal(p.status().playlistType, 'VOD');
  const t0 = performance.now();
  p.play();
  await p.finished();
  const took = performance.now() - t0;
  const mediaS = p.status().durationS;
  t.same(ended, ['end of the playlist']);
  t.equal(p.status().state, 'ended');
  t.equal(p.status().segments, hls.segments.length, `${hls.segments.length} segments played`);
  t.ok(took >= (mediaS - 1) * 1000 - 100, `paced: ${mediaS} s of media took ${(took / 1000).toFixed(2)} s with a 1 s lead (not one burst)`);
  const bytes = out.bytes();
  t.equal(tsPid(bytes, 0), 0, 'the output starts with the PAT');
  t.equal(out.packetsBeforeStart, 0);
  t.ok(firstVideoFrame(bytes, 'unicast-vod.ts').keyFrame, 'its first picture is a key frame');
  t.equal(ffmpegDecodeErrors(bytes, 'unicast-vod.ts'), '', 'ffmpeg decodes it without an error');
  const segs = Buffer.concat(hls.segments.map((s) => s.bytes));
  t.ok(bytes.length >= segs.length - 20 * TS_PACKET_SIZE && bytes.length <= segs.length + 4 * TS_PACKET_SIZE, `all of the segments (${bytes.length} of ${segs.length} bytes; the gate trims what precedes the first I-frame)`);
});

t.test('EVENT playlist (start-over of a programme on the air): followed as it grows, until ENDLIST', { timeout: 60_000 }, async (t) => {
  const srv = await serve(t);
  const hls = await ffmpegHls(t);
  const head = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n';
  let shown = 2;
  let ended = false;
  srv.files.set('/e/index.m3u8', () => Buffer.from(head + hls.segments.slice(0, shown).map((s) => `#EXTINF:1.000,\n${s.name}\n`).join('') + (ended ? '#EXT-X-ENDLIST\n' : '')));
  for (const s of hls.segments) srv.files.set(`/e/${s.name}`, s.bytes);
  const out = new RecordingGateSink();
  const p = new UnicastPlayback({ url: `${srv.base}/e/index.m3u8`, label: 'event', out, leadMs: 60_000, log: quiet });
  await p.load();
  t.equal(p.status().playlistType, 'EVENT');
  p.play();
  // The programme goes on: one more segment every half second, then it ends.
  for (let i = 0; i < 20 && shown < hls.segments.length; i++) {
    await new Promise((r) => setTimeout(r, 500));
    shown++;
  }
  ended = true;
  await p.finished();
  t.equal(p.status().state, 'ended');
  t.equal(p.status().segments, hls.segments.length, 'every segment, including those added after the start');
  t.ok(p.status().reloads >= 2, `the playlist was reloaded (${p.status().reloads}×)`);
  t.equal(ffmpegDecodeErrors(out.bytes(), 'unicast-event.ts'), '');
});

t.test('a segment that cannot be fetched: retried, then skipped and counted; the rest plays', { timeout: 60_000 }, async (t) => {
  const srv = await serve(t);
  const hls = await ffmpegHls(t);
  srv.files.set('/m/index.m3u8', Buffer.from(hls.playlist));
  hls.segments.forEach((s, i) => i !== 2 && srv.files.set(`/m/${s.name}`, s.bytes));
  const warnings: string[] = [];
  const out = new RecordingGateSink();
  const p = new UnicastPlayback({ url: `${srv.base}/m/index.m3u8`, label: 'missing', out, leadMs: 60_000, log: (l, m) => l === 'warn' && warnings.push(m) });
  await p.load();
  p.play();
  await p.finished();
  t.equal(srv.hits.get(`/m/${hls.segments[2].name}`), 3, 'three tries');
  t.equal(p.status().skippedSegments, 1);
  t.equal(p.status().segments, hls.segments.length - 1);
  t.match(warnings.join('\n'), /HTTP 404: nothing at/, 'the server\'s reason in the log');
  t.ok(out.discontinuities >= 1, 'the gap is a discontinuity to the output');
});

t.test('a playlist the server refuses: load() fails with its reason; stop() ends the output at once', { timeout: 60_000 }, async (t) => {
  const srv = await serve(t);
  const p = new UnicastPlayback({ url: `${srv.base}/none/index.m3u8`, label: 'none', out: new RecordingGateSink(), log: quiet });
  await t.rejects(p.load(), { message: /HTTP 404: nothing at \/none\/index\.m3u8/, statusCode: 404 });
  srv.files.set('/x/index.m3u8', Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-ENDLIST\n'));
  await t.rejects(new UnicastPlayback({ url: `${srv.base}/x/index.m3u8`, label: 'x', out: new RecordingGateSink(), log: quiet }).load(), /no segments/);

  const hls = await ffmpegHls(t);
  srv.files.set('/s/index.m3u8', Buffer.from(hls.playlist));
  for (const s of hls.segments) srv.files.set(`/s/${s.name}`, s.bytes);
  const out = new RecordingGateSink();
  const q = new UnicastPlayback({ url: `${srv.base}/s/index.m3u8`, label: 's', out, leadMs: 0, log: quiet });
  await q.load();
  q.play();
  await new Promise((r) => setTimeout(r, 1200));
  q.stop();
  const at = out.packets;
  await q.finished();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(out.packets, at, 'nothing after stop()');
  t.equal(q.status().state, 'stopped');
  t.ok(at > 0 && q.status().positionS < 3, `about a second played (${q.status().positionS} s)`);
});
