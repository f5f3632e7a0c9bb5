/** Login and the (first-login) password change. */
import { api, ApiError, type Me } from './api.js';
import { h, replace } from './dom.js';

function card(title: string, ...children: (Node | null)[]): HTMLElement {
  return h(
    'div',
    { class: 'login-page' },
    h('div', { class: 'login-card' }, h('div', { class: 'brand big' }, h('img', { src: '/ui/icon.svg', alt: '', width: 40, height: 40 }), h('span', null, 'Roomcast')), h('h1', null, title), ...children),
  );
}

/** One request from a form: the button is off while it runs; a refusal shows in `error` (its problems, else its message). */
function submitWith(submit: HTMLButtonElement, error: HTMLElement, request: () => Promise<Me>, done: (me: Me) => void, onError: () => void = () => {}): void {
  submit.disabled = true;
  error.hidden = true;
  request()
    .then(done)
    .catch((err: ApiError) => {
      error.textContent = err.problems?.length ? err.problems.map((p) => p.message).join('; ') : err.message;
      error.hidden = false;
      onError();
    })
    .finally(() => {
      submit.disabled = false;
    });
}

export function loginView(root: HTMLElement, done: (me: Me) => void): void {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h(
    'form',
    {
      class: 'stack',
      on: {
        submit: (e: Event) => {
          e.preventDefault();
          submitWith(submit, error, () => api<Me>('POST', '/api/login', { username: user.value, password: pass.value }), done, () => pass.select());
        },
      },
    },
    h('label', { for: 'username' }, 'User name'),
    user,
    h('label', { for: 'password' }, 'Password'),
    pass,
    error,
    submit,
  );
  replace(root, card('Headend administration', form, h('p', { class: 'hint' }, 'First start: user admin, with the one-time password printed in the headend log.')));
  user.focus();
}

export function passwordView(root: HTMLElement, me: Me, done: (me: Me) => void): void {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const current = h('input', { id: 'current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { id: 'new-password-again', type: 'password', autocomplete: 'new-password', required: true });
  const hint = h('p', { class: 'field-error', id: 'password-hint', 'aria-live': 'polite' });
  const check = (): string | null => {
    if (next.value.length > 0 && next.value.length < 8) return 'At least 8 characters.';
    if (next.value && next.value === current.value) return 'Must differ from the current password.';
    if (again.value && again.value !== next.value) return 'The two new passwords differ.';
    return null;
  };
  const onInput = (): void => {
    hint.textContent = check() ?? '';
  };
  next.addEventListener('input', onInput);
  again.addEventListener('input', onInput);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Change password');
  const form = h(
    'form',
    {
      class: 'stack',
      on: {
        submit: (e: Event) => {
          e.preventDefault();
          const problem = check() ?? (again.value !== next.value ? 'The two new passwords differ.' : null);
          if (problem) {
            hint.textContent = problem;
            return;
          }
          submitWith(submit, error, () => api<Me>('POST', '/api/me/password', { current: current.value, new: next.value }), done);
        },
      },
    },
    h('label', { for: 'current' }, 'Current password'),
    current,
    h('label', { for: 'new-password' }, 'New password (at least 8 characters)'),
    next,
    h('label', { for: 'new-password-again' }, 'New password again'),
    again,
    hint,
    error,
    submit,
    me.mustChangePassword ? null : h('a', { href: '#/' }, 'Cancel'),
  );
  replace(
    root,
    card(
      me.mustChangePassword ? 'Choose your password' : 'Change password',
      me.mustChangePassword ? h('p', null, `Welcome, ${me.user.username}. The password you logged in with was for this first login only: choose your own.`) : null,
      form,
    ),
  );
  current.focus();
}
