// The flow map: services, topics, state stores, connectors and clusters of a time range, with the
// number of records on each flow and its latency percentiles.
import { api } from './api';
import type { Ctx } from './context';
import { h, s } from './dom';
import { fmtMs } from './format';
import { clusterColours, clusterLegend } from './kinds';
import { drawLabels, type EdgeLabel } from './labels';
import { edgePath, layered } from './layout';
import type { Topology, TopologyEdge, TopologyNode } from './types';
import { canvas, emptyState, progress, rangeControl } from './ui';

const KIND_NAMES: Record<string, string> = {
  service: 'service', topic: 'topic', state_store: 'state store', connector: 'connector', cluster: 'cluster',
};

export async function flowPage(ctx: Ctx, params: URLSearchParams): Promise<void> {
  const range = rangeControl(params, '1h', false);
  const form = h('form', { class: 'toolbar-form', 'aria-label': 'Flow map range' }, range.el, h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    range.toParams(q);
    if (params.get('internal')) q.set('internal', '1');
    ctx.go(`/flow${q.size ? `?${q}` : ''}`);
  });
  const body = h('section', { class: 'flow' });
  ctx.main.append(h('h1', {}, 'Flow map'),
    h('p', { class: 'help' }, 'Every service, topic, state store, connector and cluster seen in the range; each arrow is a flow with its record count, rate (over the range) and latency percentiles (consumer start − producer start of the same record, or output − input).'),
    form, body);
  const r = range.value();
  const p = progress('Aggregating the flow map…', () => ctx.cancel());
  body.append(p.el);
  let topo: Topology;
  try {
    topo = await api.topology({ from: r.from, to: r.to }, ctx.signal);
  } finally {
    p.stop();
  }
  const all = topo.nodes ?? [];
  const showInternal = params.get('internal') === '1';
  const hidden = new Set(showInternal ? [] : all.filter((n) => n.kind === 'topic' && INTERNAL_TOPIC.test(n.label)).map((n) => n.id));
  const nodes = all.filter((n) => !hidden.has(n.id));
  const edges = (topo.edges ?? []).filter((e) => !hidden.has(e.from) && !hidden.has(e.to));
  const toggle = h('input', { type: 'checkbox', id: 'show-internal', checked: showInternal });
  toggle.addEventListener('change', () => {
    const q = new URLSearchParams(location.search);
    if (toggle.checked) q.set('internal', '1');
    else q.delete('internal');
    ctx.go(`/flow${q.size ? `?${q}` : ''}`);
  });
  form.append(h('span', { class: 'check' }, toggle, h('label', { for: 'show-internal' }, ` Show Kafka Connect and MirrorMaker 2 internal topics${hidden.size ? ` (${hidden.size} hidden)` : ''}`)));
  if (!nodes.length) {
    body.append(emptyState('Nothing flowed in this time range.', 'Choose a longer range, or replay a capture (see docs/ui.md).'));
    return;
  }
  const colours = clusterColours(nodes.map((n) => n.cluster ?? '').filter(Boolean));
  body.append(h('div', { class: 'legends' }, clusterLegend(colours),
    h('ul', { class: 'legend', 'aria-label': 'Node kinds' }, Object.entries(KIND_NAMES).map(([k, v]) => h('li', {}, h('span', { class: `shape shape-${k}`, 'aria-hidden': 'true' }), ` ${v}`)))));
  // rates are per second of the range the store aggregated (its answer says which)
  const seconds = Math.max(1, (Date.parse(topo.to) - Date.parse(topo.from)) / 1000) || 3600;
  const rate = (e: TopologyEdge) => fmtRate(e.count / seconds);
  const cv = canvas(drawFlow(nodes, edges, colours, rate), 'Flow map picture');
  body.append(cv, flowTable(nodes, edges, rate));
  cv.fit(0.6);
}

/** Records per second, readable from a trickle to a flood. */
function fmtRate(r: number): string {
  if (r >= 100) return `${Math.round(r)}/s`;
  if (r >= 1) return `${r.toFixed(1)}/s`;
  if (r >= 1 / 60) return `${(r * 60).toFixed(1)}/min`;
  return `${(r * 3600).toFixed(1)}/h`;
}

/** Bookkeeping topics of Kafka Connect workers and MirrorMaker 2, and Kafka's own. */
const INTERNAL_TOPIC = /^(__.*|connect-.*-(configs|offsets|status)|mm2-(offset-syncs|configs|offsets|status)\..*|(.*\.)?heartbeats|.*\.checkpoints\.internal)$/;

