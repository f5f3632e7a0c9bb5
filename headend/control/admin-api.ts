/**
 * The admin API (issue 5): login and users, the channel lineup on SQLite,
 * live status, audit log, YAML import/export and Prometheus metrics, as one
 * encapsulated fastify plugin that main.ts registers on the app of api.ts.
 *
 * Security, route by route:
 * - every route has JSON schemas for its input and its output; the output
 *   schemas are the filter that keeps password hashes (the store never
 *   returns them anyway) and SRT passphrases (SECRET_PLACEHOLDER in every
 *   output, core/lineup/document.ts) from leaving;
 * - the session is a random token in an HttpOnly, SameSite=Strict cookie
 *   (`__Host-`, Secure over HTTPS), only its SHA-256 in the database;
 * - every state-changing request must come from this server's own origin
 *   (auth.ts checkSameOrigin), logins and password changes are rate limited
 *   per address (@fastify/rate-limit) on top of the store's lockout;
 * - roles are checked here, on the server: viewer reads, operator edits the
 *   lineup, admin does everything (users, import, secrets);
 * - one validator for API, YAML and UI: channel bodies are channels.yaml
 *   documents checked by core/lineup's validateChannel/validateLineup, whose
 *   problems come back as `{path, message}` (the YAML loader's lines).
 *
 * Synchronous store calls on the main thread (DESIGN.md): each is a few
 * prepared statements; a channel edit and its audit entry commit together.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import {
  ConfigError,
  ipv4InNetworks,
  isIpv4Multicast,
  parseCidr,
  problemOf,
  validateChannel,
  validateLineup,
  type ChannelConfig,
  type HeadendConfig,
} from '../../core/lineup/config.js';
import { parseYamlText } from '../../core/lineup/yaml.js';
import { channelDocument, channelDocumentSchema, channelOutputSchema, lineupYaml, restoreSecrets } from '../../core/lineup/document.js';
import type { ChannelSnapshot } from '../dataplane/messages.js';
import { ThumbnailError, type Thumbnails } from './thumbnail.js';
import type { Store } from '../store/db.js';
import type { StoredChannel } from '../store/channels.js';
import { ChannelVersionConflictError, StoreError, StoreErrorCode } from '../store/errors.js';
import { LOGO_MAX_BYTES, logoMediaType } from '../store/logos.js';
import { epgAdminRoutes, type EpgRefresher } from './epg.js';
import { vodAdminRoutes } from './vod.js';
import type { VodLibrary } from '../vod/library.js';
import { DEFAULT_LOGIN_POLICY, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, Role, type LoginPolicy, type LoginResult, type UserRecord } from '../store/users.js';
import {
  AdminError,
  AdminErrorCode,
  authorize,
  checkSameOrigin,
  clearSessionCookie,
  requireFleetKey,
  requireRole,
  responses,
  sessionEntry,
  sessionSetCookie,
  type AuthOptions,
} from './auth.js';

export { AdminError, AdminErrorCode, requireFleetKey, requireRole } from './auth.js';

export interface AdminApiOptions {
  store: Store;
  /** The running headend settings: the context channels are validated in (SSM source = interface, SRT defaults). */
  headend: HeadendConfig;
  /** The latest counters snapshot of every channel (the data plane's, once a second). */
  status(): ChannelSnapshot[];
  /**
   * Called after a lineup change is committed: the whole lineup, and the
   * numbers of the channels that changed (added, removed, renumbered or
   * edited; a channel saved unchanged is not listed). Only those restart.
   * Not called when nothing changed. An exception is logged, not answered.
   */
  onLineupChange(channels: ChannelConfig[], changed: number[]): void;
  /** CIDRs that may scrape /metrics without a session (e.g. the monitoring host). Default none. */
  metricsNetworks?: readonly string[];
  /** True when the API is served over HTTPS: the cookie is then Secure and `__Host-`. */
  secureCookies: boolean;
  /** The STB fleet key (for the hook this plugin hands back, see AdminApi.requireFleetKey). */
  fleetKey?: string;
  /** The clock, ms since the epoch (tests). Default Date.now. */
  now?: () => number;
  log: (level: 'info' | 'warn', message: string) => void;
  /** The store's lockout policy (openStore's loginPolicy), applied alike to unknown usernames. Default 5 → 15 min. */
  loginPolicy?: LoginPolicy;
  /** Login and password-change attempts per client address. Default 10 a minute. */
  loginRateLimit?: { max: number; timeWindowMs: number };
  /** Recent events of a channel (headend/control/events.ts), newest first. */
  events?(number: number): { atMs: number; kind: string; message: string }[];
  /** Thumbnails of the channels' pictures (headend/control/thumbnail.ts); without: 404 naming why. */
  thumbnails?: Thumbnails;
  /** The SDP of a channel (RTP channels only), or null. */
  sdp?(number: number): string | null;
  /**
   * What the validator cannot know: whether the channel's inputs can work on
   * this headend (a file input's file exists and is readable). Returns
   * problems as `path: sentence`. Default: fileSourceProblems.
   */
  checkSources?(channel: ChannelConfig, path: string): string[];
  /** Period of the status stream's events. Default 1000. */
  statusIntervalMs?: number;
  /** Status streams open at once; more get 503. Default 50. */
  maxStatusStreams?: number;
  /** The programme guide's feed refresher: with it, the EPG admin routes (control/epg.ts). */
  epgRefresher?: EpgRefresher;
  /** The VOD library (headend.vod): with it, its admin routes (control/vod.ts), uploads up to `vodMaxUploadBytes`. */
  vod?: VodLibrary;
  vodMaxUploadBytes?: number;
}

