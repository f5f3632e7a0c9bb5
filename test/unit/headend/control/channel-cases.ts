/**
 * One table, two uses (STYLE.md §7): every field of a channel document made
 * wrong once. The API test posts each and expects core/lineup's problem at
 * `path`; the schema test expects the published JSON schema to refuse the
 * same document, except where `schema: false` marks a rule only the
 * validator can check (cross-field rules, byte lengths).
 */

export const SOURCE_BASES: Record<string, Record<string, unknown>> = {
  ffmpeg: { type: 'ffmpeg', url: 'testsrc2=size=640x360:rate=25', format: 'lavfi' },
  udp: { type: 'udp', address: '239.1.1.50', port: 6050 },
  rtp: { type: 'rtp', address: '239.1.1.50', port: 6050 },
  file: { type: 'file', path: '/srv/loop.ts' },
  srt: { type: 'srt', mode: 'listener', port: 9050 },
};

/** A valid new channel (number 50) with the given source type. */
export function baseChannel(source = 'udp'): Record<string, unknown> {
  return {
    number: 50,
    name: 'Test channel',
    group: 'Tests',
    multicast: { group: '239.255.50.1', port: 5100 },
    source: structuredClone(SOURCE_BASES[source]),
  };
}

/** Sets (or with undefined, deletes) a dotted path in a document. */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let o = doc;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === undefined || o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
  return doc;
}

export interface ChannelCase {
  /** The field made wrong (dotted, in the document). */
  field: string;
  value: unknown;
  /** The source type of the base document. Default udp. */
  source?: string;
  /** The problem path the validator reports. */
  path: string;
  /** Whether the JSON schema can refuse it too. Default true. */
  schema?: boolean;
}

const DELETE = undefined;

