/**
 * The live HLS path (issue 6, first part) end to end: the headend records
 * its channels as HLS segments; the live playlist is checked with a parser
 * (hls-parser) and played by ffmpeg; each segment decodes on its own from an
 * I-frame; retention keeps the disk and the playlist equal; a restart
 * rebuilds the index from the files (a leftover temporary file goes);
 * segments are served immutable with byte ranges, and nothing outside the
 * index is served.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { FIXTURES, httpRequest, startHeadend, tempDir } from '../helpers/headend.js';

const execFileP = promisify(execFile);
const HTTP = 48000 + (process.pid % 1000) * 4;
const WINDOW_S = 12;

const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, pacingDelayMs: 200, fcc: { enabled: false }, hls: { enabled: true, segmentS: 2, windowS: ${WINDOW_S} } }
channels:
  - number: 1
    name: H264
    multicast: { group: 239.255.215.1, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
  - number: 2
    name: Télé H265
    multicast: { group: 239.255.215.2, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h265-aac-1s-gop.ts'))} }
`;

const base = `http://127.0.0.1:${HTTP}`;

async function playlist(n: number): Promise<HLS.types.MediaPlaylist> {
  const r = await httpRequest(`${base}/hls/${n}/index.m3u8`);
  if (r.status !== 200) throw new Error(`playlist ${n}: HTTP ${r.status} ${r.body}`);
  return HLS.parse(r.body) as HLS.types.MediaPlaylist;
}

async function waitSegments(n: number, count: number, timeoutMs: number): Promise<HLS.types.MediaPlaylist> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await httpRequest(`${base}/hls/${n}/index.m3u8`).catch(() => null);
    if (r?.status === 200) {
      const p = HLS.parse(r.body) as HLS.types.MediaPlaylist;
      if (p.segments.length >= count) return p;
    }
    if (Date.now() > until) throw new Error(`channel ${n}: fewer than ${count} segments after ${timeoutMs} ms`);
    await sleep(250);
  }
}

t.test('live HLS: playlists, segments, playback, retention, restart', { timeout: 150_000 }, async (t) => {
  const dataDir = await tempDir('roomcast-hls-');
  let he = await startHeadend(yaml, { args: ['--no-mdns'], dataDir });
  t.teardown(() => he.stop());
  const hlsDir = join(dataDir, 'hls');

  for (const n of [1, 2]) {
    const p = await waitSegments(n, 4, 30_000);
    t.equal(p.isMasterPlaylist, false, `channel ${n}: a media playlist`);
    t.equal(p.endlist, false, 'live: no EXT-X-ENDLIST');
    t.equal(p.targetDuration, 2, 'target duration 2 s');
    for (const s of p.segments) {
      if (Math.round(s.duration) > p.targetDuration) t.fail(`segment ${s.uri} lasts ${s.duration} s, over the target (RFC 8216 §4.3.3.1)`);
      if (Math.abs(s.duration - 2) > 1.05) t.fail(`segment ${s.uri}: ${s.duration} s is not 2 s ± one GOP`);
    }
    t.ok(p.segments.every((s) => s.programDateTime instanceof Date), 'every segment has a program date time');
    const gaps = p.segments.slice(1).map((s, i) => s.programDateTime!.getTime() - (p.segments[i].programDateTime!.getTime() + p.segments[i].duration * 1000));
    t.ok(gaps.every((g) => Math.abs(g) <= 1), `program date times follow each other without gaps (${gaps.join(', ')} ms)`);
    t.equal(p.segments[0].discontinuity, true, 'the first segment after a (re)start is a discontinuity');
    t.same(
      p.segments.map((s) => s.mediaSequenceNumber),
      p.segments.map((_, i) => p.mediaSequenceBase! + i),
      'media sequence numbers one by one',
    );

    // Each segment: PAT, PMT, then an I-frame; ffprobe decodes it on its own.
    for (const s of p.segments.slice(0, 3)) {
      const r = await httpRequest(`${base}/hls/${n}/${s.uri}`);
      t.equal(r.headers['content-type'], 'video/mp2t');
      t.match(r.headers['cache-control'], /immutable/, 'segments are immutable for any cache');
      const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pict_type', '-of', 'csv=p=0', join(hlsDir, String(n), s.uri)]);
      const frames = stdout.trim().split('\n');
      t.match(frames[0], /^I/, `${s.uri} decodes from an I-frame (${frames.length} frames)`);
    }
  }

  // ffmpeg plays the live playlist for 10 s of media, without an error.
  const play = await execFileP('ffmpeg', ['-v', 'error', '-i', `${base}/hls/1/index.m3u8`, '-t', '10', '-f', 'null', '-'], { timeout: 40_000 }).then(
    (r) => ({ code: 0, err: r.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, err: e.stderr ?? '' }),
  );
  t.equal(play.code, 0, 'ffmpeg played 10 s of the live playlist');
  t.equal(play.err.trim(), '', 'with no error on stderr');

  // Byte ranges, and nothing outside the index.
  const p1 = await playlist(1);
  const first = p1.segments[0].uri;
  const range = await httpRequest(`${base}/hls/1/${first}`, { headers: { range: 'bytes=188-375' } });
  t.equal(range.status, 206);
  t.match(range.headers['content-range'], /^bytes 188-375\/\d+$/);
  t.equal(range.headers['content-length'], '188');
  t.equal((await httpRequest(`${base}/hls/1/${first}`, { headers: { range: 'bytes=999999999-' } })).status, 416, 'a range past the end: 416');
  for (const bad of ['..%2F..%2Froomcast.db', '..%2Fchannels.yaml', '1_2.ts', `.${first}.tmp`, 'index.m3u8x']) {
    t.equal((await httpRequest(`${base}/hls/1/${bad}`)).status, 404, `${decodeURIComponent(bad)}: 404`);
  }
  const none = await httpRequest(`${base}/hls/7/index.m3u8`);
  t.equal(none.status, 404);
  t.match(JSON.parse(none.body).message, /there is no channel "7"/);

  // A channel by the slug of its name ("Télé H265"), as well as by number.
  const bySlug = await httpRequest(`${base}/hls/tele-h265/index.m3u8`);
  t.equal(bySlug.status, 200, '/hls/tele-h265/index.m3u8 is channel 2');
  const slugList = HLS.parse(bySlug.body) as HLS.types.MediaPlaylist;
  t.equal((await httpRequest(`${base}/hls/tele-h265/${slugList.segments[0].uri}`)).status, 200, 'and its segments');
  t.equal((await httpRequest(`${base}/hls/tele-h264/index.m3u8`)).status, 404, 'a slug no channel has: 404');

  // Catch-up by time: a past range is a VOD playlist that ffmpeg plays for the range's length (± one segment).
  const live1 = await playlist(1);
  const fromS = Math.ceil(live1.segments[1].programDateTime!.getTime() / 1000);
  const cu = await httpRequest(`${base}/hls/1/index-${fromS}-4.m3u8`);
  t.equal(cu.status, 200, `catch-up index-${fromS}-4.m3u8`);
  const cup = HLS.parse(cu.body) as HLS.types.MediaPlaylist;
  t.equal(cup.playlistType, 'VOD');
  t.equal(cup.endlist, true);
  const iso = await httpRequest(`${base}/hls/1/index.m3u8?start=${new Date(fromS * 1000).toISOString()}&end=${new Date((fromS + 4) * 1000).toISOString()}`);
  t.equal(iso.body, cu.body, 'the ?start=&end= form gives the same playlist');
  const over = HLS.parse((await httpRequest(`${base}/hls/1/index.m3u8?start=${new Date(fromS * 1000).toISOString()}`)).body) as HLS.types.MediaPlaylist;
  t.equal(over.playlistType, 'EVENT', 'no end: start-over, an EVENT playlist');
  t.equal(over.endlist, false, 'that grows (no EXT-X-ENDLIST)');
  t.ok(over.segments.length >= cup.segments.length, `from the start time up to now (${over.segments.length} segments)`);
  t.equal((await httpRequest(`${base}/hls/1/archive-${fromS}-4.m3u8`)).body, cu.body, 'and archive-<from>-<duration>.m3u8');
  const probe = await execFileP('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', `${base}/hls/1/index-${fromS}-4.m3u8`], { timeout: 30_000 });
  const played = Number(probe.stdout.trim());
  const longest = Math.max(...cup.segments.map((s) => s.duration));
  t.ok(Math.abs(played - 4) <= longest + 0.1, `ffprobe reads the catch-up playlist: ${played.toFixed(2)} s for a 4 s range, within one segment (${longest} s)`);
  const tooEarly = await httpRequest(`${base}/hls/1/index-${fromS - 3600}-60.m3u8`);
  t.equal(tooEarly.status, 404, 'a range before the recording: 404');
  t.match(JSON.parse(tooEarly.body).message, /is before it/, 'with the reason');
  t.equal((await httpRequest(`${base}/hls/1/index.m3u8?start=yesterday`)).status, 400, 'a start that is not a time: 400');

  // Retention: after the window, the oldest segments left the playlist and the disk together.
  await sleep((WINDOW_S + 4) * 1000);
  const later = await playlist(1);
  t.notOk(later.segments.some((s) => s.uri === first), `${first} left the playlist after the ${WINDOW_S} s window`);
  const span = later.segments.reduce((a, s) => a + s.duration, 0);
  t.ok(span <= WINDOW_S + 2 * 2 + 1, `the playlist spans the window (${span.toFixed(1)} s)`);
  const onDisk = (await readdir(join(hlsDir, '1'))).filter((f) => f.endsWith('.ts')).sort();
  const listed = (await playlist(1)).segments.map((s) => s.uri).sort();
  const orphans = onDisk.filter((f) => !listed.includes(f));
  t.ok(orphans.length <= 1, `no orphaned files (on disk but not listed: ${orphans.join(', ') || 'none'}; one just being announced is allowed)`);
  t.ok(listed.every((f) => onDisk.includes(f)), 'no listed segment without its file');

  // Restart: the index comes back from the files; a leftover temporary file is removed.
  await writeFile(join(hlsDir, '1', '.1234_2000.ts.tmp'), 'half a segment');
  const before = (await playlist(1)).segments.map((s) => s.uri);
  t.equal(await he.stop(), 0);
  he = await startHeadend(yaml, { args: ['--no-mdns'], dataDir });
  for (let i = 0; i < 100 && !(await httpRequest(`${base}/healthz`).then(() => true, () => false)); i++) await sleep(100);
  const rebuilt = await playlist(1);
  const kept = rebuilt.segments.map((s) => s.uri).filter((u) => before.includes(u));
  t.ok(kept.length >= 2, `after the restart the playlist still lists the segments recorded before it (${kept.length} of ${before.length})`);
  t.notOk((await readdir(join(hlsDir, '1'))).some((f) => f.endsWith('.tmp')), 'the leftover temporary file is gone');
  const next = await waitSegments(1, rebuilt.segments.length + 1, 20_000);
  const firstNew = next.segments.find((s) => !before.includes(s.uri));
  t.equal(firstNew?.discontinuity, true, 'the first segment after the restart is marked as a discontinuity');
});
