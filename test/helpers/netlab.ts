/**
 * The NETLAB.md hotel network as a test helper: Linux network namespaces, a
 * bridge with IGMP snooping and a querier standing for the hotel's access
 * switch, a headend and N set-top boxes on veth pairs.
 *
 *     ${P}-he    eth0 10.99.0.1/24, route 239.0.0.0/8 dev eth0 ─┐
 *     ${P}-stb1  eth0 10.99.0.11/24, route 239.0.0.0/8 ────────┤  ${P}-sw: br0
 *     ${P}-stbN  eth0 10.99.0.1N/24, route 239.0.0.0/8 ────────┘  (ports p-he, p-stbN)
 *
 * Usage:
 *
 *     const avail = await netlabAvailable();
 *     t.test('…', { skip: netlabSkip(avail) }, async (t) => {
 *       const net = await createHotelNet({ stbs: 2 });
 *       t.teardown(() => net.destroy());
 *       …
 *     });
 *
 * NOT SILENTLY SKIPPED IN CI. Tests that need the lab must not pass by
 * skipping on the machine that is supposed to prove the behaviour: when
 * `process.env.CI` is set and the lab is unavailable, the test must FAIL with
 * the reason. {@link netlabSkip} does exactly that (it returns `false` in CI,
 * so the test runs and {@link createHotelNet} throws the reason); elsewhere it
 * returns the reason as a skip message.
 *
 * Containment: addresses are only 10.99.0.0/24 inside namespaces this helper
 * made (the host's network is never touched), tests send multicast only to
 * 239.255.0.0/16, and IPv6 is disabled in every namespace so that not even
 * link-local MLD/ND traffic appears. Every wait is bounded in count and time.
 * The prefix is unique per run (`rc<pid>x<random>`) because /run/netns is
 * shared by everything on the machine; `destroy()` is idempotent and also runs
 * synchronously at process exit (and on SIGINT/SIGTERM).
 *
 * Set-up follows NETLAB.md, including gotcha 1: the query response interval
 * is set to 0.1 s before the querier is enabled, else the bridge floods all
 * multicast to every port for 10 s.
 */

import { execFile, execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const NETLAB_SUBNET = '10.99.0.0/24';
export const NETLAB_HEADEND_ADDRESS = '10.99.0.1';
/** Groups tests may send to (organisation-local scope). */
export const NETLAB_GROUP_PREFIX = '239.255.';
const MAX_STBS = 99;
/** After enabling the querier the bridge floods for one response interval (0.1 s here). */
const QUERIER_SETTLE_MS = 250;
const EXEC_TIMEOUT_MS = 10_000;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Default 10 s; the command is killed after it. */
  timeoutMs?: number;
  /** Resolve with a non-zero code instead of rejecting. */
  allowFail?: boolean;
  input?: string;
  /** Added to this process's environment (minus tap's NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
}

export interface HotelNet {
  /** Unique prefix of this network's namespaces. */
  readonly prefix: string;
  /** Namespace names. */
  readonly sw: string;
  readonly he: string;
  /** stbs[0] is stb1. */
  readonly stbs: readonly string[];
  readonly headendAddress: string;
  /** IPv4 address of STB `n` (1-based): 10.99.0.1n. */
  stbAddress(n: number): string;
  /** Bridge port (in `sw`) of STB `n` (1-based). */
  stbPort(n: number): string;
  /** Bridge port (in `sw`) of the headend. */
  readonly headendPort: string;
  /** Run argv inside namespace `ns` (`ip netns exec`), bounded by a timeout. */
  exec(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Start argv inside `ns`; killed (SIGKILL) by destroy() if still running. */
  spawn(ns: string, argv: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** `bridge -d -s mdb show` on br0: group → bridge ports that joined it. */
  mdb(): Promise<Map<string, string[]>>;
  /**
   * Count IPv4 packets to `group` (UDP `port`) arriving on `ns`'s eth0 at the
   * earliest netfilter hook, before the IP layer drops groups nobody joined:
   * this sees what the switch delivered, not what a socket accepted.
   */
  countUdpTo(ns: string, group: string, port: number): Promise<() => Promise<{ packets: number; bytes: number }>>;
  /** Delete everything; idempotent. */
  destroy(): Promise<void>;
}

function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      {
        timeout: opts.timeoutMs ?? EXEC_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...childEnv(), ...opts.env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        const res = { code, stdout: String(stdout), stderr: String(stderr) };
        if (code !== 0 && !opts.allowFail) {
          reject(new Error(`${argv.join(' ')} failed (${err?.killed ? 'timed out' : `exit ${code}`}): ${res.stderr.trim()}`));
        } else {
          resolve(res);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/* ---- teardown at process exit ---------------------------------------- */

const live = new Map<string, { namespaces: string[]; children: Set<ChildProcess> }>();
let exitHookInstalled = false;

function destroySync(prefix: string): void {
  const net = live.get(prefix);
  if (!net) return;
  live.delete(prefix);
  for (const c of net.children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const ns of net.namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* already deleted */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of [...live.keys()]) destroySync(p);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of [...live.keys()]) destroySync(p);
      process.kill(process.pid, sig); // the listener is gone: default action now
    });
  }
}

