/**
 * The admin API from the browser: JSON in and out, errors as ApiError with
 * the server's stable code and its per-field problems, and the live status
 * stream (server-sent events, one snapshot of every channel a second) kept
 * with a short history per channel for the charts.
 */
export interface Problem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export type Role = 'admin' | 'operator' | 'viewer';
export interface User {
  username: string;
  role: Role;
  mustChangePassword: boolean;
  lockedUntil: string | null;
  lastLogin: string | null;
  createdAt: string;
  updatedAt: string;
}
export interface Me {
  user: User;
  mustChangePassword: boolean;
  sessionExpiresAt: string;
}

export type Source = Record<string, unknown> & { type: string };
/** A channel as the API gives it: the channels.yaml document, plus version and updatedAt. */
export interface Channel {
  number: number;
  name: string;
  group: string;
  tvgId: string | null;
  enabled: boolean;
  multicast: { group: string; port: number; source: string | null };
  transport: 'rtp' | 'udp';
  cbrBitrateKbps: number | null;
  source?: Source;
  inputs?: Source[];
  failover: Record<string, unknown>;
  slate: boolean;
  catchupDays?: number;
  version: number;
  updatedAt: string;
  /** The logo's URL (served by the headend), or null. */
  logo: string | null;
}

/** A programme as the guide API gives it (GET /api/epg/:channel). */
export interface Programme {
  id: number;
  start: string;
  stop: string;
  title: string;
  subTitle: string | null;
  description: string | null;
  categories: string[];
  episode: string | null;
  icon: string | null;
  /** Where it stands for catch-up. */
  catchup: 'available' | 'airing' | 'future' | 'expired' | 'none';
  /** /api/epg/<n>/<id>/play: redirects to its catch-up playlist. */
  play: string | null;
}
export interface NowNext {
  now: { id: number; title: string; start: string; stop: string } | null;
  next: { id: number; title: string; start: string; stop: string } | null;
}

export interface InputStatus {
  index: number;
  type: string;
  label: string;
  running: boolean;
  healthy: boolean;
  onAir: boolean;
  bitrateBps: number;
  ccErrorsLastS: number;
  restarts: number;
  lastError: string | null;
  lastErrorAgoS: number | null;
  source: Record<string, number | string | null>;
}
export interface Snapshot {
  number: number;
  name: string;
  state: string;
  uptimeS: number;
  inputBitrateBps: number;
  outputBitrateBps: number;
  input: { restarts: number; lastError: string | null; bytes: number; packets: number; syncLosses: number };
  inputs: InputStatus[];
  activeInput: string;
  switches: number;
  lastSwitch: { from: string; to: string; reason: string; agoS: number } | null;
  tr101290: Record<string, number>;
  stream: { serviceName: string | null; streams: string; keyframes: number };
  output: Record<string, number>;
  cache: Record<string, number>;
}
export interface StatusEvent {
  at: string;
  channels: Snapshot[];
  viewers: Record<string, number>;
}

export interface Settings {
  interface: string;
  httpPort: number;
  https: boolean;
  fcc: boolean;
  multicastPool: string;
  multicastPort: number;
  /** The headend records HLS: the channel page plays it. */
  hls: boolean;
  /** The VOD library is on (headend.vod). */
  vod: boolean;
}

/** Called on a 401: the session ended (logout elsewhere, expiry, password changed). */
let onUnauthenticated: () => void = () => {};
export function whenLoggedOut(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function api<T>(method: string, path: string, body?: unknown, opts: { contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    if (opts.contentType) {
      headers['content-type'] = opts.contentType;
      payload = body as BodyInit;
    } else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  let res: Response;
  try {
    // Same origin: the browser sends the cookie and the Origin header the server's CSRF check wants.
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the headend does not answer (${(err as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const b = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
    const err = new ApiError(res.status, String(b.code ?? 'HTTP'), String(b.message ?? `${res.status} ${res.statusText}`), (b.problems as Problem[]) ?? [], b);
    if (res.status === 401 && path !== '/api/login') onUnauthenticated();
    throw err;
  }
  return data as T;
}

/**
 * A file as the raw body of a POST, with upload progress (fetch has none; a
 * film is gigabytes): `onProgress` gets 0…1. Errors as api() gives them.
 */
export function upload<T>(path: string, file: Blob, contentType: string, onProgress?: (sent: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('content-type', contentType);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'the headend does not answer (the upload stopped)'));
    xhr.onload = () => {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(xhr.responseText) as Record<string, unknown>;
      } catch {
        data = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data as T);
      if (xhr.status === 401) onUnauthenticated();
      reject(new ApiError(xhr.status, String(data.code ?? 'HTTP'), String(data.message ?? `${xhr.status} ${xhr.statusText}`), (data.problems as Problem[]) ?? [], data));
    };
    xhr.send(file);
  });
}

/** History kept per channel for the charts: 2 minutes at one event a second. */
export const HISTORY = 120;

type Listener = (e: StatusEvent) => void;

/** The status stream, shared by every view; reconnects by itself (EventSource). */
export class LiveStatus {
  private source: EventSource | null = null;
  private readonly listeners = new Set<Listener>();
  latest: StatusEvent | null = null;
  readonly history = new Map<number, { in: number[]; out: number[] }>();
  connected = false;

  start(): void {
    if (this.source) return;
    const es = new EventSource('/api/status/stream');
    this.source = es;
    es.onopen = () => {
      this.connected = true;
    };
    es.onerror = () => {
      this.connected = false;
    };
    es.onmessage = (m) => {
      const e = JSON.parse(m.data as string) as StatusEvent;
      this.latest = e;
      for (const s of e.channels) {
        let hist = this.history.get(s.number);
        if (!hist) this.history.set(s.number, (hist = { in: [], out: [] }));
        hist.in.push(s.inputBitrateBps);
        hist.out.push(s.outputBitrateBps);
        if (hist.out.length > HISTORY) {
          hist.in.shift();
          hist.out.shift();
        }
      }
      for (const l of this.listeners) l(e);
    };
  }

  stop(): void {
    this.source?.close();
    this.source = null;
    this.latest = null;
    this.history.clear();
  }

  snapshot(number: number): Snapshot | undefined {
    return this.latest?.channels.find((c) => c.number === number);
  }

  /** Returns the unsubscribe function. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (this.latest) l(this.latest);
    return () => this.listeners.delete(l);
  }
}

export const live = new LiveStatus();
