#!/usr/bin/env node
/**
 * roomcast-stb: the set-top-box agent, and the commands that talk to it.
 *
 *   roomcast-stb [run] [options]            run the agent (what the systemd unit starts)
 *   roomcast-stb zap <number|up|down|last>  zap the running agent, print the time to the first byte
 *   roomcast-stb status                     what the running agent is doing
 *   roomcast-stb channels                   the lineup as the agent has it
 *   roomcast-stb catchup <n> <time|programme>  play channel n from a past time or a programme
 *   roomcast-stb vod <asset>                play a film of the headend's library
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/lineup/config.js';
import { createLogger, isLogLevel } from '../headend/log.js';
import { Agent } from './agent.js';
import { DEFAULT_CONTROL_PORT, loadStbConfig, validateStbConfig } from './config.js';
import type { UnicastStatus } from './unicast.js';

const USAGE = `Usage:
  roomcast-stb [run] [options]            run the agent
  roomcast-stb zap <number|up|down|last>  zap the running agent
  roomcast-stb status                     the running agent's state
  roomcast-stb channels                   the lineup
  roomcast-stb catchup <n> <time|programme>
                                          channel n from a time (18:00, 2026-12-02T18:00Z, Unix
                                          seconds) or a programme (words of its title, programme:<id>);
                                          zap goes back to live
  roomcast-stb vod <asset>                a film of the headend's VOD library, by its id

Options for run:
  --config FILE        configuration (default /etc/roomcast/stb.yaml; every key documented there)
  --headend URL        the headend's API, e.g. http://10.20.0.1:8080/ (default: find it over mDNS)
  --interface ADDR     local IPv4 address on the IPTV network (default: the first non-loopback one)
  --control-port PORT  local control API and player output (default ${DEFAULT_CONTROL_PORT})
  --udp ADDR:PORT      also send the TS to this UDP destination
  --stdout             also write the TS to standard output (logs go to stderr)
  --no-fcc             no fast channel change: every zap waits for the next I-frame
  --no-gate            pass everything from the join (diagnostics; players see half GOPs)
  --state-file FILE    where the last channel is kept ('' for none)
  --log-level LEVEL    debug | info | warn | error (default info)
Options for zap/status/channels/catchup/vod:
  --control-port PORT  the running agent's port (default ${DEFAULT_CONTROL_PORT})
`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        headend: { type: 'string' },
        interface: { type: 'string' },
        'control-port': { type: 'string' },
        udp: { type: 'string' },
        stdout: { type: 'boolean', default: false },
        'no-fcc': { type: 'boolean', default: false },
        'no-gate': { type: 'boolean', default: false },
        'state-file': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const cmd = positionals[0] ?? 'run';
  const port = v['control-port'] !== undefined ? Number(v['control-port']) : null;
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    process.stderr.write(`--control-port: ${v['control-port']} is not a port number\n`);
    return 2;
  }
  if (cmd !== 'run') return client(cmd, positionals.slice(1), port ?? DEFAULT_CONTROL_PORT);

  const level = v['log-level'] ?? 'info';
  if (!isLogLevel(level)) {
    process.stderr.write(`--log-level: ${level} is not one of debug, info, warn, error\n`);
    return 2;
  }
  // With --stdout the TS owns stdout: logs go to stderr.
  const log = createLogger(level, (l) => (v.stdout ? process.stderr : process.stdout).write(l + '\n'));
  let cfg;
  try {
    const doc = (await loadStbConfig(v.config ?? null)) as Record<string, unknown>;
    const over: Record<string, unknown> = { ...doc };
    if (v.headend !== undefined) over.headend = v.headend;
    if (v.interface !== undefined) over.interface = v.interface;
    if (port !== null) over.control = { ...((doc.control as object) ?? {}), port };
    if (v.udp !== undefined || v.stdout) over.output = { ...((doc.output as object) ?? {}), ...(v.udp !== undefined ? { udp: v.udp } : {}), ...(v.stdout ? { stdout: true } : {}) };
    if (v['no-fcc']) over.fcc = { ...((doc.fcc as object) ?? {}), enabled: false };
    if (v['no-gate']) over.gate = false;
    if (v['state-file'] !== undefined) over.stateFile = v['state-file'] === '' ? null : v['state-file'];
    cfg = validateStbConfig(over, v.config ?? '/etc/roomcast/stb.yaml');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`roomcast-stb: refusing to start.\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const agent = new Agent(cfg, log);
  try {
    await agent.start();
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    await agent.stop().catch(() => undefined);
    return 1;
  }
  log.info(`roomcast-stb ${cfg.agentId} on ${cfg.interface}; headend ${cfg.headend ?? '(mDNS)'}; fast channel change ${cfg.fcc.enabled ? 'on' : 'off'}`);
  return new Promise<number>((resolve) => {
    const stop = (sig: string): void => {
      log.info(`${sig}: stopping`);
      void agent.stop().finally(() => resolve(0));
      setTimeout(() => resolve(0), 3000).unref();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** The commands that talk to a running agent on 127.0.0.1. */
