/**
 * Finds the headend on the IPTV network: a DNS-SD browse (RFC 6763) over
 * Multicast DNS (RFC 6762) for `_roomcast._tcp.local`, which the headend
 * advertises (headend/control/mdns.ts) with its API URL in TXT `api`.
 *
 * One socket on 224.0.0.251:5353, joined and sending on the given interface
 * only (never the default one), bound to the group (NETLAB.md gotcha 4).
 * Continuous querying (RFC 6762 §5.2): the PTR question is repeated with
 * growing intervals (250 ms, 500 ms, 1 s, … capped at MAX_QUERY_INTERVAL_MS)
 * until a complete answer arrives or the time is up. An answer is complete
 * with PTR → SRV (port, target host) → A of the target, and the TXT; the
 * headend sends all of them in one response, and whatever is missing is
 * asked for with the next query. Announcements heard meanwhile count too.
 */

import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import { ConfigError, interfaceNetwork, ipv4InNetworks } from '../core/lineup/config.js';

const MDNS_GROUP = '224.0.0.251';
const MDNS_PORT = 5353;
export const ROOMCAST_SERVICE_TYPE = '_roomcast._tcp.local';
/** RFC 6762 §11: sent with IP TTL 255. */
const MULTICAST_TTL = 255;
const FIRST_QUERY_INTERVAL_MS = 250;
/** RFC 6762 §5.2 caps the interval at 60 min; an STB waiting for its headend asks more often. */
const MAX_QUERY_INTERVAL_MS = 60_000;
/** Longest allowed wait: a day (timeoutMs is required; this only rejects nonsense). */
const MAX_TIMEOUT_MS = 86_400_000;
/** dns-packet decodes a response record's class with the cache-flush bit masked off: 'IN'. */
const RECORD_CLASSES = new Set(['IN', 'ANY']);

type Answer = makeMdns.ResponseOutgoingPacket['answers'][number];
type Question = makeMdns.QueryOutgoingPacket['questions'][number];

export interface DiscoverHeadendOptions {
  /** IPv4 address of this STB's IPTV interface (e.g. 10.99.0.11): the only one used. */
  interface: string;
  /** Give up (resolve null) after this long. */
  timeoutMs: number;
  /** Abort: rejects with the signal's reason (an AbortError by default); the socket is closed first. */
  signal?: AbortSignal;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export interface DiscoveredHeadend {
  /** TXT `api` when it is an http(s) URL, else http://<address>:<port>. */
  apiUrl: string;
  /** Instance name, as the user sees it (RFC 6763 §4.1.1), e.g. "Hotel Lobby Headend". */
  instance: string;
  /** IPv4 address of the headend (A record of the SRV target). */
  address: string;
  /** Port from the SRV record. */
  port: number;
  /** All TXT keys (lower-cased, first occurrence wins: RFC 6763 §6.4). */
  txt: Record<string, string>;
}

type InterfaceInfo = NonNullable<ReturnType<typeof interfaceNetwork>>;

function localInterface(address: string): InterfaceInfo | null {
  return interfaceNetwork(networkInterfaces(), address);
}

function sameSubnet(iface: InterfaceInfo, address: string): boolean {
  return ipv4InNetworks(address, [iface]);
}

/** RFC 6763 §6.3/6.4: `key=value` strings; keys case-insensitive, first occurrence wins, `key` alone = empty. */
function parseTxt(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const s = Buffer.isBuffer(item) ? item.toString('utf8') : typeof item === 'string' ? item : '';
    if (!s) continue;
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).toLowerCase();
    if (!key || Object.prototype.hasOwnProperty.call(out, key)) continue;
    out[key] = eq < 0 ? '' : s.slice(eq + 1);
  }
  return out;
}

