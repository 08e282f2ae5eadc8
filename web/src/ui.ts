// Shared page pieces: the states every page can be in (loading with progress, empty, error,
// unauthorised), the time range control, trace links and the zoomable canvas for pictures.
import { h, type Child } from './dom';
import { fromLocalInput, toLocalInput, traceURL } from './format';
import type { UIConfig } from './types';

export interface Progress {
  el: HTMLElement;
  step(text: string, done?: number, total?: number): void;
  stop(): void;
}

/** A live progress line: what is being asked, how far along, for how long; with a Cancel button. */
export function progress(label: string, cancel: () => void): Progress {
  const text = h('span', { class: 'progress-text' }, label);
  const bar = h('progress', { 'aria-label': label });
  const elapsed = h('span', { class: 'elapsed' }, '');
  const t0 = performance.now();
  const timer = window.setInterval(() => {
    elapsed.textContent = `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  }, 1000);
  const el = h('div', { class: 'state state-loading', role: 'status', 'aria-live': 'polite', 'data-state': 'loading' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), text, bar, elapsed,
    h('button', { type: 'button', class: 'secondary', onclick: () => cancel() }, 'Cancel'));
  return {
    el,
    step(t, done, total) {
      text.textContent = t;
      if (done !== undefined && total) {
        bar.max = total;
        bar.value = done;
      } else bar.removeAttribute('value');
    },
    stop() {
      window.clearInterval(timer);
      el.remove();
    },
  };
}

export function emptyState(title: string, ...hint: Child[]): HTMLElement {
  return h('div', { class: 'state state-empty', role: 'status', 'data-state': 'empty' }, h('strong', {}, title), hint.length ? h('p', {}, ...hint) : null);
}

export function errorState(title: string, message: string, retry?: () => void): HTMLElement {
  return h('div', { class: 'state state-error', role: 'alert', 'data-state': 'error' },
    h('strong', {}, title), h('p', { class: 'error-message' }, message),
    retry ? h('button', { type: 'button', onclick: () => retry() }, 'Try again') : null);
}

export function traceLink(cfg: UIConfig, traceID: string | undefined, text?: string): Child {
  if (!traceID) return '—';
  const u = traceURL(cfg.trace_url_template, traceID);
  const label = text ?? traceID;
  return u ? h('a', { href: u, target: '_blank', rel: 'noopener noreferrer', class: 'trace-link', title: 'Open this trace in the trace backend' }, label) : h('code', {}, label);
}

export const RANGES: Record<string, { label: string; ms: number }> = {
  '15m': { label: 'Last 15 minutes', ms: 15 * 60e3 },
  '1h': { label: 'Last hour', ms: 3600e3 },
  '6h': { label: 'Last 6 hours', ms: 6 * 3600e3 },
  '24h': { label: 'Last 24 hours', ms: 24 * 3600e3 },
  '7d': { label: 'Last 7 days', ms: 7 * 24 * 3600e3 },
};

export interface RangeValue {
  /** a RANGES key, 'any' or 'custom' */
  range: string;
  from: string;
  to: string;
}

/** Time range selector: presets relative to now, any time, or a custom from/to (local time). */
export function rangeControl(params: URLSearchParams, fallback: string, allowAny: boolean): { el: HTMLElement; value(): RangeValue; toParams(q: URLSearchParams): void } {
  const initialFrom = params.get('from') ?? '', initialTo = params.get('to') ?? '';
  const initial = params.get('range') ?? (initialFrom || initialTo ? 'custom' : fallback);
  const select = h('select', { name: 'range', id: 'range' },
    allowAny ? h('option', { value: 'any' }, 'Any time') : null,
    Object.entries(RANGES).map(([k, r]) => h('option', { value: k }, r.label)),
    h('option', { value: 'custom' }, 'Custom…'));
  select.value = initial;
  const asInput = (v: string) => (v && !Number.isNaN(Date.parse(v)) ? toLocalInput(new Date(v)) : '');
  const from = h('input', { type: 'datetime-local', name: 'from', id: 'range-from', value: asInput(initialFrom) });
  const to = h('input', { type: 'datetime-local', name: 'to', id: 'range-to', value: asInput(initialTo) });
  const custom = h('span', { class: 'custom-range' },
    h('label', { for: 'range-from' }, 'From'), from, h('label', { for: 'range-to' }, 'To'), to);
  const sync = () => (custom.hidden = select.value !== 'custom');
  select.addEventListener('change', sync);
  sync();
  const el = h('span', { class: 'range' }, h('label', { for: 'range' }, 'Time range'), select, custom);
  const value = (): RangeValue => {
    const r = select.value;
    if (r === 'custom') return { range: r, from: fromLocalInput(from.value), to: fromLocalInput(to.value) };
    const preset = RANGES[r];
    if (!preset) return { range: 'any', from: '', to: '' };
    const now = Date.now();
    return { range: r, from: new Date(now - preset.ms).toISOString(), to: new Date(now).toISOString() };
  };
  return {
    el,
    value,
    toParams(q) {
      const v = value();
      if (v.range === 'custom') {
        if (v.from) q.set('from', v.from);
        if (v.to) q.set('to', v.to);
      } else if (v.range !== fallback) q.set('range', v.range);
    },
  };
}

/** A scrollable canvas with zoom buttons around an SVG picture. Once in the page, fit(min)
 * zooms out to show the whole width, but not below min (text stays readable). */
export function canvas(svg: SVGSVGElement, label: string): HTMLElement & { fit(min: number): void } {
  const w = Number(svg.getAttribute('width')), ht = Number(svg.getAttribute('height'));
  let zoom = 1;
  const apply = () => {
    svg.setAttribute('width', String(Math.round(w * zoom)));
    svg.setAttribute('height', String(Math.round(ht * zoom)));
    level.textContent = `${Math.round(zoom * 100)} %`;
  };
  const level = h('span', { class: 'zoom-level', 'aria-live': 'polite' }, '100 %');
  const scroller = h('div', { class: 'canvas', tabindex: 0, role: 'region', 'aria-label': label }, svg);
  const fit = (min: number) => {
    zoom = Math.min(1, Math.max(min, (scroller.clientWidth - 4) / w, 0.2));
    apply();
  };
  const wrap = h('div', { class: 'canvas-wrap' },
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Zoom' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Zoom out', onclick: () => { zoom = Math.max(0.2, zoom / 1.25); apply(); } }, '−'),
      level,
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Zoom in', onclick: () => { zoom = Math.min(3, zoom * 1.25); apply(); } }, '+'),
      h('button', { type: 'button', class: 'secondary', onclick: () => fit(0.2) }, 'Fit'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { zoom = 1; apply(); } }, '100 %')),
    scroller);
  return Object.assign(wrap, { fit });
}

/** A definition list from label/value pairs. */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}
