/**
 * The running agent: finds the headend (mDNS or --headend), keeps the lineup
 * fresh, tunes the channel the guest asks for, serves it to the player, and
 * reports to the headend. Survives the headend restarting or going away: the
 * last lineup is kept (and cached on disk), the tuner keeps playing the
 * multicast, and everything reconnects when the headend is back.
 */
import dgram from 'node:dgram';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { checkLineupDocument, type LineupChannel, type LineupDocument } from '../core/lineup/api.js';
import { TS_PACKET_SIZE } from '../core/mpegts/packet.js';
import type { StbConfig } from './config.js';
import { buildControlApi } from './control.js';
import { discoverHeadend } from './discovery.js';
import { OutputFanout, type OutputWriter } from './output/fanout.js';
import { openRemote } from './remote.js';
import { Tuner, type ZapRecord } from './tuner/tuner.js';
import { UnicastError, UnicastPlayback, type UnicastStatus } from './unicast.js';

export type ZapTarget = number | 'up' | 'down' | 'last';

/** A programme as /api/epg/now-next gives it. */
export interface GuideItem {
  id: number;
  title: string;
  start: string;
  stop: string;
}

export interface AgentLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

interface State {
  channel: number | null;
  previous: number | null;
  lineup: LineupDocument | null;
}

/** Zap times kept for status and reports. */
const RECENT_ZAPS = 20;
const FETCH_TIMEOUT_MS = 3000;
const DISCOVERY_TIMEOUT_MS = 3000;

export class Agent {
  readonly tuner: Tuner;
  readonly outputs: OutputFanout;
  headendUrl: string | null;
  lineup: LineupDocument | null = null;
  private previous: number | null = null;
  private readonly recent: ZapRecord[] = [];
  private readonly counters = { lineupLoads: 0, lineupErrors: 0, reports: 0, reportErrors: 0, discoveries: 0 };
  private lastError: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private api: FastifyInstance | null = null;
  private remote: { close(): void } | null = null;
  private udpOut: dgram.Socket | null = null;
  private stopped = false;
  private zapWaiters: ((z: ZapRecord) => void)[] = [];
  /** Catch-up or VOD playing instead of a live channel (issue 6 §6), and the live channel it replaced. */
  private unicast: UnicastPlayback | null = null;
  private liveBefore: number | null = null;
  private guide: { atMs: number; channels: Record<string, { now: GuideItem | null; next: GuideItem | null }> } | null = null;
  private lastReportErrorLogAt = 0;

  constructor(
    readonly cfg: StbConfig,
    private readonly log: AgentLog,
  ) {
    this.headendUrl = cfg.headend;
    this.outputs = new OutputFanout({
      passThrough: !cfg.gate,
      currentPsi: () => this.tuner.currentPsi(),
      log: (m) => log.warn(m),
    });
    this.tuner = new Tuner({
      interface: cfg.interface,
      fcc: cfg.fcc.enabled,
      fccTimeoutMs: cfg.fcc.timeoutMs,
      gate: cfg.gate,
      out: this.outputs,
      now: () => performance.now(),
      log: (level, m) => log[level](m),
      onZapDone: (z) => this.zapDone(z),
      onStaleLineup: () => void this.refreshLineup(),
    });
  }

  async start(): Promise<void> {
    // The control API first: status works while the headend is still being found.
    this.api = buildControlApi(this);
    await this.api.listen({ host: this.cfg.control.address, port: this.cfg.control.port });
    this.log.info(`control API and player output on http://${this.cfg.control.address}:${this.cfg.control.port}/ (stream: /stream.ts)`);
    if (this.cfg.output.udp) this.addUdpOutput(this.cfg.output.udp);
    if (this.cfg.output.stdout) this.addStdoutOutput();
    if (this.cfg.remote.device) {
      this.remote = openRemote({
        device: this.cfg.remote.device,
        digitTimeoutMs: this.cfg.remote.digitTimeoutMs,
        onCommand: (cmd) => void this.zap(cmd.kind === 'number' ? cmd.channel : cmd.kind).catch((e: Error) => this.log.warn(`remote: ${e.message}`)),
        log: (level, m) => this.log[level](m),
      });
    }
    const state = await this.readState();
    if (state.lineup && checkLineupDocument(state.lineup).length === 0) this.lineup = state.lineup;
    this.previous = state.previous;
    void this.connect(state.channel);
    if (this.cfg.reportIntervalS > 0) this.timers.push(setInterval(() => void this.report(), this.cfg.reportIntervalS * 1000));
    this.timers.push(setInterval(() => void this.refreshLineup(), this.cfg.lineupRefreshS * 1000));
  }

