/**
 * One channel, for the guest-complaint moment: what is on the air right now
 * (a thumbnail every 5 s from the headend's GOP cache), its bitrate over the
 * last two minutes, every input and which is active, TR 101 290 counters,
 * SRT statistics, pacing, and the recent events (restarts, switches, errors).
 */
import { api, ApiError, live, type Channel, type Programme, type Snapshot } from './api.js';
import { bitrate, duration, h, lineChart, replace, ago } from './dom.js';
import { channelLogo, sourceLabel, stateBadge } from './lineup.js';
import type { Ctx } from './main.js';

/** The inspector's counters shown, in TR 101 290's order (core/mpegts/inspector.ts). */
const TR101290_LABELS: [string, string][] = [
  ['syncByteErrors', '1.2 Sync byte errors'],
  ['patErrors', '1.3 PAT errors'],
  ['ccErrors', '1.4 Continuity count errors'],
  ['pmtErrors', '1.5 PMT errors'],
  ['pidErrors', '1.6 PID errors'],
  ['transportErrors', '2.1 Transport errors'],
  ['crcErrors', '2.2 CRC errors'],
  ['pcrRepetitionErrors', '2.3a PCR repetition errors'],
  ['pcrDiscontinuityErrors', '2.3b PCR discontinuity errors'],
  ['pcrAccuracyErrors', '2.4 PCR accuracy errors'],
  ['pcrIntervalMaxMs', 'PCR interval, max (ms)'],
  ['pesErrors', 'PES errors'],
  ['scrambledPackets', 'Scrambled packets'],
];

function kv(rows: [string, string | number | null | undefined][], id?: string): HTMLElement {
  return h(
    'table',
    { class: 'kv', ...(id ? { id } : {}) },
    h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v === null || v === undefined ? '—' : String(v))))),
  );
}

