/**
 * Serves the admin UI (admin-ui/): its page, stylesheet and the modules tsc
 * compiled, plus the one core module it shares with the server (the channel
 * validator, core/lineup/config.js). Everything comes from this headend:
 * the UI makes no request elsewhere, and the Content-Security-Policy says so
 * to the browser (no inline script, no other origin).
 *
 * The files are read once at registration into memory (~200 KB) with an
 * ETag each; answers are revalidated (no-cache), so an upgraded headend's UI
 * is picked up at the next load.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** What the browser may load and from where: only this origin, no inline script or style attribute injection. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  // The live preview: hls.js feeds the <video> through Media Source Extensions (blob: URLs).
  "media-src 'self' blob:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface AdminUiOptions {
  /** The compiled tree (dist/). Default: the one this module runs from. */
  distDir?: string;
  /** admin-ui/static (index.html, app.css, icon.svg). Default: the repository's. */
  staticDir?: string;
  log?: (level: 'info' | 'warn', message: string) => void;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function asset(file: string): Asset {
  const body = readFileSync(file);
  return { body, type: TYPES[extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Registers `GET /` (the page) and `GET /ui/*` (its files) on the API's app. Returns how many files it serves. */
export function registerAdminUi(app: FastifyInstance, o: AdminUiOptions = {}): number {
  const dist = o.distDir ?? fileURLToPath(new URL('../../', import.meta.url));
  const stat = o.staticDir ?? fileURLToPath(new URL('../../../admin-ui/static/', import.meta.url));
  const assets = new Map<string, Asset>();
  for (const f of walk(stat)) if (TYPES[extname(f)]) assets.set(`/ui/${relative(stat, f).split(sep).join('/')}`, asset(f));
  for (const f of walk(join(dist, 'admin-ui'))) if (extname(f) === '.js') assets.set(`/ui/admin-ui/${relative(join(dist, 'admin-ui'), f).split(sep).join('/')}`, asset(f));
  // The validator the UI runs as you type: the server's own (one rule set for API, YAML and UI).
  const validator = join(dist, 'core/lineup/config.js');
  if (existsSync(validator)) assets.set('/ui/core/lineup/config.js', asset(validator));
  // hls.js (the npm package, served from here like everything else) for the channel page's live preview.
  try {
    const pkg = createRequire(import.meta.url).resolve('hls.js/package.json');
    const file = join(dirname(pkg), 'dist/hls.light.min.mjs');
    if (existsSync(file)) assets.set('/ui/vendor/hls.light.min.mjs', asset(file));
  } catch {
    o.log?.('warn', 'admin UI: hls.js is not installed: the channel page shows no live preview');
  }
  const page = assets.get('/ui/index.html');
  if (!page || !assets.has('/ui/admin-ui/main.js')) {
    o.log?.('warn', `admin UI: not built (no ${!page ? join(stat, 'index.html') : join(dist, 'admin-ui/main.js')}); run npm run build — the API works without it`);
  }

  const send = (reply: FastifyReply, a: Asset, ifNoneMatch: string | undefined): FastifyReply => {
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .header('etag', a.etag);
    if (ifNoneMatch === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  };
  const notBuilt = (reply: FastifyReply): FastifyReply =>
    reply.code(503).type('text/plain; charset=utf-8').send('The admin UI is not built on this headend: run `npm run build`. The API answers under /api/.\n');

  app.get('/', async (req, reply) => (page ? send(reply, page, req.headers['if-none-match']) : notBuilt(reply)));
  app.get('/ui/*', async (req, reply) => {
    const path = req.url.split('?')[0];
    const a = assets.get(path);
    if (!a) return reply.code(404).type('text/plain; charset=utf-8').send(`not found: ${path}\n`);
    return send(reply, a, req.headers['if-none-match']);
  });
  return assets.size;
}
