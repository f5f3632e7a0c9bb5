/**
 * The lineup: every channel with its live state, bitrate sparkline, errors
 * and viewers (from the status stream), and the edits hotel IT makes most:
 * add, duplicate, enable/disable, delete, renumber by drag and drop (or the
 * keyboard: the ⠿ handle with ↑/↓), bulk multicast assignment.
 */
import { api, ApiError, live, type Channel, type NowNext, type Snapshot, type StatusEvent } from './api.js';
import { bitrate, h, lineChart, monogram, replace, toast } from './dom.js';
import type { Ctx } from './main.js';

export function stateBadge(s: Snapshot | undefined, enabled: boolean): HTMLElement {
  if (!enabled) return h('span', { class: 'badge badge-off' }, 'off');
  if (!s) return h('span', { class: 'badge badge-wait' }, 'starting');
  const cls = s.state === 'ok' ? 'badge-ok' : s.state === 'slate' || s.state === 'no-input' ? 'badge-bad' : 'badge-wait';
  const label = s.state === 'ok' ? (s.activeInput === 'primary' ? 'on air' : `on air · ${s.activeInput}`) : s.state;
  return h('span', { class: `badge ${cls}`, title: s.input.lastError ?? '' }, label);
}

/** The channel's logo, or a monogram of its name when it has none. */
export function channelLogo(c: Pick<Channel, 'name' | 'logo'>): HTMLElement {
  return c.logo ? h('img', { class: 'logo logo-img', src: c.logo, alt: '', loading: 'lazy' }) : monogram(c.name);
}

export function sourceLabel(c: Channel): string {
  const inputs = c.inputs ?? (c.source ? [c.source] : []);
  const first = inputs[0];
  if (!first) return '—';
  const where =
    first.type === 'ffmpeg' ? String(first.url).slice(0, 40) :
    first.type === 'file' ? String(first.path).split('/').pop() :
    first.type === 'srt' ? `${first.mode ?? 'listener'} :${first.port}` :
    `${first.address}:${first.port}`;
  return `${first.type.toUpperCase()} ${where}${inputs.length > 1 ? ` +${inputs.length - 1} backup${inputs.length > 2 ? 's' : ''}` : ''}`;
}

/** Moves that put `order` (channels in their new sequence) on the numbers the lineup already uses, in ascending order. */
export function renumber(order: readonly Channel[]): [number, number][] {
  const numbers = order.map((c) => c.number).sort((a, b) => a - b);
  return order.map((c, i): [number, number] => [c.number, numbers[i]]).filter(([from, to]) => from !== to);
}

/** "Now: News (18:00–19:00) · Next: Film at 19:00", from the guide; nothing when the channel has none. */
export function nowNextLine(g: NowNext | undefined): HTMLElement | null {
  if (!g || (!g.now && !g.next)) return null;
  const hm = (iso: string): string => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return h(
    'small',
    { class: 'now-next' },
    g.now ? h('span', { class: 'now' }, h('b', null, 'Now: '), `${g.now.title} (${hm(g.now.start)}–${hm(g.now.stop)})`) : null,
    g.now && g.next ? ' · ' : null,
    g.next ? h('span', { class: 'next' }, h('b', null, 'Next: '), `${g.next.title} at ${hm(g.next.start)}`) : null,
  );
}

