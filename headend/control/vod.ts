/**
 * The VOD library's HTTP side (issue 6 §5).
 *
 * Public, as the live HLS is (players on the hotel network fetch them with
 * no login): `GET /vod/<asset>/index.m3u8`, its segments and `poster.jpg`.
 * Admin (registered inside the admin API plugin, whose onRequest hook
 * enforces each route's `config.access`): the list, one asset, upload and
 * delete under `/api/vod`.
 *
 * No path is ever built from what the client sent: the asset id must match
 * the library's strict pattern and the file name must be one the package
 * lists (VodLibrary.file).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { AdminError, AdminErrorCode, responses } from './auth.js';
import { IMMUTABLE, sendFile } from './files.js';
import { isValidAssetId, VodError, VodErrorCode, type VodAsset, type VodLibrary } from '../vod/library.js';

/** The asset as the API shows it: the library's view plus the URLs a player or the admin UI needs. */
export function vodAssetOut(a: VodAsset): VodAsset & { playlist: string | null; poster: string | null } {
  const ready = a.state === 'ready';
  return {
    ...a,
    playlist: ready ? `/vod/${a.id}/index.m3u8` : null,
    poster: ready ? `/vod/${a.id}/poster.jpg?v=${a.version}` : null,
  };
}

function refused(id: string): string {
  return `${JSON.stringify(id.length > 64 ? id.slice(0, 64) + '…' : id)} is refused: not a valid asset name (lowercase letters, digits and '-', at most 48)`;
}

function notFoundBody(message: string) {
  return { statusCode: 404, code: AdminErrorCode.notFound, error: 'Not Found', message };
}

const ASSET_PARAMS = { type: 'object', required: ['asset'], properties: { asset: { type: 'string' } } } as const;
const FILE_PARAMS = { type: 'object', required: ['asset', 'file'], properties: { asset: { type: 'string' }, file: { type: 'string' } } } as const;

/**
 * `GET /vod/:asset/index.m3u8`, `GET /vod/:asset/:file` (segments, poster):
 * public. Unknown or invalid names are 404 with a sentence saying which.
 */
export function registerVod(app: FastifyInstance, lib: VodLibrary): void {
  const lookup = (reply: FastifyReply, asset: string, file: string): { path: string; bytes: number } | null => {
    if (!isValidAssetId(asset)) {
      void reply.code(404).send(notFoundBody(refused(asset)));
      return null;
    }
    const a = lib.get(asset);
    if (!a) {
      void reply.code(404).send(notFoundBody(`there is no VOD asset ${JSON.stringify(asset)}`));
      return null;
    }
    if (a.state !== 'ready') {
      void reply.code(404).send(notFoundBody(`VOD asset ${JSON.stringify(asset)} is ${a.state}${a.state === 'packaging' && a.progress !== null ? ` (${a.progress} %)` : ''}, not ready to play`));
      return null;
    }
    const f = lib.file(asset, file);
    if (!f) void reply.code(404).send(notFoundBody(`VOD asset ${JSON.stringify(asset)} has no file ${JSON.stringify(file.slice(0, 64))}`));
    return f;
  };

  app.get('/vod/:asset/index.m3u8', { schema: { params: ASSET_PARAMS } }, async (req, reply) => {
    const { asset } = req.params as { asset: string };
    const f = lookup(reply, asset, 'index.m3u8');
    if (!f) return reply;
    // Short: the package never changes, but a deleted asset's id may come back with another film.
    return sendFile(req, reply, f, 'application/vnd.apple.mpegurl', 'max-age=60');
  });

  app.get('/vod/:asset/:file', { schema: { params: FILE_PARAMS } }, async (req, reply) => {
    const { asset, file } = req.params as { asset: string; file: string };
    const f = lookup(reply, asset, file);
    if (!f) return reply;
    // Segments and poster are immutable: their URLs carry the package's version (?v=, see VodAsset.version).
    return sendFile(req, reply, f, file.endsWith('.jpg') ? 'image/jpeg' : 'video/mp2t', IMMUTABLE);
  });
}

// ---------------------------------------------------------------------------
// Admin routes

const nullable = (type: string) => ({ type: [type, 'null'] });
export const vodAssetSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'packaging', 'ready', 'failed'] },
    progress: nullable('number'),
    error: nullable('string'),
    sourceName: { type: 'string' },
    durationS: nullable('number'),
    mode: { type: ['string', 'null'], enum: ['remux', 'transcode', null] },
    video: nullable('string'),
    audio: nullable('string'),
    bytes: nullable('integer'),
    createdAt: nullable('string'),
    version: nullable('string'),
    playlist: nullable('string'),
    poster: nullable('string'),
  },
} as const;

/** Upload media types: what an HTML form or `fetch(file)` sends for a film, and the generic one. */
const UPLOAD_TYPE_RE = /^(?:application\/octet-stream|video\/[a-z0-9.+-]+)$/;

