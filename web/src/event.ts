// The event page: one event's whole journey as one picture (from its origin events through every
// touchpoint to all outputs, across clusters), switchable to its root cause (upstream closure) or
// its impact (downstream closure); a detail panel per event and the audit export.
import { api, ApiError } from './api';
import { eventPath, link, type Ctx } from './context';
import { clear, h } from './dom';
import { drawLineage, named, type Picture } from './eventgraph';
import { clusterOf, fmtMs, fmtTime, nameKey, recordKey, recordLabel, shortHash } from './format';
import { clusterColours, clusterLegend, kindLegend, shownKind, KINDS } from './kinds';
import type { Direction, EventDetail, Graph, GraphEdge, GraphNode, RecordID } from './types';
import { canvas, emptyState, errorState, facts, progress, traceLink } from './ui';

type View = 'journey' | 'root-cause' | 'impact';

const VIEWS: Record<View, { label: string; direction: Direction; help: string }> = {
  journey: { label: 'Journey', direction: 'both', help: 'The whole journey: everything upstream of this event, and everything its origin events led to (through their parent chains), with every touchpoint on the way.' },
  'root-cause': { label: 'Root cause', direction: 'upstream', help: 'Upstream closure: every event that led to this one; origins are marked.' },
  impact: { label: 'Impact', direction: 'downstream', help: 'Downstream closure: every event this one led to; final outputs are marked.' },
};

export async function eventPage(ctx: Ctx, id: RecordID, params: URLSearchParams): Promise<void> {
  let view = (params.get('view') as View) in VIEWS ? (params.get('view') as View) : 'journey';
  const head = h('div', { class: 'event-head' });
  ctx.main.append(head);
  const p = progress('Loading the event…', () => ctx.cancel());
  head.append(p.el);
  let detail: EventDetail;
  try {
    detail = await api.event(id, ctx.signal);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      ctx.main.append(emptyState(`No event ${recordKey(id)} is stored.`, 'It may not have arrived yet, or retention removed it. ', link('/', 'Search events')));
      return;
    }
    throw e;
  } finally {
    p.stop();
  }
  const ev = detail.event;
  head.append(
    h('h1', {}, `${ev.record.topic} [${ev.record.partition}] @${ev.record.offset}`, h('span', { class: 'sub' }, ` in cluster ${clusterOf(ev)}`)),
    facts([
      ['Cluster', ev.cluster_name && ev.cluster_name !== ev.record.cluster ? `${ev.cluster_name} (id ${ev.record.cluster})` : ev.record.cluster],
      ['Key hash', h('code', { title: ev.key_hash ?? '' }, shortHash(ev.key_hash, 24))],
      ['Record timestamp', fmtTime(ev.timestamp)],
      ['Produced at', fmtTime(ev.produced_at)],
      ['Producer', ev.producer ?? '—'],
      ['Trace', traceLink(ctx.cfg, ev.trace_id)],
      ['Tombstone', ev.tombstone ? 'yes' : 'no'],
      ['Direct edges', `${(detail.inputs ?? []).length} in, ${(detail.outputs ?? []).length} out; ${(detail.touchpoints ?? []).length} touchpoints`],
      ['Record id', h('code', {}, recordKey(ev.record))],
    ]));

  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'View' });
  const exportBox = h('div', { class: 'export', role: 'group', 'aria-label': 'Audit export' });
  const help = h('p', { class: 'help' });
  const body = h('section', { class: 'picture' });
  ctx.main.append(h('div', { class: 'view-bar' }, tabs, exportBox), help, body);

  let run = new AbortController();
  ctx.signal.addEventListener('abort', () => run.abort());
  const show = async () => {
    run.abort();
    run = new AbortController();
    clear(tabs);
    for (const [k, v] of Object.entries(VIEWS) as [View, (typeof VIEWS)[View]][]) {
      tabs.append(h('button', {
        type: 'button', role: 'tab', id: `tab-${k}`, 'aria-selected': String(k === view), 'aria-controls': 'picture',
        tabindex: k === view ? 0 : -1, class: k === view ? 'tab active' : 'tab',
        onclick: () => { view = k; history.replaceState(null, '', eventPath(id, k === 'journey' ? undefined : k)); void show().catch(fail); },
        onkeydown: (e: Event) => arrowTabs(e as KeyboardEvent, tabs),
      }, v.label));
    }
    help.textContent = VIEWS[view].help;
    renderExport(ctx, exportBox, ev.record, VIEWS[view].direction);
    clear(body);
    body.id = 'picture';
    body.setAttribute('role', 'tabpanel');
    body.setAttribute('aria-labelledby', `tab-${view}`);
    await drawView(ctx, body, ev.record, view, run.signal);
  };
  const fail = (e: unknown) => {
    if (run.signal.aborted) return;
    if (e instanceof ApiError && e.unauthorized) {
      ctx.go(location.pathname + location.search); // the router asks for a token
      return;
    }
    clear(body);
    body.append(errorState('The lineage could not be loaded.', e instanceof Error ? e.message : String(e), () => void show().catch(fail)));
  };
  await show();
}

