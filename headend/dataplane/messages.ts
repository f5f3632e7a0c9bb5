/**
 * Typed messages between the main thread (control plane) and the data-plane
 * workers (DESIGN.md "Processes and threads").
 */
import type { ChannelConfig, HeadendConfig } from '../../core/lineup/config.js';
import type { AudioFormat, VideoFormat } from '../../core/codec/sps.js';
import type { InputStatus } from './inputs.js';
import type { SwitchRecord } from './channel.js';
import type { WrittenSegment } from './hls.js';

export type ToWorker =
  /**
   * `index`: the worker's shard number (its FCC port is fcc.port + index);
   * `stbNetworks`: fcc.stbSubnets resolved and parsed by the main thread;
   * `hlsDir`: where HLS segments go (headend.hls enabled), else null.
   */
  | { type: 'init'; headend: HeadendConfig; index: number; stbNetworks: { network: number; mask: number }[]; hlsDir: string | null }
  /** `ssrc`: the channel's RTP SSRC, chosen once by the main thread and published in the lineup. */
  | { type: 'start'; channel: ChannelConfig; ssrc: number }
  | { type: 'stop'; number: number }
  /**
   * A slate file is ready: channels with `slate` go to it when no input
   * works. Without `channel`: the default slate, for every channel that has
   * none in its own format; with it: that channel's, in its format.
   */
  | { type: 'slate'; path: string; channel?: number }
  /** The channel's GOP cache as TS (the admin UI's thumbnail): answered with a `gop` message of the same id. */
  | { type: 'gop'; id: number; number: number }
  | { type: 'shutdown' };

/** The fields of an input's status the channel's own summary repeats. */
export type InputSummaryKey = 'bytes' | 'packets' | 'syncLosses' | 'bytesSkipped' | 'restarts' | 'lastError' | 'lastErrorAgoS' | 'source';

export interface ChannelSnapshot {
  number: number;
  name: string;
  /** `ok` while packets flow; `slate` while no input works; otherwise what the supervisor is doing. */
  state: 'ok' | 'slate' | 'starting' | 'no-input' | 'restarting' | 'stopped';
  atMs: number;
  uptimeS: number;
  /** Bits per second over the last snapshot interval. */
  inputBitrateBps: number;
  outputBitrateBps: number;
  /** The input shown for the channel (the one on the air, or the primary while the slate is). */
  input: Pick<InputStatus, InputSummaryKey>;
  /** Every input (primary first), with its health; `onAir` marks the one sent. */
  inputs: (InputStatus & { onAir: boolean })[];
  /** `primary`, `backup N`, or `slate`. */
  activeInput: string;
  /** The channel's picture and sound as its input's SPS and audio headers say (what its slate is made to match); null until seen. */
  sourceFormat: { video: Readonly<VideoFormat>; audio: Readonly<AudioFormat> | null } | null;
  /** The slate file the channel would go to (its format in the name), or null while there is none. */
  slateFile: string | null;
  switches: number;
  lastSwitch: (SwitchRecord & { agoS: number }) | null;
  /** TR 101 290 priority 1 and PCR figures of what goes on the air. */
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
  /** The GOP cache the FCC server bursts from. */
  cache: { datagrams: number; starts: number; drops: number; readersCut: number };
}

export interface FccStatus {
  worker: number;
  address: string;
  port: number;
  listening: boolean;
  activeBursts: number;
  counters: Record<string, number>;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'fcc'; status: FccStatus }
  | { type: 'snapshot'; channels: ChannelSnapshot[] }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; scope: string; message: string }
  | { type: 'stopped'; number: number }
  /** `data`: TS packets from the last I-frame (a transferred ArrayBuffer's view), or null: no such channel or no cache. */
  | { type: 'gop'; id: number; data: Uint8Array | null }
  /** An HLS segment is on disk, whole, under its final name (headend/dataplane/hls.ts). */
  | { type: 'segment'; segment: WrittenSegment };
