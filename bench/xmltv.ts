/**
 * Benchmark of issue 6 §4: XMLTV import of a ~100 MB guide, target peak RSS
 * < 150 MB, and its speed against a peer in the same run (STYLE.md §6).
 *
 * Input: a generated XMLTV file in a temporary directory (removed at the
 * end): 300 channels × ~16 days of 30–90 min programmes, each with title,
 * sub-title, a 200–700-character description (accents included), a category
 * and two episode-nums, ~900 bytes a programme, as a commercial feed looks;
 * and the same file gzip-compressed. The lineup knows 280 of the 300
 * channels (feeds carry more than a hotel shows). Deterministic (seeded).
 *
 * Each run is a child process, so that its peak memory is its own VmHWM
 * (/proc/self/status at the end), not this process's:
 * - ours: openStore on a fresh file + store.epg.import(createReadStream(file))
 *   — saxes, validation, TEMP staging, per-channel pass, the swap. The child
 *   also reports the event loop's worst delay during the import (the longest
 *   the main thread was blocked) and the swap transaction's length.
 * - saxes alone: the same file through saxes with empty handlers, counting
 *   `<programme>` tags: how much of ours is the XML tokenizer.
 * - peers, native streaming parsers, the floor of "read this XML":
 *   `xmllint --stream --noout` (libxml2's reader; Debian libxml2-utils, which
 *   .ci/run installs; skipped where it is missing), and CPython's pyexpat (expat 2.x, C)
 *   with 64 KiB reads counting `<programme>` tags. Both on the plain and the
 *   gzip file (xmllint gunzips itself). xmllint runs under a python3 wrapper
 *   that reads its peak RSS (getrusage RUSAGE_CHILDREN ru_maxrss). A
 *   whole-document parser (fast-xml-parser) is not a peer: it is not a
 *   dependency and by design holds the file.
 * Figures are reported, never asserted.
 *
 * Run: npm run build && node dist/bench/xmltv.js [--mb 100] [--json] [--keep]
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { SaxesParser } from 'saxes';
import { formatXmltvTime } from '../core/epg/xmltv.js';
import { openStore } from '../headend/store/db.js';
import { cell, prng } from './report.js';
import { tail } from './proc.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const CHANNELS = 300;
const LINEUP_CHANNELS = 280;
const TARGET_PEAK_MB = 150;
const READ_CHUNK_BYTES = 64 * 1024;
/** A child that runs longer is stuck: it is killed and reported. */
const CHILD_TIMEOUT_MS = 120_000;

const WORDS = (
  'the of and news weather report live special today tonight world sport football match final ' +
  'drama series documentary nature history science music concert festival film comedy family ' +
  'kitchen travel journey city island mountain river ocean café crème brûlée über straße ' +
  'naïve façade déjà vu Ærø São Paulo Zürich episode season story secret return new old ' +
  'great little night morning evening summer winter spring autumn heroes legends stars'
).split(' ');
const CATEGORIES = ['News', 'Sports', 'Movie', 'Series', 'Documentary', 'Kids', 'Music', 'Entertainment'];


const chanId = (i: number): string => `ch${String(i).padStart(3, '0')}.roomcast.test`;

/** Writes the guide to `file` until it is about `targetBytes`; returns programmes written and the lineup's ids. */
function generate(file: string, targetBytes: number, startMs: number): { programmes: number; bytes: number } {
  const rnd = prng(6);
  const words = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += (i ? ' ' : '') + WORDS[Math.floor(rnd() * WORDS.length)];
    return s;
  };
  const fd = openSync(file, 'w');
  let bytes = 0;
  let buf = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="roomcast-bench">\n';
  const flush = (force: boolean): void => {
    if (!force && buf.length < 1 << 20) return;
    bytes += writeSync(fd, buf);
    buf = '';
  };
  for (let c = 0; c < CHANNELS; c++) {
    buf += `  <channel id="${chanId(c)}">\n    <display-name lang="en">Channel ${c} ${words(2)}</display-name>\n    <icon src="https://logos.example/${c}.png"/>\n  </channel>\n`;
  }
  // Per-programme size is ~900 bytes: programmes per channel to reach the target.
  const perChannel = Math.max(1, Math.round(targetBytes / 900 / CHANNELS));
  let programmes = 0;
  for (let c = 0; c < CHANNELS; c++) {
    let t = startMs;
    for (let k = 0; k < perChannel; k++) {
      const dur = (30 + Math.floor(rnd() * 5) * 15) * 60_000;
      const season = 1 + Math.floor(rnd() * 9);
      const ep = 1 + Math.floor(rnd() * 24);
      buf +=
        `  <programme start="${formatXmltvTime(t)}" stop="${formatXmltvTime(t + dur)}" channel="${chanId(c)}">\n` +
        `    <title lang="en">${words(2 + Math.floor(rnd() * 3))}</title>\n` +
        `    <sub-title lang="en">${words(3 + Math.floor(rnd() * 4))}</sub-title>\n` +
        `    <desc lang="en">${words(30 + Math.floor(rnd() * 80))} &amp; more.</desc>\n` +
        `    <category lang="en">${CATEGORIES[Math.floor(rnd() * CATEGORIES.length)]}</category>\n` +
        `    <episode-num system="xmltv_ns">${season - 1}.${ep - 1}.0/1</episode-num>\n` +
        `    <episode-num system="onscreen">S${String(season).padStart(2, '0')}E${String(ep).padStart(2, '0')}</episode-num>\n` +
        '  </programme>\n';
      t += dur;
      programmes++;
      flush(false);
    }
  }
  buf += '</tv>\n';
  flush(true);
  closeSync(fd);
  return { programmes, bytes };
}

