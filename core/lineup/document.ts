/**
 * A ChannelConfig back as the channels.yaml document it came from (the keys
 * a person writes: `source.source` for an SSM sender, `pbkeylen`, …), for the
 * admin API's bodies and the YAML export; the inverse of validateLineup's
 * channel check: `validateChannel(channelDocument(ch))` gives `ch` again.
 *
 * Secrets: an SRT passphrase leaves the headend only as SECRET_PLACEHOLDER
 * unless the caller asks for it; a document that comes back with the
 * placeholder keeps the stored passphrase (restoreSecrets), so a channel read,
 * edited and saved, or a lineup exported and imported, loses nothing.
 *
 * Pure: no I/O.
 */
import { stringify } from 'yaml';
import type { ChannelConfig, ChannelSource, FailoverConfig } from './config.js';

/** Stands for a stored secret in every output; sent back, it means "keep the stored one". */
export const SECRET_PLACEHOLDER = '***';

export type SecretsMode = 'mask' | 'include';

export type ChannelDocument = Record<string, unknown>;

/** One source as channels.yaml writes it. Null values are kept (the API shows them; lineupYaml drops them). */
export function sourceDocument(s: ChannelSource, secrets: SecretsMode): Record<string, unknown> {
  switch (s.type) {
    case 'ffmpeg':
      return {
        type: s.type,
        url: s.url,
        format: s.format,
        inputOptions: [...s.inputOptions],
        realtime: s.realtime,
        profile: s.profile,
        gopS: s.gopS,
        videoBitrateKbps: s.videoBitrateKbps,
        muxrateKbps: s.muxrateKbps,
        stallMs: s.stallMs,
      };
    case 'udp':
    case 'rtp': {
      const d: Record<string, unknown> = {
        type: s.type,
        address: s.address,
        port: s.port,
        source: s.sourceAddress,
        interface: s.interface,
      };
      // reorderWindow is an RTP key only (a udp source refuses it).
      if (s.type === 'rtp') d.reorderWindow = s.reorderWindow;
      d.stallMs = s.stallMs;
      return d;
    }
    case 'file':
      return { type: s.type, path: s.path, stallMs: s.stallMs };
    case 'srt':
      return {
        type: s.type,
        mode: s.mode,
        address: s.address,
        port: s.port,
        latencyMs: s.latencyMs,
        streamId: s.streamId,
        passphrase: s.passphrase === null ? null : secrets === 'include' ? s.passphrase : SECRET_PLACEHOLDER,
        pbkeylen: s.keyLength,
        stallMs: s.stallMs,
      };
  }
}

function failoverDocument(f: FailoverConfig): Record<string, unknown> {
  return { ...f };
}

/**
 * The channels.yaml mapping of a channel: `source` for one input, `inputs`
 * for a primary and its backups. Every value is explicit (the defaults the
 * validator filled in included), so the document means the same on any headend.
 */
export function channelDocument(ch: ChannelConfig, secrets: SecretsMode = 'mask'): ChannelDocument {
  const d: ChannelDocument = {
    number: ch.number,
    name: ch.name,
    group: ch.group,
    tvgId: ch.tvgId,
    enabled: ch.enabled,
    multicast: { group: ch.multicast.group, port: ch.multicast.port, source: ch.multicast.source },
    transport: ch.transport,
    cbrBitrateKbps: ch.cbrBitrateKbps,
  };
  if (ch.inputs.length === 1) d.source = sourceDocument(ch.inputs[0], secrets);
  else d.inputs = ch.inputs.map((s) => sourceDocument(s, secrets));
  d.failover = failoverDocument(ch.failover);
  d.slate = ch.slate;
  d.catchupDays = ch.catchupDays ?? 0;
  return d;
}

/** A copy without the keys whose value is null (YAML: absent means default). */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

/**
 * channels.yaml text of a lineup (channels only: the `headend:` settings are
 * the headend's own --config file's). `header`: comment lines put on top.
 */
