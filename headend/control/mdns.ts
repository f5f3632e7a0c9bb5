/**
 * DNS-SD over Multicast DNS (RFC 6763 over RFC 6762): the headend advertises
 * `<instance>._roomcast._tcp.local` with its API URL in TXT, so set-top boxes
 * find it with no configuration (stb-agent/discovery.ts browses for it).
 *
 * Records (TTLs from RFC 6762 §10: host-name-bearing records 120 s, others 75 min):
 *
 *     _roomcast._tcp.local            PTR  <instance>._roomcast._tcp.local   4500 s, shared
 *     _services._dns-sd._udp.local    PTR  _roomcast._tcp.local              4500 s, shared (RFC 6763 §9)
 *     <instance>._roomcast._tcp.local SRV  0 0 <port> <host>.local           120 s, unique (cache-flush)
 *     <instance>._roomcast._tcp.local TXT  api=<url> …                       4500 s, unique
 *     <host>.local                    A    <interface address>               120 s, unique
 *
 * Only the configured interface: the socket joins 224.0.0.251 on that address
 * only, sends with IP_MULTICAST_IF set to it (checked before the first send),
 * and answers only queries whose source is on that interface's subnet (RFC
 * 6762 §11). multicast-dns on its own does none of that safely: its default
 * bind address is the interface's unicast address, on which Linux never
 * delivers a datagram sent to 224.0.0.251; and it calls
 * setMulticastInterface only after a successful join, so a failed join would
 * leave every send on the default route's interface.
 *
 * Not implemented: probing and conflict resolution (RFC 6762 §8.1, §9); a
 * second headend with the same instance name on the same link is not renamed.
 */

import dgram from 'node:dgram';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import makeMdns from 'multicast-dns';
import { ConfigError, interfaceNetwork, ipv4InNetworks } from '../../core/lineup/config.js';
import type { LogLevelName } from '../log.js';

export const MDNS_GROUP = '224.0.0.251';
export const MDNS_PORT = 5353;
export const ROOMCAST_SERVICE_TYPE = '_roomcast._tcp.local';
/** RFC 6763 §9: browsing for service types. */
export const DNS_SD_SERVICES = '_services._dns-sd._udp.local';

/** RFC 6762 §10. */
const TTL_HOST_S = 120;
const TTL_OTHER_S = 4500;
/** RFC 6762 §6.7: legacy unicast answers carry TTLs of at most 10 s. */
const TTL_LEGACY_UNICAST_S = 10;
/** RFC 6762 §11: sent with IP TTL 255, so a receiver can tell on-link packets. */
const MULTICAST_TTL = 255;
/** RFC 6762 §8.3: the announcement is sent twice, one second apart. */
const ANNOUNCE_COUNT = 2;
const ANNOUNCE_INTERVAL_MS = 1000;
/** RFC 6762 §6: a record is multicast at most once per second per interface. */
const MIN_MULTICAST_INTERVAL_MS = 1000;
/** RFC 6762 §6: answers with shared records wait 20–120 ms (responses from many hosts spread out). */
const SHARED_DELAY_MIN_MS = 20;
const SHARED_DELAY_MAX_MS = 120;
/** Binding port 5353 is immediate; bounded anyway. */
const START_TIMEOUT_MS = 5000;
/** The goodbye is one local send; bounded so close() always finishes. */
const GOODBYE_TIMEOUT_MS = 1000;
/** Undecodable packets are data, not errors: counted and logged at most this often. */
const BAD_PACKET_LOG_INTERVAL_MS = 1000;
/** RFC 6763 §4.1.1: the instance label is at most 63 octets of UTF-8, no control characters. */
const MAX_LABEL_BYTES = 63;
/** RFC 6763 §6.1: each TXT string is at most 255 octets. */
const MAX_TXT_STRING_BYTES = 255;
/**
 * RFC 6763 §4.3: a dot inside the instance label is part of the label. dns-packet
 * (multicast-dns's codec) splits every name on '.', with no `\.` escape, so the
 * instance label goes to it with this byte (a control character, which RFC 6763
 * §4.1.1 forbids in instance names) in place of each dot, and the encoded
 * datagram gets its dots back just before the send (see restoreLabelDots).
 */
