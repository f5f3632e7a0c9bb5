/**
 * Runs the built headend (`dist/headend/main.js`, as `npm test` builds it
 * first) as a real process, on loopback or inside a netlab namespace, and
 * reads its `status.json` counters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChannelSnapshot } from '../../headend/dataplane/messages.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HEADEND_MAIN = join(REPO_ROOT, 'dist/headend/main.js');
export const FIXTURES = join(REPO_ROOT, 'test/fixtures');

export interface RunningHeadend {
  proc: ChildProcess;
  dataDir: string;
  /** Everything the headend printed so far. */
  output(): string;
  status(): Promise<ChannelSnapshot[]>;
  /** Poll status.json every 100 ms until `pred` holds; throws after `timeoutMs` with the last status. */
  waitFor(pred: (chs: ChannelSnapshot[]) => boolean, timeoutMs: number, what: string): Promise<ChannelSnapshot[]>;
  stop(): Promise<number | null>;
}

export async function tempDir(prefix = 'roomcast-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Start the headend on `yaml`. `wrap` prefixes the argv (e.g. `ip netns exec NS`).
 * The process is killed at test teardown if the caller forgets.
 */
export async function startHeadend(yaml: string, opts: { wrap?: string[]; args?: string[]; dataDir?: string; env?: Record<string, string> } = {}): Promise<RunningHeadend> {
  const dataDir = opts.dataDir ?? (await tempDir());
  const config = join(dataDir, 'channels.yaml');
  await writeFile(config, yaml);
  const argv = [...(opts.wrap ?? []), process.execPath, HEADEND_MAIN, '--config', config, '--data', dataDir, ...(opts.args ?? [])];
  const env = { ...process.env, ...(opts.env ?? {}) };
  delete env.NODE_OPTIONS; // tap's loaders are not for the built program
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  process.once('exit', () => proc.kill('SIGKILL'));
  const status = async (): Promise<ChannelSnapshot[]> => {
    try {
      return (JSON.parse(await readFile(join(dataDir, 'status.json'), 'utf8')) as { channels: ChannelSnapshot[] }).channels;
    } catch {
      return [];
    }
  };
  return {
    proc,
    dataDir,
    output: () => out,
    status,
    async waitFor(pred, timeoutMs, what) {
      const until = Date.now() + timeoutMs;
      let last: ChannelSnapshot[] = [];
      while (Date.now() < until) {
        last = await status();
        if (last.length > 0 && pred(last)) return last;
        if (proc.exitCode !== null) break;
        await sleep(100);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last status: ${JSON.stringify(last.map((c) => ({ n: c.number, state: c.state, in: c.inputBitrateBps, err: c.input.lastError })))}\nheadend output:\n${out.slice(-3000)}`);
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Run the headend to completion (for config errors): exit code and output. */
export async function runHeadendOnce(yaml: string, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const dataDir = await tempDir();
  const config = join(dataDir, 'channels.yaml');
  await writeFile(config, yaml);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [HEADEND_MAIN, '--config', config, '--data', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, output: out });
    });
  });
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request with Node's own HTTP/HTTPS client: fetch cannot be given a CA,
 * and a test of the HTTPS API must verify the server's certificate against
 * its own (`ca`), not turn verification off. A fresh connection per request
 * (agent: false: no keep-alive socket outlives the test); the whole exchange
 * is bounded by `timeoutMs`. Network errors (refused, reset, a certificate
 * that does not verify) reject.
 */
export function httpRequest(
  url: string | URL,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: string | Buffer; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const u = new URL(url);
  const headers = { ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...(o.headers ?? {}) };
  const options = { method: o.method ?? 'GET', headers, agent: false as const, signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) };
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = u.protocol === 'https:' ? https.request(u, { ...options, ...(o.ca !== undefined ? { ca: o.ca } : {}) }, onResponse) : http.request(u, options, onResponse);
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Log in to the admin API as `admin` with the one-time password the headend
 * printed on first start, change it (required before anything else), and
 * return the session cookie and the headers a state-changing request needs
 * (the same-origin check wants Origin = the API's own origin), with the
 * Set-Cookie headers of both steps as the headend sent them.
 * For an HTTPS `baseUrl`, `ca` is the certificate the headend's must verify against.
 */
export async function adminSession(
  baseUrl: string,
  headendOutput: string,
  opts: { ca?: string | Buffer } = {},
): Promise<{ cookie: string; headers: Record<string, string>; loginSetCookie: string; passwordSetCookie: string | null }> {
  const m = /user "admin" created with the one-time password (\S+)/.exec(headendOutput);
  if (!m) throw new Error('no one-time admin password in the headend output');
  const origin = new URL(baseUrl).origin;
  const post = async (path: string, body: unknown, cookie?: string): Promise<HttpAnswer> =>
    httpRequest(new URL(path, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, ...(cookie ? { cookie } : {}) },
      body: JSON.stringify(body),
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    });
  const login = await post('api/login', { username: 'admin', password: m[1] });
  if (login.status !== 200) throw new Error(`login: HTTP ${login.status} ${login.body}`);
  const loginSetCookie = login.headers['set-cookie']?.[0] ?? '';
  let cookie = loginSetCookie.split(';')[0];
  const pw = await post('api/me/password', { current: m[1], new: 'a-new-admin-password-1' }, cookie);
  if (pw.status >= 300) throw new Error(`password change: HTTP ${pw.status} ${pw.body}`);
  const passwordSetCookie = pw.headers['set-cookie']?.[0] ?? null;
  if (passwordSetCookie) cookie = passwordSetCookie.split(';')[0];
  return { cookie, headers: { cookie, origin }, loginSetCookie, passwordSetCookie };
}
