/**
 * Who may call the admin API: the session cookie, roles, the same-origin
 * check on state-changing requests (CSRF), and the STB fleet key. The
 * pieces are plain fastify hooks so that routes outside the admin plugin
 * (api.ts's `/api/stbs`, `/api/stb/report`) can use them too.
 *
 * Errors carry a stable code from one table (STYLE.md §3, fastify's
 * `FST_ERR_*`) and the HTTP status the API answers with.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/db.js';
import type { SessionRecord } from '../store/sessions.js';
import type { Role } from '../store/users.js';

export const AdminErrorCode = {
  /** The request does not match the route's JSON schema (a field missing, a wrong type …). */
  badRequest: 'ROOMCAST_ERR_BAD_REQUEST',
  /** A channel or lineup document that core/lineup's validator refuses; `problems` lists every one. */
  validation: 'ROOMCAST_ERR_VALIDATION',
  /** No session (no cookie, or an unknown, expired or ended one). */
  unauthenticated: 'ROOMCAST_ERR_UNAUTHENTICATED',
  /** The session's role may not do this. */
  forbidden: 'ROOMCAST_ERR_FORBIDDEN',
  /** The user must choose a new password first (POST /api/me/password). */
  passwordChangeRequired: 'ROOMCAST_ERR_PASSWORD_CHANGE_REQUIRED',
  /** A state-changing request whose Origin (or Referer) is not this server. */
  csrf: 'ROOMCAST_ERR_CSRF',
  /** Wrong username or password: one answer for both (no user enumeration). */
  loginFailed: 'ROOMCAST_ERR_LOGIN_FAILED',
  /** The current password given to change it is wrong. */
  wrongPassword: 'ROOMCAST_ERR_WRONG_PASSWORD',
  /** Too many failed logins: the account is locked until `lockedUntil`. */
  accountLocked: 'ROOMCAST_ERR_ACCOUNT_LOCKED',
  /** Too many requests from this address (login, password change). */
  rateLimited: 'ROOMCAST_ERR_RATE_LIMITED',
  /** The channel changed since the client read it; `currentVersion` is the stored one. */
  conflict: 'ROOMCAST_ERR_CONFLICT',
  /** The last admin cannot be removed or demoted. */
  lastAdmin: 'ROOMCAST_ERR_LAST_ADMIN',
  /** Too many status streams are open. */
  tooManyStreams: 'ROOMCAST_ERR_TOO_MANY_STREAMS',
  /** An STB report without the right `x-roomcast-fleet-key`. */
  fleetKey: 'ROOMCAST_ERR_FLEET_KEY',
  bodyTooLarge: 'ROOMCAST_ERR_BODY_TOO_LARGE',
  unsupportedMediaType: 'ROOMCAST_ERR_UNSUPPORTED_MEDIA_TYPE',
  notFound: 'ROOMCAST_ERR_NOT_FOUND',
  /** The multicast pool has fewer free addresses than channels to assign. */
  poolExhausted: 'ROOMCAST_ERR_POOL_EXHAUSTED',
  /** No thumbnail: the channel has no picture yet, or the headend has no ffmpeg. */
  noPicture: 'ROOMCAST_ERR_NO_PICTURE',
  /** Another import (EPG) or job is running: try again when it is done. */
  busy: 'ROOMCAST_ERR_BUSY',
  /** An upload or feed that could not be used as a whole (broken XML, a feed that does not answer); `report` says why. */
  importFailed: 'ROOMCAST_ERR_IMPORT_FAILED',
  internal: 'ROOMCAST_ERR_INTERNAL',
} as const;
export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