/** What the caller applies to routes outside the plugin (api.ts's). */
export interface AdminApi {
  /** For `GET /api/stbs`: `{ preHandler: admin.requireRole('viewer') }`. */
  requireRole(role: Role): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** For `POST /api/stb/report`: the `x-roomcast-fleet-key` check (no-op without a fleetKey). */
  requireFleetKey: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/**
 * Registers the admin API on `app` (encapsulated: its hooks, error handler,
 * parsers and rate limiter apply to its own routes only) and returns the
 * hooks for the caller's routes.
 */
export async function registerAdminApi(app: FastifyInstance, opts: AdminApiOptions): Promise<AdminApi> {
  await app.register(adminApiPlugin, opts);
  const auth: AuthOptions = { store: opts.store, secureCookies: opts.secureCookies };
  return { requireRole: (role) => requireRole(role, auth), requireFleetKey: requireFleetKey(opts.fleetKey) };
}

/**
 * Who may call a route: `public` (login), `session` (any logged-in user,
 * even one who must change their password: me, logout, password), a role,
 * or `metrics` (the metrics networks, else a viewer session).
 */
type Access = 'public' | 'session' | 'metrics' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** Bodies: a login or user ~100 bytes; a channel with 8 inputs ~4 KiB; channels.yaml of 500 channels ~300 KiB. */
const SMALL_BODY_BYTES = 4 * 1024;
const CHANNEL_BODY_BYTES = 64 * 1024;
const IMPORT_BODY_BYTES = 2 * 1024 * 1024;
const YAML_TYPES = ['text/yaml', 'application/yaml', 'application/x-yaml'];
const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/** Where bulk assignment takes addresses from unless told otherwise (administratively scoped, RFC 2365). */
export const DEFAULT_MULTICAST_POOL = '239.255.10.0/24';

function ipv4String(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

// ---------------------------------------------------------------------------
// Schemas


const userSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    role: { type: 'string' },
    mustChangePassword: { type: 'boolean' },
    lockedUntil: { type: ['string', 'null'] },
    lastLogin: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
const meSchema = {
  type: 'object',
  properties: { user: userSchema, mustChangePassword: { type: 'boolean' }, sessionExpiresAt: { type: 'string' } },
} as const;

const channelItemSchema = {
  type: 'object',
  properties: {
    ...(channelOutputSchema.properties as Record<string, unknown>),
    version: { type: 'integer' },
    updatedAt: { type: 'string' },
    /** Read-only: the logo's URL (GET /logos/:n, with its version), or null. Set with PUT /api/channels/:n/logo. */
    logo: { type: ['string', 'null'] },
  },
} as const;

const numberParams = {
  type: 'object',
  required: ['number'],
  properties: { number: { type: 'integer', minimum: 1, maximum: 9999 } },
} as const;
const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

const roleSchema = { type: 'string', enum: Object.values(Role) } as const;
const passwordSchema = { type: 'string', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH } as const;

/** A channel snapshot: the named parts, their insides as reported (counters only: no secrets in a snapshot). */
const openObject = { type: 'object', additionalProperties: true } as const;
const snapshotSchema = {
  type: 'object',
  properties: {
    number: { type: 'integer' },
    name: { type: 'string' },
    state: { type: 'string' },
    atMs: { type: 'number' },
    uptimeS: { type: 'number' },
    inputBitrateBps: { type: 'number' },
    outputBitrateBps: { type: 'number' },
    input: openObject,
    inputs: { type: 'array', items: openObject },
    activeInput: { type: 'string' },
    sourceFormat: { type: ['object', 'null'], additionalProperties: true },
    slateFile: { type: ['string', 'null'] },
    switches: { type: 'integer' },
    lastSwitch: { type: ['object', 'null'], additionalProperties: true },
    tr101290: openObject,
    stream: openObject,
    output: openObject,
    cache: openObject,
  },
} as const;
const statusSchema = {
  type: 'object',
  properties: {
    at: { type: 'string' },
    channels: { type: 'array', items: snapshotSchema },
    /** Channel number → STB agents tuned to it (reported in the last 5 minutes). */
    viewers: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

const auditEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    username: { type: ['string', 'null'] },
    action: { type: 'string' },
    target: { type: ['string', 'null'] },
    detail: {},
  },
} as const;

// ---------------------------------------------------------------------------

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Numbers of the channels whose config differs between two lineups (added, removed or edited). */
export function changedChannels(before: readonly ChannelConfig[], after: readonly ChannelConfig[]): number[] {
  const a = new Map(before.map((c) => [c.number, c]));
  const b = new Map(after.map((c) => [c.number, c]));
  const changed: number[] = [];
  for (const n of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(n);
    const y = b.get(n);
    // The same object is the same channel: only edited ones are compared field by field.
    if (x === y) continue;
    if (x === undefined || y === undefined || stableJson(x) !== stableJson(y)) changed.push(n);
  }
  return changed.sort((p, q) => p - q);
}

/** The paths where two documents differ (values are not reported: the audit log names fields, never secrets). */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
  }
  return stableJson(a) === stableJson(b) ? [] : [path || '(channel)'];
}

function validationError(what: string, problems: string[]): AdminError {
  return new AdminError(
    AdminErrorCode.validation,
    `${problems.length} problem${problems.length === 1 ? '' : 's'} in the ${what}: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`,
    { problems: problems.map(problemOf) },
  );
}

/**
 * Failed logins of usernames that do not exist, counted like the store
 * counts real ones, so that the 5th wrong attempt on `nosuchuser` is locked
 * exactly as on `admin`: the lockout does not tell which accounts exist.
 * Bounded: the oldest entries go past `max` (a flood of random names).
 */
class PhantomLockout {
  private readonly entries = new Map<string, { failed: number; lockedUntilMs: number | null }>();
  constructor(private readonly policy: LoginPolicy, private readonly max = 10_000) {}
  lockedUntil(username: string, nowMs: number): number | null {
    const until = this.entries.get(username.toLowerCase())?.lockedUntilMs ?? null;
    return until !== null && until > nowMs ? until : null;
  }
  /** Counts a failure; returns the lock's end when this one locks. */
  fail(username: string, nowMs: number): number | null {
    const key = username.toLowerCase();
    const e = this.entries.get(key) ?? { failed: 0, lockedUntilMs: null };
    this.entries.delete(key);
    e.failed++;
    if (e.failed >= this.policy.maxFailedLogins) {
      e.failed = 0;
      e.lockedUntilMs = nowMs + this.policy.lockoutMs;
    }
    this.entries.set(key, e);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return e.lockedUntilMs !== null && e.lockedUntilMs > nowMs ? e.lockedUntilMs : null;
  }
}

/**
 * Every login answer takes about as long as one that hashed a password:
 * a refused login that did not hash (a locked account) waits out the
 * running mean of the ones that did, so timing tells neither "locked" nor
 * "exists" apart from "wrong password".
 */
