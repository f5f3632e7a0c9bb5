/**
 * roomcast-stb's catch-up and VOD (issue 6 §6) against a real headend on
 * loopback: `channels` shows now/next from the guide; `catchup <n>
 * <programme>` and `catchup <n> <time>` leave the multicast and play the
 * headend's HLS into the same player output (/stream.ts), which ffmpeg
 * decodes from an I-frame; `vod <asset>` plays a film dropped in the
 * headend's inbox folder; bad requests say what is wrong; `zap` goes back
 * to live multicast.
 */
import t from 'tap';
import http from 'node:http';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import HLS from 'hls-parser';
import { formatXmltvTime } from '../../core/epg/xmltv.js';
import { TS_PACKET_SIZE, tsPid } from '../../core/mpegts/packet.js';
import { AGENT_MAIN, agentEnv, stbCli } from '../helpers/agent.js';
import { FIXTURES, adminSession, httpRequest, startHeadend, tempDir } from '../helpers/headend.js';

const execFileP = promisify(execFile);
const BASE = 33000 + (process.pid % 1000) * 4;
const HTTP = BASE;
const CONTROL = BASE + 2;
const base = `http://127.0.0.1:${HTTP}`;

const env = agentEnv;
const cli = (args: string[]) => stbCli(CONTROL, args, 20_000);

interface Status {
  channel: number | null;
  mode: string;
  unicast: { state: string; label: string; playlistType: string | null; segments: number; positionS: number } | null;
}

async function status(): Promise<Status> {
  const r = await cli(['status']);
  // Not up yet (the agent is starting): nothing tuned.
  return r.code === 0 ? (JSON.parse(r.stdout) as Status) : { channel: null, mode: 'none', unicast: null };
}

async function until(what: string, ok: (s: Status) => boolean, timeoutMs: number): Promise<Status> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status();
    if (ok(s)) return s;
    if (Date.now() > end) throw new Error(`${what}: not after ${timeoutMs} ms (${JSON.stringify(s)})`);
    await sleep(250);
  }
}

/** From the last start in the player's stream (the restamper marks each with a PCR discontinuity_indicator) on. */
function fromLastStart(ts: Buffer): Buffer {
  const end = ts.length - (ts.length % TS_PACKET_SIZE);
  let disc = -1;
  for (let o = 0; o + TS_PACKET_SIZE <= end; o += TS_PACKET_SIZE) if ((ts[o + 3] & 0x20) !== 0 && ts[o + 4] > 0 && (ts[o + 5] & 0x90) === 0x90) disc = o;
  for (let o = disc; o >= 0; o -= TS_PACKET_SIZE) if (tsPid(ts, o) === 0 && (ts[o + 1] & 0x40) !== 0) return ts.subarray(o, end);
  return ts.subarray(0, end);
}

async function probe(ts: Buffer, dir: string, name: string): Promise<{ duration: number; firstKey: boolean; errors: string }> {
  const f = join(dir, name);
  await writeFile(f, ts);
  const d = await execFileP('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', f]);
  const k = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', f]);
  const e = await execFileP('ffmpeg', ['-v', 'error', '-i', f, '-f', 'null', '-']).then((r) => r.stderr, (x: { stderr?: string }) => x.stderr ?? 'failed');
  return { duration: Number(d.stdout.trim()), firstKey: k.stdout.trim().startsWith('1'), errors: e.trim() };
}

