/**
 * The admin UI's whole "framework": build elements from data, replace a
 * node's children, format figures. Text always goes in as text nodes, never
 * as HTML: a channel named `<img onerror=…>` stays a name.
 */
type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown> & { on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v as Record<string, (e: Event) => void>)) el.addEventListener(ev, fn);
      } else if (k === 'class') el.className = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (v === false || v === null || v === undefined) continue;
      else if (v === true) el.setAttribute(k, '');
      else if (k in el && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c === null || c === undefined || c === false) continue;
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: SVGElement[]): SVGElement {
  const el = document.createElementNS(SVG, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

export function bitrate(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '—';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function duration(s: number): string {
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** A line chart of `values` (oldest first) as inline SVG; `max` fixes the top. */
export function lineChart(values: readonly number[], opts: { width: number; height: number; className?: string; label: string; max?: number }): SVGElement {
  const { width, height } = opts;
  const top = Math.max(opts.max ?? 0, ...values, 1);
  const n = Math.max(values.length, 2);
  const pts = values.map((v, i) => `${((i / (n - 1)) * width).toFixed(1)},${(height - 1 - (v / top) * (height - 2)).toFixed(1)}`);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: opts.className ?? 'chart', role: 'img', 'aria-label': opts.label, preserveAspectRatio: 'none' });
  if (pts.length > 1) {
    chart.appendChild(svg('polygon', { points: `0,${height} ${pts.join(' ')} ${(((values.length - 1) / (n - 1)) * width).toFixed(1)},${height}`, class: 'chart-fill' }));
    chart.appendChild(svg('polyline', { points: pts.join(' '), class: 'chart-line' }));
  }
  return chart;
}

/** A monogram for a channel without a logo: its initials on a colour derived from its name. */
export function monogram(name: string): HTMLElement {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const text = (words.length > 1 ? words[0][0] + words[1][0] : name.slice(0, 2)).toUpperCase();
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return h('span', { class: `logo hue-${hash % 8}`, 'aria-hidden': 'true' }, text);
}

export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}