export function lineupYaml(channels: readonly ChannelConfig[], secrets: SecretsMode, header: readonly string[] = []): string {
  const body = stringify({ channels: channels.map((c) => dropNulls(channelDocument(c, secrets))) }, { lineWidth: 0 });
  return header.map((l) => `# ${l}`.trimEnd() + '\n').join('') + body;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Put the stored passphrases back where a document carries the placeholder.
 * Each placeholder takes the passphrase of the stored SRT input that is the
 * same input (same mode, port and stream id), else of the stored input at the
 * same position if that is SRT with a passphrase; a placeholder with neither
 * is a problem (`channel.inputs[1].passphrase: …`), never a silent loss.
 *
 * Returns a copy of `doc` (the original is not changed) and the problems.
 */
export function restoreSecrets(doc: unknown, stored: ChannelConfig | null, path: string): { doc: unknown; problems: string[] } {
  if (!isObj(doc)) return { doc, problems: [] };
  const problems: string[] = [];
  const out: Obj = { ...doc };
  const restore = (raw: unknown, index: number, p: string): unknown => {
    if (!isObj(raw) || raw.passphrase !== SECRET_PLACEHOLDER) return raw;
    const candidates = (stored?.inputs ?? []).map((s, i) => ({ s, i })).filter((x) => x.s.type === 'srt' && x.s.passphrase !== null);
    const same = (s: ChannelSource): boolean =>
      s.type === 'srt' &&
      s.mode === (raw.mode ?? 'listener') &&
      s.port === raw.port &&
      (s.streamId ?? null) === (raw.streamId ?? null);
    const hit = candidates.find((x) => same(x.s)) ?? candidates.find((x) => x.i === index);
    if (!hit || hit.s.type !== 'srt') {
      problems.push(
        `${p}.passphrase: ${JSON.stringify(SECRET_PLACEHOLDER)} stands for the stored passphrase, and ` +
          (stored ? `channel ${stored.number} has none for this input` : 'there is no stored channel to take it from') +
          '; send the passphrase itself',
      );
      return raw;
    }
    return { ...raw, passphrase: hit.s.passphrase };
  };
  if (out.source !== undefined) out.source = restore(out.source, 0, `${path}.source`);
  if (Array.isArray(out.inputs)) out.inputs = out.inputs.map((s, i) => restore(s, i, `${path}.inputs[${i}]`));
  return { doc: out, problems };
}

// ---------------------------------------------------------------------------
// The JSON schema of a channel document, for forms (GET /api/schema/channel)
// and for the API's output schemas (nothing outside it is serialised).
//
// It states the keys, types, ranges and defaults of core/lineup/config.ts's
// checks; the validator stays the authority (cross-field rules: an even port
// for RTP, an SSM source equal to headend.interface, a caller's address,
// collisions with other channels). test/unit/core/lineup/document.test.ts
// runs the same table of cases through both.

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const NONZERO_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[1-9])';
const IPV4 = `^${OCTET}(\\.${OCTET}){3}$`;
/** 224.0.0.0/4 less 224.0.0.0/24, the link-local control block (RFC 5771 §4). */
const IPV4_MULTICAST = `^(22[5-9]|23[0-9])(\\.${OCTET}){3}$|^224\\.${NONZERO_OCTET}(\\.${OCTET}){2}$|^224\\.0\\.${NONZERO_OCTET}\\.${OCTET}$`;
const NON_EMPTY = '\\S';

const str = (description: string) => ({ type: 'string', minLength: 1, pattern: NON_EMPTY, description }) as const;
const nstr = (description: string) => ({ type: ['string', 'null'], minLength: 1, pattern: NON_EMPTY, description }) as const;
const int = (minimum: number, maximum: number, description: string, def?: number) =>
  ({ type: 'integer', minimum, maximum, description, ...(def === undefined ? {} : { default: def }) }) as const;
const nint = (minimum: number, maximum: number, description: string) => ({ type: ['integer', 'null'], minimum, maximum, description }) as const;
const ipv4 = (description: string) => ({ type: 'string', pattern: IPV4, description }) as const;
const nipv4 = (description: string) => ({ type: ['string', 'null'], pattern: IPV4, description }) as const;

const stallMs = int(100, 600_000, 'No input for this long (ms) → the attempt is restarted.', 3000);

