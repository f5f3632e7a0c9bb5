/**
 * Timing probe for bench/hls.ts, preloaded into the headend with
 * `node --import dist/bench/hls-probe.js` (Node runs an `--import` module
 * in every thread, the data-plane workers included, before the thread's own
 * modules). It changes no behaviour: it wraps three methods of the HLS path
 * and appends one line per call, with CLOCK_MONOTONIC in µs
 * (`process.hrtime`: the same clock in every process of the machine, network
 * namespaces included, so bench/hls.ts's observer in `rx` can compare).
 *
 *   worker: `closed <µs> <n> <file> <bytes>` — SegmentWriter.write, called
 *           synchronously by the segmenter when the closing random access
 *           point's bytes arrive (the worker has the closing I-frame's first
 *           packets in hand: the inspector decides on the IDR NAL unit, in
 *           the first packets of the access unit);
 *           `posted <µs> <n> <file>` — SegmentWriter's publish() resolved:
 *           the tail is written, the file renamed into place and the
 *           'segment' message posted to the main thread;
 *   main:   `indexed <µs> <n> <file>` — HlsLibrary.add returned: from now on
 *           GET /hls/<n>/index.m3u8 lists the segment.
 *
 * Cost: one 60-byte write(2) per event, three per segment (every 2 s per
 * channel). Without ROOMCAST_BENCH_HLS_PROBE in the environment it does nothing.
 */
import { openSync, writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { HlsLibrary } from '../headend/control/hls.js';
import { SegmentWriter, segmentFileName, type WrittenSegment } from '../headend/dataplane/hls.js';
import type { Segment } from '../core/hls/segmenter.js';

const file = process.env.ROOMCAST_BENCH_HLS_PROBE;
if (file) {
  // One descriptor per thread, O_APPEND: each line is one write(2), whole.
  const fd = openSync(file, 'a');
  const us = (): string => String(process.hrtime.bigint() / 1000n);
  const line = (s: string): void => {
    try {
      writeSync(fd, s + '\n');
    } catch {
      /* the bench went away: nothing to report to */
    }
  };
  if (isMainThread) {
    const add = HlsLibrary.prototype.add;
    HlsLibrary.prototype.add = function (this: HlsLibrary, s: WrittenSegment): void {
      add.call(this, s);
      line(`indexed ${us()} ${s.number} ${s.file}`);
    };
  } else {
    const proto = SegmentWriter.prototype as unknown as {
      write(number: number, s: Segment): void;
      publish(number: number, tmp: string, s: Segment): Promise<void>;
    };
    const write = proto.write;
    proto.write = function (this: SegmentWriter, number: number, s: Segment): void {
      line(`closed ${us()} ${number} ${segmentFileName(s)} ${s.size}`);
      write.call(this, number, s);
    };
    const publish = proto.publish;
    proto.publish = async function (this: SegmentWriter, number: number, tmp: string, s: Segment): Promise<void> {
      await publish.call(this, number, tmp, s);
      line(`posted ${us()} ${number} ${segmentFileName(s)}`);
    };
  }
}