const HTTP_STATUS: Record<AdminErrorCode, number> = {
  ROOMCAST_ERR_BAD_REQUEST: 400,
  ROOMCAST_ERR_VALIDATION: 400,
  ROOMCAST_ERR_UNAUTHENTICATED: 401,
  ROOMCAST_ERR_FORBIDDEN: 403,
  ROOMCAST_ERR_PASSWORD_CHANGE_REQUIRED: 403,
  ROOMCAST_ERR_CSRF: 403,
  ROOMCAST_ERR_LOGIN_FAILED: 401,
  ROOMCAST_ERR_WRONG_PASSWORD: 403,
  ROOMCAST_ERR_ACCOUNT_LOCKED: 423,
  ROOMCAST_ERR_RATE_LIMITED: 429,
  ROOMCAST_ERR_CONFLICT: 409,
  ROOMCAST_ERR_LAST_ADMIN: 409,
  ROOMCAST_ERR_TOO_MANY_STREAMS: 503,
  ROOMCAST_ERR_FLEET_KEY: 401,
  ROOMCAST_ERR_BODY_TOO_LARGE: 413,
  ROOMCAST_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ROOMCAST_ERR_NOT_FOUND: 404,
  ROOMCAST_ERR_POOL_EXHAUSTED: 409,
  ROOMCAST_ERR_NO_PICTURE: 404,
  ROOMCAST_ERR_BUSY: 409,
  ROOMCAST_ERR_IMPORT_FAILED: 422,
  ROOMCAST_ERR_INTERNAL: 500,
};

/** Extra fields of an error body, beside statusCode, code, error and message. */
export interface AdminErrorExtra {
  problems?: { path: string; message: string }[];
  currentVersion?: number;
  lockedUntil?: string;
  retryAfterS?: number;
  /** What an import did before it failed (EPG). */
  report?: unknown;
}

export const problemSchema = { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } as const;
/** Every error body the admin API sends (AdminError and fastify's own, by the plugin's error handler). */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    problems: { type: 'array', items: problemSchema },
    currentVersion: { type: 'integer' },
    lockedUntil: { type: 'string' },
    retryAfterS: { type: 'integer' },
    report: { type: 'object', additionalProperties: true },
  },
} as const;

/** A route's response schemas: its success bodies, and the error body for 4xx/5xx. */
export function responses(ok: Record<number, unknown>): Record<string, unknown> {
  return { ...ok, '4xx': errorSchema, '5xx': errorSchema };
}

export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly statusCode: number;
  constructor(readonly code: AdminErrorCode, message: string, readonly extra: AdminErrorExtra = {}) {
    super(message);
    this.statusCode = HTTP_STATUS[code];
  }
}

// ---------------------------------------------------------------------------
// The session cookie. Parsed here rather than with @fastify/cookie: the hooks
// below run on routes outside the admin plugin, where an encapsulated cookie
// plugin would not have parsed anything, and one cookie of base64url needs no
// decoding.

