/**
 * Shared by the admin API tests: the app of api.ts with the admin plugin on
 * a temporary store, users of every role, and a request helper that records
 * every response body (so a test can prove a secret never left).
 */
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { validateLineup, type ChannelConfig, type HeadendConfig } from '../../../../core/lineup/config.js';
import { buildApi } from '../../../../headend/control/api.js';
import { registerAdminApi, type AdminApi, type AdminApiOptions } from '../../../../headend/control/admin-api.js';
import type { ChannelSnapshot } from '../../../../headend/dataplane/messages.js';
import type { Store, StoreOptions } from '../../../../headend/store/db.js';
import { tempStore } from '../store/fixtures.js';

/** Cheap hashes: the tests are about the API, not the cost of scrypt. */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

/** The SRT passphrase of channel 3: no response body, audit entry or log line may ever contain it. */
export const PASSPHRASE = 'TEST-passphrase-9f2c1e';

export const PASSWORDS = { admin: 'admin-password-1', operator: 'operator-password-1', viewer: 'viewer-password-1' } as const;

export const HEADEND: HeadendConfig = validateLineup({ channels: [] }).headend;

/** The starting lineup: 1 and 2 plain UDP, 3 an encrypted SRT listener with an RTP backup. */
export function lineup(): ChannelConfig[] {
  return validateLineup({
    channels: [
      { number: 1, name: 'News', group: 'News', multicast: { group: '239.255.1.1', port: 5000 }, source: { type: 'udp', address: '239.1.1.1', port: 6000 } },
      { number: 2, name: 'Sports', group: 'Sports', multicast: { group: '239.255.1.2', port: 5000 }, source: { type: 'udp', address: '239.1.1.2', port: 6000 } },
      {
        number: 3,
        name: 'Contribution',
        multicast: { group: '239.255.1.3', port: 5000 },
        inputs: [
          { type: 'srt', mode: 'listener', port: 9000, passphrase: PASSPHRASE, streamId: 'ch3' },
          { type: 'rtp', address: '239.1.1.3', port: 6002 },
        ],
      },
    ],
  }).channels;
}

export function snapshot(number: number, name: string, state: ChannelSnapshot['state'] = 'ok', extra: Partial<ChannelSnapshot> = {}): ChannelSnapshot {
  return {
    number,
    name,
    state,
    atMs: 1_700_000_000_000,
    uptimeS: 12,
    inputBitrateBps: 1_600_000 + number,
    outputBitrateBps: 1_620_000 + number,
    input: { bytes: 1000, packets: 10, syncLosses: 0, bytesSkipped: 0, restarts: number, lastError: null, lastErrorAgoS: null, source: {} },
    inputs: [],
    activeInput: 'primary',
    sourceFormat: null,
    slateFile: null,
    switches: 2 * number,
    lastSwitch: null,
    tr101290: { ccErrors: 3 * number, pcrIntervalMaxMs: 38 },
    stream: { serviceName: name, videoPid: 256, pcrPid: 256, keyframes: 4, streams: 'h264 aac' },
    output: {
      datagrams: 100,
      bytes: 132_800,
      overflowPackets: 0,
      nullPackets: 0,
      reanchors: 0,
      lateDatagrams: 0,
      sendErrors: 0,
      latenessP50Ms: 0.1,
      latenessP99Ms: 0.4,
      latenessMaxMs: 0.9,
      queuedDatagrams: 3,
    },
    cache: { datagrams: 50, starts: 1, drops: 0, readersCut: 0 },
    ...extra,
  };
}

interface Tap {
  teardown(fn: () => void | Promise<void>): void;
}

export interface Call {
  cookie?: string | null;
  body?: unknown;
  /** Raw payload (text bodies). */
  payload?: string | Buffer;
  headers?: Record<string, string>;
  /** Origin header for state-changing requests; default this server's own. null: none. */
  origin?: string | null;
  remoteAddress?: string;
  /** false: keep this body out of `bodies` (an admin's export with secrets). */
  record?: boolean;
}