const DOT_PLACEHOLDER = '\x1f';
/** dns-packet decodes QU questions (RFC 6762 §5.4, top bit of the class) as these unknown classes. */
const QUESTION_CLASSES = new Set(['IN', 'ANY', 'UNKNOWN_32769', 'UNKNOWN_33023']);

type Answer = makeMdns.ResponseOutgoingPacket['answers'][number];
type Question = makeMdns.QueryOutgoingPacket['questions'][number];

export type MdnsLogLevel = Exclude<LogLevelName, 'silent'>;

export interface AdvertiseHeadendOptions {
  /** IPv4 address of the IPTV interface (e.g. 10.99.0.1, or 127.0.0.1 for tests): the only one used. */
  interface: string;
  /** User-visible instance name (RFC 6763 §4.1.1): any UTF-8 up to 63 octets, dots and spaces allowed. */
  instanceName: string;
  /** TCP port of the API (SRV). */
  port: number;
  /** TXT key/value pairs (RFC 6763 §6); must include `api` = the API's http(s) URL. */
  txt: Record<string, string>;
  /** Host label for `<host>.local` (SRV target, A record); default: this machine's host name. */
  hostname?: string;
  log?: (level: MdnsLogLevel, msg: string) => void;
}

export interface HeadendAdvertisement {
  /** Sends the goodbye (TTL 0, RFC 6762 §10.1) and closes the socket; idempotent. */
  close(): Promise<void>;
}

type RecordKey = 'ptr' | 'services' | 'srv' | 'txt' | 'a';
const SHARED: ReadonlySet<RecordKey> = new Set<RecordKey>(['ptr', 'services']);
/** RFC 6762 §8.3: what is announced (and said goodbye to); the §9 enumeration PTR only answers queries. */
const ANNOUNCED: ReadonlySet<RecordKey> = new Set<RecordKey>(['ptr', 'srv', 'txt', 'a']);

type InterfaceInfo = NonNullable<ReturnType<typeof interfaceNetwork>>;

/** The IPv4 entry of this machine with that address, or null. */
function localInterface(address: string): InterfaceInfo | null {
  return interfaceNetwork(networkInterfaces(), address);
}

/** RFC 6762 §11: only packets from this interface's own subnet are answered. */
function isOnLink(iface: InterfaceInfo, source: string): boolean {
  return ipv4InNetworks(source, [iface]);
}

/** A DNS host label from the machine's name: first label, letters/digits/hyphens (RFC 952/1123). */
function hostLabel(name: string): string {
  const label = (name.split('.')[0] ?? '')
    .replace(/[^A-Za-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_LABEL_BYTES);
  return label || 'roomcast';
}

/** Every problem with the options at once (STYLE.md §3), as a ConfigError. */
function validate(opts: AdvertiseHeadendOptions, iface: InterfaceInfo | null): { instance: string; host: string } {
  const problems: string[] = [];
  if (!iface) {
    const local = Object.values(networkInterfaces())
      .flatMap((l) => l ?? [])
      .filter((a) => a.family === 'IPv4')
      .map((a) => a.address);
    problems.push(`mdns.interface: ${opts.interface} is not an IPv4 address of this machine (it has ${local.join(', ')})`);
  }
  const instance = typeof opts.instanceName === 'string' ? opts.instanceName.normalize('NFC') : '';
  const instanceBytes = Buffer.byteLength(instance);
  if (instanceBytes < 1 || instanceBytes > MAX_LABEL_BYTES) {
    problems.push(`mdns.instanceName: ${JSON.stringify(instance)} is ${instanceBytes} octets of UTF-8, must be 1..${MAX_LABEL_BYTES} (RFC 6763 §4.1.1)`);
  }
  if (/[\x00-\x1f\x7f]/.test(instance)) problems.push(`mdns.instanceName: ${JSON.stringify(instance)} contains an ASCII control character (RFC 6763 §4.1.1)`);
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) problems.push(`mdns.port: ${opts.port} is not a TCP port`);
  const host = opts.hostname ?? hostLabel(osHostname());
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(host)) problems.push(`mdns.hostname: ${JSON.stringify(host)} is not a DNS host label`);
  const txt = opts.txt ?? {};
  for (const [k, v] of Object.entries(txt)) {
    // RFC 6763 §6.4: keys are printable US-ASCII without '='; §6.5: values here are text.
    if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(k)) problems.push(`mdns.txt: key ${JSON.stringify(k)} must be 1+ printable ASCII characters without '=' (RFC 6763 §6.4)`);
      if (typeof v !== 'string' || /[\x00-\x1f\x7f]/.test(v)) problems.push(`mdns.txt.${k}: must be a string without control characters`);
    else if (Buffer.byteLength(`${k}=${v}`) > MAX_TXT_STRING_BYTES) problems.push(`mdns.txt.${k}: "${k}=…" is over ${MAX_TXT_STRING_BYTES} octets (RFC 6763 §6.1)`);
  }
  const api = txt.api;
  let apiOk = false;
  try {
    apiOk = typeof api === 'string' && /^https?:$/.test(new URL(api).protocol);
  } catch {
    apiOk = false;
  }
  if (!apiOk) problems.push(`mdns.txt.api: ${JSON.stringify(api)} must be the API's http(s) URL`);
  if (problems.length) throw new ConfigError(problems);
  return { instance, host };
}

