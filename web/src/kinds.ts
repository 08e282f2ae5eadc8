// How touchpoints and clusters look: one glyph and colour per kind of touchpoint, one colour per
// cluster. MirrorMaker 2 runs as Kafka Connect connectors; its touchpoints are shown as cluster hops.
import { h, s } from './dom';
import type { Touchpoint } from './types';

export type ShownKind = 'produce' | 'consume' | 'state_store' | 'connect' | 'mirror' | 'internal';

export const KINDS: Record<ShownKind, { glyph: string; name: string }> = {
  produce: { glyph: 'P', name: 'produce' },
  consume: { glyph: 'C', name: 'consume' },
  state_store: { glyph: 'S', name: 'state store' },
  connect: { glyph: 'K', name: 'Kafka Connect' },
  mirror: { glyph: 'M', name: 'MirrorMaker 2 (cluster hop)' },
  internal: { glyph: '·', name: 'other span' },
};

export function isMirror(name: string | undefined): boolean {
  return !!name && /mirror|mm2/i.test(name);
}

export function shownKind(tp: Touchpoint): ShownKind {
  if (isMirror(tp.connector)) return 'mirror';
  switch (tp.kind) {
    case 'produce':
    case 'consume':
    case 'state_store':
    case 'connect':
      return tp.kind;
    default:
      return tp.connector ? 'connect' : 'internal';
  }
}

/** The glyph of a kind as a small SVG badge. */
export function kindBadge(kind: ShownKind, x: number, y: number): SVGGElement {
  return s('g', { class: `kind kind-${kind}`, transform: `translate(${x},${y})`, 'aria-hidden': 'true' },
    s('rect', { width: 14, height: 14, rx: 3 }),
    s('text', { x: 7, y: 11, 'text-anchor': 'middle' }, KINDS[kind].glyph));
}

/** The legend of touchpoint kinds, as HTML. */
export function kindLegend(): HTMLElement {
  return h('ul', { class: 'legend', 'aria-label': 'Touchpoint kinds' },
    (Object.keys(KINDS) as ShownKind[]).map((k) =>
      h('li', {}, h('span', { class: `glyph kind-${k}`, 'aria-hidden': 'true' }, KINDS[k].glyph), ` ${KINDS[k].name}`)));
}

const PALETTE = ['#1d4ed8', '#047857', '#b45309', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#a21caf'];

/** A stable colour per cluster name (sorted, so the same clusters always get the same colours). */
export function clusterColours(names: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(names)].sort();
  return new Map(sorted.map((n, i) => [n, PALETTE[i % PALETTE.length]]));
}

export function clusterLegend(colours: Map<string, string>): HTMLElement {
  return h('ul', { class: 'legend', 'aria-label': 'Clusters' },
    [...colours].map(([name, c]) => {
      const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      sw.style.background = c;
      return h('li', {}, sw, ` cluster ${name}`);
    }));
}