/* ---- availability ------------------------------------------------------ */

let availability: Promise<{ ok: boolean; reason?: string }> | undefined;

/**
 * Can this process build the lab? Needs Linux, root (CAP_NET_ADMIN /
 * CAP_SYS_ADMIN for `ip netns`), iproute2 and a bridge with IGMP snooping.
 * Tries it once (a throwaway namespace with such a bridge) and caches the answer.
 */
export function netlabAvailable(): Promise<{ ok: boolean; reason?: string }> {
  availability ??= (async () => {
    if (process.platform !== 'linux') return { ok: false, reason: `netlab needs Linux, this is ${process.platform}` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return { ok: false, reason: 'netlab needs root (ip netns add); run the suite as root or inside unshare -rnm' };
    }
    const probe = `rc${process.pid}x${randomBytes(3).toString('hex')}-probe`;
    try {
      await run(['ip', 'netns', 'add', probe]);
    } catch (e) {
      return { ok: false, reason: `ip netns add failed: ${(e as Error).message}` };
    }
    try {
      await run(['ip', '-n', probe, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '1', 'mcast_igmp_version', '3']);
      await run(['bridge', '-n', probe, '-j', 'mdb', 'show']);
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `bridge with IGMPv3 snooping unavailable: ${(e as Error).message}` };
    } finally {
      await run(['ip', 'netns', 'del', probe], { allowFail: true });
    }
  })();
  return availability;
}

/**
 * tap `skip` option for a lab test: the reason to skip, or false to run. In
 * CI (`process.env.CI` set) always false, so an unavailable lab fails the
 * test with its reason instead of skipping it.
 */
export function netlabSkip(avail: { ok: boolean; reason?: string }): string | false {
  if (avail.ok || process.env.CI) return false;
  return `netlab unavailable: ${avail.reason ?? 'unknown reason'}`;
}

/* ---- the network ------------------------------------------------------- */

