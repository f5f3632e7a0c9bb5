/**
 * The film library (issue 6 §5): every asset with its poster, length and
 * how it was packaged; uploads with their progress, then the packaging's
 * (remux or transcode) as the headend reports it; a preview player; delete.
 * Files dropped in the headend's inbox folder appear here too.
 */
import { ApiError, api, upload } from './api.js';
import { duration, h, replace, toast } from './dom.js';
import type { Ctx } from './main.js';
import { startPreview } from './channel.js';

interface Asset {
  id: string;
  title: string;
  state: 'queued' | 'packaging' | 'ready' | 'failed';
  progress: number | null;
  error: string | null;
  sourceName: string;
  durationS: number | null;
  mode: 'remux' | 'transcode' | null;
  video: string | null;
  audio: string | null;
  bytes: number | null;
  createdAt: string;
  playlist: string | null;
  poster: string | null;
}

export function vodView(root: HTMLElement, ctx: Ctx): () => void {
  const list = h('div', { class: 'vod-grid', id: 'vod-list' });
  const result = h('p', { role: 'status', id: 'vod-result' });
  const file = h('input', { type: 'file', id: 'vod-file', accept: 'video/*,.mkv,.ts,.mp4,.mov' });
  const video = h('video', { id: 'vod-preview', class: 'thumbnail', muted: true, autoplay: true, playsinline: true, controls: true, hidden: true, 'aria-label': 'Film preview' });
  const note = h('p', { class: 'muted', id: 'vod-note' });
  let stopPreview: () => void = () => {};
  let timer: ReturnType<typeof setTimeout> | null = null;
  let left = false;

  const play = async (a: Asset): Promise<void> => {
    stopPreview();
    stopPreview = () => {};
    const stop = await startPreview(video, a.playlist!, (n) => (note.textContent = n), { label: `Playing ${a.title}`, onMissing: (m) => (note.textContent = m) });
    if (left) stop?.();
    else if (stop) stopPreview = stop;
  };

  const remove = (a: Asset): void => {
    if (!confirm(`Delete “${a.title}”? Its files are removed from the headend.${a.state === 'packaging' ? ' Packaging stops.' : ''}`)) return;
    api('DELETE', `/api/vod/${a.id}`)
      .then(() => {
        toast(`${a.title} deleted.`);
        return load();
      })
      .catch((x: ApiError) => toast(x.message, 'error'));
  };

  const card = (a: Asset): HTMLElement => {
    const state =
      a.state === 'ready'
        ? `${a.durationS !== null ? duration(a.durationS) : ''} · ${a.mode === 'remux' ? 'copied (H.264/AAC)' : 'transcoded'}${a.video ? ` · ${a.video}` : ''}`
        : a.state === 'packaging'
          ? `Packaging (${a.mode === 'remux' ? 'copy' : 'transcode'})… ${a.progress !== null ? `${Math.round(a.progress)} %` : ''}`
          : a.state === 'queued'
            ? 'Waiting to be packaged'
            : `Failed: ${a.error ?? 'unknown error'}`;
    return h(
      'article',
      { class: `vod-card ${a.state}`, dataset: { id: a.id } },
      a.poster ? h('img', { class: 'poster', src: a.poster, alt: '', loading: 'lazy', width: 160 }) : h('div', { class: 'poster none' }),
      h('h3', null, a.title),
      h('p', { class: a.state === 'failed' ? 'error state' : 'muted state' }, state),
      a.state === 'packaging' && a.progress !== null ? h('progress', { max: 100, value: a.progress, 'aria-label': `Packaging ${a.title}` }) : null,
      h('p', { class: 'mono small' }, a.playlist ?? a.sourceName),
      h(
        'div',
        { class: 'row' },
        a.state === 'ready' ? h('button', { type: 'button', class: 'play', on: { click: () => void play(a) } }, '▶ Preview') : null,
        ctx.canEdit ? h('button', { type: 'button', class: 'danger delete', on: { click: () => remove(a) } }, 'Delete') : null,
      ),
    );
  };

  const load = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    const r = await api<{ assets: Asset[] }>('GET', '/api/vod');
    replace(list, r.assets.length ? r.assets.map(card) : h('p', { class: 'muted' }, 'The library is empty. Upload a film, or copy one into the headend’s VOD inbox folder.'));
    // While something is being packaged, its progress is read every 2 s.
    if (!left && r.assets.some((a) => a.state === 'queued' || a.state === 'packaging')) timer = setTimeout(() => void load().catch(() => undefined), 2000);
  };

  const uploadBtn = h('button', { type: 'submit', class: 'primary', id: 'vod-upload' }, 'Upload');
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Film library')),
    ctx.settings.vod
      ? h(
          'div',
          null,
          h('p', { class: 'hint' }, 'H.264/AAC films are copied as they are; others are transcoded to H.264/AAC (this takes a while; the progress shows here). Players open /vod/<id>/index.m3u8; roomcast-stb vod <id> plays one on a TV.'),
          ctx.canEdit
            ? h(
                'form',
                {
                  class: 'row',
                  on: {
                    submit: (e: Event) => {
                      e.preventDefault();
                      const f = file.files?.[0];
                      if (!f) return;
                      uploadBtn.disabled = true;
                      upload<Asset>(`/api/vod?name=${encodeURIComponent(f.name)}`, f, 'application/octet-stream', (sent) => (result.textContent = `Uploading ${f.name}… ${Math.round(sent * 100)} %`))
                        .then((a) => {
                          result.textContent = `${f.name} uploaded: “${a.title}” is being packaged.`;
                          return load();
                        })
                        .catch((x: ApiError) => (result.textContent = `Upload failed: ${x.message}`))
                        .finally(() => (uploadBtn.disabled = false));
                    },
                  },
                },
                h('label', { for: 'vod-file' }, 'Film'),
                file,
                uploadBtn,
              )
            : null,
          result,
          h('div', { class: 'cards two' }, h('section', { class: 'card' }, h('h2', null, 'Preview'), video, note), h('section', { class: 'card' }, h('h2', null, 'Films'), list)),
        )
      : h('p', { class: 'muted' }, 'The VOD library is off on this headend (headend.vod.enabled in its configuration).'),
  );
  if (ctx.settings.vod) void load().catch((err: Error) => replace(list, h('p', { class: 'error' }, err.message)));
  return () => {
    left = true;
    if (timer) clearTimeout(timer);
    stopPreview();
  };
}
