/**
 * The channel lineup: types, defaults and validation shared by the headend
 * (channels.yaml), and later the API, the admin UI and the STB agent.
 *
 * Validation never stops at the first problem: it walks the whole document
 * and returns every invalid path with a sentence that names the value and what
 * is wrong (STYLE.md §3: `channels[3].multicast.group: 239.1.1.300 is not an
 * IPv4 multicast address`). The result is a frozen, fully defaulted config.
 */

export const SourceType = {
  ffmpeg: 'ffmpeg',
  udp: 'udp',
  rtp: 'rtp',
  file: 'file',
  srt: 'srt',
} as const;
export type SourceType = (typeof SourceType)[keyof typeof SourceType];

export const Transport = { rtp: 'rtp', udp: 'udp' } as const;
export type Transport = (typeof Transport)[keyof typeof Transport];

/** Transcode profiles the `ffmpeg` source knows by name. */
export const TranscodeProfile = {
  /** No transcode: the input is already H.264/AAC (or what the STBs decode); remux only. */
  copy: 'copy',
  /** 640x360 25 fps H.264 1.2 Mbps + AAC 96 kbps, CBR mux 1.62 Mbps. */
  sd: 'sd',
  /** 1280x720 25 fps H.264 4 Mbps + AAC 128 kbps, CBR mux 5.16 Mbps. */
  hd: 'hd',
} as const;
export type TranscodeProfile = (typeof TranscodeProfile)[keyof typeof TranscodeProfile];

interface SourceCommon {
  /** No payload for this long → the attempt is declared stalled and restarted. */
  stallMs: number;
}

export interface FfmpegSource extends SourceCommon {
  type: 'ffmpeg';
  /** What ffmpeg reads: a URL, a file path, or a lavfi graph with `format: lavfi`. */
  url: string;
  /** Forces the input format (`-f`), e.g. `lavfi`. */
  format: string | null;
  /** Extra ffmpeg options placed before `-i` (split into argv, no shell). */
  inputOptions: string[];
  /** Read the input at its native frame rate (`-re`): needed for files and lavfi. */
  realtime: boolean;
  /** Transcode profile, or `copy` to remux only. */
  profile: TranscodeProfile;
  /** Seconds between keyframes (fixed GOP, no scene-cut keyframes). */
  gopS: number;
  /** Overrides the profile's video bitrate. */
  videoBitrateKbps: number | null;
  /** Overrides the profile's CBR mux rate. */
  muxrateKbps: number | null;
}

export interface UdpSource extends SourceCommon {
  type: 'udp' | 'rtp';
  /** Multicast group or unicast address to listen on. */
  address: string;
  port: number;
  /** For SSM feeds: only this sender (IGMPv3 source filter). */
  sourceAddress: string | null;
  /** Local interface address to join on. Defaults to headend.interface. */
  interface: string | null;
  /** RTP only: datagrams held to put reordered packets back in order. */
  reorderWindow: number;
}

export interface FileSource extends SourceCommon {
  type: 'file';
  /** A .ts file, looped forever with continuous PCR/PTS/DTS and continuity counters. */
  path: string;
  /** Internal (the slate), not a YAML key: TS packets per read (default 1024, 192 KiB). */
  readChunkPackets?: number;
}

export interface SrtSource extends SourceCommon {
  type: 'srt';
  /** listener: the encoder calls us; caller: we call the encoder (or a gateway) that listens. */
  mode: 'listener' | 'caller';
  /** listener: the local address to listen on (default headend.interface); caller: the listener to call. */
  address: string;
  /** caller: the local address to call from (headend.interface). */
  localAddress: string;
  port: number;
  /** TSBPD latency, ms: at least 3 × the round trip to the encoder for loss recovery. */
  latencyMs: number;
  /** Only a caller with this stream id connects here; several channels can share a port this way. */
  streamId: string | null;
  /** AES passphrase (10–80 characters); both sides must have the same, or none. */
  passphrase: string | null;
  /** Caller mode: the AES key length we choose (pbkeylen), bytes. */
  keyLength: 16 | 24 | 32;
}

export type ChannelSource = FfmpegSource | UdpSource | FileSource | SrtSource;

export interface MulticastConfig {
  group: string;
  port: number;
  /** Source address for SSM receivers (written to the SDP as a source-filter). */
  source: string | null;
}

