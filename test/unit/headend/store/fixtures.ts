/**
 * Shared by the store tests: temporary databases (removed at teardown) and
 * channel configs made by the real validator, so the store sees exactly
 * what the YAML import and the API will give it (frozen, fully defaulted).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateLineup, type ChannelConfig } from '../../../../core/lineup/config.js';
import { openStore, type Store, type StoreOptions } from '../../../../headend/store/db.js';

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A store on a new file in a temporary directory, closed at teardown. */
export function tempStore(t: Teardown, opts: StoreOptions = {}): { store: Store; file: string; dir: string } {
  const dir = tempDir(t);
  const file = join(dir, 'roomcast.db');
  const store = openStore(file, opts);
  t.teardown(() => {
    if (store.db.open) store.close();
  });
  return { store, file, dir };
}

/** A controllable clock. */
export function fakeClock(startMs = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Raw channel documents as in channels.yaml, validated into ChannelConfigs. */
export function channels(...raw: Record<string, unknown>[]): ChannelConfig[] {
  return validateLineup({ channels: raw }).channels;
}

let port = 5000;
/** One valid channel; `extra` overrides or adds YAML keys. Multicast ports are unique per call. */
export function channel(number: number, extra: Record<string, unknown> = {}): ChannelConfig {
  port += 2;
  return channels({
    number,
    name: `Channel ${number}`,
    multicast: { group: `239.255.10.${number % 250}`, port },
    source: { type: 'udp', address: '239.1.1.1', port: 6000 + number },
    ...extra,
  })[0];
}

/** A channel with a primary and backups of every source type, and non-default keys everywhere. */
export function richChannel(number: number): ChannelConfig {
  return channel(number, {
    name: 'Sports HD — Événement',
    group: 'Sports',
    tvgId: 'sports.hd',
    transport: 'rtp',
    cbrBitrateKbps: 6000,
    enabled: false,
    slate: false,
    source: undefined,
    inputs: [
      { type: 'srt', mode: 'caller', address: '10.0.0.9', port: 9000, latencyMs: 200, passphrase: 'correct horse battery', pbkeylen: 32, streamId: 'sports' },
      { type: 'rtp', address: '239.2.2.2', port: 6002, source: '10.0.0.7', reorderWindow: 64 },
      { type: 'ffmpeg', url: 'testsrc2=size=1280x720:rate=25', format: 'lavfi', profile: 'hd', gopS: 2, inputOptions: ['-thread_queue_size', '512'] },
      { type: 'file', path: '/srv/slate.ts', stallMs: 5000 },
    ],
    failover: { switchAfterMs: 500, backups: 'cold', minBitrateKbps: 1000 },
  });
}

/**
 * Edit number `k` of the durability test: every part of the channel says
 * which edit wrote it (the name, each input's path, the number of inputs),
 * so a channel row and its inputs rows from different edits are visible.
 */
export function editConfig(number: number, k: number): ChannelConfig {
  const inputCount = (((k % 4) + 4) % 4) + 1;
  return channels({
    number,
    name: `edit ${k}`,
    multicast: { group: `239.255.20.${number}`, port: 5000 + 2 * number },
    inputs: Array.from({ length: inputCount }, (_, i) => ({ type: 'file', path: `/k/${k}/input/${i}.ts` })),
  })[0];
}