function arrowTabs(e: KeyboardEvent, tabs: HTMLElement): void {
  if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
  const all = [...tabs.querySelectorAll<HTMLButtonElement>('[role=tab]')];
  const i = all.indexOf(e.target as HTMLButtonElement);
  const next = all[(i + (e.key === 'ArrowRight' ? 1 : all.length - 1)) % all.length];
  next.focus();
  next.click();
}

/** Merges lineage graphs into one picture (nodes by record, edges by record pair and rule). */
class Merge {
  nodes = new Map<string, GraphNode>();
  edges = new Map<string, GraphEdge>();
  truncated = false;
  add(g: Graph): void {
    this.truncated ||= g.truncated;
    for (const n of g.nodes ?? []) {
      const k = recordKey(n.event.record);
      const have = this.nodes.get(k);
      if (!have || (n.touchpoints?.length ?? 0) > (have.touchpoints?.length ?? 0)) this.nodes.set(k, n);
    }
    for (const e of g.edges ?? []) this.edges.set(`${recordKey(e.from)}|${recordKey(e.to)}|${e.rule ?? ''}`, e);
  }
  picture(): Picture {
    return { nodes: [...this.nodes.values()], edges: [...this.edges.values()], truncated: this.truncated };
  }
}

async function walk(ctx: Ctx, start: RecordID, view: View, signal: AbortSignal, step: (t: string, done?: number, total?: number) => void): Promise<{ pic: Picture; marked: Set<string> }> {
  const depth = ctx.cfg.max_lineage_depth, max = ctx.cfg.max_lineage_events;
  const m = new Merge();
  if (view === 'impact') {
    step('Walking downstream…');
    m.add(await api.lineage(start, 'downstream', depth, max, signal));
    const pic = m.picture();
    const hasOut = new Set(pic.edges.map((e) => recordKey(e.from)));
    return { pic, marked: new Set(pic.nodes.map((n) => recordKey(n.event.record)).filter((k) => !hasOut.has(k) && k !== recordKey(start))) };
  }
  step('Walking upstream to the origins…');
  const up = await api.lineage(start, 'upstream', depth, max, signal);
  m.add(up);
  const origins = (up.nodes ?? []).filter((n) => n.origin).map((n) => n.event.record);
  if (view === 'root-cause') return { pic: m.picture(), marked: new Set(origins.map(recordKey)) };
  const primary = primaryOrigins(up, start);
  const from = primary.length ? primary : [start]; // a cycle of parents has no beginning
  let done = 0;
  step(`Walking downstream from ${from.length} origin event(s)…`, 0, from.length);
  const queue = [...from];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      m.add(await api.lineage(r, 'downstream', depth, max, signal));
      step(`Walking downstream from ${from.length} origin event(s)…`, ++done, from.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, from.length) }, worker));
  return { pic: m.picture(), marked: new Set() };
}

/** The origins the start event descends from through parent chains (edges that are not span
 * links): its journey's beginning. A fan-in contributor or a joined table record (a link) is part
 * of the picture but its own other descendants are not: they belong to other journeys. */
export function primaryOrigins(up: Graph, start: RecordID): RecordID[] {
  const byKey = new Map((up.nodes ?? []).map((n) => [recordKey(n.event.record), n.event.record]));
  const parents = new Map<string, RecordID[]>();
  for (const e of up.edges ?? []) {
    if (e.link) continue;
    const k = recordKey(e.to);
    parents.set(k, [...(parents.get(k) ?? []), e.from]);
  }
  const out: RecordID[] = [];
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const r = stack.pop()!;
    const k = recordKey(r);
    if (seen.has(k)) continue;
    seen.add(k);
    const ps = parents.get(k) ?? [];
    if (!ps.length) out.push(byKey.get(k) ?? r);
    stack.push(...ps);
  }
  return out;
}