function num(v: number | undefined, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function channelView(root: HTMLElement, ctx: Ctx, params: string[]): () => void {
  const number = Number(params[0]);
  let channel: Channel | null = null;
  const head = h('div', { class: 'page-head' });
  const alertBox = h('div', { class: 'problems', role: 'alert', id: 'channel-alert', hidden: true });
  const picture = h('img', { id: 'thumbnail', class: 'thumbnail', alt: `Current picture of channel ${number}`, width: 320, height: 180, hidden: true });
  const pictureNote = h('p', { class: 'muted thumb-note', id: 'thumbnail-note' }, 'Waiting for a picture…');
  const preview = h('video', { id: 'preview', class: 'thumbnail', muted: true, autoplay: true, playsinline: true, controls: true, hidden: true, 'aria-label': `Live preview of channel ${number}` });
  const chart = h('div', { class: 'chart-box' });
  const rates = h('p', { class: 'rates' });
  const inputs = h('div');
  const tr = h('div');
  const srt = h('div');
  const output = h('div');
  const events = h('ol', { class: 'events', id: 'events' });
  const programmes = h('ol', { class: 'programmes', id: 'programmes' });
  const catchupFrom = h('input', { type: 'datetime-local', id: 'catchup-from', step: 1, 'aria-label': 'Watch from (local time)' });
  const backLive = h('button', { type: 'button', id: 'back-live', hidden: true, on: { click: () => void playIn(`/hls/${number}/index.m3u8`, 'Live preview (HLS from the headend)', false) } }, 'Back to live');
  const catchupCard = ctx.settings.hls
    ? h(
        'section',
        { class: 'card', id: 'catchup' },
        h('h2', null, 'Catch-up and guide'),
        h(
          'form',
          {
            class: 'row',
            on: {
              submit: (e: Event) => {
                e.preventDefault();
                const at = new Date(catchupFrom.value);
                if (Number.isNaN(at.getTime())) return;
                // No end: start-over from that moment, growing with the channel (an EVENT playlist).
                void playIn(`/hls/${number}/index.m3u8?start=${encodeURIComponent(at.toISOString())}`, `Catch-up from ${at.toLocaleString()}`, true);
              },
            },
          },
          h('label', { for: 'catchup-from' }, 'Watch from'),
          catchupFrom,
          h('button', { type: 'submit', id: 'catchup-play' }, 'Play'),
          backLive,
        ),
        programmes,
      )
    : null;
  replace(
    root,
    head,
    alertBox,
    h(
      'div',
      { class: 'cards two' },
      h('section', { class: 'card' }, h('h2', null, 'On the air now'), h('div', { class: 'thumb-wrap' }, preview, picture, pictureNote)),
      h('section', { class: 'card' }, h('h2', null, 'Bitrate, last 2 minutes'), chart, rates),
    ),
    catchupCard,
    h('section', { class: 'card' }, h('h2', null, 'Inputs'), inputs),
    h(
      'div',
      { class: 'cards two' },
      h('section', { class: 'card' }, h('h2', null, 'TR 101 290 (what goes on the air)'), tr),
      h('section', { class: 'card' }, h('h2', null, 'Output and pacing'), output),
    ),
    srt,
    h('section', { class: 'card' }, h('h2', null, 'Recent events'), events),
  );

  const drawHead = (s: Snapshot | undefined): void => {
    if (!channel) return;
    const c = channel;
    replace(
      head,
      h('a', { href: '#/', class: 'back' }, '← Lineup'),
      h('h1', null, channelLogo(c), ` ${c.number} · ${c.name}`),
      h('span', { id: 'channel-state' }, stateBadge(s, c.enabled)),
      h(
        'div',
        { class: 'toolbar' },
        c.transport === 'rtp' && c.enabled ? h('a', { class: 'button', href: `/api/channels/${c.number}/sdp`, download: `${c.number}.sdp` }, 'SDP') : null,
        ctx.canEdit ? h('a', { class: 'button primary', href: `#/channel/${c.number}/edit` }, 'Edit') : null,
      ),
      h('p', { class: 'hint wide' }, `${c.group} · rtp://${c.multicast.group}:${c.multicast.port}${c.multicast.source ? ` (SSM from ${c.multicast.source})` : ''} · ${c.transport.toUpperCase()} · ${sourceLabel(c)}`),
    );
  };

  const drawLive = (): void => {
    const s = live.snapshot(number);
    drawHead(s);
    const hist = live.history.get(number);
    replace(chart, lineChart(hist?.out ?? [], { width: 480, height: 120, className: 'chart big', label: 'output bitrate, last two minutes' }));
    // Honest about health: a channel that is not sending its own picture says so, with the reason.
    let alarm: string | null = null;
    if (channel?.enabled && s && s.state !== 'ok' && s.state !== 'starting') {
      alarm = `Not on the air (${s.state})${s.state === 'slate' ? ': guests see the “temporarily unavailable” slate' : ''}. ${s.input.lastError ? `Last error: ${s.input.lastError}` : 'No input has arrived yet: is the source sending to this headend?'}`;
    } else if (channel?.enabled && s && s.state === 'ok' && s.activeInput !== 'primary') {
      const primary = s.inputs[0];
      alarm = `On ${s.activeInput}: the primary input is ${primary?.healthy ? 'back, returning soon' : `down${primary?.lastError ? ` (${primary.lastError})` : ''}`}.`;
    }
    alertBox.hidden = alarm === null;
    alertBox.textContent = alarm ?? '';
    if (!s) {
      rates.textContent = channel && !channel.enabled ? 'The channel is disabled: off the air.' : 'No report from the data plane yet.';
      return;
    }
    replace(rates, h('span', { id: 'output-bitrate' }, `out ${bitrate(s.outputBitrateBps)}`), ` · in ${bitrate(s.inputBitrateBps)} · up ${duration(s.uptimeS)} · ${s.stream.streams || 'streams unknown'}`);
    replace(
      inputs,
      h(
        'table',
        { class: 'grid' },
        h('thead', null, h('tr', null, ['', 'Input', 'Type', 'State', 'Bitrate', 'CC errors/s', 'Restarts', 'Last error'].map((t) => h('th', null, t)))),
        h(
          'tbody',
          null,
          s.inputs.map((i) =>
            h(
              'tr',
              { class: i.onAir ? 'on-air' : '' },
              h('td', null, i.onAir ? h('span', { class: 'badge badge-ok' }, 'on air') : ''),
              h('td', null, i.label),
              h('td', null, i.type.toUpperCase()),
              h('td', null, i.running ? (i.healthy ? h('span', { class: 'ok' }, 'healthy') : h('span', { class: 'warn' }, 'unhealthy')) : h('span', { class: 'muted' }, 'stopped')),
              h('td', null, bitrate(i.bitrateBps)),
              h('td', { class: 'num' }, i.ccErrorsLastS),
              h('td', { class: 'num' }, i.restarts),
              h('td', { class: 'muted' }, i.lastError ? `${i.lastError}${i.lastErrorAgoS !== null ? ` (${duration(i.lastErrorAgoS)} ago)` : ''}` : '—'),
            ),
          ),
        ),
      ),
      s.lastSwitch ? h('p', { class: 'hint' }, `Last switch ${duration(s.lastSwitch.agoS)} ago: ${s.lastSwitch.from} → ${s.lastSwitch.to} (${s.lastSwitch.reason}); ${s.switches} switches since start.`) : null,
    );
    const t = s.tr101290;
    replace(tr, kv(TR101290_LABELS.filter(([k]) => k in t).map(([k, label]): [string, string] => [label, num(t[k], k.endsWith('Ms') ? 1 : 0)]), 'tr101290'));
    const o = s.output;
    replace(
      output,
      kv([
        ['Datagrams sent', o.datagrams],
        ['Pacing lateness p50 / p99 / max (ms)', `${num(o.latenessP50Ms, 2)} / ${num(o.latenessP99Ms, 2)} / ${num(o.latenessMaxMs, 1)}`],
        ['Late datagrams', o.lateDatagrams],
        ['Null packets (CBR padding)', o.nullPackets],
        ['Send errors', o.sendErrors],
        ['Re-anchors', o.reanchors],
        ['FCC cache (datagrams)', s.cache.datagrams],
        ['Keyframes seen', s.stream.keyframes],
      ]),
    );
    const srtInputs = s.inputs.filter((i) => i.type === 'srt');
    replace(
      srt,
      srtInputs.length
        ? h(
            'section',
            { class: 'card' },
            h('h2', null, 'SRT statistics'),
            h('div', { class: 'cards two' }, srtInputs.map((i) => h('div', null, h('h3', null, i.label), kv(Object.entries(i.source).map(([k, v]): [string, string | number | null] => [k, v]))))),
          )
        : null,
    );
  };

  let pictureUrl: string | null = null;
  const refreshPicture = async (): Promise<void> => {
    try {
      const res = await fetch(`/api/channels/${number}/thumbnail.jpg`, { credentials: 'same-origin' });
      if (!res.ok) {
        const b = (await res.json().catch(() => ({}))) as { message?: string };
        pictureNote.textContent = b.message ?? `No picture (${res.status}).`;
        pictureNote.hidden = false;
        return;
      }
      const url = URL.createObjectURL(await res.blob());
      picture.onload = () => {
        if (pictureUrl) URL.revokeObjectURL(pictureUrl);
        pictureUrl = url;
        // The live preview, once it plays, takes the thumbnail's place.
        picture.hidden = !preview.hidden;
        if (preview.hidden) pictureNote.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      };
      picture.src = url;
    } catch {
      pictureNote.textContent = 'The headend does not answer.';
    }
  };

  const refreshEvents = async (): Promise<void> => {
    try {
      const r = await api<{ events: { at: string; kind: string; message: string }[] }>('GET', `/api/channels/${number}/events`);
      replace(
        events,
        r.events.length
          ? r.events.map((e) => h('li', { class: `event event-${e.kind}` }, h('time', { datetime: e.at, title: e.at }, ago(e.at)), h('span', { class: 'kind' }, e.kind), h('span', null, e.message)))
          : h('li', { class: 'muted' }, 'Nothing since the headend started.'),
      );
    } catch {
      // shown on the next try
    }
  };

  api<Channel>('GET', `/api/channels/${number}`)
    .then((c) => {
      channel = c;
      drawLive();
    })
    .catch((err: ApiError) => replace(root, h('h1', null, `Channel ${number}`), h('p', { class: 'error' }, err.message), h('a', { href: '#/' }, '← Lineup')));
  const unsubscribe = live.subscribe(drawLive);
  void refreshPicture();
  let stopPreview = (): void => {};
  let left = false;
  if (ctx.settings.hls) {
    // A channel just added has no segment yet: ask again every 2 s (for a minute at most) while the page is open.
    const attempt = async (tries: number): Promise<void> => {
      if (left) return;
      const stop = await startPreview(preview, `/hls/${number}/index.m3u8`, (note) => {
        pictureNote.textContent = note;
      });
      if (left) stop?.();
      else if (stop) stopPreview = stop;
      else if (tries > 0) setTimeout(() => void attempt(tries - 1), 2000);
    };
    void attempt(30);
  }
  /** The preview switches to another playlist of the channel (catch-up, a programme) or back to live. */
  const playIn = async (url: string, label: string, fromStart: boolean): Promise<void> => {
    stopPreview();
    stopPreview = () => {};
    const stop = await startPreview(preview, url, (n) => (pictureNote.textContent = n), {
      label,
      fromStart,
      onMissing: (m) => {
        pictureNote.textContent = `Nothing to play: ${m}`;
      },
    });
    if (left) stop?.();
    else if (stop) stopPreview = stop;
    backLive.hidden = url === `/hls/${number}/index.m3u8`;
  };

  const refreshGuide = async (): Promise<void> => {
    if (!catchupCard) return;
    const now = Date.now();
    try {
      const g = await api<{ programmes: Programme[] }>('GET', `/api/epg/${number}?from=${new Date(now - 24 * 3600_000).toISOString()}&to=${new Date(now + 12 * 3600_000).toISOString()}`);
      const hm = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      const STATE: Record<Programme['catchup'], string> = { available: 'catch-up', airing: 'on now', future: 'later', expired: 'no longer kept', none: 'not recorded' };
      replace(
        programmes,
        g.programmes.length
          ? g.programmes.map((p) =>
              h(
                'li',
                { class: `programme ${p.catchup}`, dataset: { id: String(p.id) } },
                h('span', { class: 'when mono' }, `${hm(p.start)}–${hm(p.stop)}`),
                h('span', { class: 'title' }, p.title, p.subTitle ? h('small', null, ` · ${p.subTitle}`) : null),
                h('span', { class: 'badge' }, STATE[p.catchup]),
                p.play
                  ? h('button', { type: 'button', class: 'play-programme', 'aria-label': `Play ${p.title} from its start`, on: { click: () => void playIn(p.play!, `Catch-up: ${p.title} (${hm(p.start)})`, true) } }, '▶ Play')
                  : null,
              ),
            )
          : h('li', { class: 'muted' }, channel?.tvgId ? 'The guide has nothing for this channel today (Programme guide: import or refresh).' : 'No tvg-id: this channel has no guide. Set it on the Edit page.'),
      );
    } catch (err) {
      replace(programmes, h('li', { class: 'error' }, (err as Error).message));
    }
  };

  void refreshEvents();
  void refreshGuide();
  const timers = [setInterval(() => void refreshPicture(), 5000), setInterval(() => void refreshEvents(), 5000), setInterval(() => void refreshGuide(), 60_000)];
  return () => {
    unsubscribe();
    for (const t of timers) clearInterval(t);
    left = true;
    stopPreview();
    if (pictureUrl) URL.revokeObjectURL(pictureUrl);
  };
}

/**
 * The preview player: an HLS playlist of the headend (a channel live, a
 * catch-up range or programme, a VOD asset: issue 6) in a muted <video>,
 * through hls.js (served by the headend: /ui/vendor) where the browser has
 * Media Source Extensions, natively where it plays HLS itself. The
 * thumbnail stays for when there is no HLS yet.
 *
 * Returns how to stop it, or null when there is nothing to play yet (or no
 * way to play it); with `onMissing`, told the server's reason instead.
 */
export async function startPreview(
  video: HTMLVideoElement,
  url: string,
  note: (s: string) => void,
  o: { label?: string; fromStart?: boolean; onMissing?: (message: string) => void } = {},
): Promise<(() => void) | null> {
  // Only when the playlist exists: a channel that has not been on the air yet keeps its thumbnail.
  const head = await fetch(url, { method: 'GET', credentials: 'same-origin' }).catch(() => null);
  if (!head?.ok) {
    if (head && o.onMissing) o.onMissing(((await head.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${head.status}`);
    return null;
  }
  video.dataset.src = url;
  const show = (): void => {
    video.hidden = false;
    document.getElementById('thumbnail')?.setAttribute('hidden', '');
    note(o.label ?? 'Live preview (HLS from the headend)');
  };
  type HlsInstance = { loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void; on(e: string, f: (ev: string, d: { fatal?: boolean; details?: string }) => void): void; destroy(): void };
  type HlsClass = { new (cfg: Record<string, unknown>): HlsInstance; isSupported(): boolean; Events: Record<string, string> };
  let mod: { default: HlsClass } | null = null;
  try {
    mod = (await import('/ui/vendor/hls.light.min.mjs' as string)) as { default: HlsClass };
  } catch {
    mod = null;
  }
  const Hls = mod?.default;
  if (Hls && Hls.isSupported()) {
    // No worker: the page's CSP allows scripts from this origin only, and a preview transmuxes little.
    // Catch-up from the start of a programme still on the air (an EVENT playlist): position 0, not the live edge.
    const hls = new Hls({ enableWorker: false, liveSyncDurationCount: 3, lowLatencyMode: false, ...(o.fromStart ? { startPosition: 0 } : {}) });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (d.fatal) note(`Preview stopped: ${d.details ?? 'error'}`);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      show();
      void video.play().catch(() => {});
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return () => hls.destroy();
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = url;
    show();
    return () => video.removeAttribute('src');
  }
  return () => {};
}