export function lineupView(root: HTMLElement, ctx: Ctx): () => void {
  let channels: Channel[] = [];
  /** Now and next per channel number (GET /api/epg/now-next), reloaded every minute. */
  let guide: Record<string, NowNext> = {};
  const selected = new Set<number>();
  const cells = new Map<number, { state: HTMLElement; spark: HTMLElement; rate: HTMLElement; errors: HTMLElement; viewers: HTMLElement }>();
  const filter = h('input', { type: 'search', placeholder: 'Filter by number, name, group or address', 'aria-label': 'Filter channels', class: 'filter' });
  const summary = h('span', { class: 'summary', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const assignBtn = h('button', { id: 'assign-multicast', disabled: true, on: { click: () => assignDialog() } }, 'Assign multicast…');
  const table = h(
    'table',
    { class: 'grid lineup', id: 'lineup' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ctx.canEdit ? h('th', { class: 'narrow' }, h('input', { type: 'checkbox', 'aria-label': 'Select all', on: { change: (e: Event) => selectAll((e.target as HTMLInputElement).checked) } })) : null,
        ctx.canEdit ? h('th', { class: 'narrow', 'aria-label': 'Move' }) : null,
        h('th', { class: 'num' }, '#'),
        h('th', null, 'Channel'),
        h('th', null, 'Group'),
        h('th', null, 'Multicast'),
        h('th', null, 'Input'),
        h('th', null, 'Bitrate'),
        h('th', { class: 'num' }, 'Errors'),
        h('th', { class: 'num' }, 'Viewers'),
        h('th', { class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Channel lineup'),
      summary,
      h(
        'div',
        { class: 'toolbar' },
        filter,
        ctx.canEdit ? assignBtn : null,
        ctx.canEdit ? h('a', { class: 'button primary', href: '#/new', id: 'add-channel' }, '+ Add channel') : null,
      ),
    ),
    h('p', { class: 'hint' }, 'The lineup lives in the headend’s database; saving a channel restarts that channel only. ', ctx.canEdit ? 'Drag a row by its handle (or focus the handle and press ↑/↓) to renumber.' : ''),
    h('div', { class: 'table-wrap' }, table),
  );

  const selectAll = (on: boolean): void => {
    selected.clear();
    if (on) for (const c of visible()) selected.add(c.number);
    for (const box of tbody.querySelectorAll<HTMLInputElement>('input[type=checkbox]')) box.checked = selected.has(Number(box.dataset.number));
    assignBtn.disabled = selected.size === 0;
  };

  const visible = (): Channel[] => {
    const q = filter.value.trim().toLowerCase();
    if (!q) return channels;
    return channels.filter((c) => `${c.number} ${c.name} ${c.group} ${c.multicast.group}:${c.multicast.port}`.toLowerCase().includes(q));
  };

  const reorder = async (order: Channel[]): Promise<void> => {
    const moves = renumber(order);
    if (moves.length === 0) return;
    try {
      const r = await api<{ channels: Channel[] }>('POST', '/api/channels/reorder', { moves });
      channels = r.channels;
      toast(`Renumbered: ${moves.map(([a, b]) => `${a} → ${b}`).join(', ')}`);
      draw();
    } catch (err) {
      toast(`Renumbering failed: ${(err as Error).message}`, 'error');
      await load();
    }
  };

  const moveBy = (number: number, delta: number): void => {
    const order = [...channels];
    const i = order.findIndex((c) => c.number === number);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    // The moved channel takes the j-th number of the lineup: keep the focus on its handle.
    const newNumber = order.map((c) => c.number).sort((a, b) => a - b)[j];
    void reorder(order).then(() => tbody.querySelector<HTMLElement>(`tr[data-number="${newNumber}"] .handle`)?.focus());
  };

  let dragging: number | null = null;
  const row = (c: Channel): HTMLElement => {
    const s = live.snapshot(c.number);
    const state = h('span', null, stateBadge(s, c.enabled));
    const spark = h('span', { class: 'spark' });
    const rate = h('span', { class: 'rate' });
    const errors = h('span');
    const viewers = h('span');
    cells.set(c.number, { state, spark, rate, errors, viewers });
    const toggle = async (): Promise<void> => {
      try {
        await api('PUT', `/api/channels/${c.number}`, { ...c, enabled: !c.enabled });
        toast(`Channel ${c.number} ${c.enabled ? 'disabled: off the air' : 'enabled: going on the air'}.`);
      } catch (err) {
        toast((err as Error).message, 'error');
      }
      await load();
    };
    const remove = async (): Promise<void> => {
      if (!confirm(`Delete channel ${c.number} “${c.name}”? It goes off the air at once.`)) return;
      try {
        await api('DELETE', `/api/channels/${c.number}?version=${c.version}`);
        toast(`Channel ${c.number} deleted.`);
      } catch (err) {
        toast((err as Error).message, 'error');
      }
      await load();
    };
    const tr = h(
      'tr',
      {
        'data-number': c.number,
        class: c.enabled ? '' : 'disabled',
        on: ctx.canEdit
          ? {
              dragover: (e: Event) => {
                if (dragging === null) return;
                e.preventDefault();
                tr.classList.add('drop-target');
              },
              dragleave: () => tr.classList.remove('drop-target'),
              drop: (e: Event) => {
                e.preventDefault();
                tr.classList.remove('drop-target');
                const from = dragging;
                dragging = null;
                if (from === null || from === c.number) return;
                const order = channels.filter((x) => x.number !== from);
                const moved = channels.find((x) => x.number === from)!;
                const at = order.findIndex((x) => x.number === c.number);
                const fromIndex = channels.findIndex((x) => x.number === from);
                const toIndex = channels.findIndex((x) => x.number === c.number);
                order.splice(fromIndex < toIndex ? at + 1 : at, 0, moved);
                void reorder(order);
              },
            }
          : {},
      },
      ctx.canEdit
        ? h(
            'td',
            null,
            h('input', {
              type: 'checkbox',
              'aria-label': `Select channel ${c.number}`,
              dataset: { number: String(c.number) },
              checked: selected.has(c.number),
              on: {
                change: (e: Event) => {
                  if ((e.target as HTMLInputElement).checked) selected.add(c.number);
                  else selected.delete(c.number);
                  assignBtn.disabled = selected.size === 0;
                },
              },
            }),
          )
        : null,
      ctx.canEdit
        ? h(
            'td',
            null,
            h(
              'button',
              {
                class: 'handle',
                draggable: 'true',
                title: 'Drag to renumber (or ↑/↓)',
                'aria-label': `Move channel ${c.number} ${c.name}`,
                on: {
                  dragstart: (e: Event) => {
                    dragging = c.number;
                    const dt = (e as DragEvent).dataTransfer;
                    if (dt) {
                      dt.effectAllowed = 'move';
                      dt.setData('text/plain', String(c.number));
                      dt.setDragImage(tr, 20, 20);
                    }
                  },
                  dragend: () => {
                    dragging = null;
                  },
                  keydown: (e: Event) => {
                    const k = (e as KeyboardEvent).key;
                    if (k === 'ArrowUp' || k === 'ArrowDown') {
                      e.preventDefault();
                      moveBy(c.number, k === 'ArrowUp' ? -1 : 1);
                    }
                  },
                },
              },
              '⠿',
            ),
          )
        : null,
      h('td', { class: 'num strong' }, c.number),
      h('td', null, h('a', { href: `#/channel/${c.number}`, class: 'channel-name' }, channelLogo(c), h('span', null, c.name)), nowNextLine(guide[String(c.number)])),
      h('td', null, c.group),
      h('td', { class: 'mono' }, `${c.multicast.group}:${c.multicast.port}`, c.transport === 'udp' ? h('small', null, ' udp') : null),
      h('td', null, h('div', { class: 'input-cell' }, state, h('small', { class: 'muted', title: sourceLabel(c) }, sourceLabel(c)))),
      h('td', null, h('div', { class: 'rate-cell' }, spark, rate)),
      h('td', { class: 'num' }, errors),
      h('td', { class: 'num' }, viewers),
      h(
        'td',
        { class: 'actions' },
        ctx.canEdit ? h('a', { href: `#/channel/${c.number}/edit`, class: 'button small' }, 'Edit') : null,
        ctx.canEdit ? h('a', { href: `#/new?from=${c.number}`, class: 'button small wide-only', title: `Duplicate channel ${c.number}` }, 'Copy') : null,
        ctx.canEdit ? h('button', { class: 'small wide-only', on: { click: () => void toggle() } }, c.enabled ? 'Disable' : 'Enable') : null,
        ctx.canEdit ? h('button', { class: 'small danger', on: { click: () => void remove() } }, 'Delete') : null,
      ),
    );
    return tr;
  };

  const update = (e: StatusEvent | null): void => {
    let onAir = 0;
    let trouble = 0;
    for (const c of channels) {
      const cell = cells.get(c.number);
      const s = e?.channels.find((x) => x.number === c.number);
      if (s?.state === 'ok') onAir++;
      else if (c.enabled && s) trouble++;
      if (!cell) continue;
      replace(cell.state, stateBadge(s, c.enabled));
      const hist = live.history.get(c.number)?.out ?? [];
      replace(cell.spark, lineChart(hist.slice(-60), { width: 72, height: 24, className: 'sparkline', label: `output bitrate of channel ${c.number}, last minute` }));
      cell.rate.textContent = c.enabled ? bitrate(s?.outputBitrateBps) : '—';
      const cc = s ? (s.tr101290.ccErrors ?? 0) : 0;
      const restarts = s ? s.input.restarts : 0;
      replace(cell.errors, cc + restarts > 0 ? h('span', { class: 'warn', title: `${cc} CC errors on the air, ${restarts} input restarts` }, `${cc} / ${restarts}`) : h('span', { class: 'muted', title: 'CC errors / input restarts' }, '0'));
      cell.viewers.textContent = String(e?.viewers[String(c.number)] ?? 0);
    }
    const enabled = channels.filter((c) => c.enabled).length;
    summary.textContent = `${channels.length} channels · ${onAir} of ${enabled} on air${trouble ? ` · ${trouble} need attention` : ''}`;
    summary.className = trouble ? 'summary warn' : 'summary';
  };

  const draw = (): void => {
    cells.clear();
    const rows = visible().map(row);
    replace(tbody, rows.length ? rows : h('tr', null, h('td', { colspan: 11, class: 'empty' }, channels.length ? 'No channel matches the filter.' : 'No channels yet.')));
    update(live.latest);
  };

  const load = async (): Promise<void> => {
    const r = await api<{ channels: Channel[] }>('GET', '/api/channels');
    channels = r.channels;
    for (const n of [...selected]) if (!channels.some((c) => c.number === n)) selected.delete(n);
    draw();
  };

  const assignDialog = (): void => {
    const pool = h('input', { id: 'pool', value: ctx.settings.multicastPool, required: true, pattern: '\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}' });
    const port = h('input', { id: 'pool-port', type: 'number', min: 1024, max: 65535, value: ctx.settings.multicastPort });
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'assign-title' });
    const numbers = [...selected].sort((a, b) => a - b);
    replace(
      dlg,
      h(
        'form',
        {
          method: 'dialog',
          class: 'stack',
          on: {
            submit: (e: Event) => {
              e.preventDefault();
              api<{ changed: number[] }>('POST', '/api/channels/assign-multicast', { channels: numbers, pool: pool.value, port: Number(port.value) })
                .then((r) => {
                  dlg.close();
                  dlg.remove();
                  toast(r.changed.length ? `New addresses for ${r.changed.length} channel${r.changed.length > 1 ? 's' : ''}; only those restart.` : 'Every channel already had its address.');
                  selected.clear();
                  assignBtn.disabled = true;
                  void load();
                })
                .catch((x: ApiError) => {
                  err.textContent = x.problems.length ? x.problems.map((p) => `${p.path}: ${p.message}`).join('\n') : x.message;
                  err.hidden = false;
                });
            },
          },
        },
        h('h2', { id: 'assign-title' }, `Assign multicast to ${numbers.length} channel${numbers.length > 1 ? 's' : ''}`),
        h('p', { class: 'hint' }, `Channels ${numbers.join(', ')} get the next free addresses of the pool, in number order. Addresses used by other channels are skipped.`),
        h('label', { for: 'pool' }, 'Pool (CIDR)'),
        pool,
        h('label', { for: 'pool-port' }, 'Port'),
        port,
        err,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Assign'), h('button', { type: 'button', on: { click: () => { dlg.close(); dlg.remove(); } } }, 'Cancel')),
      ),
    );
    document.body.appendChild(dlg);
    dlg.showModal();
  };

  const loadGuide = async (): Promise<void> => {
    try {
      guide = (await api<{ channels: Record<string, NowNext> }>('GET', '/api/epg/now-next')).channels;
      if (channels.length > 0) draw();
    } catch {
      // No guide: the lineup works without it.
    }
  };

  filter.addEventListener('input', draw);
  const unsubscribe = live.subscribe(update);
  void load().catch((err: Error) => replace(tbody, h('tr', null, h('td', { colspan: 11, class: 'error' }, err.message))));
  void loadGuide();
  const guideTimer = setInterval(() => void loadGuide(), 60_000);
  return () => {
    clearInterval(guideTimer);
    unsubscribe();
  };
}