/** VmHWM of this process, MB (peak resident set size: Linux proc(5)). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/* ------------------------------------------------------------------------ */
/* Children                                                                 */
/* ------------------------------------------------------------------------ */

async function childOurs(file: string, db: string): Promise<void> {
  const store = openStore(db, { skipQuickCheck: true });
  const lineup = Array.from({ length: LINEUP_CHANNELS }, (_, i) => chanId(i));
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await store.epg.import(createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }), { channels: lineup, source: file });
  const ms = performance.now() - t0;
  // The histogram records a block when the next timer fires: let one fire after the import's last synchronous stretch.
  await new Promise((r) => setTimeout(r, 20));
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const stored = (store.db.prepare('SELECT count(*) AS n FROM epg_programmes').get() as { n: number }).n;
  store.close();
  process.stdout.write(
    JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, peakMb: peakRssMb(), maxLoopDelayMs: loop.max / 1e6, stored, report }) + '\n',
  );
}

async function childSaxes(file: string): Promise<void> {
  const parser = new SaxesParser();
  let programmes = 0;
  parser.on('opentag', (tag) => {
    if (tag.name === 'programme') programmes++;
  });
  parser.on('text', () => {});
  const t0 = performance.now();
  const decoder = new TextDecoder();
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) parser.write(decoder.decode(chunk as Buffer, { stream: true }));
  parser.close();
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0, peakMb: peakRssMb(), programmes }) + '\n');
}

const PY_EXPAT = `
import gzip, json, sys, time, xml.parsers.expat
path = sys.argv[1]
count = 0
def start(name, attrs):
    global count
    if name == 'programme':
        count += 1
p = xml.parsers.expat.ParserCreate()
p.StartElementHandler = start
p.CharacterDataHandler = lambda s: None
t0 = time.perf_counter()
f = gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')
with f:
    while True:
        b = f.read(65536)
        if not b:
            break
        p.Parse(b, False)
p.Parse(b'', True)
ms = (time.perf_counter() - t0) * 1000
hwm = 0
for line in open('/proc/self/status'):
    if line.startswith('VmHWM:'):
        hwm = int(line.split()[1]) // 1024
print(json.dumps({'ms': ms, 'peakMb': hwm, 'programmes': count, 'expat': '.'.join(map(str, xml.parsers.expat.version_info))}))
`;

const PY_RUSAGE = `
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({'ms': ms, 'rc': rc, 'peakMb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))
`;

function hasXmllint(): boolean {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a child to completion; its last stdout line is JSON. */
function runChild(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const err = tail(child.stderr);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')}: ${sig ? `killed (${sig})` : `exit ${code}`}: ${err().slice(-800)}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`${cmd}: no JSON result (${last.slice(0, 200)})`));
      }
    });
  });
}

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import xml.parsers.expat'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/* ------------------------------------------------------------------------ */
/* The benchmark                                                            */
/* ------------------------------------------------------------------------ */