export interface ChannelConfig {
  number: number;
  name: string;
  /** The guide group (News, Sports, …), `group-title` in the M3U. */
  group: string;
  /** XMLTV id for the guide (`tvg-id`). */
  tvgId: string | null;
  multicast: MulticastConfig;
  transport: Transport;
  /**
   * When set, pad the output with null packets up to this constant rate
   * (ISO/IEC 13818-1 §2.4.3.3): for TVs and IRDs that need a CBR stream.
   */
  cbrBitrateKbps: number | null;
  enabled: boolean;
  /** The primary input: `inputs[0]`. */
  source: ChannelSource;
  /** Every input in order of preference: the primary, then the backups. */
  inputs: ChannelSource[];
  failover: FailoverConfig;
  /** Send a "temporarily unavailable" slate while no input works, so the multicast never stops. */
  slate: boolean;
  /**
   * Days of HLS kept for catch-up (with headend.hls enabled); 0: only the
   * live window. A channel saved before this field existed reads as 0.
   */
  catchupDays: number;
}

export interface FailoverConfig {
  /** The active input silent this long (no TS packet) → switch. */
  switchAfterMs: number;
  /** At a switch, wait this long at most for the new input's I-frame, then switch anyway. */
  rapWaitMs: number;
  /** Back to the primary once it has worked this long without a break. */
  returnAfterS: number;
  /** hot: backups run all the time (a switch is immediate); cold: a backup starts when needed. */
  backups: 'hot' | 'cold';
  /** An input below this rate (kbit/s over the last second) is unhealthy; null: no floor. */
  minBitrateKbps: number | null;
  /** An input with more CC errors than this in the last second is unhealthy. */
  maxCcErrorsPerS: number;
  /** …or with more PCR jumps (no discontinuity_indicator, TR 101 290 2.3b) than this in the last second. */
  maxPcrJumpsPerS: number;
  /** No input healthy this long → the slate. */
  slateAfterMs: number;
}

export interface HeadendConfig {
  /** IPv4 address of the interface multicast leaves on. Loopback by default: nothing leaves the machine. */
  interface: string;
  /** IP TTL of multicast datagrams: 1 keeps them in the IPTV VLAN. */
  ttl: number;
  /** Data-plane worker threads; channels are sharded across them. */
  workers: number;
  /** Constant delay between a packet's PCR and its send time, to absorb input jitter. */
  pacingDelayMs: number;
  /**
   * Nice value of the data-plane threads (-20…0): the pacer before HTTP serving when the CPU is
   * short. Below 0 needs CAP_SYS_NICE; without it the threads run at the default priority.
   */
  dataPlaneNice: number;
  /** Seconds between health lines in the log. */
  healthIntervalS: number;
  /** The HTTP API (lineup, playlist, STB reports): port on headend.interface. */
  httpPort: number;
  /** STB agents send it with their reports (`x-roomcast-fleet-key`); null: reports are taken from anyone. */
  fleetKey: string | null;
  /** Networks (CIDR) that may scrape /metrics without a login. */
  metricsNetworks: string[];
  /** PEM files: with them the API and admin UI are served over HTTPS (and cookies are Secure). */
  tls: { cert: string; key: string } | null;
  fcc: FccConfig;
  hls: HlsConfig;
  vod: VodConfig;
}

/**
 * The VOD library (issue 6 §5): films dropped in `<dir>/inbox/` or uploaded
 * in the admin UI are packaged as HLS and served at `/vod/<asset>/index.m3u8`.
 */
export interface VodConfig {
  enabled: boolean;
  /** The library's folder (inbox/ and assets/ in it), relative to the data directory unless absolute. */
  dir: string;
  /** Largest upload through the admin UI, MiB (8 GiB: a two-hour 1080p film). Files copied into the inbox have no cap. */
  maxUploadMB: number;
}

/**
 * The unicast HLS path (issue 6): each channel's output cut into segments
 * at I-frames and served as a live playlist (`/hls/<n>/index.m3u8`).
 */
export interface HlsConfig {
  enabled: boolean;
  /** Segment target duration: a segment is cut at the first I-frame this long after its start. */
  segmentS: number;
  /** Live: segments kept on disk per channel, seconds (the sliding window players can seek back in). */
  windowS: number;
  /** Where segments go; null: `<data>/hls`. */
  dir: string | null;
  /** All channels' segments together at most this many MiB; the oldest go first. 0: no limit. */
  maxDiskMB: number;
}

/**
 * The fast-channel-change server (RFC 6285 semantics): one UDP port per
 * data-plane worker (`port + worker index`) on headend.interface.
 */
export interface FccConfig {
  enabled: boolean;
  port: number;
  /**
   * Only RAMS-R from these IPv4 networks (CIDR) are answered; anything else
   * is counted and ignored. Empty: the subnet of headend.interface.
   */
  stbSubnets: string[];
  /** Burst rate as a multiple of the channel's own rate. */
  burstMultiple: number;
  /** Cap of one burst's rate, Mbit/s. */
  burstMaxMbps: number;
  /** Most bytes one RAMS-R can make the server send (cache + catch-up). */
  maxBytesPerRequest: number;
  /** Average burst rate one client address may draw, Mbit/s (token bucket, depth maxBytesPerRequest). */
  clientMaxMbps: number;
  /** Average rate of all bursts together, Mbit/s. */
  totalMaxMbps: number;
  /** Per channel: the GOP cache holds at most this many bytes; a longer GOP has no cache. */
  cacheMaxBytes: number;
}

