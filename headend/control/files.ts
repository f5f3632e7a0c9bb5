/**
 * Serving one immutable media file over HTTP with byte ranges (HLS
 * segments of the catch-up archive and of the VOD library): `Range:
 * bytes=a-b`, `bytes=a-` and `bytes=-n` are served as 206, an unsatisfiable
 * range as 416, any other Range form as the whole file (RFC 9110 §14.2 lets
 * a server ignore a Range it does not support).
 */
import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A segment never changes once published: any cache may keep it (issue 6 §3). */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export function sendFile(req: FastifyRequest, reply: FastifyReply, file: { path: string; bytes: number }, contentType: string, cacheControl = IMMUTABLE): FastifyReply {
  reply.header('content-type', contentType).header('cache-control', cacheControl).header('accept-ranges', 'bytes');
  const range = req.headers.range;
  const m = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return reply.header('content-length', String(file.bytes)).send(createReadStream(file.path));
  let start = m[1] !== '' ? Number(m[1]) : NaN;
  let end = m[2] !== '' ? Number(m[2]) : file.bytes - 1;
  if (m[1] === '') {
    // bytes=-N: the last N bytes (RFC 9110 §14.1.2).
    start = Math.max(0, file.bytes - Number(m[2]));
    end = file.bytes - 1;
  }
  end = Math.min(end, file.bytes - 1);
  if (!Number.isFinite(start) || start > end || start >= file.bytes) {
    return reply.code(416).header('content-range', `bytes */${file.bytes}`).send();
  }
  return reply
    .code(206)
    .header('content-range', `bytes ${start}-${end}/${file.bytes}`)
    .header('content-length', String(end - start + 1))
    .send(createReadStream(file.path, { start, end }));
}
