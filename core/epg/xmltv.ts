/**
 * XMLTV (issue 6 §4): a streaming reader and a streaming writer.
 *
 * The format is the XMLTV project's `xmltv.dtd`: a `<tv>` root holding
 * `<channel id>` elements (display-name+, icon*, url*) then `<programme
 * start stop channel>` elements (title+, sub-title*, desc*, …, category*, …,
 * icon*, …, episode-num*, …). Times are "YYYYMMDDhhmmss ±hhmm".
 *
 * Reader: bytes in (a Node Readable or any AsyncIterable of chunks), gzip
 * recognised by its magic bytes 1f 8b (RFC 1952 §2.3.1) whatever the name or
 * Content-Type says, then saxes (a strict, non-validating streaming XML
 * parser). Nothing holds the file: the input is cut into 64 KiB pieces before
 * decoding, every kept string has a cap, and a construct that would make
 * saxes buffer without bound (a text node, comment or tag with no end in
 * sight, absurd nesting) stops the import with an error instead.
 *
 * Bad programmes are data (STYLE.md §3): each is skipped and counted with a
 * reason, and the first few become human sentences naming the line. Broken
 * XML is not a programme: it stops the read, and the caller keeps its
 * previous guide (headend/store/epg.ts).
 *
 * Pure apart from node:zlib (a transform, no I/O): DESIGN.md "core/".
 */
import { Readable, pipeline } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { SaxesParser, type SaxesTagPlain } from 'saxes';

/* ======================================================================== */
/* Limits                                                                   */
/* ======================================================================== */

/** xmltv.dtd says nothing of lengths; these keep a hostile file from filling memory or the store. */
export const XMLTV_LIMITS = {
  /** `<desc>`, UTF-8 bytes (the brief of issue 6 §4); longer ones are cut on a code point. */
  descriptionBytes: 4096,
  /** title, sub-title, display-name, category, episode-num: UTF-8 bytes. */
  textBytes: 1024,
  /** An icon URL; longer ones (data: URIs, mostly) are dropped. */
  iconChars: 2048,
  /** A channel id (the lineup's tvgId is matched against it). */
  idChars: 256,
  /** Categories kept per programme (xmltv.dtd: category*). */
  categories: 16,
  /**
   * Characters saxes may read without emitting anything (one text node,
   * comment, CDATA section or tag). saxes buffers such a construct whole: without
   * this bound a 1 GB comment would be 1 GB of string. A real XMLTV file's
   * largest construct is a description, a few KiB.
   */
  pendingChars: 4 * 1024 * 1024,
  /** Element nesting; xmltv.dtd needs 4 (tv/programme/credits/actor). saxes keeps a stack of open tags. */
  depth: 32,
  /** Input pieces fed to the decoder and to saxes, bytes: the unit of work between checks. */
  pieceBytes: 64 * 1024,
  /** Examples kept in a report, in all and per reason. */
  examples: 20,
  examplesPerReason: 5,
} as const;

