#!/usr/bin/env node
/**
 * roomcast-headend: reads channels.yaml, writes the SDP files and the M3U
 * playlist, and runs every channel on the data-plane workers. The main thread
 * keeps config, logging and (later) the API; the packets never touch it.
 */
import { randomInt } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ConfigError, type ChannelConfig, type LineupConfig } from '../core/lineup/config.js';
import { channelByKey, channelSdp, lineupM3u, channelUrl } from '../core/lineup/playlist.js';
import { lineupDocument } from '../core/lineup/api.js';
import { loadLineupFile, resolveStbNetworks } from './config/load.js';
import { buildApi } from './control/api.js';
import { registerAdminApi } from './control/admin-api.js';
import { requireFleetKey, requireRole } from './control/auth.js';
import { openStore, type Store } from './store/db.js';
import { StoreError } from './store/errors.js';
import { advertiseHeadend, type HeadendAdvertisement } from './control/mdns.js';
import { ChannelEvents } from './control/events.js';
import { Thumbnails } from './control/thumbnail.js';
import { registerAdminUi } from './control/ui.js';
import { HlsLibrary, registerHls } from './control/hls.js';
import { EpgRefresher, registerEpg } from './control/epg.js';
import { registerVod } from './control/vod.js';
import { VodLibrary } from './vod/library.js';
import { SlateMaker, type SlateFormat } from './slate.js';
import { createLogger, isLogLevel, type Logger } from './log.js';
import { ffmpegMuxrateBps, findFfmpeg } from './dataplane/ffmpeg.js';
import type { ChannelSnapshot, FccStatus, FromWorker, ToWorker } from './dataplane/messages.js';

const USAGE = `Usage: roomcast-headend [options]

  --config FILE       headend settings, and the channel lineup imported into the
                      database on first start (default ./channels.yaml)
  --data DIR          the database (roomcast.db), SDP files, playlist, status, slates
                      (default ./data)
  --import-config     replace the lineup in the database with the channels of
                      --config (after first start the database holds the lineup)
  --log-level LEVEL   debug | info | warn | error (default info)
  --http-port PORT    the HTTP API (lineup, playlist, STB reports) on headend.interface
                      (default headend.httpPort, 8080)
  --no-mdns           do not advertise the headend over mDNS (_roomcast._tcp)
  --check-config      validate the configuration, print the result and exit
  -h, --help          this text
`;

function mbps(bps: number): string {
  return `${(bps / 1e6).toFixed(2)} Mbps`;
}

function describeBitrate(ch: ChannelConfig): string {
  if (ch.cbrBitrateKbps !== null) return `${mbps(ch.cbrBitrateKbps * 1000)} CBR`;
  if (ch.source.type === 'ffmpeg') {
    const r = ffmpegMuxrateBps(ch.source);
    if (r !== null) return `${mbps(r)} CBR (${ch.source.profile})`;
  }
  return 'as received';
}

