// Draws a lineage graph as one SVG picture: events (Kafka records) as boxes holding their
// touchpoints grouped by kind and service, coloured by cluster; edges as curves labelled with the
// hop's latency and the rule that stitched it (or "measured" when the agent's own context did).
import { s } from './dom';
import { clusterOf, fmtMs, fmtTime, nameKey, recordKey } from './format';
import { edgePath, layered } from './layout';
import { isMirror, kindBadge, shownKind, type ShownKind } from './kinds';
import { drawLabels, type EdgeLabel } from './labels';
import type { GraphEdge, GraphNode, RecordID, Touchpoint } from './types';

export interface Picture {
  nodes: GraphNode[];
  edges: GraphEdge[];
  truncated: boolean;
}

export interface TouchRow {
  kind: ShownKind;
  text: string;
  count: number;
  first: number;
}

const NODE_W = 290;
const HEAD_H = 44;
const ROW_H = 18;
const MAX_CHARS = 38;

/** The state store a changelog write stands for: Kafka Streams names a store's changelog topic
 * "<application.id>-<store>-changelog"; where the writing service is named as its application id
 * (service.name = application.id), the store is the rest. Empty when that does not hold. */
export function changelogStore(tp: Touchpoint): string {
  const t = tp.record.topic;
  if (tp.kind !== 'produce' || !t.endsWith('-changelog') || !t.startsWith(`${tp.service}-`)) return '';
  return t.slice(tp.service.length + 1, -'-changelog'.length);
}

/** Touchpoints of one event, one row per (kind, service, operation, store, connector); a
 * changelog write also shows as a write of its state store. */
export function touchRows(tps: Touchpoint[]): TouchRow[] {
  const rows = new Map<string, TouchRow>();
  const stores = new Set(tps.filter((tp) => tp.state_store).map((tp) => `${tp.service}/${tp.state_store}`));
  const add = (kind: ShownKind, text: string, t: number) => {
    const key = `${kind}\u0000${text}`;
    const r = rows.get(key);
    if (r) {
      r.count++;
      r.first = Math.min(r.first, t);
    } else rows.set(key, { kind, text, count: 1, first: t });
  };
  for (const tp of tps) {
    const cs = changelogStore(tp);
    if (cs && !stores.has(`${tp.service}/${cs}`)) add('state_store', `${tp.service}: ${cs} (changelog)`, Date.parse(tp.start) || 0);
  }
  for (const tp of tps) {
    const kind = shownKind(tp);
    let text: string;
    if (kind === 'state_store') text = `${tp.service}: ${tp.state_store ?? '?'} ${tp.store_operation ?? ''}`.trim();
    else if (kind === 'connect' || kind === 'mirror') text = `${tp.connector || tp.service}: ${tp.operation}`;
    else text = `${tp.service}: ${tp.operation}`;
    add(kind, text, Date.parse(tp.start) || 0);
  }
  const order: ShownKind[] = ['produce', 'consume', 'mirror', 'connect', 'state_store', 'internal'];
  return [...rows.values()].sort((a, b) => a.first - b.first || order.indexOf(a.kind) - order.indexOf(b.kind) || a.text.localeCompare(b.text));
}

/** What a set of touchpoints names: services, state stores (service/store, from store operations
 * and changelog writes), connectors. */
export function named(tps: Touchpoint[]): { services: string[]; stores: string[]; connectors: string[] } {
  const services = new Set<string>(), stores = new Set<string>(), connectors = new Set<string>();
  for (const tp of tps) {
    if (tp.service) services.add(tp.service);
    if (tp.state_store) stores.add(`${tp.service}/${tp.state_store}`);
    const cs = changelogStore(tp);
    if (cs) stores.add(`${tp.service}/${cs}`);
    if (tp.connector) connectors.add(tp.connector);
  }
  return { services: [...services].sort(), stores: [...stores].sort(), connectors: [...connectors].sort() };
}