/**
 * Puts the dots of the instance label back into an encoded datagram: every
 * occurrence of the label as dns-packet wrote it (length octet, then the
 * label with DOT_PLACEHOLDER for '.') gets 0x2e for 0x1f. dns-packet does not
 * compress names, so each occurrence is written out in full. The sequence
 * cannot occur by accident: no other field we send may contain 0x1f.
 *
 * `msg` is transferred (dns-packet allocated it for this one send) and fixed in place.
 */
function restoreLabelDots(msg: Buffer, wireLabel: Buffer): Buffer {
  let at = msg.indexOf(wireLabel);
  while (at >= 0) {
    for (let i = at + 1; i < at + wireLabel.length; i++) if (msg[i] === 0x1f) msg[i] = 0x2e;
    at = msg.indexOf(wireLabel, at + wireLabel.length);
  }
  return msg;
}

/**
 * Advertises the headend on `opts.interface` until close(). Resolves once the
 * socket is bound, joined and the first announcement is sent; rejects with a
 * ConfigError for bad options (all problems listed) or with the socket error.
 */
export async function advertiseHeadend(opts: AdvertiseHeadendOptions): Promise<HeadendAdvertisement> {
  const log = opts.log ?? (() => {});
  const iface = localInterface(opts.interface);
  const { instance, host } = validate(opts, iface);
  const ifc = iface!;

  const serviceLower = ROOMCAST_SERVICE_TYPE.toLowerCase();
  const servicesLower = DNS_SD_SERVICES.toLowerCase();
  // Presentation form as dns-packet decodes it (labels joined by '.'): what incoming names are compared with.
  const instanceFqdn = `${instance}.${ROOMCAST_SERVICE_TYPE}`;
  const instanceLower = instanceFqdn.toLowerCase();
  // What dns-packet is given to encode (see DOT_PLACEHOLDER).
  const wireInstanceLabel = instance.replaceAll('.', DOT_PLACEHOLDER);
  const instanceWire = `${wireInstanceLabel}.${ROOMCAST_SERVICE_TYPE}`;
  const hostFqdn = `${host}.local`;
  const hostLower = hostFqdn.toLowerCase();
  const txtData = Object.entries(opts.txt).map(([k, v]) => `${k}=${v}`);

  const record = (key: RecordKey, ttl: number, flush: boolean): Answer => {
    switch (key) {
      case 'ptr':
        return { name: ROOMCAST_SERVICE_TYPE, type: 'PTR', ttl, data: instanceWire };
      case 'services':
        return { name: DNS_SD_SERVICES, type: 'PTR', ttl, data: ROOMCAST_SERVICE_TYPE };
      case 'srv':
        return { name: instanceWire, type: 'SRV', ttl, flush, data: { priority: 0, weight: 0, port: opts.port, target: hostFqdn } };
      case 'txt':
        return { name: instanceWire, type: 'TXT', ttl, flush, data: txtData };
      case 'a':
        return { name: hostFqdn, type: 'A', ttl, flush, data: ifc.address };
    }
  };
  const ttlOf = (key: RecordKey): number => (key === 'srv' || key === 'a' ? TTL_HOST_S : TTL_OTHER_S);
  /** Multicast form: real TTLs, cache-flush on unique records (RFC 6762 §10.2). */
  const mc = (key: RecordKey, ttl = ttlOf(key)): Answer => record(key, ttl, !SHARED.has(key));
  /** RFC 6762 §6.1 / RFC 6763 §12: what a browser needs next, sent along. */
  const additionalsFor = (keys: Set<RecordKey>): RecordKey[] => {
    const add = new Set<RecordKey>();
    if (keys.has('ptr')) ['srv', 'txt', 'a'].forEach((k) => add.add(k as RecordKey));
    if (keys.has('srv')) add.add('a');
    return [...add].filter((k) => !keys.has(k));
  };

  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  if (wireInstanceLabel !== instance) {
    const wireLabel = Buffer.concat([Buffer.from([Buffer.byteLength(wireInstanceLabel)]), Buffer.from(wireInstanceLabel)]);
    const rawSend = socket.send.bind(socket) as (...args: unknown[]) => void;
    // Our own socket only: multicast-dns calls send(buf, 0, len, port, address, cb).
    socket.send = ((msg: Buffer, ...rest: unknown[]) => rawSend(restoreLabelDots(msg, wireLabel), ...rest)) as typeof socket.send;
  }
  const mdns = makeMdns({
    socket,
    port: MDNS_PORT,
    ip: MDNS_GROUP,
    interface: ifc.address,
    // The group, not the interface address (never receives 224.0.0.251 on
    // Linux) nor 0.0.0.0 (would also get every other group joined on 5353:
    // NETLAB.md gotcha 4). Sending from it is fine: the kernel takes the
    // source address from IP_MULTICAST_IF.
    bind: MDNS_GROUP,
    reuseAddr: true,
    loopback: true,
    ttl: MULTICAST_TTL,
  });

  let closed = false;
  let badPackets = 0;
  let badPacketsLoggedAt = 0;
  let lastBadPacket = '';
  let offLinkQueries = 0;
  const lastMulticastAt = new Map<RecordKey, number>();
  /** Records owed to queriers → when the (first) query for each arrived. */
  const pending = new Map<RecordKey, number>();
  let pendingTimer: NodeJS.Timeout | undefined;
  let pendingDueAt = 0;
  let announceTimer: NodeJS.Timeout | undefined;
  /** When the pending announcement goes out (valid while announceTimer is set). */
  let nextAnnounceAt = 0;

  /** Resolves when sent or failed (logged); sends nothing once closed unless `evenIfClosed` (the goodbye). */
  const send = (packet: makeMdns.ResponseOutgoingPacket, to?: { port: number; address: string }, evenIfClosed = false): Promise<void> =>
    new Promise((resolve) => {
      if (closed && !evenIfClosed) return resolve();
      const done = (err: Error | null): void => {
        if (err) log('warn', `mdns send to ${to ? `${to.address}:${to.port}` : MDNS_GROUP}: ${err.message}`);
        resolve();
      };
      try {
        if (to) mdns.respond(packet, to, done);
        else mdns.respond(packet, done);
      } catch (e) {
        done(e as Error);
      }
    });

  const multicast = (keys: Iterable<RecordKey>, extra: Iterable<RecordKey> = []): Promise<void> => {
    const now = performance.now();
    const answers = [...keys];
    const additionals = [...extra];
    for (const k of [...answers, ...additionals]) lastMulticastAt.set(k, now);
    return send({ answers: answers.map((k) => mc(k)), additionals: additionals.map((k) => mc(k)) });
  };

  const flushPending = (): void => {
    pendingTimer = undefined;
    if (closed || pending.size === 0) return;
    // A record multicast since it was asked for (an announcement) has answered the query already.
    const keys = new Set([...pending].filter(([k, askedAt]) => (lastMulticastAt.get(k) ?? -Infinity) < askedAt).map(([k]) => k));
    pending.clear();
    if (keys.size) void multicast(keys, additionalsFor(keys));
  };

  /** RFC 6762 §6: delay shared answers 20–120 ms; never multicast a record twice within 1 s (defer, not drop). */
  const schedule = (keys: Set<RecordKey>): void => {
    const now = performance.now();
    let due = now;
    if ([...keys].some((k) => SHARED.has(k))) due += SHARED_DELAY_MIN_MS + Math.random() * (SHARED_DELAY_MAX_MS - SHARED_DELAY_MIN_MS);
    for (const k of keys) {
      const last = lastMulticastAt.get(k);
      if (last !== undefined) due = Math.max(due, last + MIN_MULTICAST_INTERVAL_MS);
    }
    // The second announcement, due about when this answer would be, answers the query (all
    // records in the Answer Section); a separate response would repeat them within the second.
    const covered = announceTimer !== undefined && nextAnnounceAt <= due + SHARED_DELAY_MAX_MS;
    let added = false;
    for (const k of keys) {
      if ((covered && ANNOUNCED.has(k)) || pending.has(k)) continue;
      pending.set(k, now);
      added = true;
    }
    if (!added || (pendingTimer && pendingDueAt >= due)) return;
    clearTimeout(pendingTimer);
    pendingDueAt = due;
    pendingTimer = setTimeout(flushPending, Math.max(0, due - now));
  };

  const knownAnswerCovers = (key: RecordKey, known: Answer[]): boolean => {
    // RFC 6762 §7.1: not answered if the querier already holds it with at least half our TTL.
    const half = ttlOf(key) / 2;
    return known.some((k) => {
      const ttl = (k as { ttl?: unknown }).ttl;
      if (typeof ttl !== 'number' || ttl < half || typeof k.name !== 'string') return false;
      const n = k.name.toLowerCase();
      const d = 'data' in k && typeof k.data === 'string' ? k.data.toLowerCase() : '';
      switch (key) {
        case 'ptr':
          return k.type === 'PTR' && n === serviceLower && d === instanceLower;
        case 'services':
          return k.type === 'PTR' && n === servicesLower && d === serviceLower;
        case 'srv':
          return k.type === 'SRV' && n === instanceLower;
        case 'txt':
          return k.type === 'TXT' && n === instanceLower;
        case 'a':
          return k.type === 'A' && n === hostLower && d === ifc.address;
      }
    });
  };

  const onQuery = (query: makeMdns.QueryPacket, rinfo: dgram.RemoteInfo): void => {
    try {
      if (closed) return;
      if (!isOnLink(ifc, rinfo.address)) {
        // Another interface's traffic reaching this socket: not ours to answer.
        offLinkQueries++;
        return;
      }
      const want = new Set<RecordKey>();
      for (const q of query.questions ?? []) {
        if (typeof q.name !== 'string' || !QUESTION_CLASSES.has(String(q.class ?? 'IN'))) continue;
        const n = q.name.toLowerCase();
        const any = String(q.type) === 'ANY'; // qtype 255: dns-packet decodes it, its types omit it
        if (n === serviceLower && (any || q.type === 'PTR')) want.add('ptr');
        else if (n === servicesLower && (any || q.type === 'PTR')) want.add('services');
        else if (n === instanceLower) {
          if (any || q.type === 'SRV') want.add('srv');
          if (any || q.type === 'TXT') want.add('txt');
        } else if (n === hostLower && (any || q.type === 'A')) want.add('a');
      }
      if (want.size === 0) return;
      const known = (query.answers ?? []) as Answer[];
      for (const k of [...want]) if (knownAnswerCovers(k, known)) want.delete(k);
      if (want.size === 0) return;

      if (rinfo.port !== MDNS_PORT) {
        // RFC 6762 §6.7 legacy unicast (e.g. `dig -p 5353 @224.0.0.251`): a
        // plain DNS answer to the sender's port, its ID and questions echoed,
        // short TTLs, no cache-flush bits.
        const questions: Question[] = (query.questions ?? []).map((q) => ({
          name: q.name.toLowerCase() === instanceLower ? instanceWire : q.name,
          type: q.type,
          class: 'IN',
        }));
        const extra = additionalsFor(want);
        void send(
          {
            id: query.id,
            questions,
            answers: [...want].map((k) => record(k, TTL_LEGACY_UNICAST_S, false)),
            additionals: extra.map((k) => record(k, TTL_LEGACY_UNICAST_S, false)),
          },
          { port: rinfo.port, address: rinfo.address },
        );
        return;
      }
      schedule(want);
    } catch (e) {
      log('warn', `mdns: query from ${rinfo.address}:${rinfo.port} not answered: ${(e as Error).message}`);
    }
  };

  const onWarning = (err: Error): void => {
    // multicast-dns reports undecodable packets and non-fatal socket errors as warnings.
    if ((err as NodeJS.ErrnoException).code) {
      log('warn', `mdns socket: ${err.message}`);
      return;
    }
    badPackets++;
    lastBadPacket = err.message;
    const now = performance.now();
    if (now - badPacketsLoggedAt >= BAD_PACKET_LOG_INTERVAL_MS) {
      badPacketsLoggedAt = now;
      log('debug', `mdns: ${badPackets} undecodable packets so far, last was: ${lastBadPacket}`);
    }
  };

  // Start: bound, joined on this interface only, IP_MULTICAST_IF set — before the first send.
  await new Promise<void>((resolve, reject) => {
    let joined = false;
    let lastWarning: Error | undefined;
    const onJoined = (): void => {
      joined = true;
    };
    const onEarlyWarning = (e: Error): void => {
      lastWarning = e;
    };
    const fail = (e: Error): void => {
      clearTimeout(timer);
      cleanup();
      closed = true;
      mdns.destroy(() => reject(e));
    };
    const onError = (e: Error): void => fail(new Error(`mdns: cannot bind ${MDNS_GROUP}:${MDNS_PORT}: ${e.message}`));
    const onReady = (): void => {
      clearTimeout(timer);
      cleanup();
      if (!joined) return fail(new Error(`mdns: cannot join ${MDNS_GROUP} on ${ifc.address}: ${lastWarning?.message ?? 'unknown error'}`));
      try {
        socket.setMulticastInterface(ifc.address);
      } catch (e) {
        return fail(new Error(`mdns: cannot send multicast from ${ifc.address}: ${(e as Error).message}`));
      }
      resolve();
    };
    const cleanup = (): void => {
      mdns.off('networkInterface', onJoined);
      mdns.off('warning', onEarlyWarning);
      mdns.off('error', onError);
      mdns.off('ready', onReady);
    };
    const timer = setTimeout(() => fail(new Error(`mdns: socket not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    mdns.on('networkInterface', onJoined);
    mdns.on('warning', onEarlyWarning);
    mdns.once('error', onError);
    mdns.once('ready', onReady);
  });

  mdns.on('warning', onWarning);
  mdns.on('error', (e: Error) => log('error', `mdns socket: ${e.message}`));
  mdns.on('query', onQuery);

  // RFC 6762 §8.3: announce everything, twice, one second apart.
  const announceKeys = [...ANNOUNCED];
  let announced = 0;
  const announce = (): Promise<void> => {
    announceTimer = undefined;
    if (closed) return Promise.resolve();
    announced++;
    if (announced < ANNOUNCE_COUNT) {
      // Set before the send, from the same clock reading the send records (see schedule()).
      nextAnnounceAt = performance.now() + ANNOUNCE_INTERVAL_MS;
      announceTimer = setTimeout(() => void announce(), ANNOUNCE_INTERVAL_MS);
    }
    return multicast(announceKeys);
  };
  await announce();
  log('info', `mdns: advertising "${instance}" (${ROOMCAST_SERVICE_TYPE}) on ${ifc.address}, ${hostFqdn}:${opts.port}`);

  // RFC 6762 §10.1: goodbye = every record with TTL 0.
  const goodbyePacket = { answers: announceKeys.map((k) => mc(k, 0)) };
  let closing: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        clearTimeout(announceTimer);
        clearTimeout(pendingTimer);
        pending.clear();
        mdns.off('query', onQuery);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([send(goodbyePacket, undefined, true), new Promise<void>((r) => (timer = setTimeout(r, GOODBYE_TIMEOUT_MS)))]);
        clearTimeout(timer);
        await new Promise<void>((r) => mdns.destroy(() => r()));
        if (offLinkQueries || badPackets) log('debug', `mdns: ignored ${offLinkQueries} off-link queries, ${badPackets} undecodable packets`);
        log('info', `mdns: stopped advertising "${instance}"`);
      })();
      return closing;
    },
  };
}
