/**
 * Add, edit and duplicate a channel. The form checks as you type with the
 * server's own validator (core/lineup/config.ts validateChannel, served to
 * the browser as is): the same rules, the same sentences, and the server
 * checks again on save. Fields the form does not show (an input's ffmpeg
 * options, say) are kept as they were.
 */
import { validateChannel, type ChannelConfig, type HeadendConfig } from '../core/lineup/config.js';
import { api, ApiError, type Channel, type Source } from './api.js';
import { h, replace, toast } from './dom.js';
import { channelLogo } from './lineup.js';
import type { Ctx } from './main.js';

type FieldKind = 'text' | 'number' | 'select' | 'password' | 'checkbox';
interface FieldSpec {
  key: string;
  label: string;
  kind: FieldKind;
  options?: string[];
  placeholder?: string;
  hint?: string;
}

/** The fields of each input type the form shows (core/lineup/document.ts SOURCE_SCHEMAS). */
const SOURCE_FIELDS: Record<string, FieldSpec[]> = {
  ffmpeg: [
    { key: 'url', label: 'Input (URL, file or lavfi graph)', kind: 'text', placeholder: 'rtsp://camera/stream or testsrc2=size=1280x720:rate=25' },
    { key: 'format', label: 'Input format (-f)', kind: 'text', placeholder: 'lavfi for a test pattern; empty: detect' },
    { key: 'profile', label: 'Transcode profile', kind: 'select', options: ['sd', 'hd', 'copy'], hint: 'sd 640×360 1.6 Mbit/s · hd 1280×720 5.2 Mbit/s · copy: remux only' },
    { key: 'gopS', label: 'Seconds between I-frames', kind: 'number', placeholder: '1' },
    { key: 'videoBitrateKbps', label: 'Video bitrate (kbit/s)', kind: 'number', placeholder: 'profile default' },
  ],
  udp: [
    { key: 'address', label: 'Address (multicast group or local)', kind: 'text', placeholder: '239.1.1.1' },
    { key: 'port', label: 'Port', kind: 'number' },
    { key: 'source', label: 'SSM source', kind: 'text', placeholder: 'none' },
    { key: 'interface', label: 'Interface address', kind: 'text', placeholder: 'headend.interface' },
  ],
  rtp: [
    { key: 'address', label: 'Address (multicast group or local)', kind: 'text', placeholder: '239.1.1.1' },
    { key: 'port', label: 'Port', kind: 'number' },
    { key: 'source', label: 'SSM source', kind: 'text', placeholder: 'none' },
    { key: 'interface', label: 'Interface address', kind: 'text', placeholder: 'headend.interface' },
  ],
  file: [{ key: 'path', label: 'Path of a .ts file on the headend (looped)', kind: 'text', placeholder: '/srv/roomcast/loop.ts' }],
  srt: [
    { key: 'mode', label: 'Mode', kind: 'select', options: ['listener', 'caller'], hint: 'listener: the encoder calls the headend; caller: the headend calls the encoder' },
    { key: 'address', label: 'Address', kind: 'text', placeholder: 'listener: headend.interface · caller: the encoder' },
    { key: 'port', label: 'Port', kind: 'number' },
    { key: 'latencyMs', label: 'Latency (ms, ≥ 3 × RTT)', kind: 'number', placeholder: '120' },
    { key: 'streamId', label: 'Stream id', kind: 'text', placeholder: 'none' },
    { key: 'passphrase', label: 'Passphrase (10–80 characters)', kind: 'password', placeholder: 'none', hint: '*** keeps the stored passphrase' },
  ],
};

const FAILOVER_FIELDS: FieldSpec[] = [
  { key: 'switchAfterMs', label: 'Switch after silence (ms)', kind: 'number' },
  { key: 'slateAfterMs', label: 'Slate after no healthy input (ms)', kind: 'number' },
  { key: 'returnAfterS', label: 'Back to primary after (s)', kind: 'number' },
  { key: 'backups', label: 'Backups', kind: 'select', options: ['hot', 'cold'] },
  { key: 'minBitrateKbps', label: 'Unhealthy below (kbit/s)', kind: 'number', placeholder: 'no floor' },
];

export const TEST_PATTERN: Source = {
  type: 'ffmpeg',
  format: 'lavfi',
  url: 'testsrc2=size=640x360:rate=25[out0];sine=frequency=1000:sample_rate=48000[out1]',
  profile: 'sd',
  gopS: 1,
};