/** xmltv.dtd puts no bound on a programme; a longer one is a broken feed (a stop a day late, a wrong zone). */
export const MAX_PROGRAMME_MS = 24 * 3600 * 1000;
/** Earliest start kept: 1990-01-01T00:00:00Z; an earlier one is a zero or garbage date. */
export const MIN_START_MS = Date.UTC(1990, 0, 1);
/** Latest start kept, ahead of `now`: no feed publishes a year ahead; such a date is a typo. */
export const MAX_AHEAD_MS = 366 * 24 * 3600 * 1000;
/** Default bound on the decompressed size (a gzip bomb would otherwise run for ever). */
export const DEFAULT_MAX_DECODED_BYTES = 2 * 1024 * 1024 * 1024;

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/** Why a programme was skipped. */
export const SkipReason = {
  /** Its `channel` is not a tvgId of the lineup (or it has none). */
  unknownChannel: 'unknownChannel',
  /** `start` missing or not an XMLTV time. */
  badStart: 'badStart',
  /** `stop` present but not an XMLTV time. */
  badStop: 'badStop',
  /** `stop` missing and no later programme on the channel to end it. */
  noStop: 'noStop',
  /** stop ≤ start. */
  stopNotAfterStart: 'stopNotAfterStart',
  /** Longer than 24 h (MAX_PROGRAMME_MS). */
  tooLong: 'tooLong',
  /** Starts before 1990 or more than a year after the import. */
  outOfRange: 'outOfRange',
  /** No non-empty `<title>` (xmltv.dtd: title+). */
  noTitle: 'noTitle',
  /** Overlaps a programme already kept for the channel (the earlier-starting one is kept). */
  overlap: 'overlap',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** xmltv.dtd episode-num systems kept: "onscreen" (its default: what to show) and "xmltv_ns" (season.episode.part, 0-based). */
export const EpisodeSystem = { onscreen: 'onscreen', xmltvNs: 'xmltv_ns' } as const;
export type EpisodeSystem = (typeof EpisodeSystem)[keyof typeof EpisodeSystem];

/** A programme as the guide keeps it. */
export interface EpgProgramme {
  tvgId: string;
  startMs: number;
  /** Exclusive. */
  stopMs: number;
  title: string;
  subTitle: string | null;
  description: string | null;
  categories: string[];
  episode: string | null;
  episodeSystem: EpisodeSystem | null;
  /** http(s) URL. */
  icon: string | null;
}

/** A programme as read, before the per-channel pass (headend/store/epg.ts) resolves a missing stop and overlaps. */
export interface XmltvProgramme extends Omit<EpgProgramme, 'stopMs'> {
  /** null: the file gave none (xmltv.dtd: stop is #IMPLIED). */
  stopMs: number | null;
  /** Line of the `<programme` tag in the (decompressed) document, for messages. */
  line: number;
}

/** A `<channel>` of the file whose id is in the lineup. */
export interface XmltvChannel {
  id: string;
  displayName: string | null;
  icon: string | null;
}

/** Where the reader hands what it keeps. Arrays are transferred: the sink may keep them. */
export interface XmltvSink {
  channel(c: XmltvChannel): void;
  /** Called with up to `batchSize` programmes; the reader waits for it before reading on (backpressure). */
  programmes(batch: XmltvProgramme[]): void | Promise<void>;
}

export interface XmltvReadOptions {
  /** The tvgIds the lineup knows; programmes of other channels are skipped as unknownChannel. */
  channels: ReadonlySet<string>;
  /** ms since the epoch: the "a year ahead" bound. */
  nowMs: number;
  /** Skip counts and examples; give one to share it with the per-channel pass. */
  tally?: SkipTally;
  /** Programmes per sink call. Default 1000. */
  batchSize?: number;
  /** Bound on decompressed bytes. Default 2 GiB. */
  maxDecodedBytes?: number;
  signal?: AbortSignal;
}

export interface XmltvReadResult {
  /** `<channel>` elements in the file. */
  channelsInFile: number;
  /** `<programme>` elements in the file. */
  programmesInFile: number;
  /** Programmes handed to the sink (before the per-channel pass). */
  programmesPassed: number;
  /** Bytes taken from the source (compressed, when it was gzip). */
  bytesRead: number;
  /** Bytes of XML after gunzip. */
  bytesDecoded: number;
  gzip: boolean;
  /** Set when the read stopped early: nothing read should be used. */
  error?: string;
}

/* ======================================================================== */
/* Times                                                                    */
/* ======================================================================== */

// xmltv.dtd: "YYYYMMDDhhmmss ±hhmm"; seconds may be missing (and the DTD allows
// truncation further, which says nothing useful about a programme's start);
// "If no timezone is specified, UTC is assumed". Some grabbers omit the space.
const TIME_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})? ?(?:([+-])(\d{2})(\d{2}))?$/;

