/**
 * The lineup as the headend's API serves it (`GET /api/lineup`) and the STB
 * agent reads it: one document type, one validator, shared by both ends.
 * Pure: no I/O.
 */
import type { LineupConfig } from './config.js';
import { isIpv4Multicast, parseIpv4 } from './config.js';

export interface LineupChannel {
  number: number;
  name: string;
  group: string;
  tvgId: string | null;
  multicast: { group: string; port: number; source: string | null };
  transport: 'rtp' | 'udp';
  /** RTP SSRC of the channel (RFC 3550): the media source a RAMS-R names. Null for raw UDP. */
  ssrc: number | null;
  /** Where to send RAMS-R for this channel; null when the headend has no FCC for it. */
  fcc: { address: string; port: number } | null;
}

export interface LineupDocument {
  /** Changes whenever the headend restarts or its lineup changes: agents reload on a new value. */
  version: string;
  headend: { interface: string };
  channels: LineupChannel[];
}

export interface LineupRuntime {
  version: string;
  /** Channel number → SSRC. */
  ssrcs: ReadonlyMap<number, number>;
  /** Channel number → FCC port (the worker's), when FCC is on. */
  fccPorts: ReadonlyMap<number, number>;
}

/** The document for the enabled channels of `cfg`, sorted by number. */
export function lineupDocument(cfg: LineupConfig, rt: LineupRuntime): LineupDocument {
  const channels = cfg.channels
    .filter((c) => c.enabled)
    .sort((a, b) => a.number - b.number)
    .map((c): LineupChannel => {
      const ssrc = c.transport === 'rtp' ? rt.ssrcs.get(c.number) ?? null : null;
      const port = rt.fccPorts.get(c.number);
      return {
        number: c.number,
        name: c.name,
        group: c.group,
        tvgId: c.tvgId,
        multicast: { group: c.multicast.group, port: c.multicast.port, source: c.multicast.source },
        transport: c.transport,
        ssrc,
        fcc: ssrc !== null && port !== undefined ? { address: cfg.headend.interface, port } : null,
      };
    });
  return { version: rt.version, headend: { interface: cfg.headend.interface }, channels };
}

/**
 * Check a document that came over the network. Returns the problems (empty
 * when it is usable); never throws. The agent refuses a lineup with any.
 */
export function checkLineupDocument(doc: unknown): string[] {
  const problems: string[] = [];
  const o = doc as Partial<LineupDocument> | null;
  if (o === null || typeof o !== 'object') return ['the lineup is not a JSON object'];
  if (typeof o.version !== 'string' || o.version === '') problems.push('version: missing');
  if (!Array.isArray(o.channels)) return [...problems, 'channels: not a list'];
  const seen = new Set<number>();
  o.channels.forEach((c: Partial<LineupChannel> | null, i) => {
    const p = `channels[${i}]`;
    if (c === null || typeof c !== 'object') {
      problems.push(`${p}: not an object`);
      return;
    }
    if (!Number.isInteger(c.number) || (c.number as number) < 1) problems.push(`${p}.number: ${String(c.number)} is not a channel number`);
    else if (seen.has(c.number as number)) problems.push(`${p}.number: ${String(c.number)} twice`);
    else seen.add(c.number as number);
    if (typeof c.name !== 'string') problems.push(`${p}.name: missing`);
    const m = c.multicast;
    if (!m || !isIpv4Multicast(m.group)) problems.push(`${p}.multicast.group: not an IPv4 multicast address`);
    if (!m || !Number.isInteger(m.port) || m.port < 1 || m.port > 65535) problems.push(`${p}.multicast.port: not a port`);
    if (m && m.source !== null && m.source !== undefined && parseIpv4(m.source) < 0) problems.push(`${p}.multicast.source: not an IPv4 address`);
    if (c.transport !== 'rtp' && c.transport !== 'udp') problems.push(`${p}.transport: ${String(c.transport)} is not rtp or udp`);
    if (c.ssrc !== null && (!Number.isInteger(c.ssrc) || (c.ssrc as number) < 0 || (c.ssrc as number) > 0xffffffff)) problems.push(`${p}.ssrc: not a 32-bit SSRC`);
    const f = c.fcc;
    if (f !== null && f !== undefined && (parseIpv4(f.address) < 0 || !Number.isInteger(f.port) || f.port < 1 || f.port > 65535)) {
      problems.push(`${p}.fcc: not an address and port`);
    }
  });
  return problems;
}