function httpUrl(s: string | undefined): string | null {
  if (!s) return null;
  try {
    return /^https?:$/.test(new URL(s).protocol) ? s : null;
  } catch {
    return null;
  }
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const e = new Error('discovery aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * Browses `_roomcast._tcp.local` on `opts.interface` and resolves the first
 * headend that answers completely, or null after `opts.timeoutMs`. Rejects
 * with a ConfigError for bad options, with the socket error if 5353 cannot
 * be bound, or with the abort reason. The socket is closed before it settles,
 * whatever the outcome.
 */
export async function discoverHeadend(opts: DiscoverHeadendOptions): Promise<DiscoveredHeadend | null> {
  const log = opts.log ?? (() => {});
  const ifc = localInterface(opts.interface);
  const problems: string[] = [];
  if (!ifc) problems.push(`discovery.interface: ${opts.interface} is not an IPv4 address of this machine`);
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs < 0 || opts.timeoutMs > MAX_TIMEOUT_MS) {
    problems.push(`discovery.timeoutMs: ${opts.timeoutMs} is not in 0..${MAX_TIMEOUT_MS}`);
  }
  if (problems.length) throw new ConfigError(problems);
  const iface = ifc!;
  if (opts.signal?.aborted) throw abortError(opts.signal);

  const serviceLower = ROOMCAST_SERVICE_TYPE.toLowerCase();
  /** Instance FQDN (lower-case) → as received. */
  const instances = new Map<string, string>();
  const srv = new Map<string, { port: number; target: string }>();
  const txt = new Map<string, Record<string, string>>();
  /** Host FQDN (lower-case) → IPv4 addresses. */
  const hosts = new Map<string, string[]>();

  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const mdns = makeMdns({
    socket,
    port: MDNS_PORT,
    ip: MDNS_GROUP,
    interface: iface.address,
    // Not the interface address: Linux never delivers 224.0.0.251 to a socket bound to a unicast address.
    bind: MDNS_GROUP,
    reuseAddr: true,
    loopback: true,
    ttl: MULTICAST_TTL,
  });

  return new Promise<DiscoveredHeadend | null>((resolve, reject) => {
    let settled = false;
    let ready = false;
    let joined = false;
    let queryTimer: NodeJS.Timeout | undefined;
    let intervalMs = FIRST_QUERY_INTERVAL_MS;
    let queries = 0;

    const finish = (result: DiscoveredHeadend | null, err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(queryTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      mdns.removeAllListeners('response');
      mdns.destroy(() => (err ? reject(err) : resolve(result)));
    };
    const onAbort = (): void => finish(null, abortError(opts.signal!));
    const deadline = setTimeout(() => {
      log('debug', `discovery: no headend on ${iface.address} within ${opts.timeoutMs} ms (${queries} queries)`);
      finish(null);
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    /** The first complete instance, or the questions still to ask. */
    const resolveInstances = (): { found: DiscoveredHeadend | null; missing: Question[] } => {
      const missing: Question[] = [];
      for (const [key, fqdn] of instances) {
        const s = srv.get(key);
        const t = txt.get(key);
        const addrs = s ? hosts.get(s.target.toLowerCase()) : undefined;
        const label = fqdn.slice(0, fqdn.length - ROOMCAST_SERVICE_TYPE.length - 1);
        if (s && t && addrs?.length) {
          const address = addrs.find((a) => sameSubnet(iface, a)) ?? addrs[0];
          const apiUrl = httpUrl(t.api) ?? `http://${address}:${s.port}`;
          return { found: { apiUrl, instance: label, address, port: s.port, txt: t }, missing };
        }
        // dns-packet encodes every '.' as a label break, so a name whose
        // instance label holds a dot cannot be asked for on its own; the
        // repeated PTR question brings its SRV/TXT/A as additionals anyway.
        if (!label.includes('.')) {
          if (!s) missing.push({ name: fqdn, type: 'SRV' });
          if (!t) missing.push({ name: fqdn, type: 'TXT' });
        }
        if (s && !addrs?.length) missing.push({ name: s.target, type: 'A' });
      }
      return { found: null, missing };
    };

    const sendQuery = (extra: Question[]): void => {
      queries++;
      mdns.query({ questions: [{ name: ROOMCAST_SERVICE_TYPE, type: 'PTR' }, ...extra] }, (err) => {
        if (err && !settled) log('warn', `discovery: query on ${iface.address}: ${err.message}`);
      });
    };

    const queryLoop = (): void => {
      if (settled) return;
      sendQuery(resolveInstances().missing);
      queryTimer = setTimeout(queryLoop, intervalMs);
      intervalMs = Math.min(intervalMs * 2, MAX_QUERY_INTERVAL_MS);
    };

    const apply = (rr: Answer): void => {
      if (!rr || typeof rr.name !== 'string' || !RECORD_CLASSES.has(String((rr as { class?: unknown }).class ?? 'IN'))) return;
      const name = rr.name.toLowerCase();
      const ttl = (rr as { ttl?: unknown }).ttl;
      const gone = ttl === 0; // RFC 6762 §10.1 goodbye
      switch (rr.type) {
        case 'PTR':
          if (name !== serviceLower || typeof rr.data !== 'string') return;
          if (!rr.data.toLowerCase().endsWith(`.${serviceLower}`)) return;
          if (gone) instances.delete(rr.data.toLowerCase());
          else instances.set(rr.data.toLowerCase(), rr.data);
          return;
        case 'SRV':
          if (gone) srv.delete(name);
          else if (rr.data && Number.isInteger(rr.data.port) && typeof rr.data.target === 'string') srv.set(name, { port: rr.data.port, target: rr.data.target });
          return;
        case 'TXT':
          if (gone) txt.delete(name);
          else txt.set(name, parseTxt(rr.data));
          return;
        case 'A': {
          if (typeof rr.data !== 'string') return;
          const list = (hosts.get(name) ?? []).filter((a) => a !== rr.data);
          if (!gone) list.push(rr.data);
          hosts.set(name, list);
          return;
        }
        default:
          return;
      }
    };

    const onResponse = (res: makeMdns.ResponsePacket, rinfo: dgram.RemoteInfo): void => {
      try {
        // RFC 6762 §11: only on-link responders; a socket bound to the group
        // also hears groups joined on other interfaces.
        if (settled || !sameSubnet(iface, rinfo.address)) return;
        for (const rr of [...(res.answers ?? []), ...(res.additionals ?? [])]) apply(rr as Answer);
        const { found, missing } = resolveInstances();
        if (found) {
          log('info', `discovery: found "${found.instance}" at ${found.apiUrl} (from ${rinfo.address})`);
          return finish(found);
        }
        // Ask at once for what a partial answer left out (RFC 6763 §12 lets responders omit additionals).
        if (missing.length && ready) sendQuery(missing);
      } catch (e) {
        log('warn', `discovery: response from ${rinfo.address} ignored: ${(e as Error).message}`);
      }
    };

    mdns.on('networkInterface', () => {
      joined = true;
    });
    mdns.on('warning', (e: Error) => {
      if ((e as NodeJS.ErrnoException).code) log('warn', `discovery socket: ${e.message}`);
    });
    mdns.on('error', (e: Error) => {
      if (!ready) finish(null, new Error(`discovery: cannot bind ${MDNS_GROUP}:${MDNS_PORT}: ${e.message}`));
      else log('error', `discovery socket: ${e.message}`);
    });
    mdns.on('response', onResponse);
    mdns.once('ready', () => {
      if (settled) return;
      // Checked before the first send: without the join nothing arrives, and
      // without IP_MULTICAST_IF the query would leave by the default route.
      if (!joined) return finish(null, new Error(`discovery: cannot join ${MDNS_GROUP} on ${iface.address}`));
      try {
        socket.setMulticastInterface(iface.address);
      } catch (e) {
        return finish(null, new Error(`discovery: cannot send multicast from ${iface.address}: ${(e as Error).message}`));
      }
      ready = true;
      queryLoop();
    });
  });
}
