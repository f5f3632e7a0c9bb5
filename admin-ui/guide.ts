/**
 * The programme guide (issue 6 §4): an XMLTV file uploaded (gzip or not) or
 * a feed URL refreshed on a schedule; what the last import kept and skipped,
 * and why; which channels have no guide (no tvg-id, or an id the feed does
 * not have).
 */
import { ApiError, api, upload } from './api.js';
import { h, replace, toast } from './dom.js';
import type { Ctx } from './main.js';

interface ImportReport {
  source: string;
  channelsInFile: number;
  channelsKept: number;
  programmesInFile: number;
  programmesKept: number;
  skipped: Record<string, number>;
  examples: string[];
  pruned: number;
  error?: string;
  bytesRead: number;
  gzip: boolean;
  ms: number;
}

interface EpgState {
  settings: { url: string | null; refreshHours: number };
  importing: boolean;
  lastImport: { at: string; source: string; report: ImportReport } | null;
  lastRefreshError: string | null;
  coverage: { channels: number; withoutTvgId: number[]; withoutGuide: number[] };
}

/** What each skip reason means, for hotel IT. */
const REASONS: Record<string, string> = {
  unknownChannel: 'for channels not in the lineup (no channel has that tvg-id)',
  badStart: 'with a start that is not an XMLTV time',
  badStop: 'with a stop that is not an XMLTV time',
  noStop: 'without a stop and nothing after them',
  stopNotAfterStart: 'ending before they start',
  tooLong: 'longer than 24 hours',
  outOfRange: 'dated before 1990 or over a year ahead',
  noTitle: 'without a title',
  overlap: 'overlapping an earlier programme of the same channel',
};

export function reportView(r: ImportReport): HTMLElement {
  const skipped = Object.entries(r.skipped).filter(([, n]) => n > 0);
  return h(
    'div',
    { class: 'import-report', id: 'epg-report' },
    h('p', { class: r.error ? 'error' : 'ok' }, r.error ? `Nothing was changed: ${r.error}` : `Kept ${r.programmesKept} programmes for ${r.channelsKept} channel${r.channelsKept === 1 ? '' : 's'} (of ${r.programmesInFile} programmes and ${r.channelsInFile} channels in the file) in ${(r.ms / 1000).toFixed(1)} s.`),
    skipped.length
      ? h('ul', { class: 'skips' }, skipped.map(([k, n]) => h('li', null, `${n} skipped ${REASONS[k] ?? k}`)))
      : null,
    r.examples.length ? h('details', null, h('summary', null, `Examples (${r.examples.length})`), h('ul', { class: 'examples' }, r.examples.map((e) => h('li', null, e)))) : null,
  );
}