const SOURCE_SCHEMAS = {
  ffmpeg: {
    required: ['type', 'url'],
    properties: {
      type: { const: 'ffmpeg' },
      url: str('What ffmpeg reads: a URL, a file path, or a lavfi graph with format: lavfi.'),
      format: nstr('Forces the input format (-f), e.g. lavfi.'),
      inputOptions: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] }, description: 'Extra ffmpeg options before -i (argv, no shell).' },
      realtime: { type: 'boolean', description: 'Read at the native frame rate (-re). Default: true for lavfi and files.' },
      profile: { enum: ['copy', 'sd', 'hd'], default: 'sd', description: 'sd: 640x360 1.62 Mbps CBR; hd: 1280x720 5.16 Mbps CBR; copy: remux only.' },
      gopS: { type: 'number', minimum: 0.2, maximum: 10, default: 1, description: 'Seconds between keyframes (fixed GOP).' },
      videoBitrateKbps: nint(100, 100_000, "Overrides the profile's video bitrate."),
      muxrateKbps: nint(200, 120_000, "Overrides the profile's CBR mux rate."),
      stallMs,
    },
  },
  udp: {
    required: ['type', 'address', 'port'],
    properties: {
      type: { const: 'udp' },
      address: ipv4('Multicast group or local unicast address to listen on.'),
      port: int(1, 65535, 'UDP port.'),
      source: nipv4('SSM sender (IGMPv3 source filter); needs a multicast address.'),
      interface: nipv4('Local interface address to join on. Default: headend.interface.'),
      stallMs,
    },
  },
  rtp: {
    required: ['type', 'address', 'port'],
    properties: {
      type: { const: 'rtp' },
      address: ipv4('Multicast group or local unicast address to listen on.'),
      port: int(1, 65535, 'UDP port.'),
      source: nipv4('SSM sender (IGMPv3 source filter); needs a multicast address.'),
      interface: nipv4('Local interface address to join on. Default: headend.interface.'),
      reorderWindow: int(1, 1024, 'RTP datagrams held to undo reordering.', 32),
      stallMs,
    },
  },
  file: {
    required: ['type', 'path'],
    properties: {
      type: { const: 'file' },
      path: str('A .ts file, looped forever with continuous timestamps.'),
      stallMs,
    },
  },
  srt: {
    required: ['type', 'port'],
    properties: {
      type: { const: 'srt' },
      mode: { enum: ['listener', 'caller'], default: 'listener', description: 'listener: the encoder calls us; caller: we call the listener at address:port.' },
      address: nipv4('listener: local address (default headend.interface); caller: the listener to call (required).'),
      port: int(1, 65535, 'UDP port.'),
      latencyMs: int(20, 8000, 'TSBPD latency, at least 3 × the round trip to the encoder.', 120),
      streamId: { type: ['string', 'null'], minLength: 1, maxLength: 512, pattern: NON_EMPTY, description: 'SRT stream id (at most 512 bytes).' },
      passphrase: {
        anyOf: [{ type: 'null' }, { const: SECRET_PLACEHOLDER }, { type: 'string', minLength: 10, maxLength: 80 }],
        description: `AES passphrase, 10 to 80 bytes; shown as ${JSON.stringify(SECRET_PLACEHOLDER)}, and ${JSON.stringify(SECRET_PLACEHOLDER)} sent back keeps the stored one.`,
      },
      pbkeylen: { enum: [16, 24, 32], default: 16, description: 'Caller mode: AES key length in bytes.' },
      stallMs,
    },
  },
} as const;

function sourceSchema(type: keyof typeof SOURCE_SCHEMAS): Record<string, unknown> {
  const s = SOURCE_SCHEMAS[type];
  return { type: 'object', additionalProperties: false, required: [...s.required], properties: s.properties };
}

const FAILOVER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'How inputs take over from each other and when the slate goes on.',
  properties: {
    switchAfterMs: int(50, 10_000, 'The input on the air silent this long → the next healthy one.', 300),
    rapWaitMs: int(0, 5000, "At a switch, wait this long at most for the new input's I-frame.", 200),
    returnAfterS: int(0, 86_400, 'Back to the primary once it has worked this long.', 30),
    backups: { enum: ['hot', 'cold'], default: 'hot', description: 'hot: backups run all the time; cold: started when needed.' },
    minBitrateKbps: nint(1, 1_000_000, 'An input below this rate is unhealthy; null: no floor.'),
    maxCcErrorsPerS: int(0, 100_000, 'More CC errors than this in a second: unhealthy.', 50),
    maxPcrJumpsPerS: int(0, 1000, 'More PCR jumps than this in a second: unhealthy.', 1),
    slateAfterMs: int(100, 60_000, 'No input healthy this long → the slate.', 700),
  },
} as const;