export interface AdminFixture {
  app: FastifyInstance;
  store: Store;
  admin: AdminApi;
  /** Every onLineupChange call. */
  changes: { channels: ChannelConfig[]; changed: number[] }[];
  logs: string[];
  snapshots: ChannelSnapshot[];
  /** Every response body (and set-cookie-less headers) seen by call(). */
  bodies: string[];
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, c?: Call): Promise<LightMyRequestResponse>;
  /** Logs in; returns the Cookie header value. */
  login(username: string, password: string, remoteAddress?: string): Promise<string>;
  cookies: { admin: string; operator: string; viewer: string };
}

export const SELF_ORIGIN = 'http://localhost';

export async function adminFixture(
  t: Tap,
  o: Partial<AdminApiOptions> | ((store: Store) => Partial<AdminApiOptions>) = {},
  storeOpts: StoreOptions = {},
  /** Routes outside the admin plugin (public ones), added before the app is ready. */
  setup?: (app: FastifyInstance, store: Store) => void,
): Promise<AdminFixture> {
  const { store } = tempStore(t, { scrypt: TEST_SCRYPT, ...storeOpts });
  store.channels.replaceAll(lineup());
  await store.users.create({ username: 'admin', role: 'admin', password: PASSWORDS.admin });
  await store.users.create({ username: 'operator', role: 'operator', password: PASSWORDS.operator });
  await store.users.create({ username: 'viewer', role: 'viewer', password: PASSWORDS.viewer });
  const changes: AdminFixture['changes'] = [];
  const logs: string[] = [];
  const snapshots = [snapshot(1, 'News'), snapshot(2, 'Sports', 'slate'), snapshot(3, 'Contribution', 'no-input')];
  const app = buildApi({ lineup: () => ({ version: 'x', headend: { interface: '127.0.0.1' }, channels: [] }), playlist: () => '#EXTM3U\n', stbs: store.stbs });
  const admin = await registerAdminApi(app, {
    store,
    headend: HEADEND,
    status: () => snapshots,
    onLineupChange: (channels, changed) => void changes.push({ channels, changed }),
    metricsNetworks: ['10.9.0.0/16'],
    secureCookies: false,
    log: (level, m) => void logs.push(`${level} ${m}`),
    loginRateLimit: { max: 1000, timeWindowMs: 60_000 },
    ...(typeof o === 'function' ? o(store) : o),
  });
  setup?.(app, store);
  await app.ready();
  t.teardown(() => app.close());
  const bodies: string[] = [];
  const call: AdminFixture['call'] = async (method, url, c = {}) => {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (c.cookie) headers.cookie = c.cookie;
    const origin = c.origin === undefined ? SELF_ORIGIN : c.origin;
    if (origin !== null && method !== 'GET') headers.origin = origin;
    const res = await app.inject({
      method,
      url,
      headers,
      ...(c.body !== undefined ? { payload: c.body as object } : c.payload !== undefined ? { payload: c.payload } : {}),
      ...(c.remoteAddress ? { remoteAddress: c.remoteAddress } : {}),
    });
    if (c.record !== false) bodies.push(res.body);
    return res;
  };
  const login = async (username: string, password: string, remoteAddress?: string): Promise<string> => {
    const res = await call('POST', '/api/login', { body: { username, password }, remoteAddress });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    const set = String(res.headers['set-cookie']);
    return set.split(';')[0];
  };
  const cookies = {
    admin: await login('admin', PASSWORDS.admin),
    operator: await login('operator', PASSWORDS.operator),
    viewer: await login('viewer', PASSWORDS.viewer),
  };
  return { app, store, admin, changes, logs, snapshots, bodies, call, login, cookies };
}

/** A bare fastify app for hooks used outside the plugin. */
export function bareApp(t: Tap): FastifyInstance {
  const app = Fastify();
  t.teardown(() => app.close());
  return app;
}