export function guideView(root: HTMLElement, ctx: Ctx): () => void {
  const status = h('div', { id: 'epg-status' });
  const result = h('div', { role: 'status', id: 'epg-result' });
  const file = h('input', { type: 'file', id: 'epg-file', accept: '.xml,.gz,.xmltv,application/xml,text/xml,application/gzip' });
  const url = h('input', { type: 'url', id: 'epg-url', placeholder: 'https://example.net/guide.xml.gz', class: 'wide' });
  const hours = h('input', { type: 'number', id: 'epg-hours', min: 1, max: 168, value: 24 });
  const busy = (on: boolean, btn: HTMLButtonElement): void => {
    btn.disabled = on;
    btn.setAttribute('aria-busy', on ? 'true' : 'false');
  };

  const show = (r: ImportReport | null, err?: ApiError): void => {
    if (err && !r) replace(result, h('p', { class: 'error' }, err.message));
    else if (r) replace(result, reportView(r));
  };

  const load = async (): Promise<void> => {
    const s = await api<EpgState>('GET', '/api/epg');
    url.value = s.settings.url ?? '';
    hours.value = String(s.settings.refreshHours);
    const c = s.coverage;
    replace(
      status,
      s.lastImport
        ? h('p', null, `Last import ${new Date(s.lastImport.at).toLocaleString()} from ${s.lastImport.source}: ${s.lastImport.report.programmesKept} programmes for ${s.lastImport.report.channelsKept} channels.`)
        : h('p', { class: 'muted' }, 'No guide has been imported yet.'),
      s.lastRefreshError ? h('p', { class: 'error', id: 'epg-refresh-error' }, `The last scheduled refresh failed: ${s.lastRefreshError}`) : null,
      c.withoutTvgId.length ? h('p', { class: 'warn' }, `No tvg-id (no guide possible): channel${c.withoutTvgId.length > 1 ? 's' : ''} ${c.withoutTvgId.join(', ')}. Set it on the channel's Edit page.`) : null,
      c.withoutGuide.length ? h('p', { class: 'warn', id: 'epg-missing' }, `A tvg-id the guide does not have: channel${c.withoutGuide.length > 1 ? 's' : ''} ${c.withoutGuide.join(', ')}.`) : null,
      s.importing ? h('p', { class: 'muted' }, 'An import is running…') : null,
    );
  };

  const uploadBtn = h('button', { type: 'submit', class: 'primary', id: 'epg-upload' }, 'Import');
  const refresh = (): void => {
    busy(true, refreshBtn);
    replace(result, h('p', { class: 'muted' }, 'Fetching the feed…'));
    api<{ report: ImportReport }>('POST', '/api/epg/refresh')
      .then((r) => {
        show(r.report);
        return load();
      })
      .catch((x: ApiError) => show((x.body.report as ImportReport | undefined) ?? null, x))
      .finally(() => busy(false, refreshBtn));
  };
  const refreshBtn: HTMLButtonElement = h('button', { type: 'button', id: 'epg-refresh', on: { click: refresh } }, 'Refresh now');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Programme guide')),
    h('p', { class: 'hint' }, 'XMLTV, gzip-compressed or not. Programmes are matched to channels by tvg-id; those of other channels are left out. An import replaces the guide of the channels it has, and a file with broken XML changes nothing.'),
    status,
    h(
      'div',
      { class: 'cards two' },
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Upload a file'),
        ctx.canEdit
          ? h(
              'form',
              {
                class: 'stack',
                on: {
                  submit: (e: Event) => {
                    e.preventDefault();
                    const f = file.files?.[0];
                    if (!f) return;
                    busy(true, uploadBtn);
                    replace(result, h('p', { class: 'muted' }, `Importing ${f.name}…`));
                    const type = /\.gz$/i.test(f.name) ? 'application/gzip' : 'application/xml';
                    upload<{ report: ImportReport }>('/api/epg/import', f, type, (sent) => replace(result, h('p', { class: 'muted' }, `Importing ${f.name}… ${Math.round(sent * 100)} % sent`)))
                      .then((r) => {
                        show(r.report);
                        toast('Guide imported.');
                        return load();
                      })
                      .catch((x: ApiError) => show((x.body.report as ImportReport | undefined) ?? null, x))
                      .finally(() => busy(false, uploadBtn));
                  },
                },
              },
              h('label', { for: 'epg-file' }, 'XMLTV file'),
              file,
              h('div', { class: 'row' }, uploadBtn),
            )
          : h('p', { class: 'muted' }, 'An operator or admin imports the guide.'),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Feed URL'),
        h(
          'form',
          {
            class: 'stack',
            on: {
              submit: (e: Event) => {
                e.preventDefault();
                api('PUT', '/api/epg/settings', { url: url.value.trim() === '' ? null : url.value.trim(), refreshHours: Number(hours.value) })
                  .then(() => toast('Feed saved.'))
                  .catch((x: ApiError) => toast(x.message, 'error'));
              },
            },
          },
          h('label', { for: 'epg-url' }, 'XMLTV URL (http or https)'),
          url,
          h('label', { for: 'epg-hours' }, 'Refresh every (hours)'),
          hours,
          h(
            'div',
            { class: 'row' },
            ctx.isAdmin ? h('button', { type: 'submit', class: 'primary', id: 'epg-save' }, 'Save') : null,
            ctx.canEdit ? refreshBtn : null,
          ),
          ctx.isAdmin ? null : h('p', { class: 'muted' }, 'Only an admin changes the feed.'),
        ),
      ),
    ),
    result,
  );
  void load().catch((err: Error) => replace(status, h('p', { class: 'error' }, err.message)));
  return () => undefined;
}