const SOURCE_TYPES = Object.keys(SOURCE_SCHEMAS) as (keyof typeof SOURCE_SCHEMAS)[];

function channelSchema(source: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['number', 'name', 'multicast'],
    properties: {
      number: int(1, 9999, 'Channel number on the remote; unique.'),
      name: str('Shown in the guide and the player (M3U tvg-name, SDP s=).'),
      group: { ...str('Guide group, M3U group-title.'), default: 'General' },
      tvgId: nstr('XMLTV id for the EPG (M3U tvg-id).'),
      enabled: { type: 'boolean', default: true, description: 'false keeps the channel in the lineup but off the air.' },
      multicast: {
        type: 'object',
        additionalProperties: false,
        required: ['group', 'port'],
        properties: {
          group: { type: 'string', pattern: IPV4_MULTICAST, description: 'IPv4 multicast group, not 224.0.0.0/24; unique with the port.' },
          port: int(1024, 65535, 'Even for RTP (RFC 3550 §11).'),
          source: nipv4('Sender address for SSM receivers: must be headend.interface.'),
        },
      },
      transport: { enum: ['rtp', 'udp'], default: 'rtp', description: 'rtp, or bare MPEG-TS in UDP for TVs that cannot read RTP.' },
      cbrBitrateKbps: nint(200, 120_000, 'Pad with null packets to this constant rate.'),
      source: source,
      inputs: { type: 'array', minItems: 1, maxItems: 8, items: source, description: 'Instead of source: the primary first, then backups.' },
      failover: FAILOVER_SCHEMA,
      slate: { type: 'boolean', default: true, description: 'Send a "temporarily unavailable" picture while no input works.' },
      catchupDays: int(0, 30, 'Days of HLS kept for catch-up (headend.hls enabled); 0: the live window only.', 0),
    },
  };
}

/**
 * JSON schema (draft-07) of a channel document as the API accepts it and
 * channels.yaml writes it: `source` (one input) or `inputs`, not both.
 */
export const channelDocumentSchema: Readonly<Record<string, unknown>> = Object.freeze({
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Roomcast channel',
  ...channelSchema({ oneOf: SOURCE_TYPES.map(sourceSchema) }),
  oneOf: [{ required: ['source'], not: { required: ['inputs'] } }, { required: ['inputs'], not: { required: ['source'] } }],
});

/**
 * The same document for serialising responses: one source shape with the
 * keys of every type (fast-json-stringify picks no branch per item), and no
 * value constraints, only the keys and their types. The passphrase is a plain
 * string here: what fills it (SECRET_PLACEHOLDER or, for an admin's export,
 * the secret) is channelDocument's choice.
 */
export const channelOutputSchema: Readonly<Record<string, unknown>> = (() => {
  const properties: Record<string, unknown> = {};
  for (const t of SOURCE_TYPES) {
    for (const [k, v] of Object.entries(SOURCE_SCHEMAS[t].properties)) {
      if (k === 'type') properties.type = { type: 'string' };
      else if (k === 'passphrase') properties.passphrase = { type: ['string', 'null'] };
      else if (k === 'profile' || k === 'mode' || k === 'backups') properties[k] = { type: 'string' };
      else if (k === 'pbkeylen') properties[k] = { type: 'integer' };
      else properties[k] = { type: (v as { type: unknown }).type };
    }
  }
  properties.inputOptions = { type: 'array', items: { type: 'string' } };
  const source = { type: 'object', properties };
  const strip = (s: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { type: s.type };
    if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties as Record<string, Record<string, unknown>>).map(([k, v]) => [k, strip(v)]));
    if (s.items) out.items = strip(s.items as Record<string, unknown>);
    if (s.enum) out.type = typeof (s.enum as unknown[])[0] === 'number' ? 'integer' : 'string';
    return out;
  };
  const ch = channelSchema(source);
  const props = ch.properties as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = { type: 'object', properties: {} as Record<string, unknown> };
  for (const [k, v] of Object.entries(props)) {
    (out.properties as Record<string, unknown>)[k] = k === 'source' ? source : k === 'inputs' ? { type: 'array', items: source } : strip(v);
  }
  return Object.freeze(out);
})();