/** An XMLTV time as ms since the epoch, or null when it is not one. */
export function parseXmltvTime(s: string): number | null {
  const m = TIME_RE.exec(s.trim());
  if (!m) return null;
  const y = +m[1];
  const mo = +m[2];
  const d = +m[3];
  const h = +m[4];
  const mi = +m[5];
  const sec = m[6] === undefined ? 0 : +m[6];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return null;
  // Date.UTC rolls 31 February into March: a day past the month's end is not a date.
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  let offsetMin = 0;
  if (m[7] !== undefined) {
    const oh = +m[8];
    const om = +m[9];
    // UTC−12:00 … UTC+14:00 are the zones in use.
    if (oh > 14 || om > 59) return null;
    offsetMin = (m[7] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec) - offsetMin * 60_000;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** ms since the epoch as an XMLTV time in UTC: "YYYYMMDDhhmmss +0000". */
export function formatXmltvTime(ms: number): string {
  const t = new Date(ms);
  return (
    `${pad(t.getUTCFullYear(), 4)}${pad(t.getUTCMonth() + 1, 2)}${pad(t.getUTCDate(), 2)}` +
    `${pad(t.getUTCHours(), 2)}${pad(t.getUTCMinutes(), 2)}${pad(t.getUTCSeconds(), 2)} +0000`
  );
}

/* ======================================================================== */
/* Skip tally                                                               */
/* ======================================================================== */

/** Counts per reason and the first sentences, bounded (XMLTV_LIMITS.examples). */
export class SkipTally {
  readonly counts: Partial<Record<SkipReason, number>> = {};
  readonly examples: string[] = [];
  private readonly perReason: Partial<Record<SkipReason, number>> = {};

  /** `what` is only called when the example will be kept: building sentences for a million skips would cost more than the skips. */
  add(reason: SkipReason, line: number, channel: string, what: () => string): void {
    const n = (this.counts[reason] ?? 0) + 1;
    this.counts[reason] = n;
    const shown = this.perReason[reason] ?? 0;
    if (this.examples.length >= XMLTV_LIMITS.examples || shown >= XMLTV_LIMITS.examplesPerReason) return;
    this.perReason[reason] = shown + 1;
    this.examples.push(`programme at line ${line} on ${quote(channel)}: ${what()}`);
  }

  total(): number {
    let n = 0;
    for (const v of Object.values(this.counts)) n += v ?? 0;
    return n;
  }
}

function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/* ======================================================================== */
/* Per-channel pass                                                         */
/* ======================================================================== */

/**
 * The checks that need a channel's programmes in start order: a missing stop
 * and overlaps. Feed one channel's programmes sorted by (start, file order);
 * `keep` receives those kept, each with its stop.
 *
 * A programme without stop (xmltv.dtd allows it) ends when the channel's next
 * programme starts, as the DTD's grabbers mean it; the channel's last one
 * then has no end and is skipped (noStop), as is one whose next programme is
 * more than 24 h later (tooLong). Of two overlapping programmes the
 * earlier-starting one is kept (equal starts: the first in the file), and
 * any overlap with it is skipped whole, never trimmed: a feed that overlaps
 * is wrong about one of them and we cannot tell which.
 */
export class ChannelSequencer {
  private lastStopMs = -Infinity;
  private lastStartMs = -Infinity;
  private pending: XmltvProgramme | null = null;

  constructor(private readonly tally: SkipTally, private readonly keep: (p: EpgProgramme) => void) {}

  push(p: XmltvProgramme): void {
    if (p.startMs < this.lastStartMs) throw new Error(`ChannelSequencer: programmes must come in start order (${p.startMs} after ${this.lastStartMs})`);
    this.lastStartMs = p.startMs;
    const q = this.pending;
    if (q !== null) {
      if (p.startMs === q.startMs) {
        this.tally.add(SkipReason.overlap, p.line, p.tvgId, () => `starts at ${formatXmltvTime(p.startMs)} like the programme at line ${q.line}, kept`);
        return;
      }
      this.pending = null;
      if (p.startMs - q.startMs > MAX_PROGRAMME_MS) {
        this.tally.add(SkipReason.tooLong, q.line, q.tvgId, () => `has no stop, and the channel's next programme starts ${hours(p.startMs - q.startMs)} h later (more than 24 h)`);
      } else {
        this.accept(q, p.startMs);
      }
    }
    if (p.startMs < this.lastStopMs) {
      this.tally.add(SkipReason.overlap, p.line, p.tvgId, () => `starts at ${formatXmltvTime(p.startMs)}, before the previous programme ends at ${formatXmltvTime(this.lastStopMs)}`);
      return;
    }
    if (p.stopMs === null) this.pending = p;
    else this.accept(p, p.stopMs);
  }

  /** The channel's programmes are over: one left without a stop has nothing to end it. */
  end(): void {
    const q = this.pending;
    this.pending = null;
    if (q) this.tally.add(SkipReason.noStop, q.line, q.tvgId, () => `has no stop and is the channel's last programme`);
  }

  private accept(p: XmltvProgramme, stopMs: number): void {
    this.lastStopMs = stopMs;
    this.keep({
      tvgId: p.tvgId,
      startMs: p.startMs,
      stopMs,
      title: p.title,
      subTitle: p.subTitle,
      description: p.description,
      categories: p.categories,
      episode: p.episode,
      episodeSystem: p.episodeSystem,
      icon: p.icon,
    });
  }
}

const hours = (ms: number): string => String(Math.round((ms / 3_600_000) * 10) / 10);

/* ======================================================================== */
/* Reader                                                                   */
/* ======================================================================== */

/** A bound or structure check failed inside a saxes handler: stops the read, reported like a saxes error. */
class StopRead extends Error {}

/** The sink threw: not the document's fault, so it goes to readXmltv's caller as it was. */
class SinkFailure extends Error {
  constructor(readonly original: unknown) {
    super('sink failed');
  }
}

async function toSink(sink: XmltvSink, batch: XmltvProgramme[]): Promise<void> {
  try {
    await sink.programmes(batch);
  } catch (err) {
    throw new SinkFailure(err);
  }
}

/** Fields of a `<programme>` being read. The *First / *NoLang pairs implement "no-lang one, else the first" (xmltv.dtd lang attributes). */
interface ProgrammeDraft {
  line: number;
  channel: string | null;
  start: string | null;
  stop: string | null;
  titleNoLang: string | null;
  titleFirst: string | null;
  subNoLang: string | null;
  subFirst: string | null;
  descNoLang: string | null;
  descFirst: string | null;
  categories: string[];
  onscreen: string | null;
  xmltvNs: string | null;
  icon: string | null;
}

interface ChannelDraft {
  id: string;
  nameNoLang: string | null;
  nameFirst: string | null;
  icon: string | null;
}

/** The child elements whose text is kept, and each one's cap in UTF-8 bytes. A Map: an element named "constructor" is not a field. */
const TEXT_FIELDS: ReadonlyMap<string, number> = new Map([
  ['title', XMLTV_LIMITS.textBytes],
  ['sub-title', XMLTV_LIMITS.textBytes],
  ['desc', XMLTV_LIMITS.descriptionBytes],
  ['category', XMLTV_LIMITS.textBytes],
  ['episode-num', XMLTV_LIMITS.textBytes],
  ['display-name', XMLTV_LIMITS.textBytes],
]);

/**
 * What readXmltv reads: a Node Readable, a web ReadableStream (fetch's
 * body), an async generator, an array of chunks, or one whole Buffer or
 * string (a Buffer is also an Iterable of numbers: it is taken as one chunk).
 */
export type XmltvSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | Uint8Array | string;

/**
 * Reads an XMLTV document from `source` (gzip or not), hands the programmes
 * that pass the per-programme checks to `sink` in batches, and counts the
 * others in `opts.tally`. Throws only what the sink throws. A read that could not
 * finish (XML error, gzip error, stream error, a bound, abort) returns with
 * `error` set, and what was handed to the sink must then be discarded.
 *
 * `source` chunks are borrowed: read before the next one is asked for.
 */
export async function readXmltv(source: XmltvSource, sink: XmltvSink, opts: XmltvReadOptions): Promise<XmltvReadResult> {
  const tally = opts.tally ?? new SkipTally();
  const batchSize = Math.max(1, opts.batchSize ?? 1000);
  const maxDecoded = opts.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  const known = opts.channels;
  const latestStartMs = opts.nowMs + MAX_AHEAD_MS;
  const result: XmltvReadResult = { channelsInFile: 0, programmesInFile: 0, programmesPassed: 0, bytesRead: 0, bytesDecoded: 0, gzip: false };

  const parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  let depth = 0;
  let rootSeen = false;
  let lastEventPos = 0;
  let prog: ProgrammeDraft | null = null;
  let chan: ChannelDraft | null = null;
  /** The element (at depth 3) whose text is being collected, with its lang and a bounded buffer. */
  let field: string | null = null;
  let fieldLang: string | null = null;
  let fieldAttrs: Record<string, string> = {};
  let text = '';
  let textCap = 0;
  let batch: XmltvProgramme[] = [];

  const mark = (): void => {
    lastEventPos = parser.position;
  };
  // Set as saxes's text handler only inside a kept field: without a handler saxes does not even slice the
  // white space between tags. No mark() here: the tag that ends a text node marks it.
  const collect = (s: string): void => {
    // Bounded in UTF-16 units: each is at least one byte of UTF-8, so textCap units always hold textCap bytes for clip().
    if (text.length < textCap) text += s;
  };

  parser.on('cdata', (s) => {
    mark();
    if (field !== null) collect(s);
  });
  parser.on('comment', mark);
  parser.on('processinginstruction', mark);
  parser.on('doctype', mark);

  parser.on('opentag', (tag: SaxesTagPlain) => {
    mark();
    depth++;
    if (depth > XMLTV_LIMITS.depth) throw new StopRead(`elements nested deeper than ${XMLTV_LIMITS.depth}`);
    const a = tag.attributes;
    if (depth === 1) {
      if (tag.name !== 'tv') throw new StopRead(`the root element is <${tag.name.slice(0, 40)}>, not <tv>: not an XMLTV document`);
      rootSeen = true;
      return;
    }
    if (depth === 2) {
      if (tag.name === 'programme') {
        result.programmesInFile++;
        prog = {
          // The line of the start tag's '>' (saxes reports where it is): the tag's own line unless its attributes span lines.
          // Not the line of '<' from an opentagstart handler: having one halves saxes's speed (measured, 20 MB feed).
          line: parser.line,
          channel: a.channel ?? null,
          start: a.start ?? null,
          stop: a.stop ?? null,
          titleNoLang: null,
          titleFirst: null,
          subNoLang: null,
          subFirst: null,
          descNoLang: null,
          descFirst: null,
          categories: [],
          onscreen: null,
          xmltvNs: null,
          icon: null,
        };
      } else if (tag.name === 'channel') {
        result.channelsInFile++;
        const id = a.id ?? '';
        chan = id !== '' && known.has(id) ? { id, nameNoLang: null, nameFirst: null, icon: null } : null;
      }
      return;
    }
    if (depth === 3 && (prog !== null || chan !== null)) {
      if (tag.name === 'icon') {
        const src = httpUrl(a.src);
        if (prog !== null && prog.icon === null) prog.icon = src;
        if (chan !== null && chan.icon === null) chan.icon = src;
        return;
      }
      const cap = TEXT_FIELDS.get(tag.name);
      if (cap !== undefined) {
        field = tag.name;
        parser.on('text', collect);
        fieldLang = a.lang ?? null;
        fieldAttrs = a;
        text = '';
        textCap = cap;
      }
    }
  });
  parser.on('closetag', (tag: SaxesTagPlain) => {
    mark();
    if (depth === 3 && field !== null && tag.name === field) {
      const v = clip(collapseSpace(text), textCap);
      if (v !== '') {
        if (prog !== null) programmeField(prog, field, v, fieldLang, fieldAttrs);
        else if (chan !== null && field === 'display-name') {
          if (chan.nameFirst === null) chan.nameFirst = v;
          if (chan.nameNoLang === null && fieldLang === null) chan.nameNoLang = v;
        }
      }
      field = null;
      parser.off('text');
      text = '';
    } else if (depth === 2) {
      if (prog !== null) {
        const p = finishProgramme(prog, known, latestStartMs, tally);
        if (p !== null) {
          batch.push(p);
          result.programmesPassed++;
        }
        prog = null;
      } else if (chan !== null) {
        const c = { id: chan.id, displayName: chan.nameNoLang ?? chan.nameFirst, icon: chan.icon };
        try {
          sink.channel(c);
        } catch (err) {
          throw new SinkFailure(err);
        }
        chan = null;
      }
    }
    depth--;
  });

  let decoded: AsyncIterable<Uint8Array> | null = null;
  try {
    decoded = decodeBytes(source, result, maxDecoded);
    let decoder: TextDecoder | null = null;
    let head: Uint8Array[] = [];
    let headBytes = 0;
    const feed = (s: string): void => {
      parser.write(s);
      if (parser.position - lastEventPos > XMLTV_LIMITS.pendingChars) {
        throw new StopRead(`more than ${XMLTV_LIMITS.pendingChars} characters without the end of a text, comment or tag`);
      }
    };
    const feedBytes = async (b: Uint8Array): Promise<void> => {
      // Pieces, so that a 100 MB chunk never becomes a 100 MB string.
      for (let o = 0; o < b.length; o += XMLTV_LIMITS.pieceBytes) {
        feed(decoder!.decode(b.subarray(o, o + XMLTV_LIMITS.pieceBytes), { stream: true }));
        if (batch.length >= batchSize) {
          const full = batch;
          batch = [];
          await toSink(sink, full);
        }
        if (opts.signal?.aborted) throw new StopRead('aborted');
      }
    };
    for await (const chunk of decoded) {
      if (opts.signal?.aborted) throw new StopRead('aborted');
      if (decoder === null) {
        // The encoding is sniffed from the first bytes (XML 1.0 Appendix F), so they are held until there are enough.
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < 1024) continue;
        decoder = makeDecoder(Buffer.concat(head));
        const h = head;
        head = [];
        for (const c of h) await feedBytes(c);
        continue;
      }
      await feedBytes(chunk);
    }
    if (decoder === null) {
      decoder = makeDecoder(Buffer.concat(head));
      for (const c of head) await feedBytes(c);
    }
    feed(decoder.decode());
    parser.close();
    if (!rootSeen) throw new StopRead('no <tv> element: not an XMLTV document');
    if (batch.length > 0) {
      const full = batch;
      batch = [];
      await toSink(sink, full);
    }
  } catch (err) {
    if (err instanceof SinkFailure) throw err.original;
    result.error = describeError(err, parser);
  }
  return result;
}

/** The error sentence of a failed read: "line L, column C: …" for anything found while parsing. */
function describeError(err: unknown, parser: { line: number; column: number }): string {
  if (err instanceof StopRead && err.message === 'aborted') return 'aborted';
  if (err instanceof StopRead || isSaxesError(err)) {
    const msg = (err as Error).message.replace(/^\d+:\d+: /, '');
    return `line ${parser.line}, column ${parser.column}: ${msg}`;
  }
  if (err instanceof DecodeError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) return `gzip: ${(err as Error).message}`;
  return `reading the source: ${(err as Error)?.message ?? String(err)}`;
}

/** saxes reports well-formedness errors as plain Errors whose message starts "line:column: ". */
function isSaxesError(err: unknown): boolean {
  return err instanceof Error && /^\d+:\d+: /.test(err.message);
}

class DecodeError extends Error {}

function programmeField(p: ProgrammeDraft, name: string, v: string, lang: string | null, attrs: Record<string, string>): void {
  switch (name) {
    case 'title':
      if (p.titleFirst === null) p.titleFirst = v;
      if (p.titleNoLang === null && lang === null) p.titleNoLang = v;
      break;
    case 'sub-title':
      if (p.subFirst === null) p.subFirst = v;
      if (p.subNoLang === null && lang === null) p.subNoLang = v;
      break;
    case 'desc':
      if (p.descFirst === null) p.descFirst = v;
      if (p.descNoLang === null && lang === null) p.descNoLang = v;
      break;
    case 'category':
      if (p.categories.length < XMLTV_LIMITS.categories && !p.categories.includes(v)) p.categories.push(v);
      break;
    case 'episode-num': {
      // xmltv.dtd: <!ATTLIST episode-num system CDATA "onscreen">.
      const system = attrs.system ?? EpisodeSystem.onscreen;
      if (system === EpisodeSystem.onscreen && p.onscreen === null) p.onscreen = v;
      else if (system === EpisodeSystem.xmltvNs && p.xmltvNs === null) p.xmltvNs = v.replace(/\s+/g, '');
      break;
    }
    default:
      break;
  }
}

/** The per-programme checks, in the order a reader of the report expects them. */
function finishProgramme(d: ProgrammeDraft, known: ReadonlySet<string>, latestStartMs: number, tally: SkipTally): XmltvProgramme | null {
  const ch = d.channel ?? '';
  if (ch === '' || !known.has(ch)) {
    tally.add(SkipReason.unknownChannel, d.line, ch, () => (ch === '' ? 'no channel attribute' : 'the channel is not in the lineup (no channel has this tvgId)'));
    return null;
  }
  const startMs = d.start === null ? null : parseXmltvTime(d.start);
  if (startMs === null) {
    tally.add(SkipReason.badStart, d.line, ch, () => (d.start === null ? 'no start' : `start ${quote(d.start)} is not an XMLTV time (YYYYMMDDhhmmss ±hhmm)`));
    return null;
  }
  let stopMs: number | null = null;
  if (d.stop !== null) {
    stopMs = parseXmltvTime(d.stop);
    if (stopMs === null) {
      tally.add(SkipReason.badStop, d.line, ch, () => `stop ${quote(d.stop!)} is not an XMLTV time (YYYYMMDDhhmmss ±hhmm)`);
      return null;
    }
    if (stopMs <= startMs) {
      tally.add(SkipReason.stopNotAfterStart, d.line, ch, () => `stop ${d.stop!.trim()} is ${stopMs === startMs ? 'the same as' : 'before'} start ${d.start!.trim()}`);
      return null;
    }
    if (stopMs - startMs > MAX_PROGRAMME_MS) {
      tally.add(SkipReason.tooLong, d.line, ch, () => `lasts ${hours(stopMs! - startMs)} h (from ${d.start!.trim()} to ${d.stop!.trim()}), more than 24 h`);
      return null;
    }
  }
  if (startMs < MIN_START_MS || startMs > latestStartMs) {
    tally.add(SkipReason.outOfRange, d.line, ch, () => `start ${d.start!.trim()} is ${startMs < MIN_START_MS ? 'before 1990' : 'more than a year ahead'}`);
    return null;
  }
  const title = d.titleNoLang ?? d.titleFirst;
  if (title === null) {
    tally.add(SkipReason.noTitle, d.line, ch, () => `no title (starts ${d.start!.trim()})`);
    return null;
  }
  return {
    tvgId: ch,
    startMs,
    stopMs,
    title,
    subTitle: d.subNoLang ?? d.subFirst,
    description: d.descNoLang ?? d.descFirst,
    categories: d.categories,
    episode: d.onscreen ?? d.xmltvNs,
    episodeSystem: d.onscreen !== null ? EpisodeSystem.onscreen : d.xmltvNs !== null ? EpisodeSystem.xmltvNs : null,
    icon: d.icon,
    line: d.line,
  };
}

/** Only http(s) URLs are kept as icons: the admin UI and STBs put them in an <img src>; data: and javascript: URIs are not images we serve. */
function httpUrl(s: string | undefined): string | null {
  if (s === undefined || s.length > XMLTV_LIMITS.iconChars) return null;
  const v = s.trim();
  if (!/^https?:\/\/[^\s]+$/i.test(v)) return null;
  return v;
}

/** Trimmed, runs of white space as one space (a guide line is one line); the replace only when there is something to replace, measured ~2× cheaper on a real feed. */
function collapseSpace(s: string): string {
  const v = s.trim();
  return /\s\s|[\t\n\r\f\v]/.test(v) ? v.replace(/\s+/g, ' ') : v;
}

/** `s` cut to at most `maxBytes` of UTF-8, on a code point boundary. */
export function clip(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  const b = Buffer.from(s);
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) so the cut falls between code points.
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end);
}