export const CHANNEL_CASES: ChannelCase[] = [
  { field: 'number', value: 0, path: 'channel.number' },
  { field: 'number', value: 'fifty', path: 'channel.number' },
  { field: 'number', value: DELETE, path: 'channel.number' },
  { field: 'name', value: '', path: 'channel.name' },
  { field: 'name', value: DELETE, path: 'channel.name' },
  { field: 'group', value: 5, path: 'channel.group' },
  { field: 'tvgId', value: '', path: 'channel.tvgId' },
  { field: 'enabled', value: 'yes', path: 'channel.enabled' },
  { field: 'multicast', value: DELETE, path: 'channel.multicast' },
  { field: 'multicast', value: 'a string', path: 'channel.multicast' },
  { field: 'multicast.group', value: '10.0.0.1', path: 'channel.multicast.group' },
  { field: 'multicast.group', value: '224.0.0.5', path: 'channel.multicast.group' },
  { field: 'multicast.group', value: '239.1.1.300', path: 'channel.multicast.group' },
  { field: 'multicast.port', value: 80, path: 'channel.multicast.port' },
  { field: 'multicast.port', value: 5101, path: 'channel.multicast.port', schema: false },
  { field: 'multicast.source', value: 'nope', path: 'channel.multicast.source' },
  { field: 'multicast.source', value: '10.9.9.9', path: 'channel.multicast.source', schema: false },
  { field: 'multicast.ttl', value: 4, path: 'channel.multicast.ttl' },
  { field: 'transport', value: 'tcp', path: 'channel.transport' },
  { field: 'cbrBitrateKbps', value: 10, path: 'channel.cbrBitrateKbps' },
  { field: 'source', value: DELETE, path: 'channel.source' },
  { field: 'inputs', value: [{ type: 'file', path: '/a.ts' }], path: 'channel' },
  { field: 'failover.switchAfterMs', value: 10, path: 'channel.failover.switchAfterMs' },
  { field: 'failover.rapWaitMs', value: -1, path: 'channel.failover.rapWaitMs' },
  { field: 'failover.returnAfterS', value: 1_000_000, path: 'channel.failover.returnAfterS' },
  { field: 'failover.backups', value: 'warm', path: 'channel.failover.backups' },
  { field: 'failover.minBitrateKbps', value: 0, path: 'channel.failover.minBitrateKbps' },
  { field: 'failover.maxCcErrorsPerS', value: -1, path: 'channel.failover.maxCcErrorsPerS' },
  { field: 'failover.maxPcrJumpsPerS', value: 5000, path: 'channel.failover.maxPcrJumpsPerS' },
  { field: 'failover.slateAfterMs', value: 50, path: 'channel.failover.slateAfterMs' },
  { field: 'failover.sometimes', value: 1, path: 'channel.failover.sometimes' },
  { field: 'slate', value: 'no', path: 'channel.slate' },
  { field: 'colour', value: 'red', path: 'channel.colour' },
  // Sources: common keys
  { field: 'source.type', value: 'http', path: 'channel.source.type' },
  { field: 'source.stallMs', value: 5, path: 'channel.source.stallMs' },
  // ffmpeg
  { source: 'ffmpeg', field: 'source.url', value: DELETE, path: 'channel.source.url' },
  { source: 'ffmpeg', field: 'source.format', value: '', path: 'channel.source.format' },
  { source: 'ffmpeg', field: 'source.inputOptions', value: '-re', path: 'channel.source.inputOptions' },
  { source: 'ffmpeg', field: 'source.realtime', value: 'y', path: 'channel.source.realtime' },
  { source: 'ffmpeg', field: 'source.profile', value: '4k', path: 'channel.source.profile' },
  { source: 'ffmpeg', field: 'source.gopS', value: 20, path: 'channel.source.gopS' },
  { source: 'ffmpeg', field: 'source.videoBitrateKbps', value: 50, path: 'channel.source.videoBitrateKbps' },
  { source: 'ffmpeg', field: 'source.muxrateKbps', value: 100, path: 'channel.source.muxrateKbps' },
  // udp / rtp
  { field: 'source.address', value: '1.2.3', path: 'channel.source.address' },
  { field: 'source.port', value: 0, path: 'channel.source.port' },
  { field: 'source.source', value: 'x', path: 'channel.source.source' },
  { field: 'source.address', value: '10.1.1.1', path: 'channel.source.source', schema: false, source: 'udp-ssm' },
  { field: 'source.interface', value: 'eth0', path: 'channel.source.interface' },
  { field: 'source.reorderWindow', value: 32, path: 'channel.source.reorderWindow' },
  { source: 'rtp', field: 'source.reorderWindow', value: 0, path: 'channel.source.reorderWindow' },
  // file
  { source: 'file', field: 'source.path', value: '', path: 'channel.source.path' },
  // srt
  { source: 'srt', field: 'source.mode', value: 'rendezvous', path: 'channel.source.mode' },
  { source: 'srt', field: 'source.mode', value: 'caller', path: 'channel.source.address', schema: false },
  { source: 'srt', field: 'source.address', value: 'x', path: 'channel.source.address' },
  { source: 'srt', field: 'source.port', value: 70_000, path: 'channel.source.port' },
  { source: 'srt', field: 'source.latencyMs', value: 5, path: 'channel.source.latencyMs' },
  { source: 'srt', field: 'source.streamId', value: 's'.repeat(513), path: 'channel.source.streamId' },
  { source: 'srt', field: 'source.passphrase', value: 'short', path: 'channel.source.passphrase' },
  { source: 'srt', field: 'source.passphrase', value: 'é'.repeat(41), path: 'channel.source.passphrase', schema: false },
  { source: 'srt', field: 'source.pbkeylen', value: 20, path: 'channel.source.pbkeylen' },
  { source: 'srt', field: 'source.url', value: 'srt://x', path: 'channel.source.url' },
];

/** The document of a case. */
export function caseDocument(c: ChannelCase): Record<string, unknown> {
  const ssm = c.source === 'udp-ssm';
  const doc = baseChannel(ssm ? 'udp' : c.source ?? 'udp');
  if (ssm) setPath(doc, 'source.source', '10.0.0.7');
  if (c.field === 'inputs') setPath(doc, 'inputs', c.value);
  else setPath(doc, c.field, c.value);
  return doc;
}
