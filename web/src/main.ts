// The lineage web UI: a single-page app served by the lineage_query extension next to its API.
// Routes are plain paths (the server answers index.html for them): / (search), /events/{cluster}/
// {topic}/{partition}/{offset} (the event's journey, root cause, impact), /flow, /outliers.
import { api, ApiError, setToken, token } from './api';
import type { Ctx } from './context';
import { clear, h } from './dom';
import { eventPage } from './event';
import { flowPage } from './flow';
import { outliersPage } from './outliers';
import { searchPage } from './search';
import type { UIConfig } from './types';
import { emptyState, errorState } from './ui';

const main = document.getElementById('main')!;
let cfg: UIConfig | null = null;
let current: AbortController | null = null;

function go(path: string): void {
  history.pushState(null, '', path);
  void route();
}

async function route(): Promise<void> {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  clear(main);
  const { pathname, search } = location;
  const params = new URLSearchParams(search);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-page]')) {
    const page = a.dataset.page;
    const here = page === 'search' ? pathname === '/' || pathname.startsWith('/events') : pathname.startsWith(`/${page}`);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    cfg ??= await api.config(ctl.signal);
    renderSession();
    const ctx: Ctx = { cfg, main, signal: ctl.signal, cancel: () => ctl.abort(), go };
    const ev = /^\/events\/([^/]+)\/([^/]+)\/(\d+)\/(\d+)\/?$/.exec(pathname);
    if (pathname === '/' || pathname === '/search') {
      document.title = 'Search · Event lineage';
      await searchPage(ctx, params);
    } else if (ev) {
      const rec = { cluster: decodeURIComponent(ev[1]), topic: decodeURIComponent(ev[2]), partition: Number(ev[3]), offset: Number(ev[4]) };
      document.title = `${rec.topic} [${rec.partition}] @${rec.offset} · Event lineage`;
      await eventPage(ctx, rec, params);
    } else if (pathname === '/flow') {
      document.title = 'Flow map · Event lineage';
      await flowPage(ctx, params);
    } else if (pathname === '/outliers') {
      document.title = 'Outliers · Event lineage';
      await outliersPage(ctx, params);
    } else {
      document.title = 'Not found · Event lineage';
      main.append(emptyState('There is no such page.', h('a', { href: '/' }, 'Search events')));
    }
  } catch (e) {
    if (ctl.signal.aborted && current !== ctl) return; // navigated away
    if (e instanceof ApiError && e.unauthorized) {
      clear(main);
      authForm(!!token());
      return;
    }
    if (ctl.signal.aborted) {
      main.append(emptyState('Cancelled.', h('button', { type: 'button', onclick: () => void route() }, 'Load again')));
      return;
    }
    main.append(errorState(e instanceof ApiError && e.status === 400 ? 'The query was not accepted.' : 'Something went wrong.',
      e instanceof Error ? e.message : String(e), () => void route()));
  }
}

/** The unauthorised state: the API wants a bearer token (the collector's authenticator extension). */
function authForm(rejected: boolean): void {
  document.title = 'Sign in · Event lineage';
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h('form', { class: 'auth', 'aria-labelledby': 'auth-title', 'data-state': 'unauthorised' },
    h('h1', { id: 'auth-title' }, 'Authentication required'),
    h('p', { role: 'alert', class: rejected ? 'error-message' : '' }, rejected
      ? 'The collector rejected the token. Enter a valid one.'
      : 'This collector\'s lineage API requires a bearer token.'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Bearer token'), input,
      h('small', { id: 'token-help' }, 'Kept in this browser tab only (session storage) and sent as Authorization: Bearer …')),
    h('button', { type: 'submit' }, 'Continue'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    cfg = null;
    void route();
  });
  main.append(form);
  input.focus();
}

function renderSession(): void {
  const box = document.getElementById('session')!;
  clear(box);
  if (token()) {
    box.append(h('button', { type: 'button', class: 'secondary', onclick: () => { setToken(null); cfg = null; void route(); } }, 'Forget token'));
  }
  const foot = document.getElementById('foot')!;
  clear(foot);
  foot.append(`otelcol-lineage ${cfg?.version ?? ''}`, cfg?.trace_url_template ? ' · trace links open your trace backend' : '');
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element).closest?.('a'); // HTML or SVG: read attributes, not properties
  const href = a?.getAttribute('href');
  if (!a || !href || a.getAttribute('target') || a.hasAttribute('download')) return;
  const u = new URL(href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
  e.preventDefault();
  go(u.pathname + u.search);
  main.focus({ preventScroll: true });
});
window.addEventListener('popstate', () => void route());
void route();
