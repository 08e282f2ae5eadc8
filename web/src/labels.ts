// Edge labels of the pictures: a text on a white plate at a point of its edge, spread so that
// the labels of edges fanning out of one node do not cover each other.
import { s } from './dom';
import { spreadLabels, type Box } from './layout';

export interface EdgeLabel {
  at: { x: number; y: number };
  text: string;
}

const CHAR_W = 6.2;
const H = 16;

export function drawLabels(labels: EdgeLabel[]): SVGGElement {
  const boxes = labels.map((l) => {
    const width = l.text.length * CHAR_W + 10;
    return { x: l.at.x - width / 2, y: l.at.y - H / 2, width, height: H, text: l.text } satisfies Box & { text: string };
  });
  spreadLabels(boxes);
  return s('g', { class: 'edge-labels', 'aria-hidden': 'true' }, boxes.map((b) =>
    s('g', { class: 'edge-label', transform: `translate(${b.x.toFixed(1)},${b.y.toFixed(1)})` },
      s('rect', { width: b.width.toFixed(1), height: H, rx: 3 }), s('text', { x: 5, y: 12 }, b.text))));
}
