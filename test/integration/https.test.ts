/**
 * HTTPS end to end (issue 5): given `headend.tls` (PEM cert and key), the
 * headend serves its API and the admin login over TLS only, with the
 * certificate it was given; the session cookie is `__Host-`, Secure,
 * HttpOnly and SameSite=Strict; the same-origin check holds over HTTPS. A
 * certificate file that cannot be read stops the start with headend.tls named.
 *
 * The certificate is made here by the openssl command line (a real peer, not
 * our own code), self-signed for IP:127.0.0.1; the client trusts exactly it
 * (`ca`), so verification stays on.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { FIXTURES, adminSession, httpRequest, runHeadendOnce, startHeadend, tempDir, type RunningHeadend } from '../helpers/headend.js';

const run = promisify(execFile);

/** A TCP port nothing listens on right now (the kernel's pick, then released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A throwaway self-signed certificate for 127.0.0.1 and its key, in `dir`. */
async function makeCertificate(dir: string): Promise<{ cert: string; key: string; pem: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { timeout: 15_000 },
  );
  return { cert, key, pem: await readFile(cert, 'utf8') };
}

function lineup(httpPort: number, mcastPort: number, tlsFiles: { cert: string; key: string }): string {
  return `
headend: { interface: 127.0.0.1, httpPort: ${httpPort}, fcc: { enabled: false }, tls: { cert: ${JSON.stringify(tlsFiles.cert)}, key: ${JSON.stringify(tlsFiles.key)} } }
channels:
  - number: 1
    name: One
    multicast: { group: 239.255.219.1, port: ${mcastPort} }
    source: { type: file, path: ${JSON.stringify(join(FIXTURES, 'h264-aac-1s-gop.ts'))} }
`;
}

/** Until the headend's log says `re` (bounded); throws with the log's tail. */
async function waitForOutput(he: RunningHeadend, re: RegExp, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (re.test(he.output())) return;
    if (he.proc.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`no ${re} in the headend output within ${timeoutMs} ms (exit code ${he.proc.exitCode}):\n${he.output().slice(-3000)}`);
}

/** A TLS handshake with 127.0.0.1:port, trusting `ca` (or the system store): resolves with the session's facts, rejects when it does not verify. */
function handshake(port: number, ca: string | undefined): Promise<{ authorized: boolean; fingerprint256: string; subjectaltname: string | undefined; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ...(ca !== undefined ? { ca } : {}), timeout: 10_000 });
    sock.once('secureConnect', () => {
      const peer = sock.getPeerCertificate();
      resolve({ authorized: sock.authorized, fingerprint256: peer.fingerprint256, subjectaltname: peer.subjectaltname, protocol: sock.getProtocol() });
      sock.end();
    });
    sock.once('timeout', () => sock.destroy(new Error('TLS handshake timed out')));
    sock.once('error', reject);
  });
}

