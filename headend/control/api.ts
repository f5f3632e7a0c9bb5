/**
 * The headend's HTTP API (fastify, main thread; DESIGN.md "Processes and
 * threads"). What the STB agents need: the lineup with each channel's FCC
 * endpoint, the M3U playlist, and a place to report their state.
 *
 * `buildApi()` returns the app without listening (fastify's testing guide:
 * routes are exercised with `app.inject()`); main.ts listens on
 * headend.interface only. Every route has a JSON schema for its input and
 * output, so bad bodies get a 400 naming the field, and nothing that is not
 * in an output schema leaves the server.
 */
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { LineupDocument } from '../../core/lineup/api.js';
import type { StbRepository } from '../store/stbs.js';

export interface StbReport {
  agentId: string;
  label: string | null;
  /** Channel the agent is tuned to, null when idle. */
  channel: number | null;
  zaps: {
    count: number;
    viaBurst: number;
    viaGate: number;
    /** Zap command → first byte to the player, ms: the agent's own last ones (at most 20). */
    recentMs: number[];
  };
  counters: {
    rtpLost: number;
    rtpDuplicates: number;
    ccErrors: number;
    spliceGaps: number;
  };
}

export interface StbRecord extends StbReport {
  address: string;
  lastSeen: string;
  reports: number;
}

export interface ApiOptions {
  lineup(): LineupDocument;
  playlist(): string;
  /** Where reports are kept (SQLite: the latest per agent and a bounded history, headend/store/stbs.ts). */
  stbs: StbRepository;
  /** preHandlers of the admin API (headend/control/auth.ts): who may read the fleet, which agents may report. */
  guards?: { readStbs?: Guard; report?: Guard };
  /** HTTPS: PEM certificate and key. */
  https?: { cert: Buffer; key: Buffer };
  log?: (level: 'info' | 'warn', message: string) => void;
}

type Guard = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Bodies above this are refused (413) before parsing: a report is ~1 KB. */
const BODY_LIMIT_BYTES = 16 * 1024;

const nullableString = { type: ['string', 'null'] } as const;
const lineupChannelSchema = {
  type: 'object',
  required: ['number', 'name', 'group', 'multicast', 'transport', 'ssrc', 'fcc'],
  properties: {
    number: { type: 'integer' },
    name: { type: 'string' },
    group: { type: 'string' },
    tvgId: nullableString,
    multicast: {
      type: 'object',
      properties: { group: { type: 'string' }, port: { type: 'integer' }, source: nullableString },
    },
    transport: { type: 'string' },
    ssrc: { type: ['integer', 'null'] },
    fcc: {
      type: ['object', 'null'],
      properties: { address: { type: 'string' }, port: { type: 'integer' } },
    },
  },
} as const;

const reportBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agentId', 'channel', 'zaps', 'counters'],
  properties: {
    agentId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' },
    label: { type: ['string', 'null'], maxLength: 128 },
    channel: { type: ['integer', 'null'], minimum: 1, maximum: 9999 },
    zaps: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'viaBurst', 'viaGate', 'recentMs'],
      properties: {
        count: { type: 'integer', minimum: 0 },
        viaBurst: { type: 'integer', minimum: 0 },
        viaGate: { type: 'integer', minimum: 0 },
        recentMs: { type: 'array', maxItems: 20, items: { type: 'number', minimum: 0, maximum: 3_600_000 } },
      },
    },
    counters: {
      type: 'object',
      additionalProperties: false,
      required: ['rtpLost', 'rtpDuplicates', 'ccErrors', 'spliceGaps'],
      properties: {
        rtpLost: { type: 'integer', minimum: 0 },
        rtpDuplicates: { type: 'integer', minimum: 0 },
        ccErrors: { type: 'integer', minimum: 0 },
        spliceGaps: { type: 'integer', minimum: 0 },
      },
    },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;

export function buildApi(o: ApiOptions): FastifyInstance {
  const base: FastifyServerOptions = { logger: false, bodyLimit: BODY_LIMIT_BYTES };
  const app = (o.https ? Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, https: o.https }) : Fastify(base)) as unknown as FastifyInstance;
  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));

  app.get(
    '/api/lineup',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              version: { type: 'string' },
              headend: { type: 'object', properties: { interface: { type: 'string' } } },
              channels: { type: 'array', items: lineupChannelSchema },
            },
          },
        },
      },
    },
    async (_req, reply) => {
      reply.header('cache-control', 'no-cache');
      return o.lineup();
    },
  );

  app.get('/playlist.m3u', async (_req, reply) => {
    reply.header('content-type', 'audio/x-mpegurl; charset=utf-8').header('cache-control', 'no-cache');
    return o.playlist();
  });

  app.post(
    '/api/stb/report',
    { schema: { body: reportBodySchema, response: { 204: { type: 'null' }, '4xx': errorSchema } }, ...(o.guards?.report ? { preHandler: o.guards.report } : {}) },
    async (req, reply) => {
      const r = req.body as StbReport;
      o.stbs.record({ agentId: r.agentId, label: r.label ?? null, ip: req.ip, channel: r.channel, report: r });
      reply.code(204);
    },
  );

  app.get('/api/stbs', { ...(o.guards?.readStbs ? { preHandler: o.guards.readStbs } : {}) }, async () => ({
    stbs: o.stbs.list().map(
      (a): StbRecord => ({ ...(a.report as StbReport), label: a.label, address: a.ip ?? '', lastSeen: new Date(a.lastSeenMs).toISOString(), reports: a.reports }),
    ),
  }));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string; validation?: unknown }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) o.log?.('warn', `API error: ${err.message}`);
    reply.code(status).send({
      statusCode: status,
      code: err.validation ? 'ROOMCAST_ERR_BAD_REQUEST' : err.code ?? 'ROOMCAST_ERR_INTERNAL',
      error: STATUS_CODES[status] ?? 'Error',
      message: status >= 500 ? 'internal error' : err.message,
    });
  });
  return app;
}