class LoginTimer {
  private meanMs = 0;
  record(ms: number): void {
    this.meanMs = this.meanMs === 0 ? ms : this.meanMs * 0.8 + ms * 0.2;
  }
  async pad(startMs: number): Promise<void> {
    const wait = this.meanMs - (performance.now() - startMs);
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
}

/** Prometheus text exposition format 0.0.4: label values escape \, " and newline. */
function label(v: string | number): string {
  return String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const CHANNEL_STATES: readonly ChannelSnapshot['state'][] = ['ok', 'slate', 'starting', 'no-input', 'restarting', 'stopped'];

/**
 * A file input whose file is missing or unreadable would only ever restart:
 * refused at save time, naming the file, rather than applied and left dark.
 * (A network input cannot be checked ahead: its sender may start later; the
 * UI shows its state once applied.)
 */
export function fileSourceProblems(ch: ChannelConfig, path: string): string[] {
  const problems: string[] = [];
  ch.inputs.forEach((src, i) => {
    if (src.type !== 'file') return;
    const where = ch.inputs.length === 1 ? `${path}.source.path` : `${path}.inputs[${i}].path`;
    try {
      accessSync(src.path, fsConstants.R_OK);
      if (!statSync(src.path).isFile()) problems.push(`${where}: ${src.path} is not a file`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${where}: ${src.path} ${code === 'ENOENT' ? 'does not exist on the headend' : code === 'EACCES' ? 'is not readable by the headend' : `cannot be read (${code ?? (err as Error).message})`}`);
    }
  });
  return problems;
}

export const adminApiPlugin: FastifyPluginAsync<AdminApiOptions> = async (app, o) => {
  const store = o.store;
  const checkSources = o.checkSources ?? fileSourceProblems;
  const now = o.now ?? Date.now;
  const auth: AuthOptions = { store, secureCookies: o.secureCookies };
  const metricsNets = (o.metricsNetworks ?? []).map((c) => {
    const n = parseCidr(c);
    if (!n) throw new Error(`metricsNetworks: ${JSON.stringify(c)} is not an IPv4 network in CIDR form (e.g. 10.20.0.0/16)`);
    return n;
  });
  const phantoms = new PhantomLockout(o.loginPolicy ?? DEFAULT_LOGIN_POLICY);
  const timer = new LoginTimer();
  const limit = o.loginRateLimit ?? { max: 10, timeWindowMs: 60_000 };
  const statusIntervalMs = o.statusIntervalMs ?? 1000;
  const maxStreams = o.maxStatusStreams ?? 50;
  const maxWorkers = Math.max(64, o.headend.workers);

  await app.register(rateLimit, {
    global: false,
    keyGenerator: (req) => req.ip,
    errorResponseBuilder: (_req, ctx) =>
      new AdminError(AdminErrorCode.rateLimited, `too many attempts from this address; try again in ${Math.ceil(ctx.ttl / 1000)} s`, {
        retryAfterS: Math.ceil(ctx.ttl / 1000),
      }),
  });
  const loginRate = { max: limit.max, timeWindow: limit.timeWindowMs, groupId: 'login' };

  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit: IMPORT_BODY_BYTES }, (_req, body, done) => done(null, body));

  // Order: where from (CSRF), then who (session, role). Both before the body is read.
  app.addHook('onRequest', async (req) => {
    checkSameOrigin(req);
    const access = req.routeOptions.config.access ?? 'admin';
    switch (access) {
      case 'public':
        return;
      case 'session':
        if (!sessionEntry(req, auth)) throw new AdminError(AdminErrorCode.unauthenticated, 'log in first (POST /api/login)');
        return;
      case 'metrics':
        if (metricsNets.length > 0 && ipv4InNetworks(req.ip.replace(/^::ffff:/, ''), metricsNets)) return;
        authorize(req, 'viewer', auth);
        return;
      default:
        authorize(req, access, auth);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown[]; validationContext?: string }, req, reply) => {
    let status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    let code: string = AdminErrorCode.internal;
    let message = err.message;
    let extra: Record<string, unknown> = {};
    if (err instanceof AdminError) {
      code = err.code;
      extra = { ...err.extra };
      if (err.extra.retryAfterS !== undefined) reply.header('retry-after', String(err.extra.retryAfterS));
    } else if (err instanceof ChannelVersionConflictError) {
      code = AdminErrorCode.conflict;
      extra = { currentVersion: err.currentVersion };
    } else if (err instanceof StoreError) {
      code = err.code;
    } else if (Array.isArray(err.validation)) {
      status = 400;
      code = AdminErrorCode.badRequest;
      const where = err.validationContext ?? 'body';
      extra = {
        problems: (err.validation as { instancePath?: string; message?: string; params?: { missingProperty?: string } }[]).map((v) => {
          const sub = (v.instancePath ?? '').split('/').filter(Boolean).map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
          const missing = v.params?.missingProperty ? `.${v.params.missingProperty}` : '';
          return { path: `${where}${sub}${missing}`, message: v.message ?? 'is invalid' };
        }),
      };
    } else if (status === 413) {
      code = AdminErrorCode.bodyTooLarge;
    } else if (status === 415) {
      code = AdminErrorCode.unsupportedMediaType;
    } else if (status === 404) {
      code = AdminErrorCode.notFound;
    } else if (status < 500) {
      code = AdminErrorCode.badRequest;
    }
    if (status >= 500) {
      o.log('warn', `admin API: ${req.method} ${req.routeOptions.url ?? req.url}: ${err.stack ?? err.message}`);
      message = 'internal error';
      extra = {};
    }
    reply.code(status).send({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message, ...extra });
  });

  const audit = (req: FastifyRequest, action: string, target: string | null, detail?: unknown): void => {
    store.audit.append({ username: sessionEntry(req, auth)?.session.user.username ?? null, action, target, detail });
  };
  const who = (req: FastifyRequest): string => sessionEntry(req, auth)?.session.user.username ?? '?';

  const userOut = (u: UserRecord) => ({
    username: u.username,
    role: u.role,
    mustChangePassword: u.mustChangePassword,
    lockedUntil: u.lockedUntilMs !== null && u.lockedUntilMs > now() ? iso(u.lockedUntilMs) : null,
    lastLogin: u.lastLoginMs === null ? null : iso(u.lastLoginMs),
    createdAt: iso(u.createdAtMs),
    updatedAt: iso(u.updatedAtMs),
  });
  /** `logos`: store.logos.list(), read once for a whole list. */
  const channelOut = (c: StoredChannel, logos: ReadonlyMap<number, number> = store.logos.list()) => {
    const logoAt = logos.get(c.config.number);
    return {
      ...channelDocument(c.config, 'mask'),
      version: c.version,
      updatedAt: iso(c.updatedAtMs),
      logo: logoAt === undefined ? null : `/logos/${c.config.number}?v=${logoAt}`,
    };
  };
  const channelsOut = (list: readonly StoredChannel[]) => {
    const logos = store.logos.list();
    return list.map((c) => channelOut(c, logos));
  };

  const notify = (before: readonly StoredChannel[], after: readonly StoredChannel[]): number[] => {
    const changed = changedChannels(
      before.map((c) => c.config),
      after.map((c) => c.config),
    );
    if (changed.length === 0) return changed;
    try {
      o.onLineupChange(
        [...after].sort((a, b) => a.config.number - b.config.number).map((c) => c.config),
        changed,
      );
    } catch (err) {
      o.log('warn', `admin API: applying the lineup change (channels ${changed.join(', ')}) failed: ${(err as Error).message}`);
    }
    return changed;
  };

  const locked = (untilMs: number): AdminError => {
    const retryAfterS = Math.max(1, Math.ceil((untilMs - now()) / 1000));
    return new AdminError(AdminErrorCode.accountLocked, `too many failed logins: the account is locked until ${iso(untilMs)}`, {
      lockedUntil: iso(untilMs),
      retryAfterS,
    });
  };

  const startSession = (reply: FastifyReply, user: UserRecord): number => {
    const s = store.sessions.create(user.id);
    reply.header('set-cookie', sessionSetCookie(o.secureCookies, s.token, (s.expiresAtMs - now()) / 1000));
    return s.expiresAtMs;
  };

  // ---- login, me, password -------------------------------------------------

  app.post(
    '/api/login',
    {
      config: { access: 'public', rateLimit: loginRate },
      bodyLimit: SMALL_BODY_BYTES,
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: PASSWORD_MAX_LENGTH } },
        },
        response: responses({ 200: meSchema }),
      },
    },
    async (req, reply) => {
      const { username, password } = req.body as { username: string; password: string };
      const t0 = performance.now();
      const known = store.users.get(username) !== null;
      const phantom = known ? null : phantoms.lockedUntil(username, now());
      let r: LoginResult;
      let hashed = false;
      if (phantom !== null) {
        r = { ok: false, reason: 'locked', lockedUntilMs: phantom };
      } else {
        r = await store.users.authenticate(username, password);
        hashed = r.ok || r.reason === 'invalid';
        if (!known && !r.ok && r.reason === 'invalid') {
          const until = phantoms.fail(username, now());
          if (until !== null) r = { ok: false, reason: 'locked', lockedUntilMs: until };
        }
      }
      if (hashed) timer.record(performance.now() - t0);
      else await timer.pad(t0);
      if (!r.ok) {
        if (r.reason === 'locked') {
          if (known) o.log('warn', `login: account ${JSON.stringify(username)} is locked until ${iso(r.lockedUntilMs)} after repeated failed logins (from ${req.ip})`);
          throw locked(r.lockedUntilMs);
        }
        throw new AdminError(AdminErrorCode.loginFailed, 'wrong username or password');
      }
      const expiresAtMs = startSession(reply, r.user);
      store.audit.append({ username: r.user.username, action: 'user.login', target: `user ${r.user.username}`, detail: { ip: req.ip } });
      return { user: userOut(r.user), mustChangePassword: r.user.mustChangePassword, sessionExpiresAt: iso(expiresAtMs) };
    },
  );

  app.post(
    '/api/logout',
    { config: { access: 'session' }, bodyLimit: SMALL_BODY_BYTES, schema: { response: responses({ 204: { type: 'null' } }) } },
    async (req, reply) => {
      const e = sessionEntry(req, auth)!;
      store.sessions.delete(e.token);
      audit(req, 'user.logout', `user ${e.session.user.username}`);
      reply.header('set-cookie', clearSessionCookie(o.secureCookies)).code(204);
    },
  );

  app.get('/api/me', { config: { access: 'session' }, schema: { response: responses({ 200: meSchema }) } }, async (req) => {
    const s = sessionEntry(req, auth)!.session;
    return { user: userOut(s.user), mustChangePassword: s.user.mustChangePassword, sessionExpiresAt: iso(s.expiresAtMs) };
  });

  app.post(
    '/api/me/password',
    {
      config: { access: 'session', rateLimit: loginRate },
      bodyLimit: SMALL_BODY_BYTES,
      schema: {
        body: {
          type: 'object',
          required: ['current', 'new'],
          additionalProperties: false,
          properties: { current: { type: 'string', minLength: 1, maxLength: PASSWORD_MAX_LENGTH }, new: passwordSchema },
        },
        response: responses({ 200: meSchema }),
      },
    },
    async (req, reply) => {
      const { current, new: next } = req.body as { current: string; new: string };
      const user = sessionEntry(req, auth)!.session.user;
      // Checked like a login: wrong guesses count towards the lockout.
      const r = await store.users.authenticate(user.username, current);
      if (!r.ok) {
        if (r.reason === 'locked') throw locked(r.lockedUntilMs);
        throw new AdminError(AdminErrorCode.wrongPassword, 'the current password is wrong');
      }
      if (next.normalize('NFC') === current.normalize('NFC')) throw validationError('password change', ['new: must differ from the current password']);
      const updated = await store.users.setPassword(user.username, next, { mustChange: false });
      // Every session of the user ends (a stolen one included); this client gets a fresh one.
      store.sessions.deleteForUser(updated.id);
      const expiresAtMs = startSession(reply, updated);
      store.audit.append({ username: updated.username, action: 'user.password', target: `user ${updated.username}` });
      return { user: userOut(updated), mustChangePassword: false, sessionExpiresAt: iso(expiresAtMs) };
    },
  );

  // ---- channels --------------------------------------------------------------

  /** Read-only keys of a channel response, accepted back in a body and ignored. */
  const withoutReadOnly = (body: unknown): unknown => {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
    const { version: _v, updatedAt: _u, logo: _l, ...doc } = body as Record<string, unknown>;
    return doc;
  };

  app.get('/api/schema/channel', { config: { access: 'viewer' }, schema: { response: responses({ 200: { type: 'object', additionalProperties: true } }) } }, async () => channelDocumentSchema);

  /**
   * The whole lineup, made once per lineup state (store.channels.stamp) and
   * kept serialised: the UI reloads it often and 500 channels cost ~8 ms of
   * main-thread CPU to read, shape and serialise (bench/admin-api.ts), the
   * thread the control plane shares with nothing else but must keep free.
   * An ETag lets a browser revalidate with a 304.
   */
  const channelsListSchema = { type: 'object', properties: { channels: { type: 'array', items: channelItemSchema } } } as const;
  let channelsCache: { stamp: string; body: string; etag: string } | null = null;
  let serializeChannels: ((v: unknown) => string) | null = null;
  app.get('/api/channels', { config: { access: 'viewer' }, schema: { response: responses({ 200: channelsListSchema }) } }, async (req, reply) => {
    const stamp = `${store.channels.stamp()}-${store.logos.stamp()}`;
    if (channelsCache?.stamp !== stamp) {
      serializeChannels ??= reply.compileSerializationSchema(channelsListSchema) as (v: unknown) => string;
      channelsCache = { stamp, body: serializeChannels({ channels: channelsOut(store.channels.list()) }), etag: `"lineup-${stamp}"` };
    }
    reply.header('etag', channelsCache.etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === channelsCache.etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(channelsCache.body);
  });

  app.get(
    '/api/channels/:number',
    { config: { access: 'viewer' }, schema: { params: numberParams, response: responses({ 200: channelItemSchema }) } },
    async (req) => {
      const { number } = req.params as { number: number };
      const c = store.channels.get(number);
      if (!c) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      return channelOut(c);
    },
  );

  app.post(
    '/api/channels',
    { config: { access: 'operator' }, bodyLimit: CHANNEL_BODY_BYTES, schema: { body: { type: 'object' }, response: responses({ 201: channelItemSchema }) } },
    async (req, reply) => {
      const before = store.channels.list();
      const restored = restoreSecrets(withoutReadOnly(req.body), null, 'channel');
      const v = validateChannel(restored.doc, { headend: o.headend, others: before.map((c) => c.config) });
      const problems = [...restored.problems, ...(v.ok ? [] : v.problems)];
      if (v.ok) problems.push(...checkSources(v.channel, 'channel'));
      if (!v.ok || problems.length > 0) throw validationError('channel', problems);
      const created = store.transaction(() => {
        const c = store.channels.create(v.channel);
        audit(req, 'channel.create', `channel ${c.config.number}`, { name: c.config.name, version: c.version });
        return c;
      });
      // The lineup after, without reading all of it again (a list() of 500 channels is ~8 ms).
      notify(before, [...before, created]);
      reply.code(201);
      return channelOut(created);
    },
  );

  app.put(
    '/api/channels/:number',
    {
      config: { access: 'operator' },
      bodyLimit: CHANNEL_BODY_BYTES,
      schema: {
        params: numberParams,
        body: { type: 'object', required: ['version'], properties: { version: { type: 'integer', minimum: 0 } } },
        response: responses({ 200: channelItemSchema }),
      },
    },
    async (req) => {
      const { number } = req.params as { number: number };
      const version = (req.body as { version: number }).version;
      const before = store.channels.list();
      const stored = before.find((c) => c.config.number === number);
      if (!stored) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      // A stale edit is refused before it is validated: the client must reload either way.
      if (stored.version !== version) throw new ChannelVersionConflictError(number, version, stored.version);
      const restored = restoreSecrets(withoutReadOnly(req.body), stored.config, 'channel');
      const v = validateChannel(restored.doc, { headend: o.headend, others: before.filter((c) => c !== stored).map((c) => c.config) });
      const problems = [...restored.problems, ...(v.ok ? [] : v.problems)];
      if (v.ok) problems.push(...checkSources(v.channel, 'channel'));
      if (!v.ok || problems.length > 0) throw validationError('channel', problems);
      const updated = store.transaction(() => {
        const c = store.channels.update(number, v.channel, version);
        const fields = changedPaths(channelDocument(stored.config, 'include'), channelDocument(c.config, 'include'));
        audit(req, 'channel.update', `channel ${number}`, {
          name: c.config.name,
          ...(c.config.number !== number ? { renumberedTo: c.config.number } : {}),
          fromVersion: version,
          version: c.version,
          fields,
        });
        return c;
      });
      notify(
        before,
        before.map((c) => (c === stored ? updated : c)),
      );
      return channelOut(updated);
    },
  );

  app.delete(
    '/api/channels/:number',
    {
      config: { access: 'operator' },
      schema: {
        params: numberParams,
        querystring: { type: 'object', required: ['version'], properties: { version: { type: 'integer', minimum: 0 } } },
        response: responses({ 204: { type: 'null' } }),
      },
    },
    async (req, reply) => {
      const { number } = req.params as { number: number };
      const { version } = req.query as { version: number };
      const before = store.channels.list();
      store.transaction(() => {
        const gone = store.channels.delete(number, version);
        audit(req, 'channel.delete', `channel ${number}`, { name: gone.config.name, version: gone.version });
      });
      notify(
        before,
        before.filter((c) => c.config.number !== number),
      );
      reply.code(204);
    },
  );

  app.post(
    '/api/channels/reorder',
    {
      config: { access: 'operator' },
      bodyLimit: CHANNEL_BODY_BYTES,
      schema: {
        body: {
          type: 'object',
          required: ['moves'],
          additionalProperties: false,
          properties: {
            moves: {
              type: 'array',
              minItems: 1,
              maxItems: 9999,
              items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 1, maximum: 9999 } },
            },
          },
        },
        response: responses({ 200: { type: 'object', properties: { channels: { type: 'array', items: channelItemSchema } } } }),
      },
    },
    async (req) => {
      const { moves } = req.body as { moves: [number, number][] };
      const before = store.channels.list();
      store.transaction(() => {
        store.channels.reorder(moves);
        audit(req, 'channel.reorder', `${moves.length} channel${moves.length === 1 ? '' : 's'}`, { moves });
      });
      const after = store.channels.list();
      notify(before, after);
      return { channels: channelsOut(after) };
    },
  );

  /**
   * Bulk assignment from a multicast pool: each listed channel, in number
   * order, gets the next address of `pool` that no other channel uses (on
   * `port`). All or nothing: too few free addresses → 409 and nothing
   * changes. A channel that gets the address it has is not restarted.
   */
  app.post(
    '/api/channels/assign-multicast',
    {
      config: { access: 'operator' },
      bodyLimit: CHANNEL_BODY_BYTES,
      schema: {
        body: {
          type: 'object',
          required: ['channels'],
          additionalProperties: false,
          properties: {
            channels: { type: 'array', minItems: 1, maxItems: 9999, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: 9999 } },
            pool: { type: 'string', default: DEFAULT_MULTICAST_POOL, pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$' },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 5000 },
          },
        },
        response: responses({ 200: { type: 'object', properties: { channels: { type: 'array', items: channelItemSchema }, changed: { type: 'array', items: { type: 'integer' } } } } }),
      },
    },
    async (req) => {
      const b = req.body as { channels: number[]; pool: string; port: number };
      const net = parseCidr(b.pool);
      if (!net || !isIpv4Multicast(ipv4String(net.network)) || !isIpv4Multicast(ipv4String((net.network | ~net.mask) >>> 0))) {
        throw validationError('assignment', [`pool: ${b.pool} is not an IPv4 multicast network in CIDR form (e.g. ${DEFAULT_MULTICAST_POOL})`]);
      }
      const before = store.channels.list();
      const wanted = new Set(b.channels);
      const missing = b.channels.filter((n) => !before.some((c) => c.config.number === n));
      if (missing.length > 0) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${missing.join(', ')}`);
      const used = new Set(before.filter((c) => !wanted.has(c.config.number)).map((c) => `${c.config.multicast.group}:${c.config.multicast.port}`));
      // The pool's first and last addresses are left out (x.x.x.0 and .255 of a /24), as address plans do.
      const size = 2 ** (32 - net.prefix);
      const first = size > 2 ? 1 : 0;
      const last = size > 2 ? size - 2 : size - 1;
      const targets = before.filter((c) => wanted.has(c.config.number)).sort((x, y) => x.config.number - y.config.number);
      const assigned = new Map<number, string>();
      let k = first;
      for (const c of targets) {
        while (k <= last && used.has(`${ipv4String((net.network + k) >>> 0)}:${b.port}`)) k++;
        if (k > last) {
          throw new AdminError(AdminErrorCode.poolExhausted, `${b.pool} port ${b.port} has too few free addresses for ${targets.length} channels (others use ${used.size}); choose a larger pool`);
        }
        assigned.set(c.config.number, ipv4String((net.network + k) >>> 0));
        k++;
      }
      const problems: string[] = [];
      const configs = new Map<number, ChannelConfig>();
      for (const c of targets) {
        const doc = { ...channelDocument(c.config, 'include'), multicast: { ...c.config.multicast, group: assigned.get(c.config.number)!, port: b.port } };
        const others = before.filter((x) => x !== c).map((x) => (configs.has(x.config.number) ? configs.get(x.config.number)! : x.config));
        // Others in the set may still hold their old address: only the new ones matter for collisions.
        const v = validateChannel(doc, { headend: o.headend, others: others.filter((x) => !wanted.has(x.number) || configs.has(x.number)), path: `channel ${c.config.number}` });
        if (!v.ok) problems.push(...v.problems);
        else configs.set(c.config.number, v.channel);
      }
      if (problems.length > 0) throw validationError('assignment', problems);
      const updated = store.transaction(() => {
        const out = targets.map((c) => {
          const next = configs.get(c.config.number)!;
          return stableJson(next.multicast) === stableJson(c.config.multicast) ? c : store.channels.update(c.config.number, next, c.version);
        });
        audit(req, 'channel.assign-multicast', `${targets.length} channel${targets.length === 1 ? '' : 's'}`, {
          pool: b.pool,
          port: b.port,
          assigned: Object.fromEntries(assigned),
        });
        return out;
      });
      const byNumber = new Map(updated.map((c) => [c.config.number, c]));
      const changed = notify(
        before,
        before.map((c) => byNumber.get(c.config.number) ?? c),
      );
      return { channels: channelsOut(updated), changed };
    },
  );

  /** What the UI needs of the headend's settings: where multicast leaves (the SSM source), the pool's default, whether FCC runs. */
  app.get(
    '/api/settings',
    {
      config: { access: 'viewer' },
      schema: {
        response: responses({
          200: {
            type: 'object',
            properties: {
              interface: { type: 'string' },
              httpPort: { type: 'integer' },
              https: { type: 'boolean' },
              fcc: { type: 'boolean' },
              multicastPool: { type: 'string' },
              multicastPort: { type: 'integer' },
              hls: { type: 'boolean' },
              vod: { type: 'boolean' },
            },
          },
        }),
      },
    },
    async () => ({
      interface: o.headend.interface,
      httpPort: o.headend.httpPort,
      https: o.secureCookies,
      fcc: o.headend.fcc.enabled,
      multicastPool: DEFAULT_MULTICAST_POOL,
      multicastPort: 5000,
      hls: o.headend.hls.enabled,
      vod: o.vod !== undefined,
    }),
  );

  app.get(
    '/api/channels/:number/events',
    {
      config: { access: 'viewer' },
      schema: {
        params: numberParams,
        response: responses({
          200: { type: 'object', properties: { events: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, kind: { type: 'string' }, message: { type: 'string' } } } } } },
        }),
      },
    },
    async (req) => {
      const { number } = req.params as { number: number };
      if (!store.channels.get(number)) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      return { events: (o.events?.(number) ?? []).map((e) => ({ at: iso(e.atMs), kind: e.kind, message: e.message })) };
    },
  );

