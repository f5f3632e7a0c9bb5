/**
 * The agent's local HTTP API (127.0.0.1 by default): control for the
 * `roomcast-stb` commands and the integrator's UI, and the MPEG-TS for the
 * player.
 *
 *   GET  /api/status          what is tuned, the last zaps, counters
 *   GET  /api/channels        the lineup (number, name, group, now and next from the guide)
 *   POST /api/zap             {"channel": 5 | "up" | "down" | "last", "wait": true?}  (back to live from catch-up/VOD)
 *   POST /api/catchup         {"channel": 5, "at": "18:00" | ISO 8601 | Unix seconds | "programme:<id>" | title words}
 *   POST /api/vod             {"asset": "<id>"}
 *   GET  /stream.ts           the current channel, following zaps (mpv, VLC, ffplay, GStreamer)
 *   GET  /channel/<n>.ts      zap to n, then the same stream
 *
 * Every stream starts with PAT, PMT and a random access point (each
 * connection has its own I-frame gate).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ZapError, type Agent, type ZapTarget } from './agent.js';

const zapSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['channel'],
  properties: {
    channel: { anyOf: [{ type: 'integer', minimum: 1, maximum: 9999 }, { type: 'string', enum: ['up', 'down', 'last'] }] },
    /** Answer only once the player got its first byte (at most 5 s). */
    wait: { type: 'boolean' },
  },
} as const;

export function buildControlApi(agent: Agent): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 4096 });

  app.get('/api/status', async () => agent.status());

  app.get('/api/channels', async () => {
    const guide = await agent.nowNext();
    return {
      version: agent.lineup?.version ?? null,
      current: agent.tuner.channel?.number ?? null,
      channels: agent.channels().map((c) => ({ number: c.number, name: c.name, group: c.group, fcc: c.fcc !== null, now: guide[String(c.number)]?.now ?? null, next: guide[String(c.number)]?.next ?? null })),
    };
  });

  app.post('/api/zap', { schema: { body: zapSchema } }, async (req) => {
    const { channel, wait } = req.body as { channel: ZapTarget; wait?: boolean };
    const ch = await agent.zap(channel);
    const zap = wait ? await agent.waitForStart(5000) : agent.tuner.lastZap;
    return { channel: ch.number, name: ch.name, zap };
  });

  // Catch-up and VOD play into the same output as live (stb-agent/unicast.ts).
  app.post(
    '/api/catchup',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['channel', 'at'],
          properties: { channel: { type: 'integer', minimum: 1, maximum: 9999 }, at: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (req) => {
      const { channel, at } = req.body as { channel: number; at: string };
      return { playing: await agent.catchup(channel, at) };
    },
  );

  app.post(
    '/api/vod',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['asset'], properties: { asset: { type: 'string', minLength: 1, maxLength: 64 } } } } },
    async (req) => ({ playing: await agent.vod((req.body as { asset: string }).asset) }),
  );

  const stream = (reply: FastifyReply, label: string): void => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'video/mp2t', 'cache-control': 'no-cache', connection: 'close' });
    const out = agent.addHttpOutput(res, label);
    res.on('close', () => out.remove());
  };

  app.get('/stream.ts', async (req, reply) => stream(reply, `http ${req.ip}:${req.socket.remotePort}`));

  app.get('/channel/:n', async (req, reply) => {
    const m = /^(\d{1,4})(\.ts)?$/.exec((req.params as { n: string }).n);
    if (!m) return reply.code(404).send({ statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', error: 'Not Found', message: 'use /channel/<number>.ts' });
    await agent.zap(Number(m[1]));
    stream(reply, `http ${req.ip}:${req.socket.remotePort} (channel ${m[1]})`);
  });

  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, _req, reply) => {
    const status = err instanceof ZapError ? err.statusCode : err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    reply.code(status).send({
      statusCode: status,
      code: err instanceof ZapError ? 'ROOMCAST_ERR_ZAP' : err.validation ? 'ROOMCAST_ERR_BAD_REQUEST' : 'ROOMCAST_ERR_INTERNAL',
      error: status >= 500 ? 'Error' : 'Bad Request',
      message: err.message,
    });
  });
  return app;
}
