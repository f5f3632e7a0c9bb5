/**
 * The agent's configuration: /etc/roomcast/stb.yaml (every key documented in
 * stb-agent/packaging/stb.yaml), then command-line overrides. Validated the
 * way channels.yaml is: every problem listed with its path, nothing started.
 */
import { readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { Checker, ConfigError, parseIpv4 } from '../core/lineup/config.js';
import { parseYamlText } from '../core/lineup/yaml.js';

export const DEFAULT_CONFIG_FILE = '/etc/roomcast/stb.yaml';
export const DEFAULT_CONTROL_PORT = 8090;
export const DEFAULT_STATE_FILE = '/var/lib/roomcast/stb-state.json';

export interface StbConfig {
  /** The headend's API URL; null: discover it over mDNS. */
  headend: string | null;
  /** Local IPv4 address facing the IPTV network (joins, RAMS-R, mDNS). */
  interface: string;
  agentId: string;
  label: string | null;
  /** `last`, `first`, or a channel number. */
  startChannel: 'last' | 'first' | number;
  stateFile: string | null;
  control: { address: string; port: number };
  output: { http: boolean; udp: { address: string; port: number } | null; stdout: boolean };
  fcc: { enabled: boolean; timeoutMs: number };
  gate: boolean;
  reportIntervalS: number;
  /** The headend's headend.fleetKey, sent with every report; null: none. */
  fleetKey: string | null;
  lineupRefreshS: number;
  remote: { device: string | null; digitTimeoutMs: number };
}

const KEYS = ['headend', 'interface', 'agentId', 'label', 'startChannel', 'stateFile', 'control', 'output', 'fcc', 'gate', 'report', 'lineupRefreshS', 'remote'] as const;

/** The first non-internal IPv4 address of this machine, else loopback. */
export function defaultInterface(ifaces = networkInterfaces()): string {
  for (const list of Object.values(ifaces)) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

export function validateStbConfig(doc: unknown, file = 'stb.yaml', ifaces = networkInterfaces()): StbConfig {
  const c = new Checker();
  const o = doc === null || doc === undefined ? {} : c.obj(doc, '(document)') ?? {};
  c.keys(o, '', KEYS);
  const headend = c.str(o, 'headend', '', null);
  if (headend !== null && !/^https?:\/\/[^/\s]+/.test(headend)) c.fail('headend', `${JSON.stringify(headend)} is not an http:// or https:// URL`);
  const iface = c.ipv4(o, 'interface', '', null) ?? defaultInterface(ifaces);
  const local = Object.values(ifaces).flatMap((l) => l ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
  if (!local.includes(iface)) c.fail('interface', `${iface} is not an address of this machine (it has ${local.join(', ')})`);
  let startChannel: StbConfig['startChannel'] = 'last';
  const sc = o.startChannel;
  if (sc === 'last' || sc === 'first') startChannel = sc;
  else if (typeof sc === 'number' && Number.isInteger(sc) && sc >= 1 && sc <= 9999) startChannel = sc;
  else if (sc !== undefined && sc !== null) c.fail('startChannel', `${JSON.stringify(sc)} is not last, first or a channel number`);
  const ctl = o.control === undefined || o.control === null ? {} : c.obj(o.control, 'control') ?? {};
  c.keys(ctl, 'control', ['address', 'port']);
  const out = o.output === undefined || o.output === null ? {} : c.obj(o.output, 'output') ?? {};
  c.keys(out, 'output', ['http', 'udp', 'stdout']);
  let udp: StbConfig['output']['udp'] = null;
  const u = c.str(out, 'udp', 'output', null);
  if (u !== null) {
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(u);
    if (!m || parseIpv4(m[1]) < 0 || Number(m[2]) < 1 || Number(m[2]) > 65535) c.fail('output.udp', `${JSON.stringify(u)} is not address:port`);
    else udp = { address: m[1], port: Number(m[2]) };
  }
  const fcc = o.fcc === undefined || o.fcc === null ? {} : c.obj(o.fcc, 'fcc') ?? {};
  c.keys(fcc, 'fcc', ['enabled', 'timeoutMs']);
  const report = o.report === undefined || o.report === null ? {} : c.obj(o.report, 'report') ?? {};
  c.keys(report, 'report', ['intervalS', 'fleetKey']);
  const remote = o.remote === undefined || o.remote === null ? {} : c.obj(o.remote, 'remote') ?? {};
  c.keys(remote, 'remote', ['device', 'digitTimeoutMs']);
  const agentId = c.str(o, 'agentId', '', null) ?? hostname();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(agentId)) c.fail('agentId', `${JSON.stringify(agentId)} must be 1–64 letters, digits or . _ : -`);
  const cfg: StbConfig = {
    headend: headend === null ? null : headend.replace(/\/+$/, '') + '/',
    interface: iface,
    agentId,
    label: c.str(o, 'label', '', null),
    startChannel,
    // An explicit null (or --state-file '') means no state file at all, not the default.
    stateFile: 'stateFile' in o && (o.stateFile === null || o.stateFile === '') ? null : c.str(o, 'stateFile', '', DEFAULT_STATE_FILE),
    control: { address: c.ipv4(ctl, 'address', 'control', '127.0.0.1') ?? '127.0.0.1', port: c.int(ctl, 'port', 'control', 1, 65535, DEFAULT_CONTROL_PORT) ?? DEFAULT_CONTROL_PORT },
    output: { http: c.bool(out, 'http', 'output', true), udp, stdout: c.bool(out, 'stdout', 'output', false) },
    fcc: { enabled: c.bool(fcc, 'enabled', 'fcc', true), timeoutMs: c.int(fcc, 'timeoutMs', 'fcc', 10, 5000, 80) ?? 80 },
    gate: c.bool(o, 'gate', '', true),
    reportIntervalS: c.int(report, 'intervalS', 'report', 0, 3600, 5) ?? 5,
    fleetKey: c.str(report, 'fleetKey', 'report', null),
    lineupRefreshS: c.int(o, 'lineupRefreshS', '', 1, 3600, 10) ?? 10,
    remote: { device: c.str(remote, 'device', 'remote', null), digitTimeoutMs: c.int(remote, 'digitTimeoutMs', 'remote', 200, 10_000, 1500) ?? 1500 },
  };
  if (c.problems.length > 0) throw new ConfigError(c.problems, file);
  return cfg;
}

/** Read the YAML file; a missing file at the default path is an empty configuration (all defaults). */
export async function loadStbConfig(file: string | null): Promise<unknown> {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (file === null && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError([`cannot read the file: ${(err as Error).message}`], path);
  }
  return parseYamlText(text, path) ?? {};
}
