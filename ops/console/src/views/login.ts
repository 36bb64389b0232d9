import { h } from '../dom.js';
import { login } from '../api.js';
import { createNotice, runAction } from '../components/notice.js';
import { storeToken } from '../session.js';

/** Sign in as a configured user (Salt's `/login`), or paste a token (`corral token`). */
export function loginPage(reason: string | null, onSignedIn: () => void): HTMLElement {
  const username = h('input', { type: 'text', autocomplete: 'username', testid: 'login-username', required: true });
  const password = h('input', { type: 'password', autocomplete: 'current-password', testid: 'login-password', required: true });
  const token = h('textarea', { rows: 3, testid: 'login-token', placeholder: 'eyJhbGciOi…', spellcheck: false });
  const notice = createNotice('login-error');
  if (reason) notice.error(reason);

  const userForm = h('form', { class: 'card', testid: 'login-form' },
    h('h3', null, 'Sign in'),
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'user'), username),
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'password'), password),
    h('button', { type: 'submit', class: 'primary', testid: 'login-submit' }, 'Sign in'),
  );
  userForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void runAction(notice, async () => storeToken(await login(username.value, password.value))).then((ok) => ok && onSignedIn());
  });
  const tokenForm = h('form', { class: 'card', testid: 'token-form' },
    h('h3', null, 'Or use a token'),
    h('p', { class: 'hint' }, 'The URL ', h('code', null, 'corral serve'), ' prints signs you in directly; ', h('code', null, 'corral token'), ' mints others.'),
    token,
    h('button', { type: 'submit', testid: 'token-submit' }, 'Use token'),
  );
  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (token.value.trim() === '') return;
    storeToken(token.value.trim());
    onSignedIn();
  });
  return h('main', { class: 'login', testid: 'page-login' }, h('h1', null, 'Corral'), notice.element, h('div', { class: 'login-forms' }, userForm, tokenForm));
}