function healthLine(s: ChannelSnapshot): string {
  const t = s.tr101290;
  const parts = [
    `ch ${s.number} ${s.state}`,
    `in ${mbps(s.inputBitrateBps)}`,
    `out ${mbps(s.outputBitrateBps)}`,
    `cc ${t.ccErrors ?? 0}`,
    `pcr-max ${(t.pcrIntervalMaxMs ?? 0).toFixed(0)}ms`,
    `late-p99 ${s.output.latenessP99Ms.toFixed(1)}ms`,
    `restarts ${s.input.restarts}`,
  ];
  if (s.state !== 'ok' && s.input.lastError) parts.push(`last error: ${s.input.lastError}`);
  return parts.join(' | ');
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

async function writePlaylists(cfg: LineupConfig, dataDir: string, ssrcs: ReadonlyMap<number, number>): Promise<void> {
  await mkdir(join(dataDir, 'sdp'), { recursive: true });
  for (const ch of cfg.channels) {
    if (ch.transport === 'rtp' && ch.enabled) await writeAtomic(join(dataDir, 'sdp', `${ch.number}.sdp`), channelSdp(ch, cfg.headend, 1, ssrcs.get(ch.number) ?? null));
  }
  await writeAtomic(join(dataDir, 'playlist.m3u'), lineupM3u(cfg.channels));
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', default: './channels.yaml' },
        data: { type: 'string', default: './data' },
        'log-level': { type: 'string', default: 'info' },
        'check-config': { type: 'boolean', default: false },
        'import-config': { type: 'boolean', default: false },
        'http-port': { type: 'string' },
        'no-mdns': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const level = args['log-level'] ?? 'info';
  if (!isLogLevel(level)) {
    process.stderr.write(`--log-level: ${level} is not one of debug, info, warn, error\n`);
    return 2;
  }
  const log = createLogger(level);
  const configFile = resolve(args.config ?? './channels.yaml');
  let cfg: LineupConfig;
  try {
    cfg = await loadLineupFile(configFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`roomcast-headend: refusing to start.\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args['check-config']) {
    process.stdout.write(`${configFile}: ok, ${cfg.channels.length} channels\n`);
    return 0;
  }
  let httpPort = cfg.headend.httpPort;
  if (args['http-port'] !== undefined) {
    httpPort = Number(args['http-port']);
    if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) {
      process.stderr.write(`--http-port: ${args['http-port']} is not a port number (1-65535)\n`);
      return 2;
    }
  }
  const dataDir = resolve(args.data ?? './data');
  // TLS first: a refused start must not have touched the database (nor spent the one-time admin password).
  let https: { cert: Buffer; key: Buffer } | null = null;
  if (cfg.headend.tls) {
    const { cert, key } = cfg.headend.tls;
    try {
      https = { cert: await readFile(cert), key: await readFile(key) };
      // Parsed now: a file that is not PEM, or a key that is not the certificate's, would
      // otherwise throw from https.createServer after the channels started.
      createSecureContext(https);
    } catch (err) {
      process.stderr.write(`roomcast-headend: refusing to start.\nheadend.tls (cert ${cert}, key ${key}): ${(err as Error).message}\n`);
      return 2;
    }
  }
  // The store (main thread only): the lineup after first start, users, sessions, audit, STB reports.
  await mkdir(dataDir, { recursive: true });
  const dbFile = join(dataDir, 'roomcast.db');
  let store: Store;
  try {
    store = openStore(dbFile, { log: (lv, m) => log[lv](m) });
    const first = store.channels.isEmpty();
    if (first || args['import-config']) {
      const channels = cfg.channels;
      store.transaction(() => {
        store.channels.replaceAll(channels);
        store.audit.append({ username: 'system', action: 'lineup.import', target: configFile, detail: { channels: channels.length, why: first ? 'first start' : '--import-config' } });
      });
      log.info(`lineup: ${channels.length} channels imported from ${configFile} into ${dbFile}${first ? ' (first start); from now on the database holds the lineup' : ' (--import-config)'}`);
    } else {
      cfg = { ...cfg, channels: store.channels.list().map((c) => c.config) };
      log.info(`lineup: ${cfg.channels.length} channels from ${dbFile} (the database holds the lineup; ${configFile} gives the headend settings — its channels are imported only with --import-config)`);
    }
    const admin = await store.users.ensureAdmin(process.env.ROOMCAST_ADMIN_PASSWORD);
    if (admin.created && admin.password) {
      // Printed once, here: it is not stored in clear anywhere (only its scrypt hash).
      log.warn(`first start: user "admin" created with the one-time password ${admin.password} — it must be changed at the first login`);
    } else if (admin.created) {
      log.info('first start: user "admin" created with the password from ROOMCAST_ADMIN_PASSWORD — it must be changed at the first login');
    }
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`roomcast-headend: refusing to start.\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // RFC 3550 §8: a random SSRC per channel, chosen here once so that a
  // restarted worker keeps it and the lineup, SDP and RAMS-R agree on it.
  const ssrcs = new Map<number, number>(cfg.channels.map((c) => [c.number, randomInt(0, 2 ** 32 - 1) >>> 0]));
  await writePlaylists(cfg, dataDir, ssrcs);
  return run(cfg, dataDir, log, { httpPort, mdns: !args['no-mdns'], ssrcs, store, https });
}

async function run(cfg: LineupConfig, dataDir: string, log: Logger, o: { httpPort: number; mdns: boolean; ssrcs: Map<number, number>; store: Store; https: { cert: Buffer; key: Buffer } | null }): Promise<number> {
  const { headend } = cfg;
  let channels = cfg.channels.filter((c) => c.enabled);
  log.info(`roomcast-headend: ${channels.length} channels on interface ${headend.interface} (ttl ${headend.ttl}), ${headend.workers} data-plane worker${headend.workers > 1 ? 's' : ''}; playlist ${join(dataDir, 'playlist.m3u')}`);
  if (headend.interface.startsWith('127.')) {
    log.info('multicast stays on loopback; set headend.interface to the IPTV interface address to reach STBs');
  }
  const latest = new Map<number, ChannelSnapshot>();
  // HLS (issue 6): the workers write segments, this thread indexes and serves them.
  const hlsDir = headend.hls.enabled ? resolve(dataDir, headend.hls.dir ?? 'hls') : null;
  const hls = hlsDir
    ? new HlsLibrary({ dir: hlsDir, segmentS: headend.hls.segmentS, windowS: headend.hls.windowS, maxDiskBytes: headend.hls.maxDiskMB * 1024 * 1024, log: (level, m) => log[level](m) })
    : null;
  const catchupDays = (list: readonly ChannelConfig[]): Map<number, number> => new Map(list.map((c) => [c.number, c.catchupDays ?? 0]));
  if (hls) {
    hls.setCatchupDays(catchupDays(cfg.channels));
    try {
      await hls.load();
    } catch (err) {
      log.error(`HLS: cannot use ${hlsDir}: ${(err as Error).message}`);
    }
  }
  const events = new ChannelEvents();
  /** GOP requests to the workers (thumbnails), by id. */
  const gopWaiters = new Map<number, (data: Buffer | null) => void>();
  let gopIds = 0;
  // Channels are sharded across the workers round-robin.
  const shards: ChannelConfig[][] = Array.from({ length: headend.workers }, () => []);
  // Round-robin, except that SRT listeners on one port share a worker (they share its socket).
  const srtWorker = new Map<string, number>();
  /** Which worker runs each channel. */
  const workerOf = new Map<number, number>();
  let next = 0;
  const place = (ch: ChannelConfig, w0: number): number => {
    const keys = ch.inputs.filter((s) => s.type === 'srt' && s.mode === 'listener').map((s) => (s.type === 'srt' ? `${s.address}:${s.port}` : ''));
    const known = keys.map((k) => srtWorker.get(k)).find((w) => w !== undefined);
    const w = known ?? w0;
    for (const k of keys) if (!srtWorker.has(k)) srtWorker.set(k, w);
    shards[w].push(ch);
    workerOf.set(ch.number, w);
    return w;
  };
  for (const ch of channels) place(ch, next++ % headend.workers);
  const fccPorts = new Map<number, number>();
  if (headend.fcc.enabled) shards.forEach((list, w) => list.forEach((ch) => fccPorts.set(ch.number, headend.fcc.port + w)));
  const stb = resolveStbNetworks(cfg);
  const fccStatus = new Map<number, FccStatus>();
  let stopping = false;
  let slatePath: string | null = null;
  const slates = new SlateMaker(dataDir, (level, m) => log[level](m));
  const slateChannels = new Set(channels.filter((c) => c.slate).map((c) => c.number));
  /** Per channel: the format key of its own slate (made or being made) and, once made, the file. */
  const ownSlates = new Map<number, { key: string; path: string | null }>();
  const workers: Worker[] = [];
  const stopWaiters = new Map<number, () => void>();
  // A slate in the channel's format, once its input has shown it (headend/slate.ts).
  const slateInFormat = (w: number, number: number, format: SlateFormat): void => {
    if (!slateChannels.has(number) || stopping) return;
    const key = slates.keyOf(format);
    if (key === null || ownSlates.get(number)?.key === key) return;
    ownSlates.set(number, { key, path: null });
    void slates.get(format).then((path) => {
      const own = ownSlates.get(number);
      if (!path || !own || own.key !== key || stopping) return;
      own.path = path;
      workers[w]?.postMessage({ type: 'slate', path, channel: number } satisfies ToWorker);
    });
  };
  const startWorker = (w: number): Worker => {
    const worker = new Worker(new URL('./dataplane/worker.js', import.meta.url));
    worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'log':
          log.child(msg.scope)[msg.level](msg.message);
          break;
        case 'snapshot':
          for (const s of msg.channels) {
            latest.set(s.number, s);
            events.observe(s, Date.now());
            if (s.sourceFormat) slateInFormat(w, s.number, s.sourceFormat);
          }
          break;
        case 'fcc':
          fccStatus.set(msg.status.worker, msg.status);
          break;
        case 'segment':
          hls?.add(msg.segment);
          break;
        case 'gop': {
          const done = gopWaiters.get(msg.id);
          gopWaiters.delete(msg.id);
          done?.(msg.data ? Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength) : null);
          break;
        }
        case 'stopped':
          latest.delete(msg.number);
          stopWaiters.get(msg.number)?.();
          stopWaiters.delete(msg.number);
          break;
        default:
          break;
      }
    });
    worker.on('error', (err) => log.error(`data-plane worker ${w} crashed: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => {
      if (stopping) return;
      // A worker only exits on a bug. Its channels go off the air: bring them
      // back on a fresh worker rather than leave them dark.
      log.error(`data-plane worker ${w} exited (code ${code}); restarting it with its ${shards[w].length} channels`);
      setTimeout(() => {
        if (!stopping) workers[w] = startWorker(w);
      }, 500);
    });
    worker.postMessage({ type: 'init', headend, index: w, stbNetworks: stb.networks, hlsDir } satisfies ToWorker);
    for (const ch of shards[w]) worker.postMessage({ type: 'start', channel: ch, ssrc: o.ssrcs.get(ch.number)! } satisfies ToWorker);
    if (slatePath) worker.postMessage({ type: 'slate', path: slatePath } satisfies ToWorker);
    for (const ch of shards[w]) {
      const own = ownSlates.get(ch.number);
      if (own?.path) worker.postMessage({ type: 'slate', path: own.path, channel: ch.number } satisfies ToWorker);
    }
    return worker;
  };
  for (const ch of channels) {
    log.info(`channel ${ch.number} "${ch.name}" [${ch.group}] → ${channelUrl(ch)} (${ch.transport}), ${describeBitrate(ch)}, source ${ch.source.type}`);
  }
  for (let w = 0; w < headend.workers; w++) workers.push(startWorker(w));
  // The slate, made once (in the background: channels start meanwhile).
  if (slateChannels.size > 0) {
    void slates.default().then((p) => {
      slatePath = p;
      if (p && !stopping) for (const w of workers) w.postMessage({ type: 'slate', path: p } satisfies ToWorker);
    });
  }
  if (headend.fcc.enabled) {
    const ports = headend.workers === 1 ? `${headend.fcc.port}` : `${headend.fcc.port}-${headend.fcc.port + headend.workers - 1}`;
    log.info(`fast channel change on ${headend.interface} udp/${ports} for STBs in ${stb.cidrs.join(', ')}`);
  }

  // The API: lineup (with each channel's SSRC and FCC port), playlist, STB reports.
  const newVersion = (): string => `${Date.now().toString(36)}-${randomInt(0, 2 ** 31).toString(36)}`;
  // The lineup's version: agents reload the lineup when it changes.
  let version = newVersion();

  /**
   * Live apply (DESIGN.md: a lineup change is a reconcile): only the channels
   * in `changed` stop and start again, on their worker (or the least loaded
   * one for a new channel); every other channel keeps streaming untouched.
   * A channel keeps its SSRC across a restart (the same stream to the
   * receivers). Serialised: one change at a time.
   */
  let applying: Promise<void> = Promise.resolve();
  const applyLineup = (all: ChannelConfig[], changed: readonly number[]): Promise<void> => {
    const step = async (): Promise<void> => {
      if (stopping) return;
      cfg = { ...cfg, channels: all };
      hls?.setCatchupDays(catchupDays(all));
      const want = new Map(all.filter((c) => c.enabled).map((c) => [c.number, c]));
      const restarted: number[] = [];
      for (const n of new Set(changed)) {
        const w = workerOf.get(n);
        if (w !== undefined) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 5000); // a worker that does not answer must not hold every later change
            stopWaiters.set(n, () => {
              clearTimeout(t);
              resolve();
            });
            workers[w].postMessage({ type: 'stop', number: n } satisfies ToWorker);
          });
          shards[w] = shards[w].filter((c) => c.number !== n);
          workerOf.delete(n);
          fccPorts.delete(n);
          ownSlates.delete(n);
          latest.delete(n);
          thumbnails.forget(n);
          events.restarted(n, want.has(n) ? 'restarted by a lineup change' : 'stopped (removed or disabled)', Date.now());
        }
        const ch = want.get(n);
        if (!ch) continue;
        let least = 0;
        for (let k = 1; k < shards.length; k++) if (shards[k].length < shards[least].length) least = k;
        const w2 = place(ch, w ?? least);
        if (headend.fcc.enabled) fccPorts.set(n, headend.fcc.port + w2);
        if (!o.ssrcs.has(n)) o.ssrcs.set(n, randomInt(0, 2 ** 32 - 1) >>> 0);
        if (ch.slate) slateChannels.add(n);
        else slateChannels.delete(n);
        workers[w2].postMessage({ type: 'start', channel: ch, ssrc: o.ssrcs.get(n)! } satisfies ToWorker);
        restarted.push(n);
        log.info(`channel ${n} "${ch.name}" ${w === undefined ? 'added' : 'restarted'} → ${channelUrl(ch)} (${ch.transport}), ${describeBitrate(ch)}`);
      }
      for (const n of changed) if (!want.has(n) && !workerOf.has(n)) log.info(`channel ${n} stopped (removed or disabled)`);
      channels = [...want.values()].sort((a, b) => a.number - b.number);
      version = newVersion();
      await writePlaylists(cfg, dataDir, o.ssrcs);
    };
    applying = applying.then(step, step);
    return applying;
  };
  // The API: the agents' lineup, playlist and reports (api.ts), and the admin
  // API for hotel IT (admin-api.ts: login, lineup editing applied live, users,
  // audit, status, metrics) on the same port.
  const secureCookies = o.https !== null;
  // Thumbnails from the channels' GOP caches (headend/control/thumbnail.ts).
  const thumbnails = new Thumbnails({
    ffmpeg: findFfmpeg(),
    gop: (n) => {
      const w = workerOf.get(n);
      if (w === undefined || !workers[w]) return Promise.resolve(null);
      const id = ++gopIds;
      return new Promise<Buffer | null>((resolveGop) => {
        const t = setTimeout(() => {
          gopWaiters.delete(id);
          resolveGop(null);
        }, 2000);
        gopWaiters.set(id, (data) => {
          clearTimeout(t);
          resolveGop(data);
        });
        workers[w].postMessage({ type: 'gop', id, number: n } satisfies ToWorker);
      });
    },
  });
  const apiUrl = `${secureCookies ? 'https' : 'http'}://${headend.interface}:${o.httpPort}/`;
  const api = buildApi({
    lineup: () => lineupDocument(cfg, { version, ssrcs: o.ssrcs, fccPorts }),
    // Served over HTTP: logos as absolute URLs on this API (players fetch them).
    playlist: () => {
      const logos = o.store.logos.list();
      // Catch-up in whole days, as players count it: the channel's catchupDays (or a live window of a day or more).
      const days = (n: number): number => (hls ? Math.floor(hls.keptS(n) / 86_400) : 0);
      return lineupM3u(
        cfg.channels,
        (n) => (logos.has(n) ? `${apiUrl}logos/${n}?v=${logos.get(n)}` : null),
        (n) => (days(n) >= 1 ? { days: days(n), source: `${apiUrl}hls/${n}/index-{utc}-{duration}.m3u8` } : null),
      );
    },
    stbs: o.store.stbs,
    guards: { readStbs: requireRole('viewer', { store: o.store, secureCookies }), report: requireFleetKey(headend.fleetKey ?? undefined) },
    ...(o.https ? { https: o.https } : {}),
    log: (level, message) => log[level](message),
  });
  // The VOD library (issue 6 §5): films dropped in <vod dir>/inbox or uploaded, packaged to HLS.
  let vod: VodLibrary | null = null;
  if (headend.vod.enabled) {
    const vodDir = resolve(dataDir, headend.vod.dir);
    vod = new VodLibrary({ dir: vodDir, maxUploadBytes: headend.vod.maxUploadMB * 1024 * 1024, log: (level, m) => log[level](m) });
    try {
      await vod.start();
      log.info(`VOD: library in ${vodDir} (drop films in ${join(vodDir, 'inbox')}), served at /vod/<asset>/index.m3u8`);
    } catch (err) {
      log.error(`VOD: cannot use ${vodDir}: ${(err as Error).message}`);
      vod = null;
    }
  }
  // The programme guide: its feed refreshed on a schedule, served publicly like the lineup (control/epg.ts).
  const epgRefresher = new EpgRefresher({
    epg: o.store.epg,
    lineupIds: () => cfg.channels.filter((c) => c.tvgId !== null).map((c) => c.tvgId!),
    log: (level, message) => log[level](message),
  });
  epgRefresher.start();
  await registerAdminApi(api, {
    store: o.store,
    epgRefresher,
    ...(vod ? { vod, vodMaxUploadBytes: headend.vod.maxUploadMB * 1024 * 1024 } : {}),
    headend,
    status: () => [...latest.values()].sort((a, b) => a.number - b.number),
    onLineupChange: (all, changed) => void applyLineup(all, changed),
    events: (n) => events.list(n),
    thumbnails,
    sdp: (n) => {
      const ch = cfg.channels.find((c) => c.number === n);
      return ch && ch.enabled && ch.transport === 'rtp' ? channelSdp(ch, cfg.headend, 1, o.ssrcs.get(n) ?? null) : null;
    },
    metricsNetworks: headend.metricsNetworks,
    secureCookies,
    ...(headend.fleetKey ? { fleetKey: headend.fleetKey } : {}),
    log: (level, message) => log[level](message),
  });
  if (hls) {
    registerHls(api, hls, (key) => channelByKey(cfg.channels, key)?.number ?? null);
    log.info(`HLS: every channel at /hls/<number or name>/index.m3u8 (${headend.hls.segmentS} s segments, ${headend.hls.windowS} s window) in ${hlsDir}`);
  }
  if (vod) registerVod(api, vod);
  registerEpg(api, {
    epg: o.store.epg,
    lineup: () => cfg.channels,
    hls,
    logoUrls: () => new Map([...o.store.logos.list()].map(([n, at]) => [n, `${apiUrl}logos/${n}?v=${at}`])),
  });
  // The admin UI's page and files (public: the data comes from the API behind the login).
  registerAdminUi(api, { log: (level, message) => log[level](message) });
  try {
    // headend.interface only: nothing listens wider than it needs.
    await api.listen({ host: headend.interface, port: o.httpPort });
    log.info(`API on ${apiUrl} (agents: GET /api/lineup, /playlist.m3u, POST /api/stb/report; admin: /api/login, /api/channels, /api/status, /metrics …)`);
  } catch (err) {
    log.error(`cannot listen on ${headend.interface}:${o.httpPort} for the API: ${(err as Error).message}; STB agents cannot load the lineup (multicast goes on)`);
  }
  let mdns: HeadendAdvertisement | null = null;
  if (o.mdns) {
    try {
      mdns = await advertiseHeadend({
        interface: headend.interface,
        instanceName: `Roomcast headend on ${hostname()}`,
        port: o.httpPort,
        txt: { api: apiUrl, version },
        log: (level, message) => log[level](message),
      });
      log.info(`advertised as _roomcast._tcp over mDNS on ${headend.interface}`);
    } catch (err) {
      log.warn(`mDNS: cannot advertise on ${headend.interface}: ${(err as Error).message}; agents need --headend ${apiUrl}`);
    }
  }

  const statusFile = join(dataDir, 'status.json');
  let writing = false;
  const statusTimer = setInterval(() => {
    if (writing) return;
    writing = true;
    const body = JSON.stringify(
      { at: new Date().toISOString(), channels: [...latest.values()].sort((a, b) => a.number - b.number), fcc: [...fccStatus.values()].sort((a, b) => a.worker - b.worker) },
      null,
      1,
    );
    writeAtomic(statusFile, body)
      .catch((err: Error) => log.warn(`cannot write ${statusFile}: ${err.message}`))
      .finally(() => {
        writing = false;
      });
  }, 1000);
  const healthTimer = setInterval(() => {
    for (const ch of channels) {
      const s = latest.get(ch.number);
      log.info(s ? healthLine(s) : `ch ${ch.number} no report from its worker yet`);
    }
  }, headend.healthIntervalS * 1000);

  return new Promise<number>((resolveExit) => {
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: stopping ${channels.length} channels`);
      clearInterval(statusTimer);
      hls?.close();
      epgRefresher.close();
      void vod?.close();
      clearInterval(healthTimer);
      void mdns?.close();
      void api.close();
      let closed = false;
      const exit = (): void => {
        if (!closed) o.store.close();
        closed = true;
        resolveExit(0);
      };
      const force = setTimeout(() => exit(), 3000);
      Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((r) => {
              w.once('exit', () => r());
              w.postMessage({ type: 'shutdown' } satisfies ToWorker);
            }),
        ),
      ).then(() => {
        clearTimeout(force);
        exit();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`roomcast-headend: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