function drawFlow(nodes: TopologyNode[], edges: TopologyEdge[], colours: Map<string, string>, rate: (e: TopologyEdge) => string): SVGSVGElement {
  const w = (n: TopologyNode) => Math.max(110, Math.min(330, n.label.length * 7.2 + 28));
  const lay = layered(nodes.map((n) => ({ id: n.id, width: w(n), height: 46, group: n.cluster })), edges, { gapX: 150, gapY: 22 });
  const svg = s('svg', { class: 'flowmap', width: lay.width, height: lay.height + 60, viewBox: `0 0 ${lay.width} ${lay.height + 60}`, role: 'group', 'aria-label': `Flow map: ${nodes.length} nodes, ${edges.length} flows` });
  svg.append(s('defs', {}, s('marker', { id: 'farrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  const eg = s('g', { class: 'edges' });
  const labels: EdgeLabel[] = [];
  const max = Math.max(1, ...edges.map((e) => e.count));
  for (const e of edges) {
    const a = lay.pos.get(e.from), b = lay.pos.get(e.to);
    if (!a || !b) continue;
    const { d, mid } = edgePath(a, b);
    const width = 1.2 + 3 * Math.sqrt(e.count / max);
    eg.append(s('g', { class: 'edge flow-edge', 'data-from': e.from, 'data-to': e.to },
      s('title', {}, `${e.from} → ${e.to}: ${e.count} records (${rate(e)}); p50 ${fmtMs(e.p50_ms)}, p95 ${fmtMs(e.p95_ms)}, p99 ${fmtMs(e.p99_ms)}, max ${fmtMs(e.max_ms)}`),
      s('path', { d, 'marker-end': 'url(#farrow)', 'stroke-width': width.toFixed(1) })));
    const label = `${e.count} · ${rate(e)}${e.p50_ms !== undefined ? ` · p50 ${fmtMs(e.p50_ms)} · p99 ${fmtMs(e.p99_ms)}` : ''}`;
    labels.push({ at: mid, text: label });
  }
  const ng = s('g', { class: 'nodes' });
  for (const n of nodes) {
    const pl = lay.pos.get(n.id)!;
    const colour = colours.get(n.cluster ?? '') ?? '#475569';
    const what = `${KIND_NAMES[n.kind] ?? n.kind} ${n.label}${n.cluster ? ` in cluster ${n.cluster}` : ''}`;
    const search = searchFor(n);
    const g = s('g', { class: `fnode fnode-${n.kind}`, transform: `translate(${pl.x},${pl.y})`, 'data-id': n.id, 'data-kind': n.kind, ...(search ? {} : { tabindex: 0, role: 'img', 'aria-label': what }) });
    const shape = n.kind === 'service' || n.kind === 'connector'
      ? s('rect', { width: pl.width, height: pl.height, rx: 18, stroke: colour })
      : n.kind === 'state_store'
        ? s('path', { d: `M0,8 a${pl.width / 2},8 0 0,0 ${pl.width},0 v${pl.height - 16} a${pl.width / 2},8 0 0,1 -${pl.width},0 z M0,8 a${pl.width / 2},8 0 0,1 ${pl.width},0`, stroke: colour })
        : s('rect', { width: pl.width, height: pl.height, rx: 3, stroke: colour });
    g.append(shape, s('text', { x: pl.width / 2, y: 22, 'text-anchor': 'middle', class: 'fnode-label' }, n.label.length > 42 ? `${n.label.slice(0, 41)}…` : n.label),
      s('text', { x: pl.width / 2, y: 37, 'text-anchor': 'middle', class: 'fnode-kind' }, `${KIND_NAMES[n.kind] ?? n.kind}${n.cluster ? ` · ${n.cluster}` : ''}`),
      s('title', {}, search ? `${n.id}: find its events` : n.id));
    ng.append(search ? s('a', { href: search, 'aria-label': `${what}: find its events` }, g) : g);
  }
  svg.append(eg, drawLabels(labels), ng);
  return svg;
}

/** A topic's or a service's events on the search page (the flow map's range kept). */
function searchFor(n: TopologyNode): string | null {
  const q = new URLSearchParams(location.search);
  const r = new URLSearchParams();
  for (const k of ['from', 'to', 'range']) if (q.get(k)) r.set(k, q.get(k)!);
  if (!r.has('from') && !r.has('range')) r.set('range', '1h');
  if (n.kind === 'topic' && n.cluster) {
    r.set('cluster', n.cluster);
    r.set('topic', n.label);
  } else if (n.kind === 'service') r.set('service', n.label);
  else return null;
  r.set('run', '1');
  return `/?${r}`;
}

function flowTable(nodes: TopologyNode[], edges: TopologyEdge[], rate: (e: TopologyEdge) => string): HTMLElement {
  const label = new Map(nodes.map((n) => [n.id, `${n.label} (${KIND_NAMES[n.kind] ?? n.kind})`]));
  const sorted = [...edges].sort((a, b) => b.count - a.count);
  return h('table', { class: 'grid flows' }, h('caption', {}, 'Flows, busiest first'),
    h('thead', {}, h('tr', {}, ['From', 'To', 'Records', 'Rate', 'p50', 'p95', 'p99', 'max'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, sorted.map((e) => h('tr', {},
      h('td', {}, label.get(e.from) ?? e.from), h('td', {}, label.get(e.to) ?? e.to), h('td', { class: 'num' }, String(e.count)), h('td', { class: 'num' }, rate(e)),
      h('td', { class: 'num' }, fmtMs(e.p50_ms)), h('td', { class: 'num' }, fmtMs(e.p95_ms)), h('td', { class: 'num' }, fmtMs(e.p99_ms)), h('td', { class: 'num' }, fmtMs(e.max_ms))))));
}
