/** Import and export: channels.yaml both ways, the M3U playlist, one SDP per channel. */
import { api, ApiError, type Channel } from './api.js';
import { h, replace, toast } from './dom.js';
import type { Ctx } from './main.js';

export function transferView(root: HTMLElement, ctx: Ctx): void {
  const result = h('div', { role: 'status', id: 'import-result' });
  const file = h('input', { type: 'file', id: 'import-file', accept: '.yaml,.yml,text/yaml' });
  const sdps = h('ul', { class: 'sdp-list' });
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Import / export')),
    h(
      'p',
      { class: 'hint' },
      'The headend’s database holds the lineup. channels.yaml was imported once, at the first start; edits made here are not written back to it. Export to keep a copy, import to replace the lineup.',
    ),
    h(
      'div',
      { class: 'cards two' },
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Export'),
        h(
          'ul',
          { class: 'links' },
          h('li', null, h('a', { href: '/api/export', download: 'channels.yaml', id: 'export-yaml' }, 'channels.yaml'), h('small', { class: 'muted' }, ' — the lineup; SRT passphrases as ***')),
          h('li', null, h('a', { href: '/playlist.m3u', download: 'roomcast.m3u', id: 'export-m3u' }, 'Playlist (M3U)'), h('small', { class: 'muted' }, ' — for players and middleware')),
        ),
        h('h3', null, 'SDP per channel'),
        sdps,
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Import channels.yaml'),
        ctx.isAdmin
          ? h(
              'form',
              {
                class: 'stack',
                on: {
                  submit: (e: Event) => {
                    e.preventDefault();
                    const f = file.files?.[0];
                    if (!f) return;
                    if (!confirm(`Replace the lineup with ${f.name}? Changed channels restart; unchanged ones keep streaming.`)) return;
                    void f.text().then((text) =>
                      api<{ channels: number; changed: number[]; ignored: string[] }>('POST', '/api/import', text, { contentType: 'text/yaml' })
                        .then((r) => {
                          replace(result, h('p', { class: 'ok' }, `Imported ${r.channels} channels; ${r.changed.length} changed${r.changed.length ? ` (${r.changed.join(', ')})` : ''}.${r.ignored.length ? ` Ignored: ${r.ignored.join(', ')} (the headend’s own --config decides those).` : ''}`));
                          toast('Lineup imported.');
                        })
                        .catch((x: ApiError) =>
                          replace(result, h('div', { class: 'problems' }, h('p', null, `Nothing was changed: ${x.problems.length || 1} problem${x.problems.length > 1 ? 's' : ''}.`), h('ul', null, (x.problems.length ? x.problems : [{ path: '', message: x.message }]).map((p) => h('li', null, p.path ? `${p.path}: ${p.message}` : p.message))))),
                        ),
                    );
                  },
                },
              },
              h('label', { for: 'import-file' }, 'channels.yaml'),
              file,
              h('p', { class: 'hint' }, 'All or nothing: a file with any problem changes nothing and lists every problem with its line.'),
              h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Import')),
              result,
            )
          : h('p', { class: 'muted' }, 'Only an admin imports a lineup.'),
      ),
    ),
  );
  void api<{ channels: Channel[] }>('GET', '/api/channels').then(({ channels }) => {
    const rtp = channels.filter((c) => c.enabled && c.transport === 'rtp');
    replace(sdps, rtp.length ? rtp.map((c) => h('li', null, h('a', { href: `/api/channels/${c.number}/sdp`, download: `${c.number}.sdp` }, `${c.number}.sdp`), ` ${c.name}`)) : h('li', { class: 'muted' }, 'No RTP channel on the air.'));
  });
}
