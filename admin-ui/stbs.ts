/** The STB fleet: every agent that reported, sortable and filterable, refreshed every 5 s. */
import { api } from './api.js';
import { ago, h, replace } from './dom.js';
import type { Ctx } from './main.js';

interface Stb {
  agentId: string;
  label: string | null;
  address: string;
  channel: number | null;
  lastSeen: string;
  reports: number;
  zaps: { count: number; viaBurst: number; viaGate: number; recentMs: number[] };
  counters: { rtpLost: number; rtpDuplicates: number; ccErrors: number; spliceGaps: number };
}

type Key = 'label' | 'address' | 'channel' | 'zaps' | 'zapMs' | 'loss' | 'lastSeen';
const COLUMNS: [Key, string][] = [
  ['label', 'Room / label'],
  ['address', 'IP'],
  ['channel', 'Channel'],
  ['zaps', 'Zaps (via burst)'],
  ['zapMs', 'Last zap times'],
  ['loss', 'Lost / CC errors'],
  ['lastSeen', 'Last seen'],
];

function sortValue(s: Stb, k: Key): string | number {
  switch (k) {
    case 'label':
      return (s.label ?? s.agentId).toLowerCase();
    case 'address':
      return s.address.split('.').map((o) => o.padStart(3, '0')).join('.');
    case 'channel':
      return s.channel ?? -1;
    case 'zaps':
      return s.zaps.count;
    case 'zapMs':
      return s.zaps.recentMs.at(-1) ?? -1;
    case 'loss':
      return s.counters.rtpLost + s.counters.ccErrors;
    case 'lastSeen':
      return Date.parse(s.lastSeen);
  }
}

export function stbsView(root: HTMLElement, _ctx: Ctx): () => void {
  let stbs: Stb[] = [];
  let sortKey: Key = 'label';
  let asc = true;
  const filter = h('input', { type: 'search', placeholder: 'Filter by room, IP, agent or channel', 'aria-label': 'Filter STBs', class: 'filter' });
  const summary = h('span', { class: 'summary' });
  const thead = h('thead');
  const tbody = h('tbody');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'STB fleet'), summary, h('div', { class: 'toolbar' }, filter)),
    h('p', { class: 'hint' }, 'Every roomcast-stb agent that reported to this headend (they report every few seconds).'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'stbs' }, thead, tbody)),
  );
  const draw = (): void => {
    replace(
      thead,
      h(
        'tr',
        null,
        COLUMNS.map(([k, label]) =>
          h(
            'th',
            { 'aria-sort': k === sortKey ? (asc ? 'ascending' : 'descending') : 'none' },
            h('button', { class: 'sort', on: { click: () => { asc = sortKey === k ? !asc : true; sortKey = k; draw(); } } }, label, k === sortKey ? (asc ? ' ▲' : ' ▼') : ''),
          ),
        ),
      ),
    );
    const q = filter.value.trim().toLowerCase();
    const rows = stbs
      .filter((s) => !q || `${s.label ?? ''} ${s.agentId} ${s.address} ${s.channel ?? ''}`.toLowerCase().includes(q))
      .sort((a, b) => {
        const x = sortValue(a, sortKey);
        const y = sortValue(b, sortKey);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
    const recent = stbs.filter((s) => Date.now() - Date.parse(s.lastSeen) < 5 * 60_000).length;
    summary.textContent = `${stbs.length} agents · ${recent} reporting in the last 5 minutes`;
    replace(
      tbody,
      rows.length
        ? rows.map((s) => {
            const stale = Date.now() - Date.parse(s.lastSeen) > 60_000;
            return h(
              'tr',
              { class: stale ? 'stale' : '' },
              h('td', null, h('strong', null, s.label ?? '—'), h('br'), h('small', { class: 'muted mono' }, s.agentId)),
              h('td', { class: 'mono' }, s.address),
              h('td', { class: 'num' }, s.channel === null ? h('span', { class: 'muted' }, 'idle') : h('a', { href: `#/channel/${s.channel}` }, String(s.channel))),
              h('td', { class: 'num' }, `${s.zaps.count} (${s.zaps.viaBurst})`),
              h('td', { class: 'mono' }, s.zaps.recentMs.slice(-3).map((ms) => `${Math.round(ms)} ms`).join(', ') || '—'),
              h('td', { class: 'num' }, s.counters.rtpLost + s.counters.ccErrors > 0 ? h('span', { class: 'warn' }, `${s.counters.rtpLost} / ${s.counters.ccErrors}`) : '0 / 0'),
              h('td', { title: s.lastSeen }, ago(s.lastSeen)),
            );
          })
        : h('tr', null, h('td', { colspan: COLUMNS.length, class: 'empty' }, stbs.length ? 'No agent matches the filter.' : 'No STB agent has reported yet.')),
    );
  };
  const load = async (): Promise<void> => {
    stbs = (await api<{ stbs: Stb[] }>('GET', '/api/stbs')).stbs;
    draw();
  };
  filter.addEventListener('input', draw);
  void load();
  const t = setInterval(() => void load().catch(() => {}), 5000);
  return () => clearInterval(t);
}