export interface XmltvBenchOptions {
  /** Size of the generated XML, MB. Default 100. */
  mb?: number;
  /** Keep the temporary directory (printed). */
  keep?: boolean;
  log?: (line: string) => void;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

export async function benchXmltv(opts: XmltvBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`xmltv: ${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-bench-xmltv-'));
  try {
    const file = join(dir, 'guide.xml');
    const gz = `${file}.gz`;
    const t0 = Date.now();
    // Two days back, so that the guide is "now" for whoever runs this; none is pruned (31 days).
    const gen = generate(file, (opts.mb ?? 100) * 1e6, Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 86_400_000);
    await pipeline(createReadStream(file), createGzip({ level: 6 }), createWriteStream(gz));
    const xmlMb = gen.bytes / 1e6;
    const gzMb = statSync(gz).size / 1e6;
    log(`generated ${r1(xmlMb)} MB (${gen.programmes} programmes, ${CHANNELS} channels), gzip ${r1(gzMb)} MB, in ${Math.round((Date.now() - t0) / 1000)} s`);

    const node = process.execPath;
    const ours = await runChild(node, [THIS_FILE, '--child', 'ours', '--file', file, '--db', join(dir, 'a.db')]);
    log(`ours (xml) ${Math.round(ours.ms as number)} ms`);
    const oursGz = await runChild(node, [THIS_FILE, '--child', 'ours', '--file', gz, '--db', join(dir, 'b.db')]);
    log(`ours (gzip) ${Math.round(oursGz.ms as number)} ms`);
    const saxes = await runChild(node, [THIS_FILE, '--child', 'saxes', '--file', file]);
    log(`saxes alone ${Math.round(saxes.ms as number)} ms`);
    let expat: Record<string, unknown> | null = null;
    let expatGz: Record<string, unknown> | null = null;
    let xmllint: Record<string, unknown> | null = null;
    let xmllintGz: Record<string, unknown> | null = null;
    const peers: string[] = [];
    if (hasPython()) {
      expat = await runChild('python3', ['-c', PY_EXPAT, file]);
      expatGz = await runChild('python3', ['-c', PY_EXPAT, gz]);
      log(`expat ${Math.round(expat.ms as number)} ms`);
      peers.push('python3 pyexpat (C expat), streaming 64 KiB reads');
      if (hasXmllint()) {
        xmllint = await runChild('python3', ['-c', PY_RUSAGE, 'xmllint', '--stream', '--noout', file]);
        xmllintGz = await runChild('python3', ['-c', PY_RUSAGE, 'xmllint', '--stream', '--noout', gz]);
        log(`xmllint --stream ${Math.round(xmllint.ms as number)} ms`);
        peers.push('xmllint --stream --noout (libxml2)');
      }
    }
    const peerNote = peers.length > 0 ? peers.join('; ') : 'no peer: python3 (pyexpat) not found, xmllint not installed';
    const rep = (r: Record<string, unknown>) => r.report as Record<string, unknown>;
    const mbps = (mb: number, ms: unknown) => r1(mb / ((ms as number) / 1000));
    return {
      name: 'xmltv',
      input: `${r1(xmlMb)} MB XMLTV, ${CHANNELS} channels (${LINEUP_CHANNELS} in the lineup), ${gen.programmes} programmes; gzip ${r1(gzMb)} MB`,
      peer: peerNote,
      targetPeakMb: TARGET_PEAK_MB,
      ours: {
        ms: Math.round(ours.ms as number),
        xmlMBps: mbps(xmlMb, ours.ms),
        cpuMs: Math.round(ours.cpuMs as number),
        peakMb: ours.peakMb,
        programmesKept: rep(ours).programmesKept,
        stored: ours.stored,
        skipped: rep(ours).skipped,
        swapMs: rep(ours).swapMs,
        maxLoopDelayMs: r1(ours.maxLoopDelayMs as number),
        error: rep(ours).error ?? null,
      },
      oursGzip: {
        ms: Math.round(oursGz.ms as number),
        xmlMBps: mbps(xmlMb, oursGz.ms),
        gzMBps: mbps(gzMb, oursGz.ms),
        peakMb: oursGz.peakMb,
        programmesKept: rep(oursGz).programmesKept,
        swapMs: rep(oursGz).swapMs,
        maxLoopDelayMs: r1(oursGz.maxLoopDelayMs as number),
        error: rep(oursGz).error ?? null,
      },
      saxesAlone: { ms: Math.round(saxes.ms as number), xmlMBps: mbps(xmlMb, saxes.ms), peakMb: saxes.peakMb, programmes: saxes.programmes },
      expat: expat && { ms: Math.round(expat.ms as number), xmlMBps: mbps(xmlMb, expat.ms), peakMb: expat.peakMb, programmes: expat.programmes, version: expat.expat },
      expatGzip: expatGz && { ms: Math.round(expatGz.ms as number), xmlMBps: mbps(xmlMb, expatGz.ms), peakMb: expatGz.peakMb },
      xmllint: xmllint && { ms: Math.round(xmllint.ms as number), xmlMBps: mbps(xmlMb, xmllint.ms), peakMb: xmllint.peakMb, exit: xmllint.rc },
      xmllintGzip: xmllintGz && { ms: Math.round(xmllintGz.ms as number), xmlMBps: mbps(xmlMb, xmllintGz.ms), peakMb: xmllintGz.peakMb, exit: xmllintGz.rc },
      ratioOursToExpat: expat ? r1((ours.ms as number) / (expat.ms as number)) : null,
      ratioOursToXmllint: xmllint ? r1((ours.ms as number) / (xmllint.ms as number)) : null,
      ratioOursToSaxes: r1((ours.ms as number) / (saxes.ms as number)),
      peakWithinTarget: (ours.peakMb as number) < TARGET_PEAK_MB && (oursGz.peakMb as number) < TARGET_PEAK_MB,
      dir: opts.keep ? dir : null,
    };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

export function formatXmltv(r: Record<string, unknown>): string {
  const o = r.ours as Record<string, unknown>;
  const g = r.oursGzip as Record<string, unknown>;
  const s = r.saxesAlone as Record<string, unknown>;
  const e = r.expat as Record<string, unknown> | null;
  const eg = r.expatGzip as Record<string, unknown> | null;
  const x = r.xmllint as Record<string, unknown> | null;
  const xg = r.xmllintGzip as Record<string, unknown> | null;
  const row = (name: string, ms: unknown, mbps: unknown, peak: unknown, extra: string) =>
    `  ${name.padEnd(22)}${cell(ms, 8)} ms${cell(mbps, 8)} MB/s${cell(peak, 7)} MB  ${extra}`;
  return [
    `xmltv: ${String(r.input)}`,
    `  peer: ${String(r.peer)}; target peak RSS < ${String(r.targetPeakMb)} MB: ${r.peakWithinTarget ? 'met' : 'MISSED'}`,
    `  ${''.padEnd(22)}${cell('time', 11)}${cell('XML', 13)}${cell('peak RSS', 10)}`,
    row('ours, import', o.ms, o.xmlMBps, o.peakMb, `kept ${String(o.programmesKept)}, swap ${String(o.swapMs)} ms, worst loop delay ${String(o.maxLoopDelayMs)} ms${o.error ? `, ERROR ${String(o.error)}` : ''}`),
    row('ours, import (gzip)', g.ms, g.xmlMBps, g.peakMb, `kept ${String(g.programmesKept)}, swap ${String(g.swapMs)} ms, worst loop delay ${String(g.maxLoopDelayMs)} ms${g.error ? `, ERROR ${String(g.error)}` : ''}`),
    row('saxes alone (parse)', s.ms, s.xmlMBps, s.peakMb, `programmes ${String(s.programmes)}`),
    e ? row(`expat ${String(e.version)} (parse)`, e.ms, e.xmlMBps, e.peakMb, `programmes ${String(e.programmes)}`) : '  expat: not run',
    eg ? row('expat (gzip, parse)', eg.ms, eg.xmlMBps, eg.peakMb, '') : '',
    x ? row('xmllint --stream', x.ms, x.xmlMBps, x.peakMb, `exit ${String(x.exit)}`) : '  xmllint: not run (not installed)',
    xg ? row('xmllint --stream (gzip)', xg.ms, xg.xmlMBps, xg.peakMb, `exit ${String(xg.exit)}`) : '',
    `  ratio: ours import / xmllint ${String(r.ratioOursToXmllint ?? '—')}×, / expat parse ${String(r.ratioOursToExpat ?? '—')}×, / saxes parse ${String(r.ratioOursToSaxes)}×`,
  ]
    .filter(Boolean)
    .join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { child: { type: 'string' }, file: { type: 'string' }, db: { type: 'string' }, mb: { type: 'string' }, json: { type: 'boolean' }, keep: { type: 'boolean' } },
    strict: true,
  });
  if (values.child === 'ours') await childOurs(values.file ?? '', values.db ?? '');
  else if (values.child === 'saxes') await childSaxes(values.file ?? '');
  else {
    const r = await benchXmltv({ mb: values.mb ? Number(values.mb) : undefined, keep: values.keep });
    console.log(values.json ? JSON.stringify(r) : formatXmltv(r));
  }
}