async function drawView(ctx: Ctx, body: HTMLElement, start: RecordID, view: View, signal: AbortSignal): Promise<void> {
  const ctl = new AbortController();
  signal.addEventListener('abort', () => ctl.abort());
  const p = progress('Loading the lineage…', () => ctl.abort());
  body.append(p.el);
  let res: { pic: Picture; marked: Set<string> };
  try {
    res = await walk(ctx, start, view, ctl.signal, (t, d, n) => p.step(t, d, n));
  } catch (e) {
    if (ctl.signal.aborted && !signal.aborted) {
      body.append(emptyState('Cancelled.', 'The picture was not loaded. Choose a view to try again.'));
      return;
    }
    throw e;
  } finally {
    p.stop();
  }
  const { pic, marked } = res;
  if (pic.nodes.length <= 1 && !pic.edges.length) {
    body.append(emptyState(view === 'impact' ? 'Nothing downstream of this event is stored.' : view === 'root-cause' ? 'No stored edge leads into this event: it is an origin.' : 'No stored edge connects this event to others.',
      'Its touchpoints are listed below.'));
  }
  if (pic.truncated) {
    body.append(h('p', { class: 'warning', role: 'note' }, `The picture is cut at ${ctx.cfg.max_lineage_events} events or depth ${ctx.cfg.max_lineage_depth} (the query extension's max_lineage_events / max_lineage_depth).`));
  }
  const colours = clusterColours(pic.nodes.map((n) => clusterOf(n.event)));
  const panel = h('aside', { class: 'detail', 'aria-label': 'Selected event', 'aria-live': 'polite' },
    h('p', { class: 'hint' }, 'Select an event in the picture (click, or Tab and Enter) to see its touchpoints. Double-click or Shift+Enter opens it.'));
  const svg = drawLineage(pic, {
    start, colours, marked,
    markLabel: view === 'root-cause' ? 'root cause' : view === 'impact' ? 'output' : undefined,
    onSelect: (n) => select(ctx, panel, n),
    onOpen: (n) => ctx.go(eventPath(n.event.record)),
  });
  const cv = canvas(svg, 'Lineage picture');
  body.append(
    h('div', { class: 'legends' }, clusterLegend(colours), kindLegend(),
      h('ul', { class: 'legend', 'aria-label': 'Edges' }, h('li', {}, '— measured by the agent'), h('li', {}, '- - derived by a stitching rule'), h('li', {}, '··· from configuration'), h('li', {}, '⇆ cluster hop'))),
    h('div', { class: 'picture-row' }, cv, panel),
    summary(pic, view, marked),
    tables(pic));
  const startNode = pic.nodes.find((n) => recordKey(n.event.record) === recordKey(start));
  if (startNode) select(ctx, panel, startNode);
  cv.fit(0.65);
  centre(svg.querySelector<SVGGElement>('.node-start'));
}

/** Scrolls the picture's canvas (not the page) just enough for the start event to be in view;
 * the picture otherwise opens at its left edge, where the origins are. */
function centre(node: SVGGElement | null): void {
  const scroller = node?.closest<HTMLElement>('.canvas');
  if (!node || !scroller) return;
  const n = node.getBoundingClientRect(), c = scroller.getBoundingClientRect();
  if (n.right > c.right) scroller.scrollLeft += n.right - c.right + 24;
  if (n.bottom > c.bottom) scroller.scrollTop += n.bottom - c.bottom + 24;
}

