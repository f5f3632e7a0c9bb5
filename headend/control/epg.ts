/**
 * The programme guide over HTTP (issue 6 §4), on top of the EPG store
 * (headend/store/epg.ts) and the HLS archive (control/hls.ts).
 *
 * Public, like the lineup and the M3U (players and TVs on the hotel network
 * read them without a login):
 *   GET /epg.xml                          XMLTV of the lineup's channels (ids = tvg-id), streamed
 *   GET /api/epg/now-next                 what is on now and next, per channel number
 *   GET /api/epg/:channel?from=&to=       a channel's programmes (number or name slug), each with
 *                                         its catch-up state and play link
 *   GET /api/epg/:channel/:programme/play → 302 to the programme's catch-up playlist
 *                                         (`programme` = its start in Unix seconds)
 * Behind the admin login (registered inside the admin API plugin):
 *   GET  /api/epg                 viewer: the feed settings, the last import's report, coverage
 *   PUT  /api/epg/settings        admin: {url, refreshHours} (the feed refreshed on a schedule)
 *   POST /api/epg/import          operator: an XMLTV upload (gzip or not), streamed
 *   POST /api/epg/refresh         operator: fetch the feed's URL now
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ChannelConfig } from '../../core/lineup/config.js';
import { channelByKey } from '../../core/lineup/playlist.js';
import { writeXmltv, type EpgProgramme, type XmltvSource } from '../../core/epg/xmltv.js';
import { EpgImportBusyError, type EpgImportReport, type EpgRepository } from '../store/epg.js';
import { AdminError, AdminErrorCode, responses } from './auth.js';
import type { HlsLibrary } from './hls.js';

/** A guide query spans at most this (a month of catch-up plus a week ahead). */
const MAX_RANGE_MS = 40 * 86_400_000;
/** A feed download gives up after this. */
const FEED_TIMEOUT_MS = 10 * 60_000;

export interface EpgRoutesOptions {
  epg: EpgRepository;
  /** The lineup of the moment. */
  lineup(): readonly ChannelConfig[];
  /** The HLS archive, when headend.hls is on (catch-up links). */
  hls: HlsLibrary | null;
  /** Logo URLs of the channels that have one, by number (for the XMLTV export's <icon>). */
  logoUrls?(): ReadonlyMap<number, string>;
  now?: () => number;
}

/** Where a programme stands for catch-up. */
export type CatchupState = 'available' | 'airing' | 'future' | 'expired' | 'none';

interface ProgrammeOut {
  id: number;
  start: string;
  stop: string;
  title: string;
  subTitle: string | null;
  description: string | null;
  categories: string[];
  episode: string | null;
  icon: string | null;
  catchup: CatchupState;
  play: string | null;
}

const programmeSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    start: { type: 'string' },
    stop: { type: 'string' },
    title: { type: 'string' },
    subTitle: { type: ['string', 'null'] },
    description: { type: ['string', 'null'] },
    categories: { type: 'array', items: { type: 'string' } },
    episode: { type: ['string', 'null'] },
    icon: { type: ['string', 'null'] },
    catchup: { type: 'string' },
    play: { type: ['string', 'null'] },
  },
} as const;

const nowNextItem = { type: ['object', 'null'], properties: { id: { type: 'integer' }, title: { type: 'string' }, start: { type: 'string' }, stop: { type: 'string' } } } as const;

const iso = (ms: number): string => new Date(ms).toISOString();

