/**
 * Typed messages between the main thread (control plane) and the data-plane
 * workers (DESIGN.md "Processes and threads").
 */
import type { ChannelConfig, HeadendConfig } from '../../core/lineup/config.js';

export type ToWorker =
  | { type: 'init'; headend: HeadendConfig }
  | { type: 'start'; channel: ChannelConfig }
  | { type: 'stop'; number: number }
  | { type: 'shutdown' };

export interface ChannelSnapshot {
  number: number;
  name: string;
  /** `ok` while packets flow; otherwise what the supervisor is doing. */
  state: 'ok' | 'starting' | 'no-input' | 'restarting' | 'stopped';
  atMs: number;
  uptimeS: number;
  /** Bits per second over the last snapshot interval. */
  inputBitrateBps: number;
  outputBitrateBps: number;
  input: {
    bytes: number;
    packets: number;
    syncLosses: number;
    bytesSkipped: number;
    restarts: number;
    lastError: string | null;
    lastErrorAgoS: number | null;
    source: Record<string, number | string | null>;
  };
  /** TR 101 290 priority 1 and PCR figures from the inspector. */
  tr101290: Record<string, number>;
  stream: { serviceName: string | null; videoPid: number; pcrPid: number; keyframes: number; streams: string };
  output: {
    datagrams: number;
    bytes: number;
    overflowPackets: number;
    nullPackets: number;
    reanchors: number;
    lateDatagrams: number;
    sendErrors: number;
    latenessP50Ms: number;
    latenessP99Ms: number;
    latenessMaxMs: number;
    queuedDatagrams: number;
  };
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'snapshot'; channels: ChannelSnapshot[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; scope: string; message: string }
  | { type: 'stopped'; number: number };