t.test('roomcast-stb catchup/vod on loopback: guide, programme, time, film, errors, back to live', { timeout: 200_000 }, async (t) => {
  const dir = await tempDir('roomcast-stb-uni-');
  const yaml = `
headend: { interface: 127.0.0.1, httpPort: ${HTTP}, pacingDelayMs: 100, fcc: { enabled: false }, hls: { enabled: true, windowS: 120 }, vod: { enabled: true } }
channels:
  - number: 1
    name: Lobby Info
    tvgId: lobby.test
    multicast: { group: 239.255.216.${(process.pid % 250) + 1}, port: 5000 }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
`;
  const he = await startHeadend(yaml, { args: ['--no-mdns'], dataDir: dir });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c.length === 1 && c[0].state === 'ok', 20_000, 'channel 1 on the air');

  // A film dropped into the headend's VOD inbox (as over SFTP): packaged on its own.
  const film = join(dir, 'film.mp4');
  await execFileP('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25', '-c:a', 'aac', film]);
  await mkdir(join(dir, 'vod', 'inbox'), { recursive: true });
  await copyFile(film, join(dir, 'vod', 'inbox', '.copying'));
  await execFileP('mv', [join(dir, 'vod', 'inbox', '.copying'), join(dir, 'vod', 'inbox', 'Lobby Tour.mp4')]);

  // Ten seconds of recording, then a guide with a programme inside it.
  let first = 0;
  for (let i = 0; i < 80 && first === 0; i++) {
    const r = await httpRequest(`${base}/hls/1/index.m3u8`).catch(() => null);
    const p = r?.status === 200 ? (HLS.parse(r.body) as HLS.types.MediaPlaylist) : null;
    if (p && p.segments.length >= 5) first = p.segments[0].programDateTime!.getTime();
    else await sleep(500);
  }
  t.ok(first > 0, 'channel 1 has been recording');
  const S = 1000;
  const pastStart = Math.ceil(first / S) * S + 2 * S;
  const now = Math.floor(Date.now() / S) * S;
  const prog = (start: number, stop: number, title: string) => `<programme start="${formatXmltvTime(start)}" stop="${formatXmltvTime(stop)}" channel="lobby.test"><title>${title}</title></programme>`;
  const xml = `<?xml version="1.0"?>\n<tv>${prog(pastStart, pastStart + 4 * S, 'Morning Briefing')}${prog(pastStart + 4 * S, now + 600 * S, 'Lobby Loop')}${prog(now + 600 * S, now + 1200 * S, 'Evening Concert')}</tv>`;
  const session = await adminSession(base, he.output());
  const imp = await httpRequest(`${base}/api/epg/import`, { method: 'POST', headers: { ...session.headers, 'content-type': 'application/gzip' }, body: gzipSync(xml) });
  t.equal(imp.status, 200, `guide imported: ${imp.body.slice(0, 200)}`);

  // The programme's play link, as any HLS client opens it: a redirect to a VOD playlist that ffmpeg plays for the programme's length.
  const playUrl = `${base}/api/epg/1/${pastStart / S}/play`;
  const redirect = await httpRequest(playUrl);
  t.equal(redirect.status, 302);
  const pl = HLS.parse((await httpRequest(new URL(redirect.headers.location!, base))).body) as HLS.types.MediaPlaylist;
  t.equal(pl.playlistType, 'VOD', 'a programme that is over: a VOD playlist (hls-parser)');
  t.equal(pl.endlist, true);
  const played = Number((await execFileP('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', playUrl], { timeout: 30_000 })).stdout.trim());
  t.ok(Math.abs(played - 4) <= Math.max(...pl.segments.map((x) => x.duration)) + 0.1, `ffprobe follows the play link and reads the programme: ${played.toFixed(2)} s of 4 s, within one segment`);
  const dec = await execFileP('ffmpeg', ['-v', 'error', '-i', playUrl, '-f', 'null', '-'], { timeout: 30_000 }).then((r) => r.stderr, (x: { stderr?: string }) => x.stderr ?? 'failed');
  t.equal(dec.trim(), '', 'and ffmpeg decodes it without an error');

  for (let i = 0; i < 60; i++) {
    const r = await httpRequest(`${base}/vod/lobby-tour/index.m3u8`).catch(() => null);
    if (r?.status === 200) break;
    await sleep(500);
  }
  t.equal((await httpRequest(`${base}/vod/lobby-tour/index.m3u8`)).status, 200, 'the film dropped in the inbox is packaged: /vod/lobby-tour/index.m3u8');

  // The agent, and a player on its output.
  const agent: ChildProcess = spawn(
    process.execPath,
    [AGENT_MAIN, 'run', '--headend', `${base}/`, '--interface', '127.0.0.1', '--control-port', String(CONTROL), '--state-file', join(dir, 'stb-state.json')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: env() },
  );
  t.teardown(() => agent.kill('SIGKILL'));
  let log = '';
  agent.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await until('the agent tunes channel 1', (s) => s.channel === 1, 20_000);
  const chunks: Buffer[] = [];
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${CONTROL}/stream.ts`, resolve);
    req.on('error', reject);
    t.teardown(() => req.destroy());
  });
  res.on('data', (d: Buffer) => chunks.push(d));
  await sleep(1500);

  const list = await cli(['channels']);
  t.equal(list.code, 0);
  t.match(list.stdout, /\*\s+1\s+Lobby Info.*now: Lobby Loop \(\d\d:\d\d–\d\d:\d\d\); next: Evening Concert \(\d\d:\d\d\)/, `channels shows now and next: ${list.stdout.trim()}`);

  // ---- catch-up by programme (words of its title)
  let mark = Buffer.concat(chunks).length;
  const cp = await cli(['catchup', '1', 'morning', 'briefing']);
  t.equal(cp.code, 0, `catchup 1 morning briefing: ${cp.stdout.trim()}${cp.stderr.trim()}`);
  t.match(cp.stdout, /playing channel 1: Morning Briefing .*\(complete\)/);
  const during = await status();
  t.equal(during.mode, 'unicast', 'the agent left the live channel');
  t.equal(during.channel, null, 'no multicast group joined meanwhile');
  const done = await until('the programme ends', (s) => s.unicast?.state === 'ended', 20_000);
  t.ok(done.unicast!.segments >= 2, `played ${done.unicast!.segments} segments`);
  let out = fromLastStart(Buffer.concat(chunks).subarray(mark));
  t.equal(tsPid(out, 0), 0, 'the player gets PAT first');
  let p = await probe(out, dir, 'catchup-programme.ts');
  t.ok(p.firstKey, 'then an I-frame');
  t.ok(Math.abs(p.duration - 4) <= 2.1, `the 4 s programme, within one segment: ${p.duration.toFixed(2)} s`);
  t.equal(p.errors, '', 'ffmpeg decodes it without an error');

  // ---- catch-up from a time (HH:MM:SS, local): start-over, an EVENT playlist that grows
  const hhmmss = new Date(pastStart).toTimeString().slice(0, 8);
  const ct = await cli(['catchup', '1', hhmmss]);
  t.equal(ct.code, 0, `catchup 1 ${hhmmss}: ${ct.stdout.trim()}${ct.stderr.trim()}`);
  t.match(ct.stdout, /still on the air: it grows/);
  const ev = await until('start-over plays', (s) => (s.unicast?.positionS ?? 0) >= 3, 20_000);
  t.equal(ev.unicast!.playlistType, 'EVENT');
  t.equal(ev.unicast!.state, 'playing');

  // ---- what cannot be played says why
  const none = await cli(['catchup', '1', 'nonexistent', 'show']);
  t.equal(none.code, 1, `catchup 1 nonexistent show: ${none.stdout}${none.stderr}`);
  t.match(none.stderr, /no programme on channel 1 in the last 30 days has "nonexistent show" in its title/);
  const early = await cli(['catchup', '1', String(Math.floor(first / 1000) - 2 * 86_400)]);
  t.equal(early.code, 1, `catchup before the recording: ${early.stdout}${early.stderr}`);
  t.match(early.stderr, /HTTP 404: channel 1 is recorded from .* is before it/, 'a time before the recording: the headend\'s reason');
  const future = await cli(['catchup', '1', new Date(Date.now() + 3600_000).toISOString()]);
  t.equal(future.code, 1);
  t.match(future.stderr, /is in the future/);
  t.equal((await status()).unicast?.label.includes('from'), true, 'a refused request leaves the playback as it was');

  // ---- a film
  mark = Buffer.concat(chunks).length;
  const vod = await cli(['vod', 'lobby-tour']);
  t.equal(vod.code, 0, `vod lobby-tour: ${vod.stdout.trim()}${vod.stderr.trim()}`);
  await until('the film ends', (s) => s.unicast?.state === 'ended' && s.unicast.label === 'vod lobby-tour', 20_000);
  out = fromLastStart(Buffer.concat(chunks).subarray(mark));
  p = await probe(out, dir, 'vod.ts');
  t.ok(p.firstKey, 'the film starts on an I-frame');
  t.ok(Math.abs(p.duration - 3) <= 0.5, `the whole 3 s film: ${p.duration.toFixed(2)} s`);
  t.equal(p.errors, '', 'and decodes without an error');
  for (const bad of ['../etc', 'Lobby Tour']) {
    const r = await cli(['vod', bad]);
    t.equal(r.code, 1);
    t.match(r.stderr, /is not an asset id/, `vod ${JSON.stringify(bad)} refused`);
  }
  const missing = await cli(['vod', 'no-such-film']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /HTTP 404/, 'an unknown film: the headend\'s 404');

  // ---- zap: back to live multicast
  const z = await cli(['zap', '1']);
  t.equal(z.code, 0, z.stdout + z.stderr);
  const live = await status();
  t.equal(live.mode, 'live');
  t.equal(live.channel, 1, 'zap goes back to the live channel');
  t.match(z.stdout, /first byte to the player after/);
  t.notMatch(log, /TypeError|unhandled/i, 'no crash in the agent');
});
