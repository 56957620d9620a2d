// The page shell: login, tabs (one per server module), hash routing, the audit tab.
import { ApiError, get, guarded, post } from './api.js';
import { el, table, toast } from './dom.js';

const main = document.getElementById('main');
let cleanup;
let session;

async function login(token) {
  await post('/api/login', { token });
  session = await get('/api/session');
}

function showLogin(message) {
  const input = el('input', {
    type: 'password',
    id: 'login-token',
    autocomplete: 'current-password',
    size: 40,
  });
  const form = el(
    'form',
    {
      id: 'login',
      onsubmit: guarded(async (e) => {
        e.preventDefault();
        try {
          await login(input.value);
          start();
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) showLogin('That token is wrong.');
          else throw error;
        }
      }),
    },
    el('h1', {}, 'Log in'),
    el('p', { class: 'muted' }, 'Paste the console token (printed when the console started).'),
    el('div', { class: 'toolbar' }, input, el('button', { type: 'submit' }, 'Log in')),
    message ? el('p', { class: 'error' }, message) : null,
  );
  main.replaceChildren(form);
  input.focus();
}

function renderTabs() {
  const tabs = document.getElementById('tabs');
  const names = [...session.pages.map((p) => [p.name, p.title]), ['audit', 'Audit']];
  const current = currentPage();
  tabs.replaceChildren(
    ...names.map(([name, title]) =>
      el('a', { href: `#/${name}`, 'aria-current': name === current ? 'page' : undefined }, title),
    ),
  );
  const mode = document.getElementById('mode');
  mode.textContent = session.readOnly ? 'read-only' : 'read-write';
  document.getElementById('logout').hidden = !session.authRequired;
}

function currentPage() {
  const name = location.hash.replace(/^#\/?/, '').split('/')[0];
  const known = [...session.pages.map((p) => p.name), 'audit'];
  return known.includes(name) ? name : known[0];
}

async function renderAudit(root) {
  const { entries } = await get('/api/audit');
  root.replaceChildren(
    el('h1', {}, 'Audit log'),
    entries.length === 0
      ? el('p', { class: 'muted' }, 'No actions yet.')
      : table(
          ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'REASON', 'DETAIL'],
          [...entries]
            .reverse()
            .map((e) => [e.at, e.actor, e.action, e.target, e.outcome, e.reason ?? '', e.detail ?? '']),
        ),
  );
}

async function route() {
  cleanup?.();
  cleanup = undefined;
  renderTabs();
  const name = currentPage();
  const root = el('section', { id: `page-${name}` });
  main.replaceChildren(root);
  try {
    if (name === 'audit') await renderAudit(root);
    else {
      const page = await import(`./pages/${name}.js`);
      cleanup = await page.render(root, {
        session,
        params: location.hash.split('/').slice(2).map(decodeURIComponent),
      });
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401)
      return showLogin('Your session ended: log in again.');
    root.append(el('p', { class: 'error' }, `Could not load: ${error.message}`));
  }
}

async function start() {
  if (session.authRequired && !session.authenticated) return showLogin();
  if (!location.hash) history.replaceState(null, '', `#/${currentPage()}`);
  await route();
}

window.addEventListener('hashchange', () => {
  if (session?.authenticated || session?.authRequired === false) route();
});
document.getElementById('logout').addEventListener(
  'click',
  guarded(async () => {
    await post('/api/logout');
    session = await get('/api/session');
    showLogin();
  }),
);

(async () => {
  session = await get('/api/session');
  // A login link (`/#token=…`, printed at start) logs in once; the fragment never reaches the server.
  const m = /^#token=(.+)$/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname);
    try {
      await login(decodeURIComponent(m[1]));
    } catch {
      toast('The token in the link is wrong.', true);
    }
  }
  await start();
})().catch((error) => {
  main.replaceChildren(el('p', { class: 'error' }, `The console server did not answer: ${error.message}`));
});
