/**
 * Data-plane worker thread: runs the channels it is given, one scheduler for
 * all of them (a ~1 ms tick with 0.5 ms look-ahead, DESIGN.md "Pacing"), and
 * posts a counters snapshot per channel once a second.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { HeadendConfig } from '../../core/lineup/config.js';
import { ChannelPipeline } from './channel.js';
import { ChannelHls, SegmentWriter } from './hls.js';
import { FccServer } from './fcc-server.js';
import type { ChannelSnapshot, FromWorker, ToWorker } from './messages.js';

const port = parentPort;
if (!port) throw new Error('headend/dataplane/worker.js must run as a worker thread');

const now = (): number => performance.now();
const channels = new Map<number, ChannelPipeline>();
const bySsrc = new Map<number, ChannelPipeline>();
let headend: HeadendConfig | null = null;
let fcc: FccServer | null = null;
let hlsWriter: SegmentWriter | null = null;
let fccPort = 0;
let fccListening = false;
let slatePath: string | null = null;
/** Channels that have a slate in their own format (the default one no longer applies to them). */
const ownSlate = new Set<number>();

/**
 * The pacer is the one real-time thing in the process: when the CPU is short
 * (segments served as fast as 100 clients take them, on two cores) it must
 * win over the HTTP work of the main thread and libuv's pool. On Linux a
 * thread is a task and setpriority(PRIO_PROCESS, tid) sets that one thread's
 * nice value (sched(7), setpriority(2) BUGS: "a per-thread attribute"), so
 * the worker raises its own. A negative nice needs CAP_SYS_NICE (root, or
 * AmbientCapabilities=CAP_SYS_NICE in the systemd unit); without it the
 * worker says so once and runs at the default priority.
 */
function raisePriority(nice: number): void {
  if (process.platform !== 'linux' || nice === 0) return;
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return;
  }
  try {
    setPriority(tid, nice);
    log('debug', 'worker', `data-plane thread ${tid} at nice ${nice}`);
  } catch (err) {
    log('warn', 'worker', `cannot raise the data plane's priority to nice ${nice} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): it competes on equal terms with HTTP serving; grant CAP_SYS_NICE or set headend.dataPlaneNice: 0`);
  }
}

function post(msg: FromWorker): void {
  port!.postMessage(msg);
}

function log(level: 'debug' | 'info' | 'warn' | 'error', scope: string, message: string): void {
  post({ type: 'log', level, scope, message });
}

// One scheduler for every channel on this thread. setInterval(1) fires every
// ~1 ms; each pass sends what is due within the look-ahead. Each channel
// reads the clock itself: sending for 100 channels takes ~0.6 ms, and the
// last channel must not act (or measure its lateness) on a stale time.
let workerIndex = 0;
/** A thumbnail needs one I-frame: a GOP cache beyond this is not copied (16 Mbit/s × 4 s). */
const GOP_COPY_MAX_BYTES = 8 * 1024 * 1024;
let lastTickAtMs = 0;
let order: ChannelPipeline[] = [];
let rotate = 0;
function tickAll(): void {
  lastTickAtMs = now();
  // Start each pass at the next channel, so no channel always waits for the
  // sends of all the others (at 100 channels a pass takes ~0.5 ms).
  const n = order.length;
  if (n === 0) return;
  rotate = (rotate + 1) % n;
  for (let k = 0; k < n; k++) order[(rotate + k) % n].tick(now());
  if (fcc !== null) fcc.tick(now());
}
const ticker = setInterval(tickAll, 1);

/**
 * Input callbacks (file chunks, ffmpeg pipes, datagrams) queue up behind each
 * other; at 100 channels they delayed the timer by up to 8 ms. A channel
 * calls this after handling input, so due datagrams go out between chunks.
 */
function tickIfDue(): void {
  if (now() - lastTickAtMs >= 0.5) tickAll();
}

const watchdog = setInterval(() => {
  const t = now();
  for (const ch of channels.values()) ch.watchdog(t);
}, 250);

/**
 * Snapshots go out in batches with the scheduler run between them: building
 * and posting all 100 channels' snapshots at once held the thread for 1–6 ms
 * once a second (measured), and every 1-s RFC 4445 interval showed it as
 * delay factor.
 */
const SNAPSHOT_BATCH = 10;
const snapshots = setInterval(() => {
  if (fcc !== null && headend !== null) {
    post({ type: 'fcc', status: { worker: workerIndex, address: headend.interface, port: fccPort, listening: fccListening, activeBursts: fcc.activeBursts, counters: { ...fcc.counters } } });
  }
  const list = [...channels.values()];
  for (let i = 0; i < list.length; i += SNAPSHOT_BATCH) {
    const batch: ChannelSnapshot[] = [];
    for (const ch of list.slice(i, i + SNAPSHOT_BATCH)) batch.push(ch.snapshot(now()));
    post({ type: 'snapshot', channels: batch });
    tickIfDue();
  }
}, 1000);

