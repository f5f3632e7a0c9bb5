/**
 * The admin UI's files as the headend serves them (headend/control/ui.ts):
 * the page and every module it imports, from this origin only, under a
 * strict CSP, revalidated by ETag; nothing else of the disk.
 */
import t from 'tap';
import Fastify from 'fastify';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY, registerAdminUi } from '../../../../headend/control/ui.js';
import { REPO_ROOT } from '../../../helpers/headend.js';

async function app(t: { teardown(fn: () => unknown): void }, o: Parameters<typeof registerAdminUi>[1] = {}) {
  const a = Fastify();
  const logs: string[] = [];
  const n = registerAdminUi(a, { ...o, log: (l, m) => void logs.push(`${l} ${m}`) });
  await a.ready();
  t.teardown(() => a.close());
  return { a, n, logs };
}

t.test('the built UI: the page, its modules and the shared validator, under a strict CSP', async (t) => {
  const { a, n } = await app(t, { distDir: join(REPO_ROOT, 'dist'), staticDir: join(REPO_ROOT, 'admin-ui/static') });
  t.ok(n >= 10, `${n} files served`);
  const page = await a.inject('/');
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  t.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  t.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/, 'no inline script, no other origin');
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  // Every script and module the page loads, followed through their imports, is served here.
  const seen = new Set<string>();
  const queue = [...page.body.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]);
  while (queue.length > 0) {
    const url = queue.shift()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const r = await a.inject(url);
    t.equal(r.statusCode, 200, `${url} is served`);
    if (url.endsWith('.js')) {
      t.match(r.headers['content-type'], /^text\/javascript/);
      for (const m of r.body.matchAll(/(?:import|export)[^'"]*from\s*['"]([^'"]+)['"]/g)) {
        t.ok(m[1].startsWith('.'), `${url} imports ${m[1]} by a relative path (no bare specifier a browser cannot resolve)`);
        queue.push(new URL(m[1], `http://x${url}`).pathname);
      }
    }
  }
  t.ok(seen.has('/ui/core/lineup/config.js'), 'the channel validator is the server’s own module');
  t.ok(seen.has('/ui/app.css') && seen.has('/ui/admin-ui/main.js'));
  const hlsJs = await a.inject('/ui/vendor/hls.light.min.mjs');
  t.equal(hlsJs.statusCode, 200, 'hls.js for the live preview is served from here too');
  t.match(hlsJs.headers['content-type'], /^text\/javascript/);
  t.match(CONTENT_SECURITY_POLICY, /media-src 'self' blob:/, 'the preview\'s Media Source Extensions (blob: URLs) are allowed, nothing else');
  const validator = await a.inject('/ui/core/lineup/config.js');
  t.notMatch(validator.body, /\bimport\b[^;]*from/, 'the validator imports nothing (no yaml package, no node: module)');
  const code = validator.body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  t.notMatch(code, /\bBuffer\b|\bprocess\./, 'and uses no Node global');
});

t.test('ETag revalidation, unknown paths and traversal', async (t) => {
  const { a } = await app(t, { distDir: join(REPO_ROOT, 'dist'), staticDir: join(REPO_ROOT, 'admin-ui/static') });
  const first = await a.inject('/ui/app.css');
  t.equal(first.headers['cache-control'], 'no-cache');
  const etag = String(first.headers.etag);
  t.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
  const again = await a.inject({ url: '/ui/app.css', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
  for (const url of ['/ui/nothing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/admin-ui/../../headend/main.js', '/ui/core/lineup/document.js', '/ui/admin-ui/main.js.map']) {
    const r = await a.inject(url);
    t.not(r.statusCode, 200, `${url} is not served (${r.statusCode})`);
    t.notMatch(r.body, /"name": "roomcast"|roomcast-headend/);
  }
});

t.test('a headend without a built UI says so, and the API is unaffected', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'roomcast-ui-'));
  await mkdir(join(empty, 'static'));
  await writeFile(join(empty, 'static/app.css'), 'body{}');
  const { a, logs } = await app(t, { distDir: join(empty, 'dist'), staticDir: join(empty, 'static') });
  const r = await a.inject('/');
  t.equal(r.statusCode, 503);
  t.match(r.body, /not built.*npm run build/s);
  t.match(logs.join('\n'), /admin UI: not built/);
  t.equal((await a.inject('/ui/app.css')).statusCode, 200);
});