/** "2026-12-02T18:00:00Z" or Unix seconds → ms; undefined → fallback; anything else → null. */
function parseTime(s: string | undefined, fallback: number): number | null {
  if (s === undefined || s === '') return fallback;
  if (/^\d{1,12}$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

function notFound(message: string): { statusCode: number; code: string; error: string; message: string } {
  return { statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', error: 'Not Found', message };
}

/**
 * A programme's catch-up state: 'none' when the channel keeps no archive
 * beyond the live window, 'future' before it starts, 'airing' while on (a
 * start-over playlist), 'available' once over and still kept whole,
 * 'expired' once its start has left the archive.
 */
export function catchupState(p: EpgProgramme, number: number, hls: HlsLibrary | null, now: number): CatchupState {
  if (!hls) return 'none';
  if (p.startMs >= now) return 'future';
  const recorded = hls.recordedFrom(number);
  if (recorded === null) return 'none';
  if (p.startMs < recorded) return 'expired';
  return p.stopMs > now ? 'airing' : 'available';
}

function programmeOut(p: EpgProgramme, ch: ChannelConfig, o: EpgRoutesOptions, now: number): ProgrammeOut {
  const catchup = catchupState(p, ch.number, o.hls, now);
  const id = Math.floor(p.startMs / 1000);
  return {
    id,
    start: iso(p.startMs),
    stop: iso(p.stopMs),
    title: p.title,
    subTitle: p.subTitle,
    description: p.description,
    categories: p.categories,
    episode: p.episode,
    icon: p.icon,
    catchup,
    play: catchup === 'available' || catchup === 'airing' ? `/api/epg/${ch.number}/${id}/play` : null,
  };
}

/** The public guide routes. */
export function registerEpg(app: FastifyInstance, o: EpgRoutesOptions): void {
  const now = o.now ?? Date.now;
  const channel = (key: string): ChannelConfig | null => channelByKey(o.lineup(), key);

  app.get('/epg.xml', async (req, reply) => {
    const lineup = [...o.lineup()].sort((a, b) => a.number - b.number);
    const logos = o.logoUrls?.() ?? new Map<number, string>();
    const ids = lineup.filter((c) => c.tvgId !== null).map((c) => c.tvgId!);
    // The guide changes with an import or a lineup edit: both in the validator.
    const etag = `"${o.epg.stamp()}-${hashOf(lineup.map((c) => `${c.number}:${c.tvgId ?? ''}:${c.name}:${logos.get(c.number) ?? ''}`).join('\n'))}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    const channels = lineup.map((c) => ({ number: c.number, name: c.name, tvgId: c.tvgId, logoUrl: logos.get(c.number) ?? null }));
    reply.type('application/xml; charset=utf-8');
    // Streamed: a month of guide for 300 channels is tens of MB; the store reads it a page at a time.
    return reply.send(Readable.from(writeXmltv(channels, o.epg.iterateProgrammes(ids))));
  });

  app.get(
    '/api/epg/now-next',
    { schema: { response: { 200: { type: 'object', properties: { at: { type: 'string' }, channels: { type: 'object', additionalProperties: { type: 'object', properties: { now: nowNextItem, next: nowNextItem } } } } } } } },
    async (_req, reply) => {
      const at = now();
      const lineup = o.lineup();
      const map = o.epg.nowNext(lineup.filter((c) => c.tvgId !== null).map((c) => c.tvgId!), at);
      const short = (p: EpgProgramme | null) => (p ? { id: Math.floor(p.startMs / 1000), title: p.title, start: iso(p.startMs), stop: iso(p.stopMs) } : null);
      const channels: Record<string, { now: ReturnType<typeof short>; next: ReturnType<typeof short> }> = {};
      for (const c of lineup) {
        const nn = c.tvgId !== null ? map.get(c.tvgId) : undefined;
        if (nn) channels[String(c.number)] = { now: short(nn.now), next: short(nn.next) };
      }
      reply.header('cache-control', 'max-age=30');
      return { at: iso(at), channels };
    },
  );

  app.get(
    '/api/epg/:channel',
    {
      schema: {
        params: { type: 'object', required: ['channel'], properties: { channel: { type: 'string', minLength: 1, maxLength: 64 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { from: { type: 'string', maxLength: 40 }, to: { type: 'string', maxLength: 40 } } },
        response: responses({ 200: { type: 'object', properties: { channel: { type: 'integer' }, tvgId: { type: ['string', 'null'] }, from: { type: 'string' }, to: { type: 'string' }, programmes: { type: 'array', items: programmeSchema } } } }),
      },
    },
    async (req, reply) => {
      const { channel: key } = req.params as { channel: string };
      const q = req.query as { from?: string; to?: string };
      const ch = channel(key);
      if (!ch) return reply.code(404).send(notFound(`there is no channel ${JSON.stringify(key)} (give its number or the slug of its name)`));
      const t = now();
      const from = parseTime(q.from, t - 3 * 3600_000);
      const to = parseTime(q.to, t + 24 * 3600_000);
      if (from === null || to === null) return reply.code(400).send({ statusCode: 400, code: 'ROOMCAST_ERR_BAD_REQUEST', error: 'Bad Request', message: 'from and to are ISO 8601 times (2026-12-02T18:00:00Z) or Unix seconds' });
      if (!(to > from) || to - from > MAX_RANGE_MS) return reply.code(400).send({ statusCode: 400, code: 'ROOMCAST_ERR_BAD_REQUEST', error: 'Bad Request', message: `to must be after from, and the range at most ${MAX_RANGE_MS / 86_400_000} days` });
      const list = ch.tvgId === null ? [] : o.epg.programmes(ch.tvgId, from, to);
      reply.header('cache-control', 'max-age=30');
      return { channel: ch.number, tvgId: ch.tvgId, from: iso(from), to: iso(to), programmes: list.map((p) => programmeOut(p, ch, o, t)) };
    },
  );

  app.get(
    '/api/epg/:channel/:programme/play',
    { schema: { params: { type: 'object', required: ['channel', 'programme'], properties: { channel: { type: 'string', minLength: 1, maxLength: 64 }, programme: { type: 'integer', minimum: 0, maximum: 99_999_999_999 } } } } },
    async (req, reply) => {
      const { channel: key, programme } = req.params as { channel: string; programme: number };
      const ch = channel(key);
      if (!ch) return reply.code(404).send(notFound(`there is no channel ${JSON.stringify(key)}`));
      if (ch.tvgId === null) return reply.code(404).send(notFound(`channel ${ch.number} has no tvgId: it has no guide`));
      const p = o.epg.byStart(ch.tvgId, programme * 1000);
      if (!p) return reply.code(404).send(notFound(`channel ${ch.number} has no programme starting at ${iso(programme * 1000)} (${programme}) in its guide`));
      const t = now();
      const state = catchupState(p, ch.number, o.hls, t);
      const why: Partial<Record<CatchupState, string>> = {
        none: `channel ${ch.number} keeps no catch-up archive${o.hls ? '' : ' (headend.hls is off)'}`,
        future: `"${p.title}" starts at ${iso(p.startMs)}: it has not been on the air yet`,
        expired: `"${p.title}" (${iso(p.startMs)}) is older than channel ${ch.number}'s archive, which starts at ${iso(o.hls?.recordedFrom(ch.number) ?? t)}`,
      };
      if (why[state]) return reply.code(404).send(notFound(why[state]));
      // The catch-up playlist itself, by time (control/hls.ts): VOD once over, EVENT (start-over) while airing.
      // A redirect, so that the playlist's relative segment URLs resolve under /hls/<n>/.
      reply.header('cache-control', 'no-cache');
      const startS = Math.floor(p.startMs / 1000);
      const durS = Math.ceil((p.stopMs - startS * 1000) / 1000);
      return reply.redirect(state === 'available' ? `/hls/${ch.number}/index-${startS}-${durS}.m3u8` : `/hls/${ch.number}/index.m3u8?start=${encodeURIComponent(iso(p.startMs))}&end=${encodeURIComponent(iso(p.stopMs))}`, 302);
    },
  );
}

/** FNV-1a, for an ETag that changes with the lineup's ids and names. */
function hashOf(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * The feed refreshed on a schedule (the settings' url and refreshHours): a
 * check every minute whether the last attempt is older than the interval;
 * one import at a time (the store refuses a second).
 */
export class EpgRefresher {
  private timer: NodeJS.Timeout | null = null;
  private lastAttemptMs = 0;
  lastError: string | null = null;
  private running: Promise<EpgImportReport> | null = null;

  constructor(
    private readonly o: {
      epg: EpgRepository;
      lineupIds(): string[];
      log(level: 'info' | 'warn', message: string): void;
      now?: () => number;
      /** Between checks, ms. Default 60 000. */
      checkEveryMs?: number;
    },
  ) {
    // After a restart, the last successful import counts as the last attempt.
    this.lastAttemptMs = o.epg.lastReport()?.atMs ?? 0;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.checkEveryMs ?? 60_000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    const s = this.o.epg.settings();
    const now = (this.o.now ?? Date.now)();
    if (!s.url || this.running || this.o.epg.importing() || now - this.lastAttemptMs < s.refreshHours * 3600_000) return;
    await this.refresh().catch(() => undefined);
  }

  /** Fetches the feed now and imports it. Rejects with an AdminError when it cannot be fetched or used. */
  refresh(): Promise<EpgImportReport> {
    if (this.running) return this.running;
    const run = async (): Promise<EpgImportReport> => {
      const url = this.o.epg.settings().url;
      if (!url) throw new AdminError(AdminErrorCode.badRequest, 'no feed URL is set (PUT /api/epg/settings)');
      this.lastAttemptMs = (this.o.now ?? Date.now)();
      let res: Response;
      const signal = AbortSignal.timeout(FEED_TIMEOUT_MS);
      try {
        res = await fetch(url, { signal, redirect: 'follow' });
      } catch (err) {
        throw this.fail(`cannot fetch ${url}: ${(err as Error).message}`);
      }
      if (!res.ok || !res.body) throw this.fail(`${url} answered HTTP ${res.status}`);
      const report = await this.o.epg.import(res.body as unknown as XmltvSource, { channels: this.o.lineupIds(), source: url, signal });
      if (report.error) throw this.fail(`${url}: ${report.error}`, report);
      this.lastError = null;
      this.o.log('info', `EPG: ${url}: ${report.programmesKept} programmes for ${report.channelsKept} channels in ${report.ms} ms`);
      return report;
    };
    this.running = run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private fail(message: string, report?: EpgImportReport): AdminError {
    this.lastError = message;
    this.o.log('warn', `EPG refresh: ${message}`);
    return new AdminError(AdminErrorCode.importFailed, message, report ? { report } : {});
  }
}

const EPG_UPLOAD_TYPES = ['application/xml', 'text/xml', 'application/gzip', 'application/x-gzip', 'application/octet-stream'];

const reportSchema = { type: 'object', additionalProperties: true } as const;

/** The admin routes (registered inside the admin API plugin, whose hook checks `config.access`). */
export const epgAdminRoutes: FastifyPluginAsync<{
  epg: EpgRepository;
  refresher: EpgRefresher;
  lineup(): readonly ChannelConfig[];
  audit(req: FastifyRequest, action: string, target: string | null, detail?: unknown): void;
}> = async (app, o) => {
  // The upload is streamed into the importer (never held whole: a guide can be hundreds of MB).
  app.addContentTypeParser(EPG_UPLOAD_TYPES, (_req, payload, done) => done(null, payload));

  const lineupIds = (): string[] => o.lineup().filter((c) => c.tvgId !== null).map((c) => c.tvgId!);

  app.get('/api/epg', { config: { access: 'viewer' }, schema: { response: responses({ 200: { type: 'object', additionalProperties: true } }) } }, async () => {
    const lineup = o.lineup();
    const guided = new Set(o.epg.channels().map((c) => c.tvgId));
    const last = o.epg.lastReport();
    return {
      settings: o.epg.settings(),
      importing: o.epg.importing(),
      lastImport: last ? { at: iso(last.atMs), source: last.source, report: last.report } : null,
      lastRefreshError: o.refresher.lastError,
      coverage: {
        channels: lineup.length,
        withoutTvgId: lineup.filter((c) => c.tvgId === null).map((c) => c.number),
        withoutGuide: lineup.filter((c) => c.tvgId !== null && !guided.has(c.tvgId)).map((c) => c.number),
      },
    };
  });

  app.put(
    '/api/epg/settings',
    {
      config: { access: 'admin' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { url: { type: ['string', 'null'], maxLength: 2048 }, refreshHours: { type: 'integer' } },
        },
        response: responses({ 200: { type: 'object', properties: { url: { type: ['string', 'null'] }, refreshHours: { type: 'integer' } } } }),
      },
    },
    async (req) => {
      const body = req.body as { url?: string | null; refreshHours?: number };
      const patch = { ...body, ...(body.url === '' ? { url: null } : {}) };
      const s = o.epg.setSettings(patch);
      o.audit(req, 'epg.settings', null, s);
      return s;
    },
  );

  app.post(
    '/api/epg/import',
    {
      config: { access: 'operator' },
      preParsing: async (req, _reply, payload) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!EPG_UPLOAD_TYPES.includes(type)) throw new AdminError(AdminErrorCode.unsupportedMediaType, `send the XMLTV file as ${EPG_UPLOAD_TYPES.join(', ')} (gzip or not), not ${type || 'no content type'}`);
        return payload;
      },
      schema: { response: responses({ 200: { type: 'object', properties: { report: reportSchema } } }) },
    },
    async (req) => {
      let report: EpgImportReport;
      try {
        report = await o.epg.import(req.body as XmltvSource, { channels: lineupIds(), source: 'upload' });
      } catch (err) {
        if (err instanceof EpgImportBusyError) throw new AdminError(AdminErrorCode.busy, err.message);
        throw err;
      }
      if (report.error) {
        // Drain what is left of the upload, so the answer is read (the client is still sending).
        req.raw.resume();
        throw new AdminError(AdminErrorCode.importFailed, `the guide was not changed: ${report.error}`, { report });
      }
      o.audit(req, 'epg.import', null, { programmes: report.programmesKept, channels: report.channelsKept, skipped: report.skipped });
      return { report };
    },
  );

  app.post('/api/epg/refresh', { config: { access: 'operator' }, schema: { response: responses({ 200: { type: 'object', properties: { report: reportSchema } } }) } }, async (req) => {
    if (o.epg.importing()) throw new AdminError(AdminErrorCode.busy, 'an import is running; try again when it is done');
    const report = await o.refresher.refresh();
    o.audit(req, 'epg.refresh', o.epg.settings().url, { programmes: report.programmesKept, channels: report.channelsKept });
    return { report };
  });
};