export interface VodAdminOptions {
  lib: VodLibrary;
  /** The route's body limit and the upload cap (headend.vod.maxUploadMB). */
  maxUploadBytes: number;
  /** Called after an upload or delete (the admin API's audit log). */
  audit?(req: FastifyRequest, action: 'vod.upload' | 'vod.delete', target: string, detail: unknown): void;
}

function adminError(err: unknown): unknown {
  if (!(err instanceof VodError)) return err;
  switch (err.code) {
    case VodErrorCode.notFound:
    case VodErrorCode.invalidName:
      return new AdminError(AdminErrorCode.notFound, err.message);
    case VodErrorCode.tooLarge:
      return new AdminError(AdminErrorCode.bodyTooLarge, err.message);
    case VodErrorCode.uploadFailed:
      return new AdminError(AdminErrorCode.badRequest, err.message);
    case VodErrorCode.closed:
      return new AdminError(AdminErrorCode.internal, err.message);
  }
}

/**
 * `GET /api/vod` (viewer), `GET /api/vod/:asset` (viewer),
 * `POST /api/vod?name=<file name>` (operator; the film as the raw body,
 * streamed to the inbox without buffering) and `DELETE /api/vod/:asset`
 * (operator; cancels a running job). Register inside the admin API plugin.
 */
export const vodAdminRoutes: FastifyPluginAsync<VodAdminOptions> = async (app, o) => {
  const { lib, maxUploadBytes } = o;

  // The body stays a stream: a film of several GiB is never held in memory. fastify enforces
  // bodyLimit only for parsers that buffer (parseAs), so the Content-Length check is here and
  // the byte count of a chunked upload is VodLibrary.ingest's.
  app.addContentTypeParser(UPLOAD_TYPE_RE, (req, payload, done) => {
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > maxUploadBytes) {
      done(new AdminError(AdminErrorCode.bodyTooLarge, `the upload is ${length} bytes, more than the ${maxUploadBytes} allowed (headend.vod.maxUploadMB)`), undefined);
      return;
    }
    done(null, payload);
  });

  const assetOf = (asset: string): VodAsset => {
    if (!isValidAssetId(asset)) throw new AdminError(AdminErrorCode.notFound, refused(asset));
    const a = lib.get(asset);
    if (!a) throw new AdminError(AdminErrorCode.notFound, `there is no VOD asset ${JSON.stringify(asset)}`);
    return a;
  };

  app.get(
    '/api/vod',
    { config: { access: 'viewer' }, schema: { response: responses({ 200: { type: 'object', properties: { assets: { type: 'array', items: vodAssetSchema } } } }) } },
    async () => ({ assets: lib.list().map(vodAssetOut) }),
  );

  app.get(
    '/api/vod/:asset',
    { config: { access: 'viewer' }, schema: { params: ASSET_PARAMS, response: responses({ 200: vodAssetSchema }) } },
    async (req) => vodAssetOut(assetOf((req.params as { asset: string }).asset)),
  );

  app.post(
    '/api/vod',
    {
      config: { access: 'operator' },
      bodyLimit: maxUploadBytes,
      // Before the body: fastify's own 415 for a type without a parser says less.
      preParsing: async (req, _reply, payload) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!UPLOAD_TYPE_RE.test(type)) {
          throw new AdminError(AdminErrorCode.unsupportedMediaType, `send the film as the raw body with content-type application/octet-stream (or its video/* type), not ${type || 'no content type'}`);
        }
        return payload;
      },
      schema: {
        querystring: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 255 } } },
        response: responses({ 202: vodAssetSchema }),
      },
    },
    async (req, reply) => {
      const { name } = req.query as { name: string };
      let asset: VodAsset;
      try {
        asset = await lib.ingest(name, req.body as Readable, { maxBytes: maxUploadBytes });
      } catch (err) {
        // The client may still be sending: no keep-alive after an upload that was cut short.
        reply.header('connection', 'close');
        throw adminError(err);
      }
      o.audit?.(req, 'vod.upload', `vod ${asset.id}`, { name, sourceName: asset.sourceName });
      // 202: accepted, packaging follows (GET /api/vod/:asset shows its progress).
      return reply.code(202).send(vodAssetOut(asset));
    },
  );

  app.delete(
    '/api/vod/:asset',
    { config: { access: 'operator' }, schema: { params: ASSET_PARAMS, response: responses({ 204: { type: 'null' } }) } },
    async (req, reply) => {
      const a = assetOf((req.params as { asset: string }).asset);
      try {
        await lib.remove(a.id);
      } catch (err) {
        throw adminError(err);
      }
      o.audit?.(req, 'vod.delete', `vod ${a.id}`, { title: a.title, state: a.state });
      return reply.code(204).send();
    },
  );
};
