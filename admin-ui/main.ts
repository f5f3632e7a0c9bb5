/**
 * The admin UI for hotel IT (issue 5): a single page, hash-routed, built
 * from plain DOM (admin-ui/dom.ts) over the admin API. Compiled by the
 * project's TypeScript (admin-ui/tsconfig.json) and served by the headend
 * (headend/control/ui.ts); it loads nothing from anywhere else.
 */
import { api, ApiError, live, whenLoggedOut, type Me, type Settings } from './api.js';
import { h, replace, toast } from './dom.js';
import { loginView, passwordView } from './login.js';
import { lineupView } from './lineup.js';
import { channelView } from './channel.js';
import { editView } from './edit.js';
import { stbsView } from './stbs.js';
import { auditView, usersView } from './users.js';
import { transferView } from './transfer.js';
import { guideView } from './guide.js';
import { vodView } from './vod.js';

export interface Ctx {
  me: Me;
  settings: Settings;
  /** The user may edit the lineup (operator or admin). */
  canEdit: boolean;
  isAdmin: boolean;
  go(hash: string): void;
}

type View = (root: HTMLElement, ctx: Ctx, params: string[], query: URLSearchParams) => (() => void) | void;

const ROUTES: [RegExp, View, string][] = [
  [/^\/$/, lineupView, 'lineup'],
  [/^\/channel\/(\d+)$/, channelView, 'lineup'],
  [/^\/channel\/(\d+)\/edit$/, editView, 'lineup'],
  [/^\/new$/, editView, 'lineup'],
  [/^\/stbs$/, stbsView, 'stbs'],
  [/^\/users$/, usersView, 'users'],
  [/^\/audit$/, auditView, 'audit'],
  [/^\/transfer$/, transferView, 'transfer'],
  [/^\/guide$/, guideView, 'guide'],
  [/^\/vod$/, vodView, 'vod'],
];

const app = document.getElementById('app')!;
let me: Me | null = null;
let settings: Settings | null = null;
let cleanup: (() => void) | void = undefined;

function go(hash: string): void {
  if (location.hash === `#${hash}`) void render();
  else location.hash = hash;
}

function shell(ctx: Ctx, section: string): HTMLElement {
  const nav = (hash: string, label: string, key: string) =>
    h('a', { href: `#${hash}`, class: key === section ? 'active' : '', 'aria-current': key === section ? 'page' : false }, label);
  const logout = async (): Promise<void> => {
    try {
      await api('POST', '/api/logout');
    } catch {
      // the session may be gone already
    }
    me = null;
    live.stop();
    go('/login');
  };
  const main = h('main', { id: 'view', tabindex: '-1' });
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, h('img', { src: '/ui/icon.svg', alt: '', width: 28, height: 28 }), h('span', null, 'Roomcast')),
    h(
      'nav',
      { 'aria-label': 'Sections' },
      nav('/', 'Lineup', 'lineup'),
      nav('/guide', 'Guide', 'guide'),
      nav('/vod', 'Films', 'vod'),
      nav('/stbs', 'STB fleet', 'stbs'),
      nav('/transfer', 'Import / export', 'transfer'),
      nav('/audit', 'Audit log', 'audit'),
      ctx.isAdmin ? nav('/users', 'Users', 'users') : null,
    ),
    h(
      'div',
      { class: 'who' },
      h('span', { class: 'user', title: `signed in as ${ctx.me.user.username} (${ctx.me.user.role})` }, ctx.me.user.username, h('small', null, ctx.me.user.role)),
      h('button', { class: 'ghost', id: 'logout', on: { click: () => void logout() } }, 'Log out'),
    ),
  );
  return h('div', { class: 'shell' }, header, main);
}

async function render(): Promise<void> {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = hash.split('?');
  const query = new URLSearchParams(qs ?? '');
  if (!me) {
    try {
      me = await api<Me>('GET', '/api/me');
    } catch {
      me = null;
    }
  }
  if (!me) {
    live.stop();
    return loginView(app, (m) => {
      me = m;
      go(m.mustChangePassword ? '/password' : path === '/login' ? '/' : path);
    });
  }
  if (me.mustChangePassword || path === '/password') {
    return passwordView(app, me, (m) => {
      me = m;
      toast('Password changed.');
      go('/');
    });
  }
  if (path === '/login') return go('/');
  if (!settings) {
    try {
      settings = await api<Settings>('GET', '/api/settings');
    } catch (err) {
      replace(app, h('p', { class: 'error' }, `The headend does not answer: ${(err as Error).message}`));
      return;
    }
  }
  live.start();
  const ctx: Ctx = {
    me,
    settings,
    canEdit: me.user.role === 'admin' || me.user.role === 'operator',
    isAdmin: me.user.role === 'admin',
    go,
  };
  for (const [re, view, section] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    const page = shell(ctx, section);
    replace(app, page);
    const root = page.querySelector<HTMLElement>('#view')!;
    try {
      cleanup = view(root, ctx, m.slice(1), query);
    } catch (err) {
      replace(root, h('p', { class: 'error' }, (err as Error).message));
    }
    return;
  }
  replace(app, shell(ctx, ''));
  replace(app.querySelector('#view')!, h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/' }, 'Back to the lineup')));
}

whenLoggedOut(() => {
  if (!me) return;
  me = null;
  live.stop();
  toast('Your session ended: log in again.', 'error');
  go('/login');
});
window.addEventListener('hashchange', () => void render());
window.addEventListener('unhandledrejection', (e) => {
  const err = e.reason as Error;
  if (err instanceof ApiError && err.status === 401) return;
  toast(err?.message ?? String(e.reason), 'error');
});
void render();