  app.get(
    '/api/channels/:number/thumbnail.jpg',
    { config: { access: 'viewer' }, schema: { params: numberParams, response: responses({ 200: { type: 'string', description: 'image/jpeg' } }) } },
    async (req, reply) => {
      const { number } = req.params as { number: number };
      if (!o.thumbnails) throw new AdminError(AdminErrorCode.noPicture, 'thumbnails are off on this headend');
      try {
        const t = await o.thumbnails.get(number);
        reply.header('content-type', 'image/jpeg').header('cache-control', 'no-store').header('last-modified', new Date(t.atMs).toUTCString());
        return reply.send(t.jpeg);
      } catch (err) {
        if (err instanceof ThumbnailError) throw new AdminError(AdminErrorCode.noPicture, err.message);
        throw err;
      }
    },
  );

  app.get(
    '/api/channels/:number/sdp',
    { config: { access: 'viewer' }, schema: { params: numberParams, response: responses({ 200: { type: 'string' } }) } },
    async (req, reply) => {
      const { number } = req.params as { number: number };
      const c = store.channels.get(number);
      if (!c) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      const sdp = o.sdp?.(number) ?? null;
      if (sdp === null) throw new AdminError(AdminErrorCode.notFound, `channel ${number} has no SDP (it is not an enabled RTP channel)`);
      reply
        .header('content-type', 'application/sdp; charset=utf-8')
        .header('content-disposition', `attachment; filename="${number}.sdp"`)
        .header('cache-control', 'no-store');
      return sdp;
    },
  );