/**
 * Over HTTPS the cookie takes the `__Host-` prefix: browsers then refuse it
 * unless it is Secure, Path=/ and without Domain, so a sibling host cannot
 * plant or overwrite it (RFC 6265bis §4.1.3.2).
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-roomcast_session' : 'roomcast_session';
}

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return null;
}

/** Set-Cookie for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it). */
export function sessionSetCookie(secure: boolean, token: string, maxAgeS: number): string {
  return `${sessionCookieName(secure)}=${token}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeS))}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearSessionCookie(secure: boolean): string {
  return `${sessionCookieName(secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export interface AuthOptions {
  store: Store;
  /** The cookie is `__Host-…` and Secure when the headend serves HTTPS. */
  secureCookies: boolean;
}

/** The session a request was authenticated with, once a hook has looked it up. */
const sessions = new WeakMap<FastifyRequest, { token: string; session: SessionRecord }>();

/** The request's live session (looked up once per request), or null. */
export function sessionOf(req: FastifyRequest, o: AuthOptions): SessionRecord | null {
  return sessionEntry(req, o)?.session ?? null;
}

/** The request's session token and record, or null. */
export function sessionEntry(req: FastifyRequest, o: AuthOptions): { token: string; session: SessionRecord } | null {
  const known = sessions.get(req);
  if (known) return known;
  const token = readCookie(req.headers.cookie, sessionCookieName(o.secureCookies));
  if (!token) return null;
  const session = o.store.sessions.lookup(token);
  if (!session) return null;
  const entry = { token, session };
  sessions.set(req, entry);
  return entry;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** admin ⊇ operator ⊇ viewer. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return (RANK[role] ?? 0) >= RANK[needed];
}

/**
 * The checks of a route that needs `role`: 401 without a session, 403
 * ROOMCAST_ERR_PASSWORD_CHANGE_REQUIRED while the user must change their
 * password, 403 ROOMCAST_ERR_FORBIDDEN for a lesser role. Returns the session.
 */
export function authorize(req: FastifyRequest, role: Role, o: AuthOptions): SessionRecord {
  const s = sessionOf(req, o);
  if (!s) throw new AdminError(AdminErrorCode.unauthenticated, 'log in first (POST /api/login)');
  if (s.user.mustChangePassword) throw new AdminError(AdminErrorCode.passwordChangeRequired, 'choose a new password first (POST /api/me/password)');
  if (!roleAtLeast(s.user.role, role)) throw new AdminError(AdminErrorCode.forbidden, `this needs the ${role} role; ${s.user.username} is ${s.user.role}`);
  return s;
}

/**
 * A hook (onRequest or preHandler) for any route: the caller must be logged
 * in with at least `role`. For routes outside the admin plugin, such as
 * api.ts's `GET /api/stbs`: `{ preHandler: requireRole('viewer', { store, secureCookies }) }`.
 */
export function requireRole(role: Role, o: AuthOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req) => {
    authorize(req, role, o);
  };
}

/** The header an STB agent sends its fleet key in. */
export const FLEET_KEY_HEADER = 'x-roomcast-fleet-key';

/**
 * A hook for `POST /api/stb/report`: only agents that send the fleet key
 * from the configuration. Both sides are hashed first so the comparison is
 * timing-safe whatever the lengths (timingSafeEqual needs equal lengths).
 * Without a configured key every report is accepted (the caller should warn).
 */
export function requireFleetKey(fleetKey: string | undefined): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = fleetKey === undefined || fleetKey === '' ? null : createHash('sha256').update(fleetKey).digest();
  return async (req) => {
    if (expected === null) return;
    const got = req.headers[FLEET_KEY_HEADER];
    const given = createHash('sha256').update(typeof got === 'string' ? got : '').digest();
    if (typeof got !== 'string' || !timingSafeEqual(given, expected)) {
      throw new AdminError(AdminErrorCode.fleetKey, `an STB report needs the fleet key in ${FLEET_KEY_HEADER}`);
    }
  };
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function defaultPort(protocol: string): string {
  return protocol === 'https' || protocol === 'https:' ? '443' : '80';
}

/**
 * CSRF: a state-changing request must say where it comes from (Origin, or
 * Referer when a browser sends no Origin), and that must be this server
 * (host and port equal to the Host header's). SameSite=Strict already keeps
 * the cookie off cross-site requests; this also stops a sibling host
 * (`evil.hotel.lan` is same-site with `headend.hotel.lan`), and requests
 * from scripts that send no Origin at all.
 */
export function checkSameOrigin(req: FastifyRequest): void {
  if (!STATE_CHANGING.has(req.method)) return;
  const origin = req.headers.origin;
  const referer = req.headers.referer;
  const claimed = typeof origin === 'string' && origin !== '' ? origin : typeof referer === 'string' && referer !== '' ? referer : null;
  if (claimed === null) throw new AdminError(AdminErrorCode.csrf, 'a state-changing request needs an Origin (or Referer) header naming this server');
  let from: string;
  let here: string;
  try {
    const u = new URL(claimed);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    // An origin is scheme, host and port (RFC 6454 §4): http://this-host is not https://this-host.
    from = `${u.protocol}//${u.hostname.toLowerCase()}:${u.port || defaultPort(u.protocol)}`;
    const h = new URL(`${req.protocol}://${req.headers.host ?? ''}`);
    here = `${h.protocol}//${h.hostname.toLowerCase()}:${h.port || defaultPort(req.protocol)}`;
  } catch {
    throw new AdminError(AdminErrorCode.csrf, `the request's origin ${JSON.stringify(claimed.slice(0, 100))} is not this server`);
  }
  if (from !== here) throw new AdminError(AdminErrorCode.csrf, `the request comes from ${from}, not from this server (${here})`);
}