export interface LineupConfig {
  headend: HeadendConfig;
  channels: ChannelConfig[];
}

export class ConfigError extends Error {
  readonly code = 'ROOMCAST_ERR_CONFIG';
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[], readonly file?: string) {
    super(
      `${file ? file + ': ' : ''}${problems.length} problem${problems.length === 1 ? '' : 's'} in the configuration:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}

/** UTF-8 length of a string: Buffer.byteLength without Buffer (this module also runs in the admin UI's browser). */
const utf8 = new TextEncoder();
function utf8Length(s: string): number {
  return utf8.encode(s).length;
}

// ---------------------------------------------------------------------------
// Address helpers (pure: no node:net in core/)

/** Dotted-quad IPv4 → 32-bit unsigned, or -1 when not a valid address. */
export function parseIpv4(s: unknown): number {
  if (typeof s !== 'string') return -1;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i].length > 1 && m[i][0] === '0')) return -1;
    v = v * 256 + o;
  }
  return v;
}

/** `a.b.c.d/n` → network and mask as 32-bit unsigned, or null when not valid. */
export function parseCidr(s: unknown): { network: number; mask: number; prefix: number } | null {
  if (typeof s !== 'string') return null;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const addr = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (addr < 0 || prefix > 32) return null;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (addr & mask) >>> 0, mask, prefix };
}

/** Whether the IPv4 address is inside one of the networks (already parsed by parseCidr). */
export function ipv4InNetworks(address: string, networks: readonly { network: number; mask: number }[]): boolean {
  const a = parseIpv4(address);
  if (a < 0) return false;
  for (const n of networks) if (((a & n.mask) >>> 0) === n.network) return true;
  return false;
}

/** The shape of an entry of node:os networkInterfaces(), for the pure helpers below. */
export interface Ipv4InterfaceEntry {
  address: string;
  netmask: string;
  family: string | number;
  cidr?: string | null;
}

/**
 * The network of this machine's interface that has `address` (callers pass
 * node:os networkInterfaces(): core does no I/O), or null.
 */
export function interfaceNetwork(
  ifaces: Record<string, readonly Ipv4InterfaceEntry[] | undefined>,
  address: string,
): { address: string; network: number; mask: number; cidr: string } | null {
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) {
      if ((a.family === 'IPv4' || a.family === 4) && a.address === address) {
        const mask = parseIpv4(a.netmask);
        const addr = parseIpv4(a.address);
        if (mask < 0 || addr < 0) return null;
        let prefix = 0;
        while (prefix < 32 && ((mask >>> (31 - prefix)) & 1) === 1) prefix++;
        return { address, network: (addr & mask) >>> 0, mask, cidr: a.cidr ?? `${address}/${prefix}` };
      }
    }
  }
  return null;
}

/** 224.0.0.0/4, RFC 5771. */
export function isIpv4Multicast(s: unknown): boolean {
  const v = parseIpv4(s);
  return v >= 0xe0000000 && v <= 0xefffffff;
}

/** 224.0.0.0/24 is link-local control (IGMP, OSPF …): never a channel group. RFC 5771 §4. */
function isLocalControlBlock(s: string): boolean {
  const v = parseIpv4(s);
  return v >= 0xe0000000 && v <= 0xe00000ff;
}

// ---------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

export class Checker {
  readonly problems: string[] = [];
  fail(path: string, msg: string): void {
    this.problems.push(`${path}: ${msg}`);
  }
  obj(v: unknown, path: string): Obj | null {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.fail(path, `must be a mapping, got ${describe(v)}`);
      return null;
    }
    return v as Obj;
  }
  keys(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(joinPath(path, k), `unknown key (allowed here: ${allowed.join(', ')})`);
    }
  }
  str(o: Obj, key: string, path: string, def?: string | null): string | null {
    const v = o[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.fail(joinPath(path, key), 'is required');
      return def ?? null;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.fail(joinPath(path, key), `must be a non-empty string, got ${describe(v)}`);
      return def ?? null;
    }
    return v;
  }
  int(o: Obj, key: string, path: string, min: number, max: number, def?: number | null): number | null {
    const v = o[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.fail(joinPath(path, key), 'is required');
      return def ?? null;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(joinPath(path, key), `${describe(v)} is not an integer from ${min} to ${max}`);
      return def ?? null;
    }
    return v;
  }
  num(o: Obj, key: string, path: string, min: number, max: number, def: number): number {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(joinPath(path, key), `${describe(v)} is not a number from ${min} to ${max}`);
      return def;
    }
    return v;
  }
  bool(o: Obj, key: string, path: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.fail(joinPath(path, key), `must be true or false, got ${describe(v)}`);
      return def;
    }
    return v;
  }
  oneOf<T extends string>(o: Obj, key: string, path: string, values: readonly T[], def?: T): T | null {
    const v = o[key];
    if (v === undefined || v === null) {
      if (def === undefined) this.fail(joinPath(path, key), `is required (one of ${values.join(', ')})`);
      return def ?? null;
    }
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.fail(joinPath(path, key), `${describe(v)} is not one of ${values.join(', ')}`);
      return def ?? null;
    }
    return v as T;
  }
  ipv4(o: Obj, key: string, path: string, def?: string | null): string | null {
    const s = this.str(o, key, path, def);
    if (s !== null && s !== def && parseIpv4(s) < 0) {
      this.fail(joinPath(path, key), `${s} is not an IPv4 address`);
      return def ?? null;
    }
    return s;
  }
  strList(o: Obj, key: string, path: string): string[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
      this.fail(joinPath(path, key), `must be a list of strings, got ${describe(v)}`);
      return [];
    }
    return v.map(String);
  }
}

function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const HEADEND_KEYS = ['interface', 'ttl', 'workers', 'pacingDelayMs', 'dataPlaneNice', 'healthIntervalS', 'httpPort', 'fleetKey', 'metricsNetworks', 'tls', 'fcc', 'hls', 'vod'] as const;
const HLS_KEYS = ['enabled', 'segmentS', 'windowS', 'dir', 'maxDiskMB'] as const;
const VOD_KEYS = ['enabled', 'dir', 'maxUploadMB'] as const;
const TLS_KEYS = ['cert', 'key'] as const;
const FCC_KEYS = [
  'enabled', 'port', 'stbSubnets', 'burstMultiple', 'burstMaxMbps', 'maxBytesPerRequest', 'clientMaxMbps', 'totalMaxMbps', 'cacheMaxBytes',
] as const;
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_FCC_PORT = 5560;
/** The keys a channels.yaml mapping allows here (also the admin API's and its JSON schema's). */
export const CHANNEL_KEYS = [
  'number', 'name', 'group', 'tvgId', 'multicast', 'transport', 'cbrBitrateKbps', 'enabled', 'source', 'inputs', 'failover', 'slate', 'catchupDays',
] as const;
/** The keys a channels.yaml mapping allows here (also the admin API's and its JSON schema's). */
export const MULTICAST_KEYS = ['group', 'port', 'source'] as const;
/** The keys a channels.yaml mapping allows here (also the admin API's and its JSON schema's). */
export const SOURCE_KEYS: Record<SourceType, readonly string[]> = {
  ffmpeg: ['type', 'stallMs', 'url', 'format', 'inputOptions', 'realtime', 'profile', 'gopS', 'videoBitrateKbps', 'muxrateKbps'],
  udp: ['type', 'stallMs', 'address', 'port', 'source', 'interface'],
  rtp: ['type', 'stallMs', 'address', 'port', 'source', 'interface', 'reorderWindow'],
  file: ['type', 'stallMs', 'path'],
  srt: ['type', 'stallMs', 'mode', 'address', 'port', 'latencyMs', 'passphrase', 'pbkeylen', 'streamId'],
};

export const DEFAULT_STALL_MS = 3000;

function checkHeadend(c: Checker, raw: unknown, maxWorkers: number): HeadendConfig {
  const o = raw === undefined ? {} : c.obj(raw, 'headend') ?? {};
  c.keys(o, 'headend', HEADEND_KEYS);
  const iface = c.ipv4(o, 'interface', 'headend', '127.0.0.1') ?? '127.0.0.1';
  if (isIpv4Multicast(iface)) c.fail('headend.interface', `${iface} is a multicast address, not an interface address`);
  return {
    interface: iface,
    ttl: c.int(o, 'ttl', 'headend', 1, 255, 1) ?? 1,
    workers: c.int(o, 'workers', 'headend', 1, maxWorkers, 1) ?? 1,
    pacingDelayMs: c.int(o, 'pacingDelayMs', 'headend', 20, 5000, 250) ?? 250,
    dataPlaneNice: c.int(o, 'dataPlaneNice', 'headend', -20, 0, -10) ?? -10,
    healthIntervalS: c.int(o, 'healthIntervalS', 'headend', 1, 3600, 10) ?? 10,
    httpPort: c.int(o, 'httpPort', 'headend', 1, 65535, DEFAULT_HTTP_PORT) ?? DEFAULT_HTTP_PORT,
    fleetKey: checkFleetKey(c, o),
    metricsNetworks: checkCidrs(c, o, 'metricsNetworks', 'headend', ['127.0.0.0/8']),
    tls: checkTls(c, o.tls),
    fcc: checkFcc(c, o.fcc),
    hls: checkHls(c, o.hls),
    vod: checkVod(c, o.vod),
  };
}

function checkVod(c: Checker, raw: unknown): VodConfig {
  const path = 'headend.vod';
  const o = raw === undefined || raw === null ? {} : c.obj(raw, path) ?? {};
  c.keys(o, path, VOD_KEYS);
  return {
    enabled: c.bool(o, 'enabled', path, false),
    dir: c.str(o, 'dir', path, 'vod') ?? 'vod',
    // 1 MiB to 1 TiB: the cap is a guard against a runaway upload filling the disk, not a quota.
    maxUploadMB: c.int(o, 'maxUploadMB', path, 1, 1024 * 1024, 8192) ?? 8192,
  };
}

function checkHls(c: Checker, raw: unknown): HlsConfig {
  const path = 'headend.hls';
  const o = raw === undefined || raw === null ? {} : c.obj(raw, path) ?? {};
  c.keys(o, path, HLS_KEYS);
  const segmentS = c.num(o, 'segmentS', path, 0.5, 30, 2);
  const windowS = c.int(o, 'windowS', path, 6, 24 * 3600, 120) ?? 120;
  // RFC 8216 §6.2.2: a live playlist must span at least three target durations.
  if (windowS < segmentS * 3) c.fail(`${path}.windowS`, `${windowS} s is less than three segments of ${segmentS} s (RFC 8216 §6.2.2)`);
  return {
    enabled: c.bool(o, 'enabled', path, false),
    segmentS,
    windowS,
    dir: c.str(o, 'dir', path, null),
    maxDiskMB: c.int(o, 'maxDiskMB', path, 0, 100 * 1024 * 1024, 0) ?? 0,
  };
}

function checkFleetKey(c: Checker, o: Obj): string | null {
  const k = c.str(o, 'fleetKey', 'headend', null);
  if (k !== null && k.length < 16) c.fail('headend.fleetKey', 'must be at least 16 characters (a shared secret the agents send)');
  return k;
}

function checkCidrs(c: Checker, o: Obj, key: string, path: string, def: string[]): string[] {
  if (o[key] === undefined) return def;
  const list = c.strList(o, key, path);
  list.forEach((s, i) => {
    if (parseCidr(s) === null) c.fail(`${path}.${key}[${i}]`, `${JSON.stringify(s)} is not an IPv4 network in CIDR form (e.g. 10.20.0.0/16)`);
  });
  return list;
}

function checkTls(c: Checker, raw: unknown): { cert: string; key: string } | null {
  if (raw === undefined || raw === null) return null;
  const o = c.obj(raw, 'headend.tls');
  if (!o) return null;
  c.keys(o, 'headend.tls', TLS_KEYS);
  const cert = c.str(o, 'cert', 'headend.tls');
  const key = c.str(o, 'key', 'headend.tls');
  return cert && key ? { cert, key } : null;
}

function checkFcc(c: Checker, raw: unknown): FccConfig {
  const path = 'headend.fcc';
  const o = raw === undefined || raw === null ? {} : c.obj(raw, path) ?? {};
  c.keys(o, path, FCC_KEYS);
  const subnets = c.strList(o, 'stbSubnets', path);
  subnets.forEach((s, i) => {
    if (parseCidr(s) === null) c.fail(`${path}.stbSubnets[${i}]`, `${JSON.stringify(s)} is not an IPv4 network in CIDR form (e.g. 10.20.0.0/16)`);
  });
  return {
    enabled: c.bool(o, 'enabled', path, true),
    port: c.int(o, 'port', path, 1024, 65535, DEFAULT_FCC_PORT) ?? DEFAULT_FCC_PORT,
    stbSubnets: subnets,
    burstMultiple: c.num(o, 'burstMultiple', path, 1.1, 20, 4),
    burstMaxMbps: c.num(o, 'burstMaxMbps', path, 1, 1000, 100),
    maxBytesPerRequest: c.int(o, 'maxBytesPerRequest', path, 64 * 1024, 64 * 1024 * 1024, 8 * 1024 * 1024) ?? 8 * 1024 * 1024,
    clientMaxMbps: c.num(o, 'clientMaxMbps', path, 0.1, 1000, 40),
    totalMaxMbps: c.num(o, 'totalMaxMbps', path, 1, 10_000, 800),
    cacheMaxBytes: c.int(o, 'cacheMaxBytes', path, 0, 64 * 1024 * 1024, 8 * 1024 * 1024) ?? 8 * 1024 * 1024,
  };
}

function checkSource(c: Checker, raw: unknown, path: string, headendIface: string): ChannelSource | null {
  const o = c.obj(raw, path);
  if (!o) return null;
  const type = c.oneOf(o, 'type', path, Object.values(SourceType));
  if (!type) return null;
  c.keys(o, path, SOURCE_KEYS[type]);
  const stallMs = c.int(o, 'stallMs', path, 100, 600_000, DEFAULT_STALL_MS) ?? DEFAULT_STALL_MS;
  switch (type) {
    case 'ffmpeg': {
      const url = c.str(o, 'url', path) ?? '';
      const format = c.str(o, 'format', path, null);
      return {
        type,
        stallMs,
        url,
        format,
        inputOptions: c.strList(o, 'inputOptions', path),
        realtime: c.bool(o, 'realtime', path, format === 'lavfi' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)),
        profile: c.oneOf(o, 'profile', path, Object.values(TranscodeProfile), 'sd') ?? 'sd',
        gopS: c.num(o, 'gopS', path, 0.2, 10, 1),
        videoBitrateKbps: c.int(o, 'videoBitrateKbps', path, 100, 100_000, null),
        muxrateKbps: c.int(o, 'muxrateKbps', path, 200, 120_000, null),
      };
    }
    case 'udp':
    case 'rtp': {
      const address = c.ipv4(o, 'address', path) ?? '';
      const port = c.int(o, 'port', path, 1, 65535) ?? 0;
      const sourceAddress = c.ipv4(o, 'source', path, null);
      if (sourceAddress !== null && !isIpv4Multicast(address)) {
        c.fail(`${path}.source`, `an SSM source needs a multicast address, and ${address} is not one`);
      }
      return {
        type,
        stallMs,
        address,
        port,
        sourceAddress,
        interface: c.ipv4(o, 'interface', path, null) ?? headendIface,
        reorderWindow: c.int(o, 'reorderWindow', path, 1, 1024, 32) ?? 32,
      };
    }
    case 'file':
      return { type, stallMs, path: c.str(o, 'path', path) ?? '' };
    case 'srt': {
      const mode = c.oneOf(o, 'mode', path, ['listener', 'caller'] as const, 'listener') ?? 'listener';
      if (mode === 'caller' && (o.address === undefined || o.address === null)) c.fail(`${path}.address`, 'is required in caller mode (the address of the SRT listener to call)');
      const passphrase = c.str(o, 'passphrase', path, null);
      if (passphrase !== null) {
        // libsrt: 10–80 characters (srt-live-transmit refuses 9 and 81).
        const n = utf8Length(passphrase);
        if (n < 10 || n > 80) c.fail(`${path}.passphrase`, `is ${n} bytes long; SRT passphrases are 10 to 80`);
      }
      const pbkeylen = c.int(o, 'pbkeylen', path, 16, 32, 16) ?? 16;
      if (pbkeylen !== 16 && pbkeylen !== 24 && pbkeylen !== 32) c.fail(`${path}.pbkeylen`, `${pbkeylen} is not 16, 24 or 32 (AES-128/192/256)`);
      const streamId = c.str(o, 'streamId', path, null);
      if (streamId !== null && utf8Length(streamId) > 512) c.fail(`${path}.streamId`, 'is longer than 512 bytes (the SRT limit)');
      return {
        type,
        // SRT needs no stall restart of its own: an idle peer times out after 5 s.
        stallMs,
        mode,
        address: c.ipv4(o, 'address', path, null) ?? headendIface,
        localAddress: headendIface,
        port: c.int(o, 'port', path, 1, 65535) ?? 0,
        latencyMs: c.int(o, 'latencyMs', path, 20, 8000, 120) ?? 120,
        streamId,
        passphrase,
        keyLength: pbkeylen === 24 ? 24 : pbkeylen === 32 ? 32 : 16,
      };
    }
  }
}

function checkChannel(c: Checker, raw: unknown, path: string, headend: HeadendConfig): ChannelConfig | null {
  const o = c.obj(raw, path);
  if (!o) return null;
  c.keys(o, path, CHANNEL_KEYS);
  const number = c.int(o, 'number', path, 1, 9999);
  const name = c.str(o, 'name', path);
  const group = c.str(o, 'group', path, 'General') ?? 'General';
  let multicast: MulticastConfig | null = null;
  const mpath = `${path}.multicast`;
  const mo = o.multicast === undefined ? (c.fail(mpath, 'is required'), null) : c.obj(o.multicast, mpath);
  if (mo) {
    c.keys(mo, mpath, MULTICAST_KEYS);
    const g = c.str(mo, 'group', mpath);
    if (g !== null && !isIpv4Multicast(g)) c.fail(`${mpath}.group`, `${g} is not an IPv4 multicast address`);
    else if (g !== null && isLocalControlBlock(g)) {
      c.fail(`${mpath}.group`, `${g} is in 224.0.0.0/24, reserved for link-local control traffic (RFC 5771)`);
    }
    const port = c.int(mo, 'port', mpath, 1024, 65535);
    if (port !== null && port % 2 === 1 && o.transport !== 'udp') {
      // RFC 3550 §11: RTP uses an even port, the next odd one is RTCP's.
      c.fail(`${mpath}.port`, `${port} is odd; RTP wants an even port (RFC 3550 §11), or set transport: udp`);
    }
    const src = c.ipv4(mo, 'source', mpath, null);
    if (src !== null && src !== headend.interface) {
      // SSM receivers accept (S,G) only from S: the headend sends from its interface address.
      c.fail(`${mpath}.source`, `${src} is not headend.interface (${headend.interface}); SSM receivers only accept the sender's own address`);
    }
    if (g !== null && port !== null) multicast = { group: g, port, source: src };
  }
  const inputs: ChannelSource[] = [];
  let sourceOk = true;
  if (o.source !== undefined && o.inputs !== undefined) {
    c.fail(`${path}`, 'has both source and inputs: use source for one input, inputs for a primary and its backups');
    sourceOk = false;
  } else if (o.inputs !== undefined) {
    if (!Array.isArray(o.inputs) || o.inputs.length < 1 || o.inputs.length > 8) {
      c.fail(`${path}.inputs`, `must be a list of 1 to 8 sources, got ${describe(o.inputs)}`);
      sourceOk = false;
    } else {
      o.inputs.forEach((raw, i) => {
        const src = checkSource(c, raw, `${path}.inputs[${i}]`, headend.interface);
        if (src) inputs.push(src);
        else sourceOk = false;
      });
    }
  } else if (o.source === undefined) {
    c.fail(`${path}.source`, 'is required (or inputs: a list, primary first)');
    sourceOk = false;
  } else {
    const src = checkSource(c, o.source, `${path}.source`, headend.interface);
    if (src) inputs.push(src);
    else sourceOk = false;
  }
  const source = sourceOk && inputs.length > 0 ? inputs[0] : null;
  const failover = checkFailover(c, o.failover, `${path}.failover`);
  const slate = c.bool(o, 'slate', path, true);
  const transport = c.oneOf(o, 'transport', path, Object.values(Transport), 'rtp') ?? 'rtp';
  const cbr = c.int(o, 'cbrBitrateKbps', path, 200, 120_000, null);
  const enabled = c.bool(o, 'enabled', path, true);
  const tvgId = c.str(o, 'tvgId', path, null);
  const catchupDays = c.int(o, 'catchupDays', path, 0, 30, 0) ?? 0;
  if (number === null || name === null || multicast === null || source === null) return null;
  return { number, name, group, tvgId, multicast, transport, cbrBitrateKbps: cbr, enabled, source, inputs, failover, slate, catchupDays };
}