async function client(cmd: string, args: string[], port: number): Promise<number> {
  const base = `http://127.0.0.1:${port}/`;
  const call = async (path: string, init?: RequestInit): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Error(`no agent answers on ${base} (${(err as Error).message}); is roomcast-stb running?`);
    }
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
    return body;
  };
  try {
    switch (cmd) {
      case 'zap': {
        const t = args[0];
        if (t === undefined || !/^(\d{1,4}|up|down|last)$/.test(t)) {
          process.stderr.write(`zap: give a channel number, up, down or last\n`);
          return 2;
        }
        const r = (await call('api/zap', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel: /^\d+$/.test(t) ? Number(t) : t, wait: true }),
        })) as { channel: number; name: string; zap: { firstByteMs: number | null; viaBurst: boolean; fallback: string | null } | null };
        const z = r.zap;
        process.stdout.write(
          `channel ${r.channel} ${r.name}: ${z && z.firstByteMs !== null ? `first byte to the player after ${z.firstByteMs} ms via ${z.viaBurst ? 'FCC burst' : `multicast${z.fallback ? ` (${z.fallback})` : ''}`}` : 'tuned; no picture yet'}\n`,
        );
        return 0;
      }
      case 'catchup': {
        const n = args[0];
        const what = args.slice(1).join(' ');
        if (n === undefined || !/^\d{1,4}$/.test(n) || what === '') {
          process.stderr.write(`catchup: give a channel number and a time (18:00, an ISO date-time, Unix seconds) or a programme (words of its title, programme:<id>)\n`);
          return 2;
        }
        const r = (await call('api/catchup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: Number(n), at: what }) })) as { playing: UnicastStatus };
        process.stdout.write(`playing ${r.playing.label}: ${r.playing.durationS} s so far (${r.playing.playlistType === 'EVENT' ? 'still on the air: it grows' : 'complete'}); zap to go back to live\n`);
        return 0;
      }
      case 'vod': {
        const asset = args[0];
        if (asset === undefined) {
          process.stderr.write(`vod: give an asset id (as in /vod/<id>/index.m3u8 on the headend)\n`);
          return 2;
        }
        const r = (await call('api/vod', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ asset }) })) as { playing: UnicastStatus };
        process.stdout.write(`playing ${r.playing.label}: ${r.playing.durationS} s; zap to go back to live\n`);
        return 0;
      }
      case 'status':
        process.stdout.write(JSON.stringify(await call('api/status'), null, 2) + '\n');
        return 0;
      case 'channels': {
        type Item = { title: string; start: string; stop: string } | null;
        const r = (await call('api/channels')) as { current: number | null; channels: { number: number; name: string; group: string; now: Item; next: Item }[] };
        const hm = (iso: string): string => new Date(iso).toTimeString().slice(0, 5);
        for (const c of r.channels) {
          const guide = [c.now ? `now: ${c.now.title} (${hm(c.now.start)}–${hm(c.now.stop)})` : '', c.next ? `next: ${c.next.title} (${hm(c.next.start)})` : ''].filter(Boolean).join('; ');
          process.stdout.write(`${c.number === r.current ? '*' : ' '} ${String(c.number).padStart(4)}  ${c.name}  [${c.group}]${guide ? `  ${guide}` : ''}\n`);
        }
        return 0;
      }
      default:
        process.stderr.write(`unknown command ${cmd}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`roomcast-stb ${cmd}: ${(err as Error).message}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`roomcast-stb: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
