/**
 * The admin UI in a real browser (issue 5): Debian's Chromium, driven by
 * playwright-core, against a real headend. Hotel IT's first day: log in with
 * the one-time password, choose a new one, add a channel with a test-pattern
 * source (the form refusing a bad address as it is typed), see it go live
 * (bitrate > 0 and a decoded thumbnail), renumber two channels by drag and
 * drop, export the M3U and find the new channel in it, log out.
 *
 * Screenshots of the lineup and channel pages go to test/artifacts/ (look
 * at them: they should look like a product). Every request the page makes
 * must go to the headend itself, and the page must log no error.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FIXTURES, REPO_ROOT, httpRequest, startHeadend } from '../helpers/headend.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';

const execFileP = promisify(execFile);
const BASE_PORT = 46000 + (process.pid % 1000) * 4;
const HTTP = BASE_PORT;
const ARTIFACTS = join(REPO_ROOT, 'test/artifacts');
const NEW_PASSWORD = 'hotel-it-chooses-this-1';


t.test('hotel IT in Chromium: login, password, add a live channel, renumber, export M3U, logout', { timeout: 180_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, pacingDelayMs: 200, fcc: { enabled: true, port: ${BASE_PORT + 2} }, hls: { enabled: true, windowS: 30 } }
channels:
${[1, 2]
  .map(
    (n) => `  - number: ${n}
    name: ${n === 1 ? 'Lobby Info' : 'Hotel Movies'}
    group: ${n === 1 ? 'Hotel' : 'Movies'}
    multicast: { group: 239.255.213.${n}, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }`,
  )
  .join('\n')}
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 2 && c.every((x) => x.state === 'ok'), 20_000, 'two channels on the air');
  const oneTime = /user "admin" created with the one-time password (\S+)/.exec(he.output())?.[1];
  t.ok(oneTime, 'the headend printed a one-time admin password');
  const base = `http://127.0.0.1:${HTTP}`;
  await mkdir(ARTIFACTS, { recursive: true });

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page: Page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${base}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // Chromium logs every 4xx answer: a 401 from /api/me before login and after logout, the wrong
    // password's 401, the refused edit's 400 and a thumbnail's 404 before the first I-frame are
    // answers the page handles (and the test checks it shows them).
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (400|401|404)/.test(m.text())) pageErrors.push(m.text());
  });

  // ---- login with the one-time password, then the forced password change
  const res = await page.goto(`${base}/`);
  t.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'/, 'the page is served with a strict Content-Security-Policy');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('wrong username or password').waitFor();
  t.pass('a wrong password is refused with a message');
  await page.getByLabel('Password').fill(oneTime!);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
  t.pass('the first login forces a new password');
  await page.getByLabel('Current password').fill(oneTime!);
  await page.getByLabel('New password (at least 8 characters)').fill(NEW_PASSWORD);
  await page.getByLabel('New password again').fill(NEW_PASSWORD + 'x');
  await page.getByText('The two new passwords differ.').waitFor();
  t.pass('the form says at once when the two new passwords differ');
  await page.getByLabel('New password again').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('heading', { name: 'Channel lineup' }).waitFor();
  await page.locator('#lineup tbody tr[data-number="2"]').waitFor();
  t.equal(await page.locator('#lineup tbody tr').count(), 2, 'the lineup shows the two channels');
  await page.locator('#lineup tr[data-number="1"] .badge-ok').waitFor();
  t.pass('channel 1 is shown on the air (live status stream)');

  // ---- add a channel with a test-pattern source
  await page.getByRole('link', { name: '+ Add channel' }).click();
  await page.getByRole('heading', { name: 'Add a channel' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('Test Pattern');
  const group = page.getByLabel('Multicast group');
  await group.fill('239.255.213.300');
  await page.locator('#f-multicast-group-error').filter({ hasText: /not|multicast/ }).waitFor();
  t.match(await page.locator('#f-multicast-group-error').textContent(), /239\.255\.213\.300/, `a bad address is refused as it is typed: "${await page.locator('#f-multicast-group-error').textContent()}"`);
  t.ok(await page.locator('#save').isDisabled(), 'and the form cannot be saved');
  await group.fill('239.255.213.1');
  await page.locator('#f-multicast-group-error').filter({ hasText: /already used by channel 1/ }).waitFor();
  t.pass('an address another channel uses is refused as it is typed, naming that channel');
  await group.fill('239.255.213.3');
  await page.waitForFunction(() => !(document.getElementById('save') as HTMLButtonElement).disabled);
  t.equal(await page.locator('#f-inputs-0-type').inputValue(), 'ffmpeg', 'a new channel starts with the ffmpeg test pattern as its input');
  t.match(await page.locator('#f-inputs-0-url').inputValue(), /testsrc2/, 'the test pattern');
  t.equal(await page.getByLabel('Number').inputValue(), '3', 'the next free number is proposed');
  // A logo, made by ffmpeg as a real PNG.
  const logoFile = join(he.dataDir, 'logo.png');
  await execFileP('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=96x54', '-frames:v', '1', '-y', logoFile]);
  await page.locator('#logo-file').setInputFiles(logoFile);
  await page.waitForFunction(() => (document.querySelector('.logo-preview img') as HTMLImageElement | null)?.naturalWidth === 96);
  t.pass('the chosen logo is previewed before the save');
  await page.locator('#save').click();
  await page.getByRole('heading', { name: /3 · Test Pattern/ }).waitFor();
  t.pass('saved: the channel page opens');
  await page.waitForFunction(() => (document.querySelector('h1 img.logo-img') as HTMLImageElement | null)?.naturalWidth === 96);
  t.pass('with the logo uploaded after the save, served by the headend');

  // ---- see it go live: bitrate > 0 and a decoded thumbnail
  await page.waitForFunction(
    () => {
      const m = /out ([\d.]+) (Mbit|kbit)/.exec(document.getElementById('output-bitrate')?.textContent ?? '');
      return m !== null && Number(m[1]) > 0;
    },
    null,
    { timeout: 40_000 },
  );
  t.pass(`the new channel is live: ${await page.locator('#output-bitrate').textContent()}`);
  await page.waitForFunction(
    () => {
      const img = document.getElementById('thumbnail') as HTMLImageElement | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    },
    null,
    { timeout: 40_000 },
  );
  const size = await page.locator('#thumbnail').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
  t.equal(size[0], 320, `the thumbnail is a decoded picture, ${size[0]}×${size[1]}`);
  t.ok(size[1] >= 160 && size[1] <= 200, '16:9-ish, as the 640×360 test pattern');
  // The thumbnail is what the channel sends: the testsrc2 pattern is colourful, not a black frame.
  const jpeg = await page.evaluate(async () => {
    const r = await fetch('/api/channels/3/thumbnail.jpg');
    return { type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength };
  });
  t.equal(jpeg.type, 'image/jpeg', 'served as JPEG');
  t.ok(jpeg.bytes > 3000, `with real content (${jpeg.bytes} bytes: a black frame is < 2 KB)`);
  // The live preview: hls.js (served by the headend) plays the channel's own HLS in Chromium.
  await page.waitForFunction(
    () => {
      const v = document.getElementById('preview') as HTMLVideoElement | null;
      return v !== null && !v.hidden && v.currentTime > 2 && v.videoWidth > 0;
    },
    null,
    { timeout: 40_000 },
  );
  const video = await page.locator('#preview').evaluate((v: HTMLVideoElement) => ({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime, paused: v.paused }));
  t.same([video.w, video.h], [640, 360], `the live preview plays the channel's HLS in Chromium (hls.js): ${video.w}×${video.h}, ${video.t.toFixed(1)} s played`);
  t.equal(video.paused, false, 'and keeps playing');
  const t0 = video.t;
  await page.waitForTimeout(2000);
  const t1 = await page.locator('#preview').evaluate((v: HTMLVideoElement) => v.currentTime);
  t.ok(t1 - t0 > 1, `the preview advances in real time (${t0.toFixed(1)} → ${t1.toFixed(1)} s in 2 s)`);
  await page.locator('#tr101290').waitFor();
  await page.locator('#events li').first().waitFor();
  await page.waitForTimeout(1500); // let the chart draw a few points for the screenshot
  await page.screenshot({ path: join(ARTIFACTS, 'admin-ui-channel.png'), fullPage: true });

  // ---- renumber by drag and drop: "Hotel Movies" (2) onto "Lobby Info" (1)
  await page.getByRole('link', { name: '← Lineup' }).click();
  await page.locator('#lineup tbody tr[data-number="3"]').waitFor();
  await page.locator('#lineup tr[data-number="2"] .handle').dragTo(page.locator('#lineup tr[data-number="1"]'));
  await page.getByText('Renumbered: 2 → 1, 1 → 2').or(page.getByText('Renumbered: 1 → 2, 2 → 1')).waitFor();
  await page.waitForFunction(() => document.querySelector('#lineup tr[data-number="1"] .channel-name')?.textContent?.includes('Hotel Movies'));
  t.match(await page.locator('#lineup tr[data-number="2"] .channel-name').textContent(), /Lobby Info/, 'the two channels swapped numbers');
  const channels = (await page.evaluate(async () => (await (await fetch('/api/channels')).json()) as { channels: { number: number; name: string }[] })).channels;
  t.same(
    channels.map((c) => `${c.number} ${c.name}`),
    ['1 Hotel Movies', '2 Lobby Info', '3 Test Pattern'],
    'the server has the new numbers',
  );
  await page.locator('#lineup tr[data-number="3"] .badge-ok').waitFor({ timeout: 20_000 });
  await page.waitForTimeout(2500);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-ui-lineup.png'), fullPage: true });

  // ---- the keyboard does what the mouse does: the handle with ↑ renumbers too
  await page.locator('#lineup tr[data-number="3"] .handle').focus();
  await page.keyboard.press('ArrowUp');
  await page.getByText(/Renumbered: (3 → 2, 2 → 3|2 → 3, 3 → 2)/).waitFor();
  await page.waitForFunction(() => document.querySelector('#lineup tr[data-number="2"] .channel-name')?.textContent?.includes('Test Pattern'));
  t.equal(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-number')), '2', 'keyboard: ↑ on the handle moved "Test Pattern" to 2, and the focus followed it');

  // ---- bulk multicast assignment from the pool
  await page.locator('#lineup tr[data-number="1"] input[type=checkbox]').check();
  await page.locator('#lineup tr[data-number="3"] input[type=checkbox]').check();
  await page.getByRole('button', { name: 'Assign multicast…' }).click();
  t.equal(await page.getByLabel('Pool (CIDR)').inputValue(), '239.255.10.0/24', 'the pool proposed is the default 239.255.10.0/24');
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await page.getByText(/New addresses for 2 channels/).waitFor();
  await page.waitForFunction(() => document.querySelector('#lineup tr[data-number="3"]')?.textContent?.includes('239.255.10.2:5000'));
  t.match(await page.locator('#lineup tr[data-number="1"]').textContent(), /239\.255\.10\.1:5000/, 'channels 1 and 3 got 239.255.10.1 and .2, in number order');
  t.match(await page.locator('#lineup tr[data-number="2"]').textContent(), /239\.255\.213\.3:5000/, 'channel 2 (not selected) kept its address');

  // ---- the STB fleet: an agent's report (the agents' own API) shows up, sortable and filterable
  for (const [agentId, label, channel] of [['stb-101', 'Room 101', 2], ['stb-204', 'Room 204', null]] as const) {
    const r = await httpRequest(`${base}/api/stb/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agentId, label, channel, zaps: { count: 12, viaBurst: 11, viaGate: 1, recentMs: [21, 25, 19] }, counters: { rtpLost: 0, rtpDuplicates: 0, ccErrors: 0, spliceGaps: 0 } }),
    });
    t.equal(r.status, 204, `agent ${agentId} reported`);
  }
  await page.getByRole('link', { name: 'STB fleet' }).click();
  await page.locator('#stbs tbody tr', { hasText: 'Room 204' }).waitFor();
  t.match(await page.locator('#stbs tbody tr', { hasText: 'Room 101' }).textContent(), /stb-101.*127\.0\.0\.1.*2.*12 \(11\).*21 ms, 25 ms, 19 ms/s, 'the fleet shows room, IP, channel, zaps and zap times');
  await page.getByRole('button', { name: /Room \/ label/ }).click(); // sorted by label already: descending now
  t.match(await page.locator('#stbs tbody tr').first().textContent(), /Room 204/, 'sorting by label, descending');
  await page.getByLabel('Filter STBs').fill('101');
  await page.waitForFunction(() => document.querySelectorAll('#stbs tbody tr').length === 1);
  t.pass('filtering leaves the one agent that matches');
  await page.getByRole('link', { name: 'Lineup' }).click();
  await page.waitForFunction(() => document.querySelector('#lineup tr[data-number="2"] td:nth-child(10)')?.textContent === '1');
  t.pass('the lineup counts the agent as a viewer of channel 2');

  // ---- a change that would break a channel is reported, not applied: a file the headend does not have
  await page.goto(`${base}/#/channel/3/edit`);
  await page.locator('#f-inputs-0-path').fill('/nonexistent/lobby-loop.ts');
  await page.locator('#save').click();
  await page.locator('#f-inputs-0-path-error').filter({ hasText: 'does not exist on the headend' }).waitFor();
  t.pass('the server’s refusal shows at the field: "/nonexistent/lobby-loop.ts does not exist on the headend"');
  const kept = (await page.evaluate(async () => (await (await fetch('/api/channels/3')).json()) as { name: string; source: { path: string } }));
  t.match(kept, { name: 'Lobby Info', source: { path: /h264-aac-1s-gop\.ts$/ } }, 'and the channel keeps its working input');
  await page.getByRole('link', { name: 'Cancel' }).click();

  // ---- a channel whose source sends nothing: saved, and its page says plainly that it is not on the air
  await page.goto(`${base}/#/new`);
  await page.getByLabel('Name', { exact: true }).fill('Conference Room');
  await page.locator('#f-inputs-0-type').selectOption('udp');
  await page.locator('#f-inputs-0-address').fill('127.0.0.1');
  await page.locator('#f-inputs-0-port').fill(String(BASE_PORT + 3));
  await page.locator('#f-multicast-group').fill('239.255.213.9');
  // An SRT listener as its backup: the encoder would call it; nobody does.
  await page.getByRole('button', { name: '+ Backup input' }).click();
  t.equal(await page.locator('#f-inputs-1-type').inputValue(), 'srt', 'a backup input starts as an SRT listener');
  await page.locator('#f-inputs-1-port').fill(String(BASE_PORT + 1));
  await page.waitForFunction(() => !(document.getElementById('save') as HTMLButtonElement).disabled);
  await page.locator('#save').click();
  await page.getByRole('heading', { name: /4 · Conference Room/ }).waitFor();
  await page.getByRole('heading', { name: 'SRT statistics' }).waitFor({ timeout: 10_000 });
  t.pass('the channel page shows the SRT input\'s statistics');
  await page.locator('#channel-alert').filter({ hasText: /Not on the air/ }).waitFor({ timeout: 20_000 });
  t.pass(`a silent input is reported on the channel page: "${await page.locator('#channel-alert').textContent()}"`);
  t.match(await page.locator('#channel-state').textContent(), /slate|no-input|restarting/, 'and its badge is not "on air"');
  await page.getByRole('link', { name: '← Lineup' }).click();
  await page.locator('#lineup tr[data-number="4"] .badge-bad, #lineup tr[data-number="4"] .badge-wait').waitFor();
  t.match(await page.locator('.summary').textContent(), /need attention/, 'the lineup summary counts it as needing attention');

  // ---- duplicate, disable, delete
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${base}/#/`);
  await page.locator('#lineup tr[data-number="1"] a', { hasText: 'Copy' }).click();
  await page.getByRole('heading', { name: /Duplicate of 1 · Hotel Movies/ }).waitFor();
  t.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Hotel Movies (copy)', 'a duplicate takes the name with "(copy)"');
  t.equal(await page.getByLabel('Number').inputValue(), '5', 'the next free number');
  t.not(await page.locator('#f-multicast-group').inputValue(), '239.255.10.1', 'and a free address, not the original\'s');
  await page.waitForFunction(() => !(document.getElementById('save') as HTMLButtonElement).disabled);
  await page.locator('#save').click();
  await page.getByRole('heading', { name: /5 · Hotel Movies \(copy\)/ }).waitFor();
  await page.getByRole('link', { name: '← Lineup' }).click();
  await page.locator('#lineup tr[data-number="5"] button', { hasText: 'Disable' }).click();
  await page.locator('#lineup tr[data-number="5"] .badge-off').waitFor();
  t.pass('Disable takes the copy off the air (badge "off")');
  await page.locator('#lineup tr[data-number="5"] button', { hasText: 'Delete' }).click();
  await page.locator('#lineup tr[data-number="5"]').waitFor({ state: 'detached' });
  const afterDelete = (await page.evaluate(async () => (await (await fetch('/api/channels')).json()) as { channels: { number: number }[] })).channels.map((c) => c.number);
  t.same(afterDelete, [1, 2, 3, 4], 'Delete removes it from the lineup');

  // ---- import: a file with a problem changes nothing and says what is wrong, with its line
  await page.getByRole('link', { name: 'Import / export' }).click();
  await page.locator('#import-file').setInputFiles({ name: 'channels.yaml', mimeType: 'text/yaml', buffer: Buffer.from('channels:\n  - number: 1\n    name: Broken\n    multicast: { group: 239.255.10.300, port: 5000 }\n    source: { type: udp, address: 239.1.1.1, port: 6000 }\n') });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.locator('#import-result').filter({ hasText: 'Nothing was changed' }).waitFor();
  t.match(await page.locator('#import-result').textContent(), /channels\[0\]\.multicast\.group.*239\.255\.10\.300 is not an IPv4 multicast address/, 'an import with a bad address is refused, naming the path');
  const afterImport = (await page.evaluate(async () => (await (await fetch('/api/channels')).json()) as { channels: { number: number }[] })).channels.map((c) => c.number);
  t.same(afterImport, [1, 2, 3, 4], 'and the lineup is untouched');
  const [yamlDownload] = await Promise.all([page.waitForEvent('download'), page.locator('#export-yaml').click()]);
  const exported = await readFile((await yamlDownload.path())!, 'utf8');
  t.match(exported, /name: Conference Room/, 'the channels.yaml export has the lineup');
  t.match(exported, /SRT passphrases are shown as "\*\*\*"/, 'an operator-level export, secrets masked, says so in its header');

  // ---- users: add a read-only user; the audit log shows who did what
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('User name', { exact: true }).fill('frontdesk');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByLabel('One-time password').fill('front-desk-first-1');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.locator('#users tbody tr', { hasText: 'frontdesk' }).waitFor();
  t.match(await page.locator('#users tbody tr', { hasText: 'frontdesk' }).textContent(), /must choose a password/, 'the new user must choose a password at the first login');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.locator('#audit tbody tr', { hasText: 'channel.create' }).first().waitFor();
  const audit = await page.locator('#audit tbody').textContent();
  for (const action of ['user.create', 'channel.assign-multicast', 'channel.reorder', 'channel.create', 'user.password', 'user.login']) t.match(audit, action, `the audit log shows ${action}`);
  t.notMatch(audit, /front-desk-first-1|hotel-it-chooses/, 'and no password');

  // ---- a tablet: the lineup fits the screen
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.getByRole('link', { name: 'Lineup' }).click();
  await page.locator('#lineup tr[data-number="3"] .badge-ok').waitFor({ timeout: 20_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  t.ok(overflow <= 0, `on a tablet (820 px) the page does not scroll sideways (overflow ${overflow} px)`);
  const tableOverflow = await page.locator('.table-wrap').evaluate((el) => el.scrollWidth - el.clientWidth);
  t.ok(tableOverflow <= 0, `and the lineup table fits without scrolling (overflow ${tableOverflow} px)`);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-ui-lineup-tablet.png'), fullPage: true });
  await page.setViewportSize({ width: 1366, height: 900 });

  // ---- export M3U
  await page.getByRole('link', { name: 'Import / export' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-m3u').click()]);
  const m3u = await readFile((await download.path())!, 'utf8');
  t.match(m3u, /^#EXTM3U/, 'the download is an M3U playlist');
  t.match(m3u, /#EXTINF:[^\n]*Test Pattern\s*\n\s*rtp:\/\/@?239\.255\.213\.3:5000/, 'with the new channel and its address');
  const logoUrl = /#EXTINF:[^\n]*tvg-logo="([^"]+)"[^\n]*Test Pattern/.exec(m3u)?.[1];
  t.match(logoUrl, /^http:\/\/127\.0\.0\.1:\d+\/logos\/\d+\?v=\d+$/, 'and its logo (tvg-logo) as an absolute URL');
  const logoAnswer = await httpRequest(logoUrl!);
  t.equal(logoAnswer.headers['content-type'], 'image/png', 'which a player can fetch without a login');

  // ---- log out: the session is gone for the server too
  const cookie = (await context.cookies()).find((c) => /roomcast_session/.test(c.name));
  t.ok(cookie?.httpOnly, 'the session cookie is HttpOnly (the page cannot read it)');
  t.equal(cookie?.sameSite, 'Strict', 'and SameSite=Strict');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  const after = await httpRequest(`${base}/api/me`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
  t.equal(after.status, 401, 'after logout the old session cookie is refused');

  // ---- the read-only user: sees the lineup, cannot change it (the server refuses too)
  const desk = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  desk.on('pageerror', (e) => pageErrors.push(`frontdesk: ${e.message}`));
  await desk.goto(`${base}/`);
  await desk.getByLabel('User name').fill('frontdesk');
  await desk.getByLabel('Password').fill('front-desk-first-1');
  await desk.getByRole('button', { name: 'Log in' }).click();
  await desk.getByLabel('Current password').fill('front-desk-first-1');
  await desk.getByLabel('New password (at least 8 characters)').fill('front-desk-own-2');
  await desk.getByLabel('New password again').fill('front-desk-own-2');
  await desk.getByRole('button', { name: 'Change password' }).click();
  await desk.locator('#lineup tbody tr[data-number="3"]').waitFor();
  t.equal(await desk.getByRole('link', { name: '+ Add channel' }).count(), 0, 'a viewer gets no Add button');
  t.equal(await desk.locator('#lineup .handle, #lineup button:has-text("Delete")').count(), 0, 'nor handles or Delete buttons');
  t.equal(await desk.getByRole('link', { name: 'Users' }).count(), 0, 'nor the Users page');
  const refused = await desk.evaluate(async () => (await fetch('/api/channels/1?version=1', { method: 'DELETE' })).status);
  t.equal(refused, 403, 'and the server refuses a viewer’s delete');

  t.same(foreign, [], 'the page made no request outside the headend');
  t.same(pageErrors, [], 'and logged no error');
});