function fieldValue(el: HTMLInputElement | HTMLSelectElement, kind: FieldKind): unknown {
  if (kind === 'checkbox') return (el as HTMLInputElement).checked;
  const v = el.value.trim();
  if (v === '') return null;
  if (kind === 'number') return Number.isFinite(Number(v)) ? Number(v) : v;
  return v;
}

/** `channel.inputs[0].port: …` → the path and the sentence. */
function splitProblem(p: string): { path: string; message: string } {
  const m = /^([^:]+?): (.*)$/s.exec(p);
  return m ? { path: m[1].replace(/^channel\.?/, ''), message: m[2] } : { path: '', message: p };
}

export function editView(root: HTMLElement, ctx: Ctx, params: string[], query: URLSearchParams): void {
  const editing = params[0] !== undefined ? Number(params[0]) : null;
  const from = query.get('from');
  if (!ctx.canEdit) {
    replace(root, h('h1', null, 'Read-only'), h('p', null, 'Your role may not change the lineup.'), h('a', { href: '#/' }, '← Lineup'));
    return;
  }
  replace(root, h('p', { class: 'muted' }, 'Loading…'));
  void api<{ channels: Channel[] }>('GET', '/api/channels').then(
    ({ channels }) => {
      const original = editing !== null ? channels.find((c) => c.number === editing) : from ? channels.find((c) => c.number === Number(from)) : undefined;
      if (editing !== null && !original) {
        replace(root, h('p', { class: 'error' }, `There is no channel ${editing}.`), h('a', { href: '#/' }, '← Lineup'));
        return;
      }
      form(root, ctx, channels, editing !== null ? original! : null, editing === null ? original ?? null : null);
    },
    (err: Error) => replace(root, h('p', { class: 'error' }, err.message)),
  );
}

function nextFree(channels: Channel[], pool: string, port: number): { number: number; group: string } {
  const used = new Set(channels.map((c) => c.number));
  let n = 1;
  while (used.has(n)) n++;
  const base = pool.split('/')[0].split('.').map(Number);
  const taken = new Set(channels.map((c) => `${c.multicast.group}:${c.multicast.port}`));
  for (let k = 1; k < 255; k++) {
    const g = `${base[0]}.${base[1]}.${base[2]}.${k}`;
    if (!taken.has(`${g}:${port}`)) return { number: n, group: g };
  }
  return { number: n, group: '' };
}