t.test('with headend.tls the API and the admin login are served over HTTPS only, with our certificate and a __Host- Secure cookie', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir('roomcast-https-');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = await makeCertificate(dir);
  const port = await freePort();
  // The multicast port only needs to be even (RTP); nothing binds it here.
  const mcastPort = (await freePort()) & ~1;
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const he = await startHeadend(lineup(port, mcastPort, files), { dataDir, args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  const base = `https://127.0.0.1:${port}/`;
  await waitForOutput(he, new RegExp(`API on https://127\\.0\\.0\\.1:${port}/`), 20_000);
  const ca = files.pem;

  // 1. /healthz over TLS, the certificate verified against ours.
  const health = await httpRequest(`${base}healthz`, { ca });
  t.equal(health.status, 200, 'GET /healthz over HTTPS');
  t.same(JSON.parse(health.body), { ok: true });

  // 2. The handshake presents the certificate we made (not some other one that happens to verify).
  const hs = await handshake(port, ca);
  t.ok(hs.authorized, 'the certificate verifies against our CA, for IP 127.0.0.1');
  t.equal(hs.fingerprint256, new X509Certificate(files.pem).fingerprint256, 'the server presents our certificate');
  t.equal(hs.subjectaltname, 'IP Address:127.0.0.1');
  t.match(hs.protocol, /^TLSv1\.[23]$/);
  // Verification is real: without our CA the self-signed certificate is refused.
  await t.rejects(httpRequest(`${base}healthz`), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'a client that does not trust our certificate is refused');

  // 3. Plain HTTP to the same port gets no API answer (the TLS server drops it).
  let plain: string;
  try {
    const r = await httpRequest(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 5_000 });
    plain = `HTTP ${r.status} ${r.body.slice(0, 200)}`;
  } catch (err) {
    plain = `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  t.notMatch(plain, /^HTTP 200|"ok":true/, `plain HTTP on the HTTPS port is not answered by the API (${plain})`);
  t.equal(plain, 'error ECONNRESET', 'the connection is reset');

  // 4. Login with the one-time password, then the forced password change.
  const s = await adminSession(base, he.output(), { ca });
  for (const [step, setCookie] of [
    ['login', s.loginSetCookie],
    ['password change', s.passwordSetCookie ?? ''],
  ] as const) {
    const attrs = setCookie.split(';').map((a) => a.trim());
    t.match(attrs[0], /^__Host-roomcast_session=[A-Za-z0-9_-]{16,}$/, `${step}: the cookie has the __Host- prefix`);
    t.ok(attrs.includes('Secure'), `${step}: Secure (${setCookie.replace(/=[^;]+/, '=…')})`);
    t.ok(attrs.includes('HttpOnly'), `${step}: HttpOnly`);
    t.ok(attrs.includes('SameSite=Strict'), `${step}: SameSite=Strict`);
    // RFC 6265bis §4.1.3.2: a __Host- cookie is refused by browsers unless Path=/ and without Domain.
    t.ok(attrs.includes('Path=/'), `${step}: Path=/`);
    t.notOk(attrs.some((a) => /^domain=/i.test(a)), `${step}: no Domain`);
  }
  t.not(s.loginSetCookie.split(';')[0], s.cookie, 'the password change replaced the session');
  const me = await httpRequest(`${base}api/me`, { ca, headers: s.headers });
  t.equal(me.status, 200);
  t.match(JSON.parse(me.body), { user: { username: 'admin' }, mustChangePassword: false }, 'the password change is done');

  // 5. With the cookie, the admin API answers over HTTPS.
  const chs = await httpRequest(`${base}api/channels`, { ca, headers: s.headers });
  t.equal(chs.status, 200, `GET /api/channels: ${chs.body.slice(0, 200)}`);
  t.match(JSON.parse(chs.body), { channels: [{ number: 1, name: 'One' }] });
  // The same token under the plain-HTTP cookie name is not a session here.
  const token = s.cookie.slice(s.cookie.indexOf('=') + 1);
  const unprefixed = await httpRequest(`${base}api/channels`, { ca, headers: { cookie: `roomcast_session=${token}` } });
  t.equal(unprefixed.status, 401, 'the cookie without the __Host- prefix is not accepted over HTTPS');

  // 6. CSRF: a state-changing request with a foreign Origin is refused, with the session intact afterwards.
  for (const origin of ['https://evil.example', `https://evil.example:${port}`, 'https://127.0.0.2:' + port]) {
    const r = await httpRequest(`${base}api/logout`, { method: 'POST', ca, headers: { cookie: s.cookie, origin } });
    t.equal(r.status, 403, `POST /api/logout from ${origin} is refused`);
    t.match(JSON.parse(r.body), { code: 'ROOMCAST_ERR_CSRF' });
  }
  const noOrigin = await httpRequest(`${base}api/logout`, { method: 'POST', ca, headers: { cookie: s.cookie } });
  t.equal(noOrigin.status, 403, 'a state-changing request without Origin or Referer is refused');
  t.equal((await httpRequest(`${base}api/me`, { ca, headers: s.headers })).status, 200, 'the session survived the refused logouts');
  // The same request from the API's own origin goes through.
  const logout = await httpRequest(`${base}api/logout`, { method: 'POST', ca, headers: s.headers });
  t.equal(logout.status, 204, 'logout from https://127.0.0.1:PORT');
  t.match(logout.headers['set-cookie']?.[0] ?? '', /^__Host-roomcast_session=; Path=\/; Max-Age=0;.*Secure/, 'logout clears the __Host- cookie');
  t.equal((await httpRequest(`${base}api/me`, { ca, headers: s.headers })).status, 401, 'the session ended');

  t.equal(await he.stop(), 0, 'stops cleanly');
});

t.test('a certificate or key file that cannot be read stops the start, naming headend.tls and the file, exit 2', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir('roomcast-https-bad-');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = await makeCertificate(dir);
  const port = await freePort();
  const missing = join(dir, 'no-such-cert.pem');
  const notPem = join(dir, 'not-pem.pem');
  await writeFile(notPem, 'this is not a certificate\n');
  await mkdir(join(dir, 'other'));
  const other = await makeCertificate(join(dir, 'other'));
  const cases = [
    { what: 'a missing certificate', tls: { cert: missing, key: files.key }, message: /headend\.tls \(cert [^\n]*\): ENOENT: no such file or directory, open '([^']+)'/, file: missing },
    { what: 'a missing key', tls: { cert: files.cert, key: join(dir, 'no-such-key.pem') }, message: /headend\.tls \(cert [^\n]*\): ENOENT: no such file or directory, open '([^']+)'/, file: join(dir, 'no-such-key.pem') },
    // Run as root a chmod 000 file is still readable: a directory is a file that cannot be read by anyone.
    { what: 'a certificate path that is a directory', tls: { cert: dir, key: files.key }, message: /headend\.tls \(cert [^\n]*\): EISDIR: illegal operation on a directory/, file: null },
    // Read but not usable: parsed before anything starts (createSecureContext), not thrown later by the server.
    { what: 'a certificate file that is not PEM', tls: { cert: notPem, key: files.key }, message: /headend\.tls \(cert [^\n]*\): .*(PEM|no start line)/i, file: null },
    { what: 'a key that is not the certificate\'s', tls: { cert: files.cert, key: other.key }, message: /headend\.tls \(cert [^\n]*\): .*key values mismatch/i, file: null },
  ];
  for (const c of cases) {
    const r = await runHeadendOnce(lineup(port, 45_000, c.tls), ['--no-mdns']);
    t.equal(r.code, 2, `${c.what}: exit 2`);
    t.match(r.output, /roomcast-headend: refusing to start\.\nheadend\.tls \(cert /, `${c.what}: refused with headend.tls named`);
    t.notMatch(r.output, /one-time password|channels imported/, `${c.what}: refused before the database was touched (the one-time password is not spent)`);
    const m = c.message.exec(r.output);
    t.ok(m, `${c.what}: the reason is given (${r.output.split('\n').find((l) => l.startsWith('headend.tls')) ?? r.output.slice(-500)})`);
    if (c.file !== null) t.equal(m?.[1], c.file, `${c.what}: the file is named`);
    t.notMatch(r.output, /API on /, `${c.what}: the API never listened`);
  }
});
