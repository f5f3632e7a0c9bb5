/**
 * The unicast side of the admin UI in Chromium (issue 6): hotel IT uploads
 * an XMLTV guide (gzip) and reads its report, sees now/next in the lineup,
 * plays a programme that is over and a moment of the past in the channel
 * page's preview (hls.js on the catch-up playlists: the programme's play
 * link is a redirect), goes back to live; uploads two films to the library
 * — one copied, one transcoded with its progress shown — previews one and
 * deletes it. Against a real headend; every request stays on it and the
 * page logs no error.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import HLS from 'hls-parser';
import { formatXmltvTime } from '../../core/epg/xmltv.js';
import { FIXTURES, REPO_ROOT, adminSession, httpRequest, startHeadend, tempDir } from '../helpers/headend.js';
import { openPage } from '../helpers/browser.js';

const execFileP = promisify(execFile);
const HTTP = 47000 + (process.pid % 1000) * 2;
const base = `http://127.0.0.1:${HTTP}`;
const ARTIFACTS = join(REPO_ROOT, 'test/artifacts');

t.test('hotel IT in Chromium: guide import, now/next, catch-up by programme and by time, back to live, the film library', { timeout: 240_000 }, async (t) => {
  const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, pacingDelayMs: 200, fcc: { enabled: false }, hls: { enabled: true, windowS: 120 }, vod: { enabled: true } }
channels:
  - number: 1
    name: Lobby Info
    tvgId: lobby.test
    multicast: { group: 239.255.214.1, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
  - number: 2
    name: Hotel Movies
    tvgId: movies.test
    multicast: { group: 239.255.214.2, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
`;
  const dir = await tempDir('roomcast-uiuni-');
  const he = await startHeadend(yaml, { args: ['--no-mdns'], dataDir: dir });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok'), 20_000, 'two channels on the air');

  // Two films made by ffmpeg: H.264/AAC (copied) and MPEG-2/MP2 (transcoded, long enough for its progress to show).
  const copyFilm = join(dir, 'Lobby Tour.mp4');
  const transcodeFilm = join(dir, 'Old Reel.mpg');
  await execFileP('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', copyFilm]);
  await execFileP('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=220', '-t', '20', '-c:v', 'mpeg2video', '-q:v', '4', '-c:a', 'mp2', transcodeFilm]);

  // The recording needs a few segments before a programme of the past can be played.
  let first = 0;
  for (let i = 0; i < 60; i++) {
    const r = await httpRequest(`${base}/hls/1/index.m3u8`).catch(() => null);
    if (r?.status === 200) {
      const p = HLS.parse(r.body) as HLS.types.MediaPlaylist;
      if (p.segments.length >= 5) {
        first = p.segments[0].programDateTime!.getTime();
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  t.ok(first > 0, 'channel 1 has been recording for ten seconds');

  // The guide: a programme that is over (4 s, inside the recording), one on now, one later; one for a channel not in the lineup.
  const S = 1000;
  const pastStart = Math.ceil(first / S) * S + 2 * S;
  const now = Math.floor(Date.now() / S) * S;
  const prog = (ch: string, start: number, stop: number, title: string) => `<programme start="${formatXmltvTime(start)}" stop="${formatXmltvTime(stop)}" channel="${ch}"><title>${title}</title><desc>About ${title}</desc></programme>`;
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<tv generator-info-name="test">',
    '<channel id="lobby.test"><display-name>Lobby</display-name></channel>',
    prog('lobby.test', pastStart, pastStart + 4 * S, 'Morning Briefing'),
    prog('lobby.test', pastStart + 4 * S, now + 600 * S, 'Lobby Loop'),
    prog('lobby.test', now + 600 * S, now + 1200 * S, 'Evening Concert'),
    prog('movies.test', now - 60 * S, now + 3600 * S, 'Feature Film'),
    prog('elsewhere.test', now, now + 60 * S, 'Not Ours'),
    '</tv>',
  ].join('\n');

  await mkdir(ARTIFACTS, { recursive: true });
  const session = await adminSession(base, he.output());
  const { page, context, foreign, pageErrors } = await openPage(base, t);
  const [name, value] = session.cookie.split('=');
  await context.addCookies([{ name, value, url: base }]);
  page.on('dialog', (d) => void d.accept());

  // ---- the guide page: upload the gzip file, read the report
  await page.goto(`${base}/#/guide`);
  await page.getByRole('heading', { name: 'Programme guide' }).waitFor();
  await page.locator('#epg-file').setInputFiles({ name: 'guide.xml.gz', mimeType: 'application/gzip', buffer: gzipSync(xml) });
  await page.locator('#epg-upload').click();
  await page.locator('#epg-report').waitFor();
  const report = await page.locator('#epg-report').textContent();
  t.match(report, /Kept 4 programmes for 2 channels/, `the report: ${report}`);
  t.match(report, /1 skipped for channels not in the lineup/, 'and what was left out, and why');

  // ---- now/next in the lineup
  await page.goto(`${base}/#/`);
  await page.locator('#lineup tr[data-number="1"] .now-next').waitFor();
  t.match(await page.locator('#lineup tr[data-number="1"] .now-next').textContent(), /Now: Lobby Loop.*Next: Evening Concert/, 'the lineup shows now and next from the guide');
  t.match(await page.locator('#lineup tr[data-number="2"] .now-next').textContent(), /Now: Feature Film/);

  // ---- catch-up by programme in the channel page's preview
  await page.goto(`${base}/#/channel/1`);
  const past = page.locator('#programmes li', { hasText: 'Morning Briefing' });
  await past.waitFor();
  t.match(await past.textContent(), /catch-up/, 'a programme that is over is marked for catch-up');
  t.match(await page.locator('#programmes li', { hasText: 'Evening Concert' }).textContent(), /later/);
  t.equal(await page.locator('#programmes li', { hasText: 'Evening Concert' }).locator('button').count(), 0, 'nothing to play for one still to come');
  await past.locator('button.play-programme').click();
  await page.waitForFunction(
    () => {
      const v = document.getElementById('preview') as HTMLVideoElement | null;
      return v !== null && !v.hidden && (v.dataset.src ?? '').includes('/play') && v.currentTime > 1 && v.videoWidth > 0;
    },
    null,
    { timeout: 40_000 },
  );
  const cu = await page.locator('#preview').evaluate((v: HTMLVideoElement) => ({ src: v.dataset.src, duration: v.duration, w: v.videoWidth }));
  t.equal(cu.src, `/api/epg/1/${pastStart / S}/play`, 'hls.js plays the programme\'s play link (a redirect to its catch-up playlist)');
  t.ok(Math.abs(cu.duration - 4) <= 2.1, `the programme lasts 4 s; the playlist ${cu.duration.toFixed(2)} s (within one segment)`);
  t.match(await page.locator('#thumbnail-note').textContent(), /Catch-up: Morning Briefing/, 'the preview says what it plays');
  await page.locator('#back-live').waitFor();

  // ---- catch-up from a moment: start-over (an EVENT playlist), from its start
  const local = new Date(pastStart - new Date(pastStart).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.locator('#catchup-from').fill(local);
  await page.locator('#catchup-play').click();
  await page.waitForFunction(
    () => {
      const v = document.getElementById('preview') as HTMLVideoElement | null;
      return v !== null && (v.dataset.src ?? '').includes('?start=') && v.currentTime > 1;
    },
    null,
    { timeout: 40_000 },
  );
  const t0 = await page.locator('#preview').evaluate((v: HTMLVideoElement) => v.currentTime);
  await page.waitForTimeout(2000);
  const t1 = await page.locator('#preview').evaluate((v: HTMLVideoElement) => v.currentTime);
  t.ok(t1 - t0 > 1, `start-over plays on in real time (${t0.toFixed(1)} → ${t1.toFixed(1)} s)`);
  const evt = HLS.parse((await httpRequest(`${base}${await page.locator('#preview').evaluate((v: HTMLVideoElement) => v.dataset.src!)}`)).body) as HLS.types.MediaPlaylist;
  t.equal(evt.playlistType, 'EVENT', 'from a moment: an EVENT playlist that grows with the channel');
  await page.locator('#back-live').click();
  await page.waitForFunction(() => (document.getElementById('preview') as HTMLVideoElement).dataset.src === '/hls/1/index.m3u8');
  await page.locator('#back-live').waitFor({ state: 'hidden' });
  t.pass('back to live: the live playlist again, and no "Back to live" button');
  await page.screenshot({ path: join(ARTIFACTS, 'admin-ui-catchup.png'), fullPage: true });

  // ---- the film library: two uploads, one copied, one transcoded with its progress shown
  await page.goto(`${base}/#/vod`);
  await page.getByRole('heading', { name: 'Film library' }).waitFor();
  await page.locator('#vod-file').setInputFiles({ name: 'Lobby Tour.mp4', mimeType: 'video/mp4', buffer: await readFile(copyFilm) });
  await page.locator('#vod-upload').click();
  await page.locator('.vod-card.ready', { hasText: 'Lobby Tour' }).waitFor({ timeout: 60_000 });
  t.match(await page.locator('.vod-card', { hasText: 'Lobby Tour' }).textContent(), /copied \(H\.264\/AAC\)/, 'an H.264/AAC film is copied, not transcoded');
  await page.locator('#vod-file').setInputFiles({ name: 'Old Reel.mpg', mimeType: 'video/mpeg', buffer: await readFile(transcodeFilm) });
  await page.locator('#vod-upload').click();
  await page.locator('.vod-card.packaging progress').waitFor({ timeout: 30_000 });
  t.match(await page.locator('.vod-card.packaging').textContent(), /Packaging \(transcode\)… \d+ %/, 'an MPEG-2 film is transcoded, its progress shown');
  await page.locator('.vod-card.ready', { hasText: 'Old Reel' }).waitFor({ timeout: 90_000 });
  t.match(await page.locator('.vod-card', { hasText: 'Old Reel' }).textContent(), /transcoded/);
  const poster = await page.locator('.vod-card', { hasText: 'Lobby Tour' }).locator('img.poster').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth);
  t.equal(poster, 320, 'its poster frame shows (320 px wide)');

  await page.locator('.vod-card', { hasText: 'Lobby Tour' }).locator('button.play').click();
  await page.waitForFunction(
    () => {
      const v = document.getElementById('vod-preview') as HTMLVideoElement | null;
      return v !== null && !v.hidden && v.currentTime > 0.5 && v.videoWidth > 0;
    },
    null,
    { timeout: 30_000 },
  );
  const film = await page.locator('#vod-preview').evaluate((v: HTMLVideoElement) => ({ w: v.videoWidth, d: v.duration }));
  t.same(film.w, 320, 'the film plays in the preview (hls.js)');
  t.ok(Math.abs(film.d - 3) < 0.5, `for its length (${film.d.toFixed(2)} s of 3 s)`);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-ui-vod.png'), fullPage: true });

  await page.locator('.vod-card', { hasText: 'Lobby Tour' }).locator('button.delete').click();
  await page.locator('.vod-card', { hasText: 'Lobby Tour' }).waitFor({ state: 'detached' });
  const left = (await (await fetch(`${base}/api/vod`, { headers: { cookie: session.cookie } })).json()) as { assets: { title: string }[] };
  t.same(left.assets.map((a) => a.title), ['Old Reel'], 'deleted: only the other film is left');

  t.same(foreign, [], 'every request went to the headend');
  t.same(pageErrors, [], 'the page logged no error');
});