async function stopChannel(number: number): Promise<void> {
  const ch = channels.get(number);
  if (!ch) return;
  channels.delete(number);
  ownSlate.delete(number);
  if (bySsrc.get(ch.ssrc) === ch) bySsrc.delete(ch.ssrc);
  order = [...channels.values()];
  await ch.stop();
  post({ type: 'stopped', number });
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'init': {
      headend = msg.headend;
      workerIndex = msg.index;
      raisePriority(headend.dataPlaneNice);
      if (headend.hls.enabled && msg.hlsDir) {
        hlsWriter = new SegmentWriter({
          dir: msg.hlsDir,
          // A few segments of every channel of this worker: a disk this far behind is too slow.
          maxQueuedBytes: 64 * 1024 * 1024,
          onWritten: (segment) => post({ type: 'segment', segment }),
          log: (level, message) => log(level, 'hls', message),
        });
      }
      const f = headend.fcc;
      if (f.enabled) {
        fccPort = f.port + msg.index;
        const workers = headend.workers;
        fcc = new FccServer({
          address: headend.interface,
          port: fccPort,
          stbNetworks: msg.stbNetworks,
          burstMultiple: f.burstMultiple,
          burstMaxBps: f.burstMaxMbps * 1e6,
          maxBytesPerRequest: f.maxBytesPerRequest,
          // Each worker serves its share, so the headend as a whole stays within the limits.
          clientMaxBps: (f.clientMaxMbps * 1e6) / workers,
          totalMaxBps: (f.totalMaxMbps * 1e6) / workers,
          lookup: (ssrc) => bySsrc.get(ssrc),
          now,
          log: (level, message) => log(level, 'fcc', message),
        });
        fcc.start().then(
          () => {
            fccListening = true;
            log('debug', 'fcc', `FCC server on ${headend!.interface}:${fccPort}`);
          },
          (err: Error) => log('error', 'fcc', `cannot listen on ${headend!.interface}:${fccPort} for fast channel change: ${err.message}; channels on this worker start at the next I-frame only`),
        );
      }
      post({ type: 'ready' });
      break;
    }
    case 'start': {
      if (!headend) throw new Error('start before init');
      const cfg = msg.channel;
      const scope = `ch${cfg.number}`;
      const hls = hlsWriter ? new ChannelHls(cfg.number, headend.hls.segmentS * 1000, hlsWriter) : null;
      const ch = new ChannelPipeline(cfg, headend, now, (level, message) => log(level, scope, message), tickIfDue, msg.ssrc, hls);
      channels.set(cfg.number, ch);
      bySsrc.set(msg.ssrc, ch);
      if (slatePath) ch.setSlate(slatePath);
      order = [...channels.values()];
      ch.start().catch((err: Error) => {
        // Binding the output socket failed (bad interface address): the
        // channel cannot send; say so and leave the others running.
        channels.delete(cfg.number);
        bySsrc.delete(msg.ssrc);
        order = [...channels.values()];
        log('error', scope, `cannot open the output socket on ${headend?.interface}: ${err.message}`);
      });
      break;
    }
    case 'stop':
      void stopChannel(msg.number);
      break;
    case 'slate':
      if (msg.channel !== undefined) {
        ownSlate.add(msg.channel);
        channels.get(msg.channel)?.setSlate(msg.path);
        break;
      }
      slatePath = msg.path;
      for (const [n, ch] of channels) if (!ownSlate.has(n)) ch.setSlate(msg.path);
      break;
    case 'gop': {
      // Copied here, in one go: the slots are reused as the pacer runs on.
      const data = channels.get(msg.number)?.pacer.copyCache(GOP_COPY_MAX_BYTES) ?? null;
      if (data) {
        const view = new Uint8Array(data.buffer, data.byteOffset, data.length);
        port.postMessage({ type: 'gop', id: msg.id, data: view } satisfies FromWorker, [data.buffer as ArrayBuffer]);
      } else {
        post({ type: 'gop', id: msg.id, data: null });
      }
      break;
    }
    case 'shutdown':
      clearInterval(ticker);
      clearInterval(watchdog);
      clearInterval(snapshots);
      void Promise.all([...channels.keys()].map(stopChannel))
        .then(() => fcc?.close())
        .then(() => port.close());
      break;
  }
});