function summary(pic: Picture, view: View, marked: Set<string>): HTMLElement {
  const tps = pic.nodes.flatMap((n) => n.touchpoints ?? []);
  const nm = named(tps);
  const topics = [...new Set(pic.nodes.map((n) => `${clusterOf(n.event)}/${n.event.record.topic}`))].sort();
  const clusters = [...new Set(pic.nodes.map((n) => clusterOf(n.event)).concat(tps.map((t) => t.cluster_name ?? '').filter(Boolean)))].sort();
  const list = (label: string, items: string[], key: string) =>
    h('div', { class: 'touch-list' }, h('h3', {}, `${label} (${items.length})`),
      items.length ? h('ul', { 'data-list': key }, items.map((i) => h('li', {}, i))) : h('p', {}, 'none'));
  const byNode = new Map(pic.nodes.map((n) => [recordKey(n.event.record), n]));
  const markedList = [...marked].map((k) => byNode.get(k)).filter((n): n is GraphNode => !!n);
  return h('section', { class: 'summary', 'aria-label': 'Touchpoints in this picture' },
    h('h2', {}, `${plural(pic.nodes.length, 'event')}, ${plural(pic.edges.length, 'edge')}`),
    view !== 'journey' && markedList.length
      ? h('div', { class: 'marked' }, h('h3', {}, view === 'root-cause' ? `Root causes (${markedList.length} origin events)` : `Outputs (${markedList.length})`),
        h('ul', { 'data-list': view === 'root-cause' ? 'origins' : 'outputs' }, markedList.map((n) => h('li', { 'data-record': recordKey(n.event.record), 'data-name': nameKey(n.event) }, link(eventPath(n.event.record), recordLabel(n.event.record, n.event.cluster_name))))))
      : null,
    h('div', { class: 'touch-lists' },
      list('Services', nm.services, 'services'), list('Topics', topics, 'topics'), list('State stores', nm.stores, 'stores'),
      list('Connectors', nm.connectors, 'connectors'), list('Clusters', clusters, 'clusters')));
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function tables(pic: Picture): HTMLElement {
  const nodes = [...pic.nodes].sort((a, b) => a.depth - b.depth || recordKey(a.event.record).localeCompare(recordKey(b.event.record)));
  return h('details', { class: 'tables' }, h('summary', {}, 'The picture as tables'),
    h('table', { class: 'grid' }, h('caption', {}, 'Events'),
      h('thead', {}, h('tr', {}, ['Event', 'Depth', 'Origin', 'Producer', 'Touchpoints'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, nodes.map((n) => h('tr', {},
        h('td', {}, link(eventPath(n.event.record), recordLabel(n.event.record, n.event.cluster_name))),
        h('td', {}, String(n.depth)), h('td', {}, n.origin ? 'yes' : ''), h('td', {}, n.event.producer ?? '—'),
        h('td', {}, String((n.touchpoints ?? []).length)))))),
    h('table', { class: 'grid' }, h('caption', {}, 'Edges'),
      h('thead', {}, h('tr', {}, ['From', 'To', 'Latency', 'Rule', 'Derivation', 'Span link'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, pic.edges.map((e) => h('tr', {},
        h('td', {}, recordKey(e.from)), h('td', {}, recordKey(e.to)), h('td', {}, fmtMs(e.latency_ms)),
        h('td', {}, e.rule ?? '—'), h('td', {}, e.derivation), h('td', {}, e.link ? 'yes' : ''))))));
}

function select(ctx: Ctx, panel: HTMLElement, n: GraphNode): void {
  clear(panel);
  const e = n.event;
  const tps = [...(n.touchpoints ?? [])].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  panel.append(
    h('h2', {}, recordLabel(e.record, e.cluster_name)),
    facts([
      ['Produced at', fmtTime(e.produced_at)],
      ['Record timestamp', fmtTime(e.timestamp)],
      ['Producer', e.producer ?? '—'],
      ['Trace', traceLink(ctx.cfg, e.trace_id)],
      ['Origin', n.origin ? 'yes: no stored edge leads into it' : 'no'],
    ]),
    h('p', {}, link(eventPath(e.record), 'Open this event')),
    h('h3', {}, `Touchpoints (${tps.length})`),
    tps.length
      ? h('ol', { class: 'touchpoints' }, tps.map((t) => {
          const k = shownKind(t);
          const ms = Date.parse(t.end) - Date.parse(t.start);
          return h('li', { class: `touch-${k}` },
            h('span', { class: `glyph kind-${k}`, title: KINDS[k].name, 'aria-label': KINDS[k].name }, KINDS[k].glyph), ' ',
            h('strong', {}, t.service), ` ${t.operation}`,
            t.state_store ? ` · store ${t.state_store} ${t.store_operation ?? ''}` : '',
            t.connector ? ` · connector ${t.connector}` : '',
            h('br'),
            h('small', {}, `${fmtTime(t.start)} · ${fmtMs(ms)}${t.cluster_name ? ` · ${t.cluster_name}` : ''}${t.rule ? ` · rule ${t.rule}` : ''} · `, traceLink(ctx.cfg, t.trace_id, 'trace')));
        }))
      : h('p', {}, 'No touchpoints stored.'));
}

function renderExport(ctx: Ctx, box: HTMLElement, r: RecordID, direction: Direction): void {
  clear(box);
  const status = h('span', { class: 'export-status', role: 'status' });
  const dl = (format: 'json' | 'csv') => async () => {
    status.textContent = `Preparing ${format.toUpperCase()}…`;
    try {
      const { blob, filename } = await api.audit(r, { format, direction, depth: ctx.cfg.max_lineage_depth }, ctx.signal);
      const a = h('a', { href: URL.createObjectURL(blob), download: filename });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      status.textContent = `Downloaded ${filename}`;
    } catch (e) {
      const unauth = e instanceof ApiError && e.unauthorized;
      status.textContent = `Export failed: ${unauth ? 'unauthorised (the token was rejected; reload to enter another)' : e instanceof Error ? e.message : String(e)}`;
    }
  };
  box.append(h('span', { class: 'export-label' }, `Audit trail (${direction}):`),
    h('button', { type: 'button', class: 'secondary', onclick: () => void dl('json')() }, 'Export JSON'),
    h('button', { type: 'button', class: 'secondary', onclick: () => void dl('csv')() }, 'Export CSV'), status);
}