  // ---- logos -------------------------------------------------------------------

  app.addContentTypeParser(LOGO_TYPES, { parseAs: 'buffer', bodyLimit: LOGO_MAX_BYTES }, (_req, body, done) => done(null, body));

  app.put(
    '/api/channels/:number/logo',
    {
      config: { access: 'operator' },
      bodyLimit: LOGO_MAX_BYTES,
      // Before the body is parsed: fastify's own 415 for a type it has no parser for says less.
      preParsing: async (req, _reply, payload) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!LOGO_TYPES.includes(type)) {
          throw new AdminError(AdminErrorCode.unsupportedMediaType, `send the logo as ${LOGO_TYPES.join(', ')} (at most ${LOGO_MAX_BYTES / 1024} KiB), not ${type || 'no content type'}`);
        }
        return payload;
      },
      schema: { params: numberParams, response: responses({ 200: { type: 'object', properties: { logo: { type: 'string' } } } }) },
    },
    async (req) => {
      const { number } = req.params as { number: number };
      const data = req.body as Buffer;
      const type = logoMediaType(data);
      const claimed = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type === null || type !== claimed) {
        throw validationError('logo', [`logo: the file is ${type ?? 'not a PNG, JPEG or WebP image'}${type ? `, not ${claimed}` : ''} (by its first bytes)`]);
      }
      const logo = store.transaction(() => {
        const l = store.logos.set(number, data);
        audit(req, 'channel.logo', `channel ${number}`, { type: l.mediaType, bytes: data.length });
        return l;
      });
      return { logo: `/logos/${number}?v=${logo.updatedAtMs}` };
    },
  );

  app.delete(
    '/api/channels/:number/logo',
    { config: { access: 'operator' }, schema: { params: numberParams, response: responses({ 204: { type: 'null' } }) } },
    async (req, reply) => {
      const { number } = req.params as { number: number };
      if (!store.channels.get(number)) throw new StoreError(StoreErrorCode.channelNotFound, `there is no channel ${number}`);
      store.transaction(() => {
        if (store.logos.delete(number)) audit(req, 'channel.logo', `channel ${number}`, { removed: true });
      });
      reply.code(204);
    },
  );

  /**
   * Logos are public (players show them: the M3U's tvg-logo points here): a
   * logo is not a secret, and the type served is the one the bytes were
   * checked to be, under a CSP that lets the image run nothing.
   */
  app.get(
    '/logos/:number',
    { config: { access: 'public' }, schema: { params: numberParams, querystring: { type: 'object', properties: { v: { type: 'string' } } } } },
    async (req, reply) => {
      const { number } = req.params as { number: number };
      const logo = store.logos.get(number);
      if (!logo) throw new AdminError(AdminErrorCode.notFound, `channel ${number} has no logo`);
      const etag = `"logo-${number}-${logo.updatedAtMs}"`;
      reply
        .header('etag', etag)
        .header('cache-control', 'public, max-age=300')
        .header('content-security-policy', "default-src 'none'")
        .header('x-content-type-options', 'nosniff');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(logo.mediaType).send(logo.data);
    },
  );

  // ---- import / export -------------------------------------------------------

  app.post(
    '/api/import',
    {
      config: { access: 'admin' },
      bodyLimit: IMPORT_BODY_BYTES,
      // Before the schema (a JSON body would otherwise be a confusing "must be string").
      preValidation: async (req) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!YAML_TYPES.includes(type)) {
          throw new AdminError(AdminErrorCode.unsupportedMediaType, `send channels.yaml as ${YAML_TYPES.slice(0, 2).join(' or ')}, not ${type || 'no content type'}`);
        }
      },
      schema: {
        body: { type: 'string' },
        response: responses({
          200: {
            type: 'object',
            properties: { channels: { type: 'integer' }, changed: { type: 'array', items: { type: 'integer' } }, ignored: { type: 'array', items: { type: 'string' } } },
          },
        }),
      },
    },
    async (req) => {
      let doc: unknown;
      try {
        doc = parseYamlText(req.body as string, 'import');
      } catch (err) {
        if (err instanceof ConfigError) throw validationError('YAML', err.problems);
        throw err;
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw validationError('YAML', ['(document): must be a mapping with channels: a list']);
      const root = doc as Record<string, unknown>;
      const problems: string[] = [];
      for (const k of Object.keys(root)) if (k !== 'headend' && k !== 'channels') problems.push(`${k}: unknown key (allowed here: headend, channels)`);
      const before = store.channels.list();
      // "***" takes the passphrase of the current channel with the same number.
      let channels = root.channels;
      if (Array.isArray(channels)) {
        channels = channels.map((raw, i) => {
          const n = (raw as { number?: unknown } | null)?.number;
          const stored = before.find((c) => c.config.number === n)?.config ?? null;
          const r = restoreSecrets(raw, stored, `channels[${i}]`);
          problems.push(...r.problems);
          return r.doc;
        });
      }
      let cfg: ChannelConfig[] = [];
      try {
        // The running headend settings, not the file's: they come from the headend's --config.
        cfg = validateLineup({ headend: o.headend, channels }, { maxWorkers }).channels;
        cfg.forEach((c, i) => problems.push(...checkSources(c, `channels[${i}]`)));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
      }
      if (problems.length > 0) throw validationError('YAML', problems);
      const willChange = changedChannels(
        before.map((c) => c.config),
        cfg,
      );
      store.transaction(() => {
        // An import that changes nothing (the export of this lineup) leaves the versions alone: open editors stay valid.
        if (willChange.length > 0) store.channels.replaceAll(cfg);
        audit(req, 'lineup.import', `${cfg.length} channels`, { channels: cfg.length, changed: willChange });
      });
      const changed = notify(before, store.channels.list());
      o.log('info', `lineup: ${cfg.length} channels imported by ${who(req)} (${changed.length} changed)`);
      return { channels: cfg.length, changed, ignored: root.headend !== undefined ? ['headend'] : [] };
    },
  );

  app.get(
    '/api/export',
    {
      config: { access: 'viewer' },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { secrets: { type: 'string', enum: ['0', '1'] } } },
        response: responses({ 200: { type: 'string' } }),
      },
    },
    async (req, reply) => {
      const secrets = (req.query as { secrets?: string }).secrets === '1';
      if (secrets) {
        authorize(req, 'admin', auth);
        audit(req, 'lineup.export', 'lineup', { secrets: true });
      }
      const channels = store.channels.list().map((c) => c.config);
      const header = [
        `Roomcast lineup: ${channels.length} channels, exported ${iso(now())} by ${who(req)}.`,
        'The headend: settings are not here: they are the headend\'s own --config file\'s.',
        secrets
          ? 'SRT passphrases are included: keep this file secret.'
          : `SRT passphrases are shown as "***": imported back, "***" keeps the passphrase the channel has then.`,
        '',
      ];
      reply
        .header('content-type', 'text/yaml; charset=utf-8')
        .header('content-disposition', 'attachment; filename="channels.yaml"')
        .header('cache-control', 'no-store');
      return lineupYaml(channels, secrets ? 'include' : 'mask', header);
    },
  );

  // ---- users -----------------------------------------------------------------

  const adminCount = (): number => store.users.list().filter((u) => u.role === 'admin').length;

  app.get('/api/users', { config: { access: 'admin' }, schema: { response: responses({ 200: { type: 'object', properties: { users: { type: 'array', items: userSchema } } } }) } }, async () => ({
    users: store.users.list().map(userOut),
  }));

  app.post(
    '/api/users',
    {
      config: { access: 'admin' },
      bodyLimit: SMALL_BODY_BYTES,
      schema: {
        body: {
          type: 'object',
          required: ['username', 'role', 'password'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,64}$' },
            role: roleSchema,
            password: passwordSchema,
            mustChangePassword: { type: 'boolean', default: true },
          },
        },
        response: responses({ 201: userSchema }),
      },
    },
    async (req, reply) => {
      const b = req.body as { username: string; role: Role; password: string; mustChangePassword: boolean };
      const u = await store.users.create({ username: b.username, role: b.role, password: b.password, mustChangePassword: b.mustChangePassword });
      audit(req, 'user.create', `user ${u.username}`, { role: u.role, mustChangePassword: u.mustChangePassword });
      reply.code(201);
      return userOut(u);
    },
  );

  app.put(
    '/api/users/:name',
    {
      config: { access: 'admin' },
      bodyLimit: SMALL_BODY_BYTES,
      schema: {
        params: nameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { role: roleSchema, password: passwordSchema, unlock: { type: 'boolean', const: true } },
        },
        response: responses({ 200: userSchema }),
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const b = req.body as { role?: Role; password?: string; unlock?: true };
      let u = store.users.get(name);
      if (!u) throw new StoreError(StoreErrorCode.userNotFound, `there is no user ${JSON.stringify(name)}`);
      const username = u.username;
      if (b.role !== undefined && b.role !== u.role) {
        const role = b.role;
        u = store.transaction(() => {
          if (store.users.get(username)?.role === 'admin' && adminCount() <= 1) {
            throw new AdminError(AdminErrorCode.lastAdmin, `${username} is the last admin: make another user admin first`);
          }
          return store.users.setRole(username, role);
        });
      }
      if (b.password !== undefined) {
        // An admin's reset: the user must choose their own at the next login, and every session of theirs ends.
        u = await store.users.setPassword(username, b.password, { mustChange: true });
        store.sessions.deleteForUser(u.id);
      }
      if (b.unlock) u = store.users.unlock(username);
      audit(req, 'user.update', `user ${username}`, {
        ...(b.role !== undefined ? { role: b.role } : {}),
        ...(b.password !== undefined ? { passwordReset: true } : {}),
        ...(b.unlock ? { unlocked: true } : {}),
      });
      return userOut(u);
    },
  );

  app.delete(
    '/api/users/:name',
    { config: { access: 'admin' }, schema: { params: nameParams, response: responses({ 204: { type: 'null' } }) } },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      store.transaction(() => {
        const u = store.users.get(name);
        if (!u) throw new StoreError(StoreErrorCode.userNotFound, `there is no user ${JSON.stringify(name)}`);
        if (u.role === 'admin' && adminCount() <= 1) throw new AdminError(AdminErrorCode.lastAdmin, `${u.username} is the last admin and cannot be removed`);
        store.users.delete(u.username); // sessions: ON DELETE CASCADE
        audit(req, 'user.delete', `user ${u.username}`, { role: u.role });
      });
      reply.code(204);
    },
  );

  // ---- audit -----------------------------------------------------------------

  app.get(
    '/api/audit',
    {
      config: { access: 'viewer' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } },
        },
        response: responses({ 200: { type: 'object', properties: { total: { type: 'integer' }, entries: { type: 'array', items: auditEntrySchema } } } }),
      },
    },
    async (req) => {
      const { limit, offset } = req.query as { limit: number; offset: number };
      return {
        total: store.audit.count(),
        entries: store.audit.list({ limit, offset }).map((e) => ({ id: e.id, at: iso(e.atMs), username: e.username, action: e.action, target: e.target, detail: e.detail })),
      };
    },
  );

  // ---- status ----------------------------------------------------------------

  type Fleet = { atMs: number; known: number; reporting: number; viewers: Record<string, number> };
  let fleetCache: Fleet | null = null;
  const STB_REPORTING_WINDOW_MS = 5 * 60_000;
  /** STB counts and viewers per channel. The fleet table may hold 10 000 agents: read at most every 5 s, not per event or scrape. */
  const fleet = (): Fleet => {
    const t = now();
    if (!fleetCache || t - fleetCache.atMs > 5_000) {
      const list = store.stbs.list();
      const viewers: Record<string, number> = {};
      let reporting = 0;
      for (const a of list) {
        if (t - a.lastSeenMs > STB_REPORTING_WINDOW_MS) continue;
        reporting++;
        if (a.channel !== null) viewers[a.channel] = (viewers[a.channel] ?? 0) + 1;
      }
      fleetCache = { atMs: t, known: list.length, reporting, viewers };
    }
    return fleetCache;
  };

  const statusBody = () => ({ at: iso(now()), channels: [...o.status()].sort((a, b) => a.number - b.number), viewers: fleet().viewers });

  app.get('/api/status', { config: { access: 'viewer' }, schema: { response: responses({ 200: statusSchema }) } }, async () => statusBody());

  /**
   * Server-sent events: one `data:` line of every channel's snapshot per
   * interval, made once and written to every stream. At most maxStreams at
   * once (each holds a socket and a write per second); a stream whose
   * session ended (logout, expiry, password change, user deleted) is closed
   * at the next event (one indexed lookup per stream, ~10 µs).
   */
  const streams = new Map<ServerResponse, { token: string }>();
  let serialize: ((v: unknown) => string) | null = null;
  let ticker: NodeJS.Timeout | null = null;
  const tick = (): void => {
    const event = `data: ${serialize!(statusBody())}\n\n`;
    for (const [res, s] of streams) {
      if (store.sessions.lookup(s.token) === null) {
        res.end();
        continue;
      }
      // A client that does not read: drop it rather than buffer without bound.
      if (res.writableLength > 1024 * 1024) res.destroy();
      else res.write(event);
    }
  };
  const closeStream = (res: ServerResponse): void => {
    if (!streams.delete(res)) return;
    if (streams.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  app.get(
    '/api/status/stream',
    { config: { access: 'viewer' }, schema: { response: responses({ 200: { type: 'string', description: 'text/event-stream: `data: {at, channels}` every second' } }) } },
    async (req, reply) => {
      if (streams.size >= maxStreams) throw new AdminError(AdminErrorCode.tooManyStreams, `${maxStreams} status streams are open already; try again later`, { retryAfterS: 10 });
      serialize ??= reply.compileSerializationSchema(statusSchema) as (v: unknown) => string;
      const token = sessionEntry(req, auth)!.token;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-store',
        connection: 'keep-alive',
        // nginx and friends must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      streams.set(res, { token });
      res.on('close', () => closeStream(res));
      res.write(`retry: 3000\n\ndata: ${serialize(statusBody())}\n\n`);
      ticker ??= setInterval(tick, statusIntervalMs);
    },
  );

  // Open streams would keep server.close() waiting for ever: end them first.
  app.addHook('preClose', async () => {
    for (const res of [...streams.keys()]) res.end();
    streams.clear();
    if (ticker) clearInterval(ticker);
    ticker = null;
  });

  // ---- programme guide (control/epg.ts) -----------------------------------------

  if (o.epgRefresher) {
    await app.register(epgAdminRoutes, { epg: store.epg, refresher: o.epgRefresher, lineup: () => store.channels.list().map((c) => c.config), audit });
  }

  // ---- VOD library (control/vod.ts) --------------------------------------------

  if (o.vod) await app.register(vodAdminRoutes, { lib: o.vod, maxUploadBytes: o.vodMaxUploadBytes ?? 8 * 1024 ** 3, audit });

  // ---- metrics ---------------------------------------------------------------


  app.get('/metrics', { config: { access: 'metrics' }, schema: { response: responses({ 200: { type: 'string' } }) } }, async (_req, reply) => {
    const snaps = [...o.status()].sort((a, b) => a.number - b.number);
    const out: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, rows: [string, number][]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
    };
    const ch = (s: ChannelSnapshot, extra = ''): string => `{channel="${s.number}",name="${label(s.name)}"${extra}}`;
    metric('roomcast_channel_output_bitrate_bps', 'gauge', 'Bits per second sent by the channel over the last second.', snaps.map((s) => [ch(s), s.outputBitrateBps]));
    metric('roomcast_channel_input_bitrate_bps', 'gauge', 'Bits per second received by the channel over the last second.', snaps.map((s) => [ch(s), s.inputBitrateBps]));
    metric('roomcast_channel_cc_errors_total', 'counter', 'Continuity counter errors of what goes on the air (TR 101 290 1.4).', snaps.map((s) => [ch(s), s.tr101290.ccErrors ?? 0]));
    metric('roomcast_channel_restarts_total', 'counter', "Restarts of the channel's input.", snaps.map((s) => [ch(s), s.input.restarts]));
    metric('roomcast_channel_input_switches_total', 'counter', 'Switches between inputs (primary, backups, slate).', snaps.map((s) => [ch(s), s.switches]));
    metric(
      'roomcast_channel_state',
      'gauge',
      'The channel state: 1 for the current one.',
      snaps.flatMap((s) => CHANNEL_STATES.map((st): [string, number] => [ch(s, `,state="${st}"`), s.state === st ? 1 : 0])),
    );
    const stbs = fleet();
    metric('roomcast_stbs', 'gauge', 'STB agents known to the headend.', [['', stbs.known]]);
    metric('roomcast_stbs_reporting', 'gauge', 'STB agents that reported in the last 5 minutes.', [['', stbs.reporting]]);
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store');
    return out.join('\n') + '\n';
  });
};