  /** Find the headend and load the lineup (retrying, bounded per attempt), then tune the start channel. */
  private async connect(lastChannel: number | null): Promise<void> {
    let tuned = false;
    const tuneStart = async (): Promise<void> => {
      if (tuned || !this.lineup || this.lineup.channels.length === 0) return;
      tuned = true;
      const s = this.cfg.startChannel;
      const wanted = s === 'first' ? null : s === 'last' ? lastChannel : s;
      const ch = this.lineup.channels.find((c) => c.number === wanted) ?? this.lineup.channels[0];
      await this.tuneTo(ch);
    };
    // A cached lineup lets the TV play before the headend answers.
    await tuneStart();
    const t0 = performance.now();
    for (let attempt = 0; !this.stopped; attempt++) {
      if (!this.headendUrl) {
        this.counters.discoveries++;
        const found = await discoverHeadend({ interface: this.cfg.interface, timeoutMs: DISCOVERY_TIMEOUT_MS }).catch(() => null);
        if (found) {
          this.headendUrl = found.apiUrl.replace(/\/+$/, '') + '/';
          this.log.info(`found the headend over mDNS after ${Math.round(performance.now() - t0)} ms: ${found.instance} → ${this.headendUrl}`);
        } else if (attempt % 10 === 0) this.log.warn(`no headend answered _roomcast._tcp over mDNS on ${this.cfg.interface}; still looking`);
      }
      if (this.headendUrl && (await this.refreshLineup())) break;
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(attempt, 4))));
    }
    await tuneStart();
  }

  /** Load /api/lineup; on a new version, retune if the current channel changed. Returns success. */
  async refreshLineup(): Promise<boolean> {
    if (!this.headendUrl || this.stopped) return false;
    try {
      const res = await fetch(new URL('api/lineup', this.headendUrl), { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const doc = (await res.json()) as LineupDocument;
      const problems = checkLineupDocument(doc);
      if (problems.length > 0) throw new Error(`unusable lineup: ${problems.slice(0, 3).join('; ')}`);
      this.counters.lineupLoads++;
      const old = this.lineup;
      this.lineup = doc;
      if (old?.version !== doc.version) {
        this.log.info(`lineup ${doc.version}: ${doc.channels.length} channels`);
        void this.writeState();
        const cur = this.tuner.channel;
        if (cur) {
          const now = doc.channels.find((c) => c.number === cur.number);
          if (!now) this.log.warn(`channel ${cur.number} left the lineup; staying on it until the next zap`);
          else if (JSON.stringify(now) !== JSON.stringify(cur)) {
            this.log.info(`channel ${cur.number} changed in the lineup: retuning`);
            await this.tuneTo(now);
          }
        }
      }
      this.lastError = null;
      return true;
    } catch (err) {
      this.counters.lineupErrors++;
      const msg = `cannot load the lineup from ${this.headendUrl}: ${(err as Error).message}`;
      if (msg !== this.lastError) this.log.warn(msg);
      this.lastError = msg;
      return false;
    }
  }

  /**
   * What is on now and next per channel number, from the headend's guide
   * (GET /api/epg/now-next), kept 30 s; empty when the headend has no guide
   * or cannot be reached (the lineup still works without it).
   */
  async nowNext(): Promise<Record<string, { now: GuideItem | null; next: GuideItem | null }>> {
    const at = Date.now();
    if (this.guide && at - this.guide.atMs < 30_000) return this.guide.channels;
    if (!this.headendUrl) return {};
    try {
      const res = await fetch(new URL('api/epg/now-next', this.headendUrl), { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { channels?: Record<string, { now: GuideItem | null; next: GuideItem | null }> };
      this.guide = { atMs: at, channels: body.channels ?? {} };
      return this.guide.channels;
    } catch (err) {
      this.log.debug(`now/next from ${this.headendUrl}: ${(err as Error).message}`);
      // Not asked again for 30 s: a headend that is away must not hold up every GET /api/channels.
      this.guide = { atMs: at, channels: this.guide?.channels ?? {} };
      return this.guide.channels;
    }
  }

  channels(): LineupChannel[] {
    return this.lineup?.channels ?? [];
  }

  /** Resolve a zap target against the lineup. */
  resolve(target: ZapTarget): LineupChannel {
    const list = this.channels();
    if (list.length === 0) throw new ZapError('no lineup yet (the headend has not been reached)', 503);
    // During catch-up or VOD, up/down/last count from the live channel it replaced.
    const cur = this.tuner.channel?.number ?? (this.unicast ? this.liveBefore : null);
    if (typeof target === 'number') {
      const ch = list.find((c) => c.number === target);
      if (!ch) throw new ZapError(`channel ${target} is not in the lineup (${list.map((c) => c.number).join(', ')})`, 404);
      return ch;
    }
    if (target === 'last') {
      const ch = list.find((c) => c.number === this.previous);
      if (!ch) throw new ZapError('no previous channel', 409);
      return ch;
    }
    const i = cur === null ? -1 : list.findIndex((c) => c.number === cur);
    const n = list.length;
    return list[target === 'up' ? (i + 1 + n) % n : (i - 1 + n + (i < 0 ? 1 : 0)) % n];
  }

  /** The guest pressed a key: tune now. Resolves when tuning has begun (not when the picture starts). */
  async zap(target: ZapTarget): Promise<LineupChannel> {
    const t0 = performance.now();
    const ch = this.resolve(target);
    // Back to live: catch-up or VOD stops (the multicast takes over the same output).
    this.stopUnicast();
    await this.tuneTo(ch, t0);
    return ch;
  }

  /**
   * Catch-up on channel `number` (issue 6 §6): `what` is a time — "18:00"
   * (the latest past 18:00, local time), an ISO 8601 date-time, Unix
   * seconds — or a programme: "programme:<id>" (its start, Unix seconds, as
   * /api/epg gives it) or words of its title (the latest programme of the
   * channel, started within the catch-up window, whose title has them).
   * From a time: that moment up to now, growing (start-over); from a
   * programme: the programme. Played into the player's output; `zap` goes
   * back to live.
   */
  async catchup(number: number, what: string): Promise<UnicastStatus> {
    const ch = this.channels().find((c) => c.number === number);
    if (!ch) throw new ZapError(`channel ${number} is not in the lineup`, 404);
    const base = this.requireHeadend();
    const at = parseCatchupTime(what, Date.now());
    if (at !== null) {
      if (at > Date.now()) throw new ZapError(`${what} is in the future: catch-up plays what has been on the air`, 400);
      // No end: start-over, an EVENT playlist that grows with the channel.
      const url = new URL(`hls/${number}/index.m3u8?start=${encodeURIComponent(new Date(at).toISOString())}`, base).href;
      return this.playUnicast(url, `channel ${number} from ${new Date(at).toISOString()}`);
    }
    const programme = await this.findProgramme(base, number, what);
    const url = new URL(`api/epg/${number}/${programme.id}/play`, base).href;
    return this.playUnicast(url, `channel ${number}: ${programme.title} (${programme.start})`);
  }

  /** A VOD asset of the headend's library, by its id (as in /vod/<id>/index.m3u8). */
  async vod(asset: string): Promise<UnicastStatus> {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(asset)) throw new ZapError(`${JSON.stringify(asset)} is not an asset id (lowercase letters, digits and dashes)`, 400);
    const base = this.requireHeadend();
    return this.playUnicast(new URL(`vod/${asset}/index.m3u8`, base).href, `vod ${asset}`);
  }

  private requireHeadend(): string {
    if (!this.headendUrl) throw new ZapError('the headend has not been found yet', 503);
    return this.headendUrl;
  }

  /** The latest programme of channel `number` that started in the last 30 days and matches `what`. */
  private async findProgramme(base: string, number: number, what: string): Promise<{ id: number; title: string; start: string }> {
    const now = Date.now();
    const byId = /^programme:(\d{1,12})$/.exec(what);
    const from = byId ? Number(byId[1]) * 1000 : now - 30 * 86_400_000;
    const to = byId ? Number(byId[1]) * 1000 + 1000 : now;
    const url = new URL(`api/epg/${number}?from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`, base);
    let body: { programmes?: { id: number; title: string; start: string }[]; message?: string };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS * 2) });
      body = (await res.json()) as typeof body;
      if (!res.ok) throw new ZapError(`the guide of channel ${number}: ${body.message ?? `HTTP ${res.status}`}`, res.status === 404 ? 404 : 502);
    } catch (err) {
      if (err instanceof ZapError) throw err;
      throw new ZapError(`cannot read the guide from ${base}: ${(err as Error).message}`, 502);
    }
    const list = (body.programmes ?? []).filter((p) => Date.parse(p.start) <= now);
    if (byId) {
      const p = list.find((x) => x.id === Number(byId[1]));
      if (!p) throw new ZapError(`channel ${number} has no programme ${byId[1]} in its guide`, 404);
      return p;
    }
    const words = what.toLowerCase().split(/\s+/).filter(Boolean);
    const found = list.filter((p) => words.every((w) => p.title.toLowerCase().includes(w))).sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
    if (found.length === 0) throw new ZapError(`no programme on channel ${number} in the last 30 days has ${JSON.stringify(what)} in its title`, 404);
    return found[0];
  }

  /** Leaves the live channel and plays `url` into the output; an error leaves the live channel as it was. */
  private async playUnicast(url: string, label: string): Promise<UnicastStatus> {
    const p = new UnicastPlayback({
      url,
      label,
      out: {
        start: (psi) => this.outputs.start(psi),
        writePackets: (buf, off, count) => this.outputs.writePackets(buf, off, count),
        discontinuity: () => this.outputs.discontinuity(),
      },
      gate: this.cfg.gate,
      log: (level, m) => this.log[level](m),
      onEnd: () => undefined,
    });
    try {
      // The playlist first: a time outside the archive or an unknown asset is an error before the picture goes.
      await p.load();
    } catch (err) {
      if (err instanceof UnicastError) throw new ZapError(err.message, err.statusCode);
      throw err;
    }
    const live = this.tuner.channel?.number ?? (this.unicast ? this.liveBefore : null);
    this.stopUnicast();
    // Leave the multicast group: the kernel sends the IGMP leave, the switch stops the channel to this port.
    this.tuner.stop();
    this.liveBefore = live;
    this.unicast = p;
    p.play();
    return p.status();
  }

  private stopUnicast(): void {
    if (!this.unicast) return;
    this.unicast.stop();
    this.unicast = null;
  }

  /** Resolves with the zap record once the player got its first byte, or null after `timeoutMs`. */
  waitForStart(timeoutMs: number): Promise<ZapRecord | null> {
    const z = this.tuner.lastZap;
    if (z && z.firstByteMs !== null) return Promise.resolve(z);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.zapWaiters = this.zapWaiters.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (rec: ZapRecord): void => {
        clearTimeout(t);
        resolve(rec);
      };
      this.zapWaiters.push(done);
    });
  }

  private async tuneTo(ch: LineupChannel, t0 = performance.now()): Promise<void> {
    const cur = this.tuner.channel;
    if (cur && cur.number !== ch.number) this.previous = cur.number;
    await this.tuner.tune(ch, t0);
    void this.writeState();
  }

  private zapDone(z: ZapRecord): void {
    this.recent.push({ ...z });
    if (this.recent.length > RECENT_ZAPS) this.recent.shift();
    this.log.debug(`channel ${z.channel}: first byte to the player after ${z.firstByteMs} ms (${z.viaBurst ? 'FCC burst' : `multicast${z.fallback ? `: ${z.fallback}` : ''}`})`);
    const w = this.zapWaiters;
    this.zapWaiters = [];
    for (const f of w) f(z);
  }

  status(): Record<string, unknown> {
    const t = this.tuner.counters;
    return {
      agentId: this.cfg.agentId,
      label: this.cfg.label,
      interface: this.cfg.interface,
      headend: this.headendUrl,
      lineupVersion: this.lineup?.version ?? null,
      channels: this.lineup?.channels.length ?? 0,
      channel: this.tuner.channel?.number ?? null,
      previous: this.previous,
      mode: this.unicast ? 'unicast' : 'live',
      unicast: this.unicast?.status() ?? null,
      lastZap: this.tuner.lastZap,
      recentZaps: this.recent,
      zaps: { count: t.zaps, viaBurst: t.viaBurst, viaGate: t.viaGate, fccTimeouts: t.fccTimeouts, fccRefused: t.fccRefused },
      tuner: this.tuner.status(),
      counters: { ...t, ...this.counters },
      outputs: this.outputs.list(),
      lastError: this.lastError,
    };
  }

  /** POST /api/stb/report: bounded, and quiet when the headend is away. */
  private async report(): Promise<void> {
    if (!this.headendUrl || this.stopped) return;
    const t = this.tuner.counters;
    const body = {
      agentId: this.cfg.agentId,
      label: this.cfg.label,
      channel: this.tuner.channel?.number ?? null,
      zaps: { count: t.zaps, viaBurst: t.viaBurst, viaGate: t.viaGate, recentMs: this.recent.map((z) => z.firstByteMs ?? 0).slice(-RECENT_ZAPS) },
      counters: { rtpLost: t.rtpLost, rtpDuplicates: t.rtpDuplicates, ccErrors: t.ccErrors, spliceGaps: t.spliceGaps },
    };
    try {
      const res = await fetch(new URL('api/stb/report', this.headendUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.cfg.fleetKey ? { 'x-roomcast-fleet-key': this.cfg.fleetKey } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      this.counters.reports++;
    } catch (err) {
      this.counters.reportErrors++;
      const now = Date.now();
      if (now - this.lastReportErrorLogAt > 60_000) {
        this.lastReportErrorLogAt = now;
        this.log.warn(`report to ${this.headendUrl} failed: ${(err as Error).message} (retrying every ${this.cfg.reportIntervalS} s)`);
      }
    }
  }

  addHttpOutput(res: NodeJS.WritableStream & { writableLength: number; destroy(): void }, label: string): { remove(): void } {
    const writer: OutputWriter = {
      write: (chunk) => void res.write(chunk),
      buffered: () => res.writableLength,
      close: () => res.end(),
    };
    const client = this.outputs.add(writer, label);
    return { remove: () => this.outputs.remove(client) };
  }

  private addUdpOutput(dst: { address: string; port: number }): void {
    const sock = dgram.createSocket('udp4');
    this.udpOut = sock;
    sock.on('error', (e) => this.log.warn(`UDP output to ${dst.address}:${dst.port}: ${e.message}`));
    // 7 × 188 bytes per datagram, like the multicast (TSDuck's tsTSDatagramOutput.h: the most that fit an Ethernet MTU).
    const pending = Buffer.alloc(7 * TS_PACKET_SIZE);
    let fill = 0;
    let queued = 0;
    const writer: OutputWriter = {
      write: (chunk) => {
        for (let o = 0; o < chunk.length; o += TS_PACKET_SIZE) {
          chunk.copy(pending, fill, o, o + TS_PACKET_SIZE);
          fill += TS_PACKET_SIZE;
          if (fill === pending.length) {
            const d = Buffer.from(pending);
            queued += d.length;
            sock.send(d, dst.port, dst.address, () => (queued -= d.length));
            fill = 0;
          }
        }
      },
      buffered: () => queued,
      close: () => sock.close(),
    };
    this.outputs.add(writer, `udp://${dst.address}:${dst.port}`);
    this.log.info(`player output: udp://${dst.address}:${dst.port}`);
  }

  private addStdoutOutput(): void {
    const writer: OutputWriter = {
      write: (chunk) => void process.stdout.write(chunk),
      buffered: () => process.stdout.writableLength,
      close: () => undefined,
    };
    this.outputs.add(writer, 'stdout');
  }

  private async readState(): Promise<State> {
    if (!this.cfg.stateFile) return { channel: null, previous: null, lineup: null };
    try {
      const j = JSON.parse(await readFile(this.cfg.stateFile, 'utf8')) as Partial<State>;
      return {
        channel: Number.isInteger(j.channel) ? (j.channel as number) : null,
        previous: Number.isInteger(j.previous) ? (j.previous as number) : null,
        lineup: j.lineup ?? null,
      };
    } catch {
      return { channel: null, previous: null, lineup: null };
    }
  }

  private writing = false;
  private writeAgain = false;
  private async writeState(): Promise<void> {
    const file = this.cfg.stateFile;
    if (!file) return;
    if (this.writing) {
      this.writeAgain = true;
      return;
    }
    this.writing = true;
    try {
      do {
        this.writeAgain = false;
        const state: State = { channel: this.tuner.channel?.number ?? null, previous: this.previous, lineup: this.lineup };
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, JSON.stringify(state));
        await rename(`${file}.tmp`, file);
      } while (this.writeAgain);
    } catch (err) {
      this.log.warn(`cannot write ${file}: ${(err as Error).message} (the last channel will not survive a restart)`);
    } finally {
      this.writing = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.remote?.close();
    this.stopUnicast();
    this.tuner.stop();
    this.outputs.closeAll();
    this.udpOut = null;
    await this.api?.close();
  }
}

/**
 * A catch-up time as a guest or integrator types it, in ms since the epoch,
 * or null when `what` is not a time (then it names a programme):
 * "18:00" / "18:00:30" (the latest such local time not after `now`), an ISO
 * 8601 date-time ("2026-12-02T18:00:00Z", "2026-12-02 18:00"), or Unix
 * seconds (nine digits or more).
 */
export function parseCatchupTime(what: string, now: number): number | null {
  const s = what.trim();
  const hm = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (hm) {
    const [h, m, sec] = [Number(hm[1]), Number(hm[2]), Number(hm[3] ?? 0)];
    if (h > 23 || m > 59 || sec > 59) return null;
    const d = new Date(now);
    d.setHours(h, m, sec, 0);
    if (d.getTime() > now) d.setDate(d.getDate() - 1);
    return d.getTime();
  }
  if (/^\d{9,12}$/.test(s)) return Number(s) * 1000;
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s)) {
    const t = Date.parse(s.replace(' ', 'T'));
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

export class ZapError extends Error {
  override readonly name = 'ZapError';
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}
