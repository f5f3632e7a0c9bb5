/**
 * The headend's mDNS advertiser and the STB's discovery as small programs to
 * run inside network namespaces (a socket belongs to the namespace of the
 * process that made it), started like mcast-receiver.ts with the test's own
 * TypeScript loader (`tsNodeArgv` in netlab.ts), so no build step is needed:
 *
 *     net.spawn(net.he, tsNodeArgv(MDNS_CLI_PATH, advertiseArgs({...})), { env: childEnv() })
 *     net.exec(net.stbs[0], tsNodeArgv(MDNS_CLI_PATH, discoverArgs({...})), { env: childEnv() })
 *
 * `advertise` prints `{"event":"ready"}` once the first announcement is sent,
 * runs until SIGTERM/SIGINT, stdin (when a pipe) closing, or `--duration-ms`, then sends the
 * goodbye, prints `{"event":"closed"}` and exits 0.
 *
 * `discover` prints one JSON line, {@link DiscoverCliResult}, and exits 0
 * (also when nothing was found: `result` is null).
 *
 * Bad arguments or a failed start exit 2 with the reason on stderr.
 */

import { fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { advertiseHeadend } from '../../headend/control/mdns.js';
import { discoverHeadend, type DiscoveredHeadend } from '../../stb-agent/discovery.js';

export const MDNS_CLI_PATH = fileURLToPath(import.meta.url);

/** Hard bound on an advertiser left running by a broken test. */
const MAX_ADVERTISE_MS = 120_000;

export interface DiscoverCliResult {
  result: DiscoveredHeadend | null;
  /** From calling discoverHeadend() to its result (process start-up not included), ms. */
  elapsedMs: number;
}

export function advertiseArgs(o: { iface: string; name: string; port: number; api: string; hostname?: string; durationMs?: number }): string[] {
  const a = ['advertise', '--iface', o.iface, '--name', o.name, '--port', String(o.port), '--api', o.api];
  if (o.hostname) a.push('--hostname', o.hostname);
  a.push('--duration-ms', String(o.durationMs ?? MAX_ADVERTISE_MS));
  return a;
}

export function discoverArgs(o: { iface: string; timeoutMs: number }): string[] {
  return ['discover', '--iface', o.iface, '--timeout-ms', String(o.timeoutMs)];
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function num(argv: string[], name: string, max: number): number {
  const v = arg(argv, name);
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0 || n > max) throw new Error(`${name}: ${v} is not a number in 0..${max}`);
  return n;
}

const stderrLog = (level: string, msg: string): void => {
  process.stderr.write(`${level} ${msg}\n`);
};

function isPipe(fd: number): boolean {
  try {
    return fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

async function advertise(argv: string[]): Promise<void> {
  const stdinIsPipe = isPipe(0);
  const iface = arg(argv, '--iface');
  const name = arg(argv, '--name');
  const api = arg(argv, '--api');
  if (!iface || !name || !api) throw new Error('advertise needs --iface, --name, --api');
  const port = num(argv, '--port', 65535);
  const durationMs = num(argv, '--duration-ms', MAX_ADVERTISE_MS);
  const ad = await advertiseHeadend({ interface: iface, instanceName: name, port, txt: { api }, hostname: arg(argv, '--hostname'), log: stderrLog });
  process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, durationMs);
    const stop = (): void => {
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (stdinIsPipe) {
      // The parent's end of the pipe closes when it dies, even by SIGKILL.
      process.stdin.once('end', stop);
      process.stdin.resume();
    }
  });
  await ad.close();
  process.stdout.write(`${JSON.stringify({ event: 'closed' })}\n`);
  if (stdinIsPipe) process.stdin.destroy();
}

async function discover(argv: string[]): Promise<void> {
  const iface = arg(argv, '--iface');
  if (!iface) throw new Error('discover needs --iface');
  const timeoutMs = num(argv, '--timeout-ms', MAX_ADVERTISE_MS);
  const t0 = performance.now();
  const result = await discoverHeadend({ interface: iface, timeoutMs, log: stderrLog });
  const out: DiscoverCliResult = { result, elapsedMs: performance.now() - t0 };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    if (argv[0] === 'advertise') await advertise(argv);
    else if (argv[0] === 'discover') await discover(argv);
    else throw new Error(`usage: mdns-cli advertise|discover …, not ${argv[0]}`);
  } catch (e) {
    process.stderr.write(`mdns-cli: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main();
}
