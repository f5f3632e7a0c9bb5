/**
 * A two-namespace network for benchmarks: `rcb<pid>-tx` and `rcb<pid>-rx`
 * joined by one veth pair (eth0 in each), 10.98.0.1/24 ↔ 10.98.0.2/24, with
 * `239.0.0.0/8 dev eth0` in both so multicast never follows a default route
 * (NETLAB.md: never send or join without naming the interface).
 *
 * No bridge on purpose: a benchmark wants the shortest path between sender
 * and receiver, and snooping is what the integration tests prove. Without a
 * snooping switch every group reaches rx's eth0; the rx IP layer drops the
 * groups nobody joined (NETLAB.md gotcha 4 is about sockets, not this).
 *
 * Containment (NETLAB.md): addresses only inside namespaces made here, IPv6
 * off in both (no MLD/ND chatter), every command bounded by a timeout. The
 * prefix carries the pid because /run/netns is shared by the whole machine.
 * `destroy()` is idempotent; it also runs synchronously at process exit and
 * on SIGINT/SIGTERM, killing whatever still runs inside the namespaces first
 * (a namespace lives on while a process holds it, `ip netns del` only
 * removes its name).
 *
 * Bench code cannot import test/helpers/netlab.ts (test/ is not compiled), so
 * this is a deliberately small sibling of it.
 */
import { execFile, execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';

export const BENCH_TX_ADDRESS = '10.98.0.1';
export const BENCH_RX_ADDRESS = '10.98.0.2';
const EXEC_TIMEOUT_MS = 10_000;

export interface BenchNet {
  readonly prefix: string;
  readonly tx: string;
  readonly rx: string;
  readonly txAddress: string;
  readonly rxAddress: string;
  /** Start argv inside `ns` (`ip netns exec` execs it: the child's pid is argv[0]'s). Killed by destroy(). */
  spawn(ns: string, argv: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Run argv inside `ns`, bounded by a timeout; rejects on a non-zero exit. */
  exec(ns: string, argv: readonly string[], timeoutMs?: number): Promise<string>;
  /** Kill everything inside the namespaces, delete them; idempotent. */
  destroy(): Promise<void>;
}

function run(argv: readonly string[], timeoutMs = EXEC_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} failed (${err.killed ? 'timed out' : `exit ${String(err.code)}`}): ${String(stderr).trim()}`));
      else resolve(String(stdout));
    });
  });
}

/* ---- teardown at exit --------------------------------------------------- */

interface Live {
  namespaces: string[];
  children: Set<ChildProcess>;
}
const live = new Map<string, Live>();
let hooks = false;

/** pids of every process inside `ns` (all of them ours: we made the namespace). */
function nsPidsSync(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return String(out)
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  } catch {
    return [];
  }
}

function destroySync(prefix: string): void {
  const l = live.get(prefix);
  if (!l) return;
  live.delete(prefix);
  for (const c of l.children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const ns of l.namespaces) {
    for (const pid of nsPidsSync(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* already deleted */
    }
  }
}

function installHooks(): void {
  if (hooks) return;
  hooks = true;
  process.on('exit', () => {
    for (const p of [...live.keys()]) destroySync(p);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of [...live.keys()]) destroySync(p);
      process.kill(process.pid, sig); // our listener is gone: the default action now
    });
  }
}

/* ---- the network -------------------------------------------------------- */

/** Needs Linux and root (CAP_NET_ADMIN + CAP_SYS_ADMIN for `ip netns`). Throws the reason otherwise. */
export async function createBenchNet(): Promise<BenchNet> {
  if (process.platform !== 'linux') throw new Error(`bench network needs Linux, this is ${process.platform}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('bench network needs root (ip netns add); run as root or inside unshare -rnm');
  }
  const prefix = `rcb${process.pid}`;
  if (live.has(prefix)) throw new Error(`${prefix} already exists in this process`);
  const tx = `${prefix}-tx`;
  const rx = `${prefix}-rx`;
  const record: Live = { namespaces: [], children: new Set() };
  installHooks();
  live.set(prefix, record);

  const destroy = async (): Promise<void> => {
    const l = live.get(prefix);
    if (!l) return;
    live.delete(prefix);
    for (const c of l.children) c.kill('SIGKILL');
    for (const ns of l.namespaces) {
      const pids = await run(['ip', 'netns', 'pids', ns]).catch(() => '');
      for (const s of pids.split(/\s+/)) {
        if (!/^\d+$/.test(s)) continue;
        try {
          process.kill(Number(s), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
  };

  try {
    for (const ns of [tx, rx]) {
      // A leftover from a killed run of a process that had our pid: start clean.
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
      await run(['ip', 'netns', 'add', ns]);
      record.namespaces.push(ns);
      await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await run(['ip', '-n', tx, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rx]);
    for (const [ns, addr] of [[tx, BENCH_TX_ADDRESS], [rx, BENCH_RX_ADDRESS]] as const) {
      await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await run(['ip', '-n', ns, 'route', 'add', '239.0.0.0/8', 'dev', 'eth0']);
    }
  } catch (e) {
    await destroy();
    throw e;
  }

  const check = (ns: string): void => {
    if (ns !== tx && ns !== rx) throw new Error(`${ns} is not a namespace of ${prefix}`);
    if (!live.has(prefix)) throw new Error(`${prefix} is destroyed`);
  };
  return {
    prefix,
    tx,
    rx,
    txAddress: BENCH_TX_ADDRESS,
    rxAddress: BENCH_RX_ADDRESS,
    spawn(ns, argv, opts = {}) {
      check(ns);
      const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], opts);
      record.children.add(child);
      child.once('exit', () => record.children.delete(child));
      return child;
    },
    exec(ns, argv, timeoutMs) {
      check(ns);
      return run(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
    },
    destroy,
  };
}