/**
 * The decoder for the document, from its first bytes (XML 1.0 Appendix F):
 * a byte order mark, else the XML declaration's encoding, else UTF-8.
 * Not fatal on bad sequences: a stray byte becomes U+FFFD in one title
 * rather than losing the guide (STYLE.md §3).
 */
function makeDecoder(head: Buffer): TextDecoder {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return new TextDecoder('utf-8');
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return new TextDecoder('utf-16le');
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return new TextDecoder('utf-16be');
  const decl = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head.toString('latin1', 0, Math.min(head.length, 1024)));
  const label = decl ? decl[1] : 'utf-8';
  try {
    return new TextDecoder(label);
  } catch {
    throw new DecodeError(`the XML declaration names the encoding ${JSON.stringify(label)}, which this headend cannot decode; convert the file to UTF-8`);
  }
}

/**
 * The document's bytes: `source` as is, or gunzipped when it starts with the
 * gzip magic 1f 8b (RFC 1952 §2.3.1). Counts bytes in `result`; stops at
 * `maxDecoded`. Breaking out of the loop over it ends the source too.
 */
async function* decodeBytes(input: XmltvSource, result: XmltvReadResult, maxDecoded: number): AsyncGenerator<Uint8Array> {
  const source = typeof input === 'string' || input instanceof Uint8Array ? [input] : input;
  const it: AsyncIterator<Uint8Array | string> | Iterator<Uint8Array | string> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let done = false;
  const asBytes = (c: Uint8Array | string): Uint8Array => (typeof c === 'string' ? Buffer.from(c) : c);
  try {
    // Up to two bytes for the magic (a source may deliver one byte at a time).
    while (headBytes < 2) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const b = asBytes(r.value);
      result.bytesRead += b.length;
      head.push(b);
      headBytes += b.length;
    }
    const first = Buffer.concat(head);
    result.gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
    const count = (b: Uint8Array): Uint8Array => {
      result.bytesDecoded += b.length;
      if (result.bytesDecoded > maxDecoded) throw new DecodeError(`more than ${maxDecoded} bytes of XML: refused (a larger guide is not a guide)`);
      return b;
    };
    if (!result.gzip) {
      if (first.length > 0) yield count(first);
      while (!done) {
        const r = await it.next();
        if (r.done) break;
        const b = asBytes(r.value);
        result.bytesRead += b.length;
        yield count(b);
      }
      return;
    }
    async function* raw(): AsyncGenerator<Uint8Array> {
      yield first;
      while (!done) {
        const r = await it.next();
        if (r.done) return;
        const b = asBytes(r.value);
        result.bytesRead += b.length;
        yield b;
      }
    }
    const gunzip = createGunzip();
    // pipeline() destroys gunzip with the source's error, so the loop below sees it; its callback has nothing to add.
    pipeline(Readable.from(raw(), { objectMode: false }), gunzip, () => {});
    for await (const out of gunzip) yield count(out as Buffer);
  } finally {
    // Ends a source we stop reading early (a Node Readable is destroyed).
    await it.return?.();
  }
}

