// Outliers: hops whose latency is above an absolute threshold, or far above their flow's usual
// latency (the median of the same flow edge over the same range).
import { api } from './api';
import { eventPath, link, type Ctx } from './context';
import { h } from './dom';
import { fmtMs, fmtTime, recordKey } from './format';
import { emptyState, progress, rangeControl, traceLink } from './ui';

// the API's defaults (lineage_query README)
const DEFAULTS = { threshold_ms: '', factor: '3', min_ms: '10', limit: '100' };

export async function outliersPage(ctx: Ctx, params: URLSearchParams): Promise<void> {
  const range = rangeControl(params, '1h', false);
  const val = (k: keyof typeof DEFAULTS) => params.get(k) ?? DEFAULTS[k];
  const num = (name: keyof typeof DEFAULTS, label: string, help: string) =>
    h('div', { class: 'field' }, h('label', { for: `o-${name}` }, label),
      h('input', { id: `o-${name}`, name, type: 'number', min: 0, step: 'any', value: val(name), 'aria-describedby': `o-${name}-help` }),
      h('small', { id: `o-${name}-help` }, help));
  const form = h('form', { class: 'search', 'aria-label': 'Outlier criteria' },
    h('fieldset', {}, h('legend', {}, 'Slow hops'),
      num('threshold_ms', 'Absolute threshold (ms)', 'slower than this; empty: no absolute test'),
      num('factor', 'Factor × usual', 'slower than factor × the usual latency; 0: no relative test'),
      num('min_ms', 'Minimum (ms)', 'the relative test ignores hops faster than this'),
      num('limit', 'At most', 'slowest first')),
    h('div', { class: 'actions' }, range.el, h('button', { type: 'submit' }, 'Find outliers')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const data = new FormData(form);
    for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = String(data.get(k) ?? '').trim();
      if (v !== DEFAULTS[k]) q.set(k, v);
    }
    range.toParams(q);
    ctx.go(`/outliers${q.size ? `?${q}` : ''}`);
  });
  const body = h('section', { class: 'outliers' });
  ctx.main.append(h('h1', {}, 'Latency outliers'),
    h('p', { class: 'help' },
      'A hop is a record waiting between its producer and a consumer, or an output produced after its input. ',
      h('strong', {}, 'Usual'), ' is the median latency of the same flow edge (same topic → service, or input topic → output topic) over the chosen range: robust against the outliers themselves. ',
      'A hop is slow when it is above factor × usual and above the minimum, or above the absolute threshold.'),
    form, body);

  const r = range.value();
  const p = progress('Looking for slow hops…', () => ctx.cancel());
  body.append(p.el);
  let list;
  try {
    list = (await api.outliers({ from: r.from, to: r.to, threshold_ms: val('threshold_ms'), factor: val('factor'), min_ms: val('min_ms'), limit: val('limit') }, ctx.signal)).outliers ?? [];
  } finally {
    p.stop();
  }
  if (!list.length) {
    body.append(emptyState('No slow hops in this range.', 'Lower the factor or the threshold, or choose a longer range.'));
    return;
  }
  body.append(h('table', { class: 'grid' }, h('caption', {}, `${list.length} slow hops, slowest first`),
    h('thead', {}, h('tr', {}, ['Event', 'Hop', 'Latency', 'Usual', '× usual', 'Why', 'At', 'Trace'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, list.map((o) => h('tr', { 'data-record': recordKey(o.record) },
      h('td', {}, link(eventPath(o.record), `${o.record.topic} [${o.record.partition}] @${o.record.offset}`), o.input ? h('small', {}, h('br'), 'from ', link(eventPath(o.input), recordKey(o.input))) : null),
      h('td', {}, `${o.from} → ${o.to}`),
      h('td', { class: 'num' }, fmtMs(o.latency_ms)),
      h('td', { class: 'num' }, fmtMs(o.usual_ms)),
      h('td', { class: 'num' }, o.usual_ms > 0 ? `${(o.latency_ms / o.usual_ms).toFixed(1)}×` : '—'),
      h('td', {}, o.reason === 'threshold' ? 'above the threshold' : 'far above usual'),
      h('td', {}, fmtTime(o.at)),
      h('td', {}, traceLink(ctx.cfg, o.trace_id, 'trace')))))));
}
