/**
 * `npm run bench`: every benchmark against its peer, in one run (STYLE.md §6).
 * Prints a human-readable table per benchmark, then one JSON line with all
 * results (the last line of stdout, for scripts). Progress goes to stderr.
 * Exits 0 whatever the figures are: performance is reported as ratios, never
 * asserted. A benchmark that cannot run (no root for namespaces, no ffmpeg)
 * is reported with its reason, and the others still run.
 */
import { benchAdminApi, formatAdminApi } from './admin-api.js';
import { benchHls, formatHls } from './hls.js';
import { benchPacing, formatPacing } from './pacing.js';
import { benchSrt, formatSrt } from './srt.js';
import { benchTsInspect } from './ts-inspect.js';
import { benchXmltv, formatXmltv } from './xmltv.js';
import { benchZap, formatZap } from './zap.js';

function formatTsInspect(r: Record<string, unknown>): string {
  return [
    `ts-inspect: ${String(r.input)}, ${String(r.inputMB)} MB in ${String(r.chunkBytes)}-byte chunks`,
    `  measured: ${String(r.measured)}`,
    `  ours   ${String(r.oursMBps).padStart(6)} MB/s  keyframes ${String(r.oursKeyframes)}  video PES ${String(r.oursVideoPes)}`,
    `  mux.js ${String(r.muxjsMBps).padStart(6)} MB/s  keyframes ${String(r.muxjsKeyframes)}  video PES ${String(r.muxjsVideoPes)}`,
    `  ratio ours/mux.js ${String(r.ratio)}×${r.keyframesMatch ? '' : '  (keyframe counts DIFFER)'}`,
  ].join('\n');
}

async function attempt(name: string, fn: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  try {
    const r = await fn();
    process.stderr.write(`bench: ${name} done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
    return r;
  } catch (e) {
    process.stderr.write(`bench: ${name} could not run: ${(e as Error).message}\n`);
    return { name, error: (e as Error).message };
  }
}

const tsInspect = await attempt('ts-inspect', benchTsInspect);
const pacing = await attempt('pacing', () => benchPacing());
const zap = await attempt('zap', () => benchZap());
const srt = await attempt('srt', () => benchSrt());
const adminApi = await attempt('admin-api', () => benchAdminApi());
const hls = await attempt('hls', () => benchHls());
const xmltv = await attempt('xmltv', () => benchXmltv());

console.log(tsInspect.error ? `ts-inspect: not run: ${String(tsInspect.error)}` : formatTsInspect(tsInspect));
console.log('');
console.log(pacing.error ? `pacing: not run: ${String(pacing.error)}` : formatPacing(pacing));
console.log('');
console.log(zap.error ? `zap: not run: ${String(zap.error)}` : formatZap(zap));
console.log('');
console.log(srt.error ? `srt: not run: ${String(srt.error)}` : formatSrt(srt));
console.log('');
console.log(adminApi.error ? `admin-api: not run: ${String(adminApi.error)}` : formatAdminApi(adminApi));
console.log('');
console.log(hls.error ? `hls: not run: ${String(hls.error)}` : formatHls(hls));
console.log('');
console.log(xmltv.error ? `xmltv: not run: ${String(xmltv.error)}` : formatXmltv(xmltv));
console.log('');
console.log(JSON.stringify({ tsInspect, pacing, zap, srt, adminApi, hls, xmltv }));
process.exitCode = 0;
