/** Users and roles (admin only) and the audit log of who changed what. */
import { api, ApiError, type Role, type User } from './api.js';
import { ago, h, replace, toast } from './dom.js';
import type { Ctx } from './main.js';

const ROLES: Role[] = ['admin', 'operator', 'viewer'];
const ROLE_HINT: Record<Role, string> = { admin: 'everything, users included', operator: 'edits the lineup', viewer: 'read-only' };

export function usersView(root: HTMLElement, ctx: Ctx): void {
  if (!ctx.isAdmin) {
    replace(root, h('h1', null, 'Users'), h('p', null, 'Only an admin manages users.'));
    return;
  }
  const tbody = h('tbody');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const name = h('input', { id: 'new-username', required: true, pattern: '[A-Za-z0-9._@\\-]{1,64}', autocomplete: 'off' });
  const role = h('select', { id: 'new-role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'operator' }, `${r} — ${ROLE_HINT[r]}`)));
  const pass = h('input', { id: 'new-user-password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const load = async (): Promise<void> => {
    const { users } = await api<{ users: User[] }>('GET', '/api/users');
    replace(
      tbody,
      users.map((u) =>
        h(
          'tr',
          null,
          h('td', null, h('strong', null, u.username), u.username === ctx.me.user.username ? h('small', { class: 'muted' }, ' (you)') : null),
          h(
            'td',
            null,
            h(
              'select',
              {
                'aria-label': `Role of ${u.username}`,
                on: {
                  change: (e: Event) => {
                    const r = (e.target as HTMLSelectElement).value;
                    api('PUT', `/api/users/${encodeURIComponent(u.username)}`, { role: r })
                      .then(() => toast(`${u.username} is now ${r}.`))
                      .catch((x: Error) => toast(x.message, 'error'))
                      .finally(() => void load());
                  },
                },
              },
              ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)),
            ),
          ),
          h('td', null, u.lockedUntil ? h('span', { class: 'warn' }, `locked until ${new Date(u.lockedUntil).toLocaleTimeString()}`) : u.mustChangePassword ? 'must choose a password' : 'active'),
          h('td', null, ago(u.lastLogin)),
          h(
            'td',
            { class: 'actions' },
            u.lockedUntil ? h('button', { class: 'small', on: { click: () => void api('PUT', `/api/users/${encodeURIComponent(u.username)}`, { unlock: true }).then(load) } }, 'Unlock') : null,
            h(
              'button',
              {
                class: 'small',
                on: {
                  click: () => {
                    const p = prompt(`New one-time password for ${u.username} (at least 8 characters; they choose their own at the next login):`);
                    if (p) void api('PUT', `/api/users/${encodeURIComponent(u.username)}`, { password: p }).then(() => toast(`Password of ${u.username} reset.`), (x: Error) => toast(x.message, 'error'));
                  },
                },
              },
              'Reset password',
            ),
            h(
              'button',
              {
                class: 'small danger',
                on: {
                  click: () => {
                    if (confirm(`Delete user ${u.username}?`)) void api('DELETE', `/api/users/${encodeURIComponent(u.username)}`).then(load, (x: Error) => toast(x.message, 'error'));
                  },
                },
              },
              'Delete',
            ),
          ),
        ),
      ),
    );
  };
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Users')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'users' }, h('thead', null, h('tr', null, ['User', 'Role', 'State', 'Last login', ''].map((t) => h('th', null, t)))), tbody)),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Add a user'),
      h(
        'form',
        {
          class: 'fields',
          on: {
            submit: (e: Event) => {
              e.preventDefault();
              err.hidden = true;
              api('POST', '/api/users', { username: name.value, role: role.value, password: pass.value })
                .then(() => {
                  toast(`User ${name.value} added; they choose their own password at the first login.`);
                  name.value = '';
                  pass.value = '';
                  void load();
                })
                .catch((x: ApiError) => {
                  err.textContent = x.problems.length ? x.problems.map((p) => `${p.path.replace(/^body\./, '')}: ${p.message}`).join('; ') : x.message;
                  err.hidden = false;
                });
            },
          },
        },
        h('div', { class: 'field' }, h('label', { for: 'new-username' }, 'User name'), name),
        h('div', { class: 'field' }, h('label', { for: 'new-role' }, 'Role'), role),
        h('div', { class: 'field' }, h('label', { for: 'new-user-password' }, 'One-time password'), pass),
        err,
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Add user')),
      ),
    ),
  );
  void load();
}

interface AuditEntry {
  id: number;
  at: string;
  username: string | null;
  action: string;
  target: string | null;
  detail: unknown;
}

export function auditView(root: HTMLElement): void {
  const PAGE = 50;
  let offset = 0;
  const tbody = h('tbody');
  const pager = h('div', { class: 'row' });
  const load = async (): Promise<void> => {
    const r = await api<{ total: number; entries: AuditEntry[] }>('GET', `/api/audit?limit=${PAGE}&offset=${offset}`);
    replace(
      tbody,
      r.entries.map((e) =>
        h(
          'tr',
          null,
          h('td', { title: e.at }, new Date(e.at).toLocaleString()),
          h('td', null, e.username ?? 'system'),
          h('td', null, h('code', null, e.action)),
          h('td', null, e.target ?? ''),
          h('td', { class: 'detail' }, e.detail === null || e.detail === undefined ? '' : h('code', null, JSON.stringify(e.detail))),
        ),
      ),
    );
    replace(
      pager,
      h('span', { class: 'muted' }, `${r.total === 0 ? 0 : offset + 1}–${Math.min(offset + PAGE, r.total)} of ${r.total}`),
      h('button', { class: 'small', disabled: offset === 0, on: { click: () => { offset = Math.max(0, offset - PAGE); void load(); } } }, 'Newer'),
      h('button', { class: 'small', disabled: offset + PAGE >= r.total, on: { click: () => { offset += PAGE; void load(); } } }, 'Older'),
    );
  };
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Audit log')),
    h('p', { class: 'hint' }, 'Who changed what, newest first. Values of secrets are never recorded.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'audit' }, h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Target', 'Detail'].map((t) => h('th', null, t)))), tbody)),
    pager,
  );
  void load();
}