export async function createHotelNet(opts: { stbs: number; prefix?: string }): Promise<HotelNet> {
  const avail = await netlabAvailable();
  if (!avail.ok) throw new Error(`netlab unavailable${process.env.CI ? ' (CI: not skipping)' : ''}: ${avail.reason}`);
  const n = opts.stbs;
  if (!Number.isInteger(n) || n < 1 || n > MAX_STBS) throw new RangeError(`stbs: ${n} is not an integer in 1..${MAX_STBS}`);
  const P = opts.prefix ?? `rc${process.pid}x${randomBytes(3).toString('hex')}`;
  if (!/^[a-z0-9]{1,20}$/i.test(P)) throw new RangeError(`prefix: ${P} must be 1..20 letters or digits`);

  const sw = `${P}-sw`;
  const he = `${P}-he`;
  const stbs = Array.from({ length: n }, (_, i) => `${P}-stb${i + 1}`);
  const namespaces = [sw, he, ...stbs];
  const children = new Set<ChildProcess>();
  installExitHook();
  live.set(P, { namespaces: [], children });
  const record = live.get(P)!;

  const stbAddress = (k: number): string => {
    if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`stb ${k} is not in 1..${n}`);
    return `10.99.0.1${k}`;
  };
  const stbPort = (k: number): string => {
    stbAddress(k);
    return `p-stb${k}`;
  };

  const destroy = async (): Promise<void> => {
    const r = live.get(P);
    if (!r) return;
    live.delete(P);
    for (const c of r.children) c.kill('SIGKILL');
    await Promise.all(r.namespaces.map((ns) => run(['ip', 'netns', 'del', ns], { allowFail: true })));
  };

  try {
    for (const ns of namespaces) {
      await run(['ip', 'netns', 'add', ns]);
      record.namespaces.push(ns);
    }
    await Promise.all(
      namespaces.map(async (ns) => {
        // IPv6 off before any link exists: no link-local MLD/ND chatter.
        await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
        await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }),
    );
    // NETLAB.md: snooping, IGMPv3 (for SSM), response interval 0.1 s set
    // before the querier is enabled (gotcha 1), the querier as a separate step.
    await run([
      'ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0',
      'mcast_snooping', '1', 'mcast_igmp_version', '3', 'mcast_query_response_interval', '10',
    ]);
    await run(['ip', '-n', sw, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_querier', '1']);
    const querierAt = Date.now();
    await run(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);

    const attach = async (ns: string, port: string, address: string, fastleave: boolean): Promise<void> => {
      await run(['ip', '-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await run(['ip', '-n', sw, 'link', 'set', port, 'master', 'br0']);
      await run(['ip', '-n', sw, 'link', 'set', port, 'up']);
      if (fastleave) await run(['bridge', '-n', sw, 'link', 'set', 'dev', port, 'fastleave', 'on']);
      await run(['ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    };
    await attach(he, 'p-he', NETLAB_HEADEND_ADDRESS, false);
    await run(['ip', '-n', he, 'route', 'add', '239.0.0.0/8', 'dev', 'eth0']);
    await Promise.all(stbs.map((ns, i) => attach(ns, stbPort(i + 1), stbAddress(i + 1), true)));
    // An STB's player (ffmpeg, VLC) joins without naming an interface: the
    // kernel picks it from the route to the group, as on a real STB whose
    // default route is its only interface.
    await Promise.all(stbs.map((ns) => run(['ip', '-n', ns, 'route', 'add', '239.0.0.0/8', 'dev', 'eth0'])));
    const settle = QUERIER_SETTLE_MS - (Date.now() - querierAt);
    if (settle > 0) await sleep(settle);
  } catch (e) {
    await destroy();
    throw e;
  }

  const exec = (ns: string, argv: readonly string[], o?: ExecOptions): Promise<ExecResult> => {
    if (!namespaces.includes(ns)) return Promise.reject(new Error(`${ns} is not a namespace of ${P}`));
    return run(['ip', 'netns', 'exec', ns, ...argv], o);
  };

  const spawn = (ns: string, argv: readonly string[], o: SpawnOptions = {}): ChildProcess => {
    if (!namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of ${P}`);
    if (!live.has(P)) throw new Error(`${P} is destroyed`);
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], o);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  const mdb = async (): Promise<Map<string, string[]>> => {
    const r = await run(['bridge', '-n', sw, '-j', '-d', '-s', 'mdb', 'show', 'dev', 'br0']);
    const out = new Map<string, string[]>();
    const parsed = JSON.parse(r.stdout || '[]') as { mdb?: { port?: string; grp?: string }[] }[];
    for (const dev of parsed) {
      for (const e of dev.mdb ?? []) {
        if (!e.grp || !e.port) continue;
        const ports = out.get(e.grp) ?? [];
        if (!ports.includes(e.port)) ports.push(e.port);
        out.set(e.grp, ports);
      }
    }
    for (const ports of out.values()) ports.sort();
    return out;
  };

  const countUdpTo = async (ns: string, group: string, port: number) => {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(group) || !Number.isInteger(port)) throw new RangeError(`bad group/port ${group}:${port}`);
    const table = `rc_count_${port}_${group.replace(/\./g, '_')}`;
    // netdev ingress on eth0: before the IP layer, so it also sees groups no
    // socket joined (those the IP layer would drop silently).
    const script = [
      `add table netdev ${table}`,
      `add counter netdev ${table} hits`,
      `add chain netdev ${table} in { type filter hook ingress device eth0 priority -500; }`,
      `add rule netdev ${table} in ip daddr ${group} udp dport ${port} counter name hits`,
      '',
    ].join('\n');
    await exec(ns, ['nft', '-f', '-'], { input: script });
    return async () => {
      const r = await exec(ns, ['nft', '-j', 'list', 'counter', 'netdev', table, 'hits']);
      const j = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number; bytes: number } }[] };
      const c = j.nftables.find((x) => x.counter)?.counter;
      return { packets: c?.packets ?? 0, bytes: c?.bytes ?? 0 };
    };
  };

  return {
    prefix: P,
    sw,
    he,
    stbs,
    headendAddress: NETLAB_HEADEND_ADDRESS,
    headendPort: 'p-he',
    stbAddress,
    stbPort,
    exec,
    spawn,
    mdb,
    countUdpTo,
    destroy,
  };
}

/**
 * argv to run a TypeScript helper script (e.g. mcast-receiver.ts) as a
 * separate node process with the same TypeScript loader as this process
 * (tap's `--import …/@tapjs/typescript/…`), minus tap's own instrumentation.
 * Use with {@link HotelNet.spawn}; pass {@link childEnv} as its env.
 */
export function tsNodeArgv(scriptPath: string, args: readonly string[]): string[] {
  const keep = process.execArgv.filter(
    (a) => !a.includes('@tapjs/processinfo') && !a.includes('@tapjs/mock') && !a.startsWith('--inspect'),
  );
  return [process.execPath, ...keep, scriptPath, ...args];
}

/** This process's environment without tap's NODE_OPTIONS instrumentation. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}