function form(root: HTMLElement, ctx: Ctx, channels: Channel[], original: Channel | null, copyOf: Channel | null): void {
  const others = channels.filter((c) => c !== original);
  const free = nextFree(channels, ctx.settings.multicastPool, ctx.settings.multicastPort);
  const base: Channel =
    original ??
    (copyOf
      ? { ...structuredClone(copyOf), number: free.number, name: `${copyOf.name} (copy)`, multicast: { ...copyOf.multicast, group: free.group, port: ctx.settings.multicastPort } }
      : ({
          number: free.number,
          name: '',
          group: 'General',
          tvgId: null,
          enabled: true,
          multicast: { group: free.group, port: ctx.settings.multicastPort, source: null },
          transport: 'rtp',
          cbrBitrateKbps: null,
          source: { ...TEST_PATTERN },
          failover: {},
          slate: true,
        } as unknown as Channel));
  const inputs: Source[] = structuredClone(base.inputs ?? (base.source ? [base.source] : [{ ...TEST_PATTERN }]));
  const controls = new Map<string, { el: HTMLInputElement | HTMLSelectElement; kind: FieldKind }>();
  const errors = new Map<string, HTMLElement>();
  const summary = h('div', { class: 'problems', role: 'alert', id: 'problems', hidden: true });
  const saveBtn = h('button', { type: 'submit', class: 'primary', id: 'save' }, original ? 'Save and apply' : 'Add channel');

  const field = (path: string, spec: FieldSpec, value: unknown): HTMLElement => {
    const id = `f-${path.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-$/, '')}`;
    let el: HTMLInputElement | HTMLSelectElement;
    if (spec.kind === 'select') {
      el = h('select', { id, name: path }, (spec.options ?? []).map((o) => h('option', { value: o, selected: value === o }, o)));
    } else if (spec.kind === 'checkbox') {
      el = h('input', { id, name: path, type: 'checkbox', checked: value === true });
    } else {
      el = h('input', {
        id,
        name: path,
        type: spec.kind === 'number' ? 'text' : spec.kind,
        inputmode: spec.kind === 'number' ? 'numeric' : false,
        value: value === null || value === undefined ? '' : String(value),
        placeholder: spec.placeholder ?? '',
        autocomplete: spec.kind === 'password' ? 'new-password' : 'off',
        'aria-describedby': `${id}-error`,
      });
    }
    controls.set(path, { el, kind: spec.kind });
    const err = h('span', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
    errors.set(path, err);
    el.addEventListener('input', check);
    el.addEventListener('change', check);
    if (spec.kind === 'checkbox') return h('div', { class: 'field check' }, el, h('label', { for: id }, spec.label), err);
    return h('div', { class: 'field' }, h('label', { for: id }, spec.label), el, spec.hint ? h('small', { class: 'muted' }, spec.hint) : null, err);
  };

  const inputsBox = h('div', { class: 'inputs' });
  /** What is typed goes back into `inputs` before they are redrawn (added, removed, moved, retyped). */
  const syncInputs = (): void => {
    inputs.forEach((src, i) => {
      for (const spec of SOURCE_FIELDS[src.type] ?? []) {
        const c = controls.get(`inputs[${i}].${spec.key}`);
        if (!c) continue;
        const val = fieldValue(c.el, c.kind);
        if (val === null) delete src[spec.key];
        else src[spec.key] = val;
      }
    });
  };
  const drawInputs = (): void => {
    for (const k of [...controls.keys()]) if (k.startsWith('inputs[')) controls.delete(k);
    replace(
      inputsBox,
      inputs.map((src, i) => {
        const typeSel = h(
          'select',
          {
            id: `f-inputs-${i}-type`,
            name: `inputs[${i}].type`,
            on: {
              change: (e: Event) => {
                const t = (e.target as HTMLSelectElement).value;
                syncInputs();
                inputs[i] = t === 'ffmpeg' ? { ...TEST_PATTERN } : ({ type: t } as Source);
                drawInputs();
                check();
              },
            },
          },
          Object.keys(SOURCE_FIELDS).map((t) => h('option', { value: t, selected: src.type === t }, t.toUpperCase())),
        );
        return h(
          'fieldset',
          { class: 'input-box' },
          h('legend', null, i === 0 ? 'Primary input' : `Backup ${i}`),
          h('div', { class: 'field' }, h('label', { for: `f-inputs-${i}-type` }, 'Type'), typeSel),
          (SOURCE_FIELDS[src.type] ?? []).map((spec) => field(`inputs[${i}].${spec.key}`, spec, src[spec.key])),
          h(
            'div',
            { class: 'row' },
            i > 0 ? h('button', { type: 'button', class: 'small', on: { click: () => { syncInputs(); [inputs[i - 1], inputs[i]] = [inputs[i], inputs[i - 1]]; drawInputs(); check(); } } }, 'Move up') : null,
            inputs.length > 1 ? h('button', { type: 'button', class: 'small danger', on: { click: () => { syncInputs(); inputs.splice(i, 1); drawInputs(); check(); } } }, 'Remove input') : null,
          ),
        );
      }),
      inputs.length < 8 ? h('button', { type: 'button', id: 'add-backup', on: { click: () => { syncInputs(); inputs.push({ type: 'srt', mode: 'listener', port: 9000 + inputs.length } as Source); drawInputs(); check(); } } }, '+ Backup input') : null,
    );
  };

  /** The form as a channels.yaml document. */
  const doc = (): Record<string, unknown> => {
    const v = (path: string): unknown => {
      const c = controls.get(path);
      return c ? fieldValue(c.el, c.kind) : undefined;
    };
    const srcs = inputs.map((src, i) => {
      const out: Record<string, unknown> = { ...src };
      for (const spec of SOURCE_FIELDS[src.type] ?? []) {
        const val = v(`inputs[${i}].${spec.key}`);
        if (val === null) delete out[spec.key];
        else out[spec.key] = val;
      }
      return out;
    });
    const failover: Record<string, unknown> = { ...(base.failover ?? {}) };
    for (const spec of FAILOVER_FIELDS) {
      const val = v(`failover.${spec.key}`);
      if (val === null) delete failover[spec.key];
      else failover[spec.key] = val;
    }
    const d: Record<string, unknown> = {
      number: v('number'),
      name: v('name'),
      group: v('group') ?? 'General',
      tvgId: v('tvgId'),
      enabled: v('enabled'),
      multicast: { group: v('multicast.group'), port: v('multicast.port'), source: v('multicast.source') },
      transport: v('transport'),
      cbrBitrateKbps: v('cbrBitrateKbps'),
      catchupDays: v('catchupDays') ?? 0,
      failover,
      slate: v('slate'),
    };
    if (srcs.length === 1) d.source = srcs[0];
    else d.inputs = srcs;
    return d;
  };

  const headend = { interface: ctx.settings.interface } as HeadendConfig;
  const show = (problems: string[]): void => {
    for (const e of errors.values()) e.textContent = '';
    for (const c of controls.values()) c.el.removeAttribute('aria-invalid');
    const unplaced: string[] = [];
    for (const p of problems) {
      const { path, message } = splitProblem(p);
      // `source.x` is inputs[0].x in the form; a collision of the whole address (`multicast`) shows at the group.
      const key = path.replace(/^source\./, 'inputs[0].').replace(/^multicast$/, 'multicast.group');
      const err = errors.get(key);
      if (err) {
        err.textContent = message;
        controls.get(key)?.el.setAttribute('aria-invalid', 'true');
      } else unplaced.push(path ? `${path}: ${message}` : message);
    }
    replace(summary, unplaced.length ? h('ul', null, unplaced.map((p) => h('li', null, p))) : null);
    summary.hidden = unplaced.length === 0;
  };
  function check(): boolean {
    // "***" stands for the stored passphrase (the server puts it back): check the rest.
    const d = doc();
    for (const src of (d.inputs as Record<string, unknown>[] | undefined) ?? [d.source as Record<string, unknown>]) {
      if (src && src.passphrase === '***') src.passphrase = 'stored-passphrase';
    }
    const r = validateChannel(d, { headend, others: others as unknown as ChannelConfig[] });
    const problems = r.ok ? [] : r.problems;
    show(problems);
    saveBtn.disabled = problems.length > 0;
    return problems.length === 0;
  }

  // ---- the logo: uploaded at once for a saved channel, after the save for a new one
  let logo: string | null = original?.logo ?? null;
  let pendingLogo: File | null = null;
  const logoPreview = h('span');
  const logoError = h('span', { class: 'field-error', id: 'logo-error', 'aria-live': 'polite' });
  const removeLogo = h('button', { type: 'button', class: 'small danger', id: 'remove-logo' }, 'Remove logo');
  const drawLogo = (): void => {
    const name = (controls.get('name')?.el.value ?? base.name) || '?';
    const url = pendingLogo ? URL.createObjectURL(pendingLogo) : logo;
    replace(logoPreview, channelLogo({ name, logo: url }));
    removeLogo.hidden = !logo && !pendingLogo;
  };
  const uploadLogo = async (number: number, file: File): Promise<void> => {
    const r = await api<{ logo: string }>('PUT', `/api/channels/${number}/logo`, file, { contentType: file.type || 'application/octet-stream' });
    logo = r.logo;
  };
  const logoInput = h('input', {
    type: 'file',
    id: 'logo-file',
    accept: 'image/png,image/jpeg,image/webp',
    on: {
      change: () => {
        const file = logoInput.files?.[0];
        logoError.textContent = '';
        if (!file) return;
        if (file.size > 256 * 1024) {
          logoError.textContent = `${file.name} is ${Math.round(file.size / 1024)} KiB; a logo may be 256 KiB at most.`;
          return;
        }
        if (!original) {
          pendingLogo = file;
          drawLogo();
          return;
        }
        uploadLogo(original.number, file).then(
          () => {
            toast(`Logo of channel ${original.number} saved.`);
            drawLogo();
          },
          (err: ApiError) => (logoError.textContent = err.problems.length ? err.problems.map((p) => p.message).join('; ') : err.message),
        );
      },
    },
  });
  removeLogo.addEventListener('click', () => {
    logoError.textContent = '';
    if (pendingLogo) {
      pendingLogo = null;
      logoInput.value = '';
      drawLogo();
      return;
    }
    if (!original) return;
    api('DELETE', `/api/channels/${original.number}/logo`).then(
      () => {
        logo = null;
        logoInput.value = '';
        drawLogo();
      },
      (err: Error) => (logoError.textContent = err.message),
    );
  });

  const save = async (): Promise<void> => {
    saveBtn.disabled = true;
    try {
      const body = original ? { ...doc(), version: original.version } : doc();
      const c = original ? await api<Channel>('PUT', `/api/channels/${original.number}`, body) : await api<Channel>('POST', '/api/channels', body);
      if (pendingLogo) {
        try {
          await uploadLogo(c.number, pendingLogo);
        } catch (err) {
          toast(`Channel ${c.number} saved, but not its logo: ${(err as Error).message}`, 'error');
        }
      }
      toast(original ? `Channel ${c.number} saved: restarting that channel only.` : `Channel ${c.number} added: going on the air.`);
      ctx.go(`/channel/${c.number}`);
    } catch (err) {
      const e = err as ApiError;
      if (e.code === 'ROOMCAST_ERR_CONFLICT') show([`Someone else changed channel ${original?.number} meanwhile (version ${String(e.body.currentVersion)}): reload the page to see their change, then edit again.`]);
      else if (e.problems.length) show(e.problems.map((p) => `${p.path}: ${p.message}`));
      else show([e.message]);
      saveBtn.disabled = false;
    }
  };

  const title = original ? `Edit channel ${original.number} · ${original.name}` : copyOf ? `Duplicate of ${copyOf.number} · ${copyOf.name}` : 'Add a channel';
  replace(
    root,
    h('div', { class: 'page-head' }, h('a', { href: original ? `#/channel/${original.number}` : '#/', class: 'back' }, '← Back'), h('h1', null, title)),
    h(
      'form',
      {
        class: 'edit',
        id: 'channel-form',
        novalidate: true,
        on: {
          submit: (e: Event) => {
            e.preventDefault();
            if (check()) void save();
          },
        },
      },
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Channel'),
        h(
          'div',
          { class: 'fields' },
          field('number', { key: 'number', label: 'Number', kind: 'number' }, base.number),
          field('name', { key: 'name', label: 'Name', kind: 'text', placeholder: 'BBC One' }, base.name),
          field('group', { key: 'group', label: 'Guide group', kind: 'text', placeholder: 'News' }, base.group),
          field('tvgId', { key: 'tvgId', label: 'EPG id (tvg-id)', kind: 'text', placeholder: 'none' }, base.tvgId),
          field('enabled', { key: 'enabled', label: 'On the air', kind: 'checkbox' }, base.enabled !== false),
          field('slate', { key: 'slate', label: 'Slate while no input works', kind: 'checkbox' }, base.slate !== false),
        ),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Logo'),
        h(
          'div',
          { class: 'logo-preview' },
          logoPreview,
          h('div', { class: 'field' }, h('label', { for: 'logo-file' }, 'PNG, JPEG or WebP, at most 256 KiB'), logoInput, logoError),
          removeLogo,
        ),
        h('p', { class: 'hint' }, original ? 'A new logo is saved at once. Players read it from the M3U (tvg-logo).' : 'Saved with the channel. Players read it from the M3U (tvg-logo).'),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Output'),
        h(
          'div',
          { class: 'fields' },
          field('multicast.group', { key: 'group', label: 'Multicast group', kind: 'text', placeholder: '239.255.10.1' }, base.multicast.group),
          field('multicast.port', { key: 'port', label: 'Port', kind: 'number' }, base.multicast.port),
          field('multicast.source', { key: 'source', label: 'SSM source (the headend’s address)', kind: 'text', placeholder: 'none (any-source)' }, base.multicast.source),
          field('transport', { key: 'transport', label: 'Transport', kind: 'select', options: ['rtp', 'udp'] }, base.transport),
          field('cbrBitrateKbps', { key: 'cbrBitrateKbps', label: 'Constant bitrate (kbit/s)', kind: 'number', placeholder: 'as received' }, base.cbrBitrateKbps),
          field(
            'catchupDays',
            { key: 'catchupDays', label: 'Catch-up (days of HLS kept)', kind: 'number', placeholder: '0', hint: ctx.settings.hls ? '0: the live window only' : 'needs headend.hls enabled' },
            base.catchupDays ?? 0,
          ),
        ),
      ),
      h('section', { class: 'card' }, h('h2', null, 'Inputs'), h('p', { class: 'hint' }, 'The primary first; backups take over when it fails (SRT, UDP/RTP, files, or anything ffmpeg reads).'), inputsBox),
      h(
        'details',
        { class: 'card' },
        h('summary', null, 'Failover settings'),
        h('div', { class: 'fields' }, FAILOVER_FIELDS.map((spec) => field(`failover.${spec.key}`, spec, (base.failover ?? {})[spec.key]))),
      ),
      summary,
      h('div', { class: 'row sticky' }, saveBtn, h('a', { class: 'button', href: original ? `#/channel/${original.number}` : '#/' }, 'Cancel')),
    ),
  );
  drawInputs();
  drawLogo();
  controls.get('name')?.el.addEventListener('input', () => {
    if (!logo && !pendingLogo) drawLogo();
  });
  check();
  (controls.get('name')?.el as HTMLInputElement | undefined)?.focus();
}