/* ======================================================================== */
/* Writer                                                                   */
/* ======================================================================== */

/** A lineup channel for the export. */
export interface XmltvExportChannel {
  number: number;
  name: string;
  tvgId: string | null;
  /** Absolute URL of the channel's logo. */
  logoUrl?: string | null;
}

/** Characters XML 1.0 §2.2 does not allow in a document at all: dropped, or the export would not parse. */
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text or attribute value escaped for XML (both quotes too, so one function serves both). */
export function xmlEscape(s: string): string {
  return s.replace(NOT_XML_CHAR, '').replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** Bytes of XML gathered before a chunk is yielded: few enough to stay small, many enough that a chunk is not one tag. */
const WRITE_CHUNK_CHARS = 16 * 1024;

/**
 * The guide as an XMLTV document, in string chunks (Readable.from() it for
 * HTTP). One `<channel>` per distinct tvgId of the lineup, in lineup order,
 * its id the tvgId (so that a player's M3U tvg-id matches), with each
 * lineup name and number using it as display-names; then the programmes, in
 * the order given, of those tvgIds only. Channels without a tvgId have no
 * guide. Times are written in UTC.
 *
 * `programmes` is consumed lazily, one chunk at a time.
 */
export function* writeXmltv(channels: readonly XmltvExportChannel[], programmes: Iterable<EpgProgramme>): Generator<string, void, undefined> {
  let out =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE tv SYSTEM "xmltv.dtd">\n' +
    '<tv generator-info-name="roomcast">\n';
  const byId = new Map<string, XmltvExportChannel[]>();
  for (const c of channels) {
    if (c.tvgId === null || c.tvgId === '') continue;
    const list = byId.get(c.tvgId);
    if (list) list.push(c);
    else byId.set(c.tvgId, [c]);
  }
  // xmltv.dtd: <!ELEMENT channel (display-name+, icon*, url*)>.
  for (const [id, list] of byId) {
    out += `  <channel id="${xmlEscape(id)}">\n`;
    for (const c of list) out += `    <display-name>${xmlEscape(c.name)}</display-name>\n`;
    for (const c of list) out += `    <display-name>${c.number}</display-name>\n`;
    const logo = list.find((c) => c.logoUrl)?.logoUrl;
    if (logo) out += `    <icon src="${xmlEscape(logo)}"/>\n`;
    out += '  </channel>\n';
    if (out.length >= WRITE_CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  for (const p of programmes) {
    if (!byId.has(p.tvgId)) continue;
    // xmltv.dtd element order: title+, sub-title*, desc*, …, category*, …, icon*, …, episode-num*.
    out += `  <programme start="${formatXmltvTime(p.startMs)}" stop="${formatXmltvTime(p.stopMs)}" channel="${xmlEscape(p.tvgId)}">\n`;
    out += `    <title>${xmlEscape(p.title)}</title>\n`;
    if (p.subTitle !== null) out += `    <sub-title>${xmlEscape(p.subTitle)}</sub-title>\n`;
    if (p.description !== null) out += `    <desc>${xmlEscape(p.description)}</desc>\n`;
    for (const c of p.categories) out += `    <category>${xmlEscape(c)}</category>\n`;
    if (p.icon !== null) out += `    <icon src="${xmlEscape(p.icon)}"/>\n`;
    if (p.episode !== null) out += `    <episode-num system="${p.episodeSystem ?? EpisodeSystem.onscreen}">${xmlEscape(p.episode)}</episode-num>\n`;
    out += '  </programme>\n';
    if (out.length >= WRITE_CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  yield `${out}</tv>\n`;
}