function clip(t: string, n = MAX_CHARS): string {
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

export interface DrawOptions {
  start: RecordID;
  colours: Map<string, string>;
  /** Records shown with emphasis (the origins of a root-cause view, the outputs of an impact view). */
  marked?: Set<string>;
  markLabel?: string;
  onSelect: (n: GraphNode) => void;
  onOpen: (n: GraphNode) => void;
}

export function drawLineage(p: Picture, o: DrawOptions): SVGSVGElement {
  const rows = new Map(p.nodes.map((n) => [recordKey(n.event.record), touchRows(n.touchpoints ?? [])]));
  const clusterByKey = new Map(p.nodes.map((n) => [recordKey(n.event.record), clusterOf(n.event)]));
  const lay = layered(
    p.nodes.map((n) => {
      const id = recordKey(n.event.record);
      return { id, width: NODE_W, height: HEAD_H + Math.max(1, rows.get(id)!.length) * ROW_H + 8, group: clusterOf(n.event) };
    }),
    p.edges.map((e) => ({ from: recordKey(e.from), to: recordKey(e.to) })),
    { gapX: 150 },
  );
  const startKey = recordKey(o.start);
  const svg = s('svg', {
    class: 'lineage', width: lay.width, height: lay.height + 60, viewBox: `0 0 ${lay.width} ${lay.height + 60}`,
    role: 'group', 'aria-label': `Lineage graph: ${p.nodes.length} events, ${p.edges.length} edges`,
  });
  svg.append(s('defs', {},
    s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));

  const edgeLayer = s('g', { class: 'edges' });
  const labels: EdgeLabel[] = [];
  for (const e of p.edges) {
    const a = lay.pos.get(recordKey(e.from)), b = lay.pos.get(recordKey(e.to));
    // an edge from a record to itself says nothing about lineage: listed in the tables, not drawn
    if (!a || !b || a === b) continue;
    const { d, mid } = edgePath(a, b);
    const fromCluster = clusterByKey.get(recordKey(e.from)), toCluster = clusterByKey.get(recordKey(e.to));
    const hop = fromCluster !== toCluster;
    const why = e.rule || e.derivation || 'measured';
    const label = `${hop ? '⇆ ' : ''}${fmtMs(e.latency_ms)} · ${why}`;
    const title = `${recordKey(e.from)} → ${recordKey(e.to)}\nlatency ${fmtMs(e.latency_ms)}\n${e.derivation}${e.rule ? ` by rule ${e.rule}` : ''}${e.link ? ' (span link)' : ''}${hop ? `\ncluster hop ${fromCluster} → ${toCluster}` : ''}`;
    const cls = `edge edge-${e.derivation || 'measured'}${e.link ? ' edge-link' : ''}${hop ? ' edge-hop' : ''}`;
    edgeLayer.append(s('g', { class: cls, 'data-from': recordKey(e.from), 'data-to': recordKey(e.to), 'data-rule': e.rule ?? '' },
      s('title', {}, title), s('path', { d, 'marker-end': 'url(#arrow)' })));
    labels.push({ at: mid, text: label });
  }
  svg.append(edgeLayer);

  const nodeLayer = s('g', { class: 'nodes' });
  // document order = Tab order: left to right, top to bottom, as the picture reads
  const reading = [...p.nodes].sort((a, b) => {
    const pa = lay.pos.get(recordKey(a.event.record))!, pb = lay.pos.get(recordKey(b.event.record))!;
    return pa.layer - pb.layer || pa.y - pb.y;
  });
  for (const n of reading) {
    const id = recordKey(n.event.record);
    const pl = lay.pos.get(id)!;
    const cluster = clusterOf(n.event);
    const colour = o.colours.get(cluster) ?? '#475569';
    const nm = named(n.touchpoints ?? []);
    const r = n.event.record;
    const isStart = id === startKey;
    const marked = o.marked?.has(id) ?? false;
    const badges = [isStart ? 'this event' : '', n.origin ? 'origin' : '', marked && o.markLabel ? o.markLabel : ''].filter(Boolean);
    const g = s('g', {
      class: `node${isStart ? ' node-start' : ''}${n.origin ? ' node-origin' : ''}${marked ? ' node-marked' : ''}`,
      transform: `translate(${pl.x},${pl.y})`, tabindex: 0, role: 'button',
      'aria-label': `${r.topic} partition ${r.partition} offset ${r.offset} in cluster ${cluster}${badges.length ? ` (${badges.join(', ')})` : ''}; ${nm.services.join(', ')}. Enter: details; Shift+Enter: open this event`,
      'data-record': id, 'data-name': nameKey(n.event), 'data-topic': `${cluster}/${r.topic}`, 'data-cluster': cluster,
      'data-services': JSON.stringify(nm.services), 'data-stores': JSON.stringify(nm.stores),
      'data-connectors': JSON.stringify(nm.connectors), 'data-origin': String(n.origin),
    });
    g.append(s('rect', { class: 'node-box', width: pl.width, height: pl.height, rx: 6, stroke: colour }));
    g.append(s('rect', { class: 'node-band', width: 6, height: pl.height, rx: 2, fill: colour }));
    g.append(s('text', { class: 'node-title', x: 14, y: 18 }, clip(r.topic, 30)));
    g.append(s('text', { class: 'node-sub', x: 14, y: 35 },
      clip(`${cluster} · p${r.partition} @${r.offset} · ${fmtTime(n.event.produced_at || n.event.timestamp).slice(11)}`, 46)));
    let bx = pl.width - 8;
    for (const b of badges.reverse()) {
      const w = b.length * 6 + 10;
      bx -= w;
      g.append(s('g', { class: `badge badge-${b.replace(/\s+/g, '-')}`, transform: `translate(${bx},6)` },
        s('rect', { width: w, height: 15, rx: 7 }), s('text', { x: w / 2, y: 11, 'text-anchor': 'middle' }, b)));
      bx -= 4;
    }
    const rs = rows.get(id)!;
    rs.forEach((row, i) => {
      const y = HEAD_H + i * ROW_H;
      const text = `${row.text}${row.count > 1 ? ` ×${row.count}` : ''}`;
      g.append(s('g', { class: `touch touch-${row.kind}` },
        s('title', {}, text), kindBadge(row.kind, 14, y), s('text', { x: 34, y: y + 11 }, clip(text))));
    });
    if (!rs.length) g.append(s('text', { class: 'node-empty', x: 14, y: HEAD_H + 11 }, 'no touchpoints stored'));
    g.append(s('title', {}, `${id}${isMirror(n.event.producer) ? ' (mirrored)' : ''}\nproducer ${n.event.producer ?? 'unknown'}`));
    g.addEventListener('click', (ev) => ((ev as MouseEvent).shiftKey ? o.onOpen(n) : o.onSelect(n)));
    g.addEventListener('dblclick', () => o.onOpen(n));
    g.addEventListener('keydown', (ev) => {
      const k = ev as KeyboardEvent;
      if (k.key === 'Enter' || k.key === ' ') {
        k.preventDefault();
        if (k.shiftKey) o.onOpen(n);
        else o.onSelect(n);
      }
    });
    nodeLayer.append(g);
  }
  svg.append(drawLabels(labels), nodeLayer);
  return svg;
}