/** The keys a channels.yaml mapping allows here (also the admin API's and its JSON schema's). */
export const FAILOVER_KEYS = ['switchAfterMs', 'rapWaitMs', 'returnAfterS', 'backups', 'minBitrateKbps', 'maxCcErrorsPerS', 'maxPcrJumpsPerS', 'slateAfterMs'] as const;

function checkFailover(c: Checker, raw: unknown, path: string): FailoverConfig {
  const o = raw === undefined || raw === null ? {} : c.obj(raw, path) ?? {};
  c.keys(o, path, FAILOVER_KEYS);
  return {
    // 300 + 200 ms: a dead primary is replaced within the 500 ms hotel IT is promised.
    switchAfterMs: c.int(o, 'switchAfterMs', path, 50, 10_000, 300) ?? 300,
    rapWaitMs: c.int(o, 'rapWaitMs', path, 0, 5000, 200) ?? 200,
    returnAfterS: c.int(o, 'returnAfterS', path, 0, 86_400, 30) ?? 30,
    backups: c.oneOf(o, 'backups', path, ['hot', 'cold'] as const, 'hot') ?? 'hot',
    minBitrateKbps: c.int(o, 'minBitrateKbps', path, 1, 1_000_000, null),
    maxCcErrorsPerS: c.int(o, 'maxCcErrorsPerS', path, 0, 100_000, 50) ?? 50,
    // One jump is an encoder restarting (it is then back); two a second is a broken clock.
    maxPcrJumpsPerS: c.int(o, 'maxPcrJumpsPerS', path, 0, 1000, 1) ?? 1,
    // 700 ms + the pacing delay: the slate is on the wire about a second after the last input went quiet.
    slateAfterMs: c.int(o, 'slateAfterMs', path, 100, 60_000, 700) ?? 700,
  };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Validate a parsed channels.yaml document. Returns the frozen, defaulted
 * config, or throws one ConfigError that lists every problem with its path.
 */
export function validateLineup(doc: unknown, opts: { maxWorkers?: number; file?: string } = {}): LineupConfig {
  const c = new Checker();
  const root = c.obj(doc, '(document)') ?? {};
  c.keys(root, '', ['headend', 'channels']);
  const headend = checkHeadend(c, root.headend, opts.maxWorkers ?? 64);
  const channels: ChannelConfig[] = [];
  if (!Array.isArray(root.channels)) {
    c.fail('channels', root.channels === undefined ? 'is required (a list of channels)' : `must be a list, got ${describe(root.channels)}`);
  } else {
    root.channels.forEach((raw, i) => {
      const ch = checkChannel(c, raw, `channels[${i}]`, headend);
      if (ch) channels.push(ch);
    });
    const byNumber = new Map<number, number>();
    const byDest = new Map<string, number>();
    root.channels.forEach((raw, i) => {
      const o = raw as Obj;
      if (!o || typeof o !== 'object') return;
      const num = o.number;
      if (typeof num === 'number') {
        const prev = byNumber.get(num);
        if (prev !== undefined) c.fail(`channels[${i}].number`, `${num} is already used by channels[${prev}]`);
        else byNumber.set(num, i);
      }
      const m = o.multicast as Obj | undefined;
      if (m && typeof m === 'object' && typeof m.group === 'string' && typeof m.port === 'number') {
        const key = `${m.group}:${m.port}`;
        const prev = byDest.get(key);
        if (prev !== undefined) c.fail(`channels[${i}].multicast`, `${key} is already used by channels[${prev}]`);
        else byDest.set(key, i);
      }
    });
  }
  if (c.problems.length > 0) throw new ConfigError(c.problems, opts.file);
  return deepFreeze({ headend, channels });
}

// ---------------------------------------------------------------------------
// One channel at a time (the admin API): the same checks as validateLineup,
// so the API, channels.yaml and the admin UI refuse exactly the same things
// with exactly the same sentences.

/**
 * A problem split at its first `: `: `${path}: ${message}` is the line the
 * YAML loader prints (`channels[3].multicast.group: 239.1.1.300 is not an
 * IPv4 multicast address`). YAML syntax errors have `line 3, column 5` as path.
 */
export interface LineupProblem {
  path: string;
  message: string;
}

export function problemOf(line: string): LineupProblem {
  const i = line.indexOf(': ');
  return i < 0 ? { path: '', message: line } : { path: line.slice(0, i), message: line.slice(i + 2) };
}

export type ChannelValidation = { ok: true; channel: ChannelConfig } | { ok: false; problems: string[] };

/**
 * Validate ONE channel document (the keys of a channels.yaml channel)
 * against the rest of the lineup: the checks of validateLineup for one
 * entry, plus its number and multicast group:port against `others` (the
 * lineup without the channel being edited). Paths start with `path`
 * (default `channel`): `channel.multicast.group: …`. Never throws.
 */
export function validateChannel(
  doc: unknown,
  ctx: { headend: HeadendConfig; others: readonly ChannelConfig[]; path?: string },
): ChannelValidation {
  const path = ctx.path ?? 'channel';
  const c = new Checker();
  const ch = checkChannel(c, doc, path, ctx.headend);
  const o = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Obj) : null;
  if (o) {
    const num = o.number;
    const holder = typeof num === 'number' ? ctx.others.find((x) => x.number === num) : undefined;
    if (holder) c.fail(`${path}.number`, `${num as number} is already used by channel ${holder.number} ${JSON.stringify(holder.name)}`);
    const m = o.multicast as Obj | undefined;
    if (m && typeof m === 'object' && typeof m.group === 'string' && typeof m.port === 'number') {
      const other = ctx.others.find((x) => x.multicast.group === m.group && x.multicast.port === m.port);
      if (other) c.fail(`${path}.multicast`, `${m.group}:${m.port} is already used by channel ${other.number} ${JSON.stringify(other.name)}`);
    }
  }
  if (c.problems.length > 0 || ch === null) return { ok: false, problems: c.problems.length > 0 ? c.problems : [`${path}: is not a valid channel`] };
  return { ok: true, channel: deepFreeze(ch) };
}
