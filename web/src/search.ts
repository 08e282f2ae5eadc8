// Search: events by record coordinates, key, trace id, service and time range; newest first, paged.
import { api, type Params } from './api';
import { eventPath, link, type Ctx } from './context';
import { h } from './dom';
import { clusterOf, fmtTime, isTime, nameKey, recordKey, shortHash } from './format';
import type { LineageEvent } from './types';
import { emptyState, progress, rangeControl, traceLink } from './ui';

const FIELDS = ['cluster', 'topic', 'partition', 'offset', 'key', 'key_hash', 'trace_id', 'service'] as const;

export async function searchPage(ctx: Ctx, params: URLSearchParams): Promise<void> {
  const input = (name: string, label: string, attrs: Record<string, string | number> = {}) => {
    const el = h('input', { id: `f-${name}`, name, value: params.get(name) ?? '', autocomplete: 'off', ...attrs });
    return h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), el);
  };
  const range = rangeControl(params, 'any', true);
  const form = h('form', { class: 'search', role: 'search', 'aria-label': 'Find events' },
    h('fieldset', {}, h('legend', {}, 'Record'),
      input('cluster', 'Cluster (name or id)', { placeholder: 'dc1' }),
      input('topic', 'Topic', { placeholder: 'transactions' }),
      input('partition', 'Partition', { type: 'number', min: 0, inputmode: 'numeric' }),
      input('offset', 'Offset', { type: 'number', min: 0, inputmode: 'numeric' })),
    h('fieldset', {}, h('legend', {}, 'Key, trace, service'),
      input('key', 'Key', { placeholder: 'acct-01' }),
      input('key_hash', 'Key hash (hex)'),
      input('trace_id', 'Trace id', { pattern: '[0-9a-fA-F]{32}', title: '32 hex digits' }),
      input('service', 'Service', { placeholder: 'withdrawal-processor' })),
    h('div', { class: 'actions' }, range.el,
      h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'reset', class: 'secondary', onclick: (e: Event) => { e.preventDefault(); ctx.go('/'); } }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const data = new FormData(form);
    for (const f of FIELDS) {
      const v = String(data.get(f) ?? '').trim();
      if (v) q.set(f, v);
    }
    range.toParams(q);
    q.set('run', '1');
    ctx.go(`/?${q}`);
  });

  const criteria = FIELDS.some((f) => params.get(f));
  const results = h('section', { class: 'results', 'aria-labelledby': 'results-title' });
  ctx.main.append(h('h1', {}, 'Search events'), form, results);

  const query: Params = {};
  for (const f of FIELDS) query[f] = params.get(f) ?? undefined;
  const r = range.value();
  query.from = r.from;
  query.to = r.to;
  query.limit = 50;
  results.append(h('h2', { id: 'results-title' }, criteria || params.has('run') ? 'Matching events' : 'Latest events'));

  const table = h('table', { class: 'grid', 'aria-describedby': 'results-title' },
    h('thead', {}, h('tr', {}, ['Event', 'Cluster', 'Key hash', 'Time', 'Producer', 'Trace'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}));
  const more = h('button', { type: 'button', class: 'secondary more' }, 'Load more');
  let count = 0;
  const page = async (token?: string) => {
    const p = progress('Searching events…', () => ctx.cancel());
    results.append(p.el);
    try {
      const res = await api.events({ ...query, page_token: token }, ctx.signal);
      const evs = res.events ?? [];
      count += evs.length;
      if (!count) {
        results.append(emptyState('No events match.', criteria
          ? 'Check the record coordinates, widen the time range, or search by fewer fields.'
          : 'The store holds no events yet: point agents at the collector, or replay a capture (see docs/ui.md).'));
        return;
      }
      if (!table.isConnected) results.append(table);
      table.tBodies[0].append(...evs.map((e) => row(ctx, e)));
      more.remove();
      if (res.next_page_token) {
        more.onclick = () => void page(res.next_page_token).catch((e) => results.append(h('p', { role: 'alert' }, String(e))));
        results.append(more);
      }
    } finally {
      p.stop();
    }
  };
  await page();
}

function row(ctx: Ctx, e: LineageEvent): HTMLTableRowElement {
  const r = e.record;
  const t = isTime(e.produced_at) ? e.produced_at : e.timestamp;
  return h('tr', { 'data-record': recordKey(r), 'data-name': nameKey(e), 'data-key-hash': e.key_hash ?? '' },
    h('td', {}, link(eventPath(r), `${r.topic} [${r.partition}] @${r.offset}`), e.tombstone ? h('span', { class: 'tag' }, 'tombstone') : null),
    h('td', {}, clusterOf(e)),
    h('td', {}, h('code', { title: e.key_hash ?? '' }, shortHash(e.key_hash))),
    h('td', {}, fmtTime(t)),
    h('td', {}, e.producer ?? '—'),
    h('td', {}, traceLink(ctx.cfg, e.trace_id, shortHash(e.trace_id, 16))));
}
