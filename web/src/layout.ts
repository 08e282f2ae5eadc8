// A layered ("Sugiyama-style") layout for the lineage DAG and the flow map, left to right:
//  1. cycles are broken by a depth-first search (edges back into the search stack are ignored
//     for ranking; the store's graphs may hold cycles, the flow map always does),
//  2. each node's layer is its longest path from a source, so every input sits left of its outputs,
//  3. nodes within a layer start ordered by group (cluster) and are reordered by the barycenter
//     of their neighbours, sweeping down and up a few times to reduce crossings,
//  4. layers get the width of their widest node; nodes stack vertically, layers centred.

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
  /** Nodes of one group (a cluster) start next to each other. */
  group?: string;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
}

export interface Layout {
  pos: Map<string, Placed>;
  width: number;
  height: number;
  layers: string[][];
}

export interface LayoutOptions {
  gapX?: number;
  gapY?: number;
  margin?: number;
  sweeps?: number;
}

export function layered(nodes: LayoutNode[], edges: LayoutEdge[], opt: LayoutOptions = {}): Layout {
  const gapX = opt.gapX ?? 110;
  const gapY = opt.gapY ?? 28;
  const margin = opt.margin ?? 24;
  const sweeps = opt.sweeps ?? 8;

  const byID = new Map(nodes.map((n, i) => [n.id, { n, i }]));
  const out = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  const seen = new Set<string>();
  for (const e of edges) {
    const k = `${e.from}\u0000${e.to}`;
    if (e.from === e.to || seen.has(k) || !byID.has(e.from) || !byID.has(e.to)) continue;
    seen.add(k);
    out.get(e.from)!.push(e.to);
  }

  // 1. forward edges: everything but the edges a DFS finds pointing back into its stack
  const forwardOut = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  const forwardIn = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  const state = new Map<string, 1 | 2>(); // 1 on stack, 2 done
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    const stack: { id: string; next: number }[] = [{ id: root.id, next: 0 }];
    state.set(root.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const succ = out.get(top.id)!;
      if (top.next >= succ.length) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      const v = succ[top.next++];
      const st = state.get(v);
      if (st === 1) continue; // back edge
      forwardOut.get(top.id)!.push(v);
      forwardIn.get(v)!.push(top.id);
      if (st === undefined) {
        state.set(v, 1);
        stack.push({ id: v, next: 0 });
      }
    }
  }

  // 2. longest-path layers (Kahn's order over the forward edges)
  const layer = new Map<string, number>();
  const indeg = new Map(nodes.map((n) => [n.id, forwardIn.get(n.id)!.length]));
  const queue = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  for (let qi = 0; qi < queue.length; qi++) {
    const u = queue[qi];
    const lu = layer.get(u) ?? 0;
    layer.set(u, lu);
    for (const v of forwardOut.get(u)!) {
      layer.set(v, Math.max(layer.get(v) ?? 0, lu + 1));
      indeg.set(v, indeg.get(v)! - 1);
      if (indeg.get(v) === 0) queue.push(v);
    }
  }

  const layerCount = nodes.length ? Math.max(...nodes.map((n) => layer.get(n.id) ?? 0)) + 1 : 0;
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  const ordered = [...nodes].sort((a, b) => (a.group ?? '').localeCompare(b.group ?? '') || byID.get(a.id)!.i - byID.get(b.id)!.i);
  for (const n of ordered) layers[layer.get(n.id) ?? 0].push(n.id);

  // 3. barycenter sweeps; a node's position is its relative place within its layer
  const rel = new Map<string, number>();
  const index = () => {
    for (const l of layers) l.forEach((id, i) => rel.set(id, (i + 0.5) / l.length));
  };
  index();
  const reorder = (l: string[], neighbours: Map<string, string[]>) => {
    const bc = new Map<string, number>();
    for (const id of l) {
      const ns = neighbours.get(id)!;
      bc.set(id, ns.length ? ns.reduce((s, v) => s + rel.get(v)!, 0) / ns.length : rel.get(id)!);
    }
    l.sort((a, b) => bc.get(a)! - bc.get(b)!);
    l.forEach((id, i) => rel.set(id, (i + 0.5) / l.length));
  };
  for (let s = 0; s < sweeps; s++) {
    if (s % 2 === 0) for (let i = 1; i < layers.length; i++) reorder(layers[i], forwardIn);
    else for (let i = layers.length - 2; i >= 0; i--) reorder(layers[i], forwardOut);
  }

  // 4. coordinates: a layer's nodes keep their order and sit level with the mean centre of their
  //    inputs where there is room (so chains run straight), else pushed down below their neighbour
  const pos = new Map<string, Placed>();
  let x = margin, bottom = margin;
  layers.forEach((l, li) => {
    const w = Math.max(0, ...l.map((id) => byID.get(id)!.n.width));
    let next = margin;
    for (const id of l) {
      const n = byID.get(id)!.n;
      const ins = forwardIn.get(id)!.map((p) => pos.get(p)!).filter(Boolean);
      const want = ins.length ? ins.reduce((s, p) => s + p.y + p.height / 2, 0) / ins.length - n.height / 2 : next;
      const y = Math.max(next, want);
      pos.set(id, { x: x + (w - n.width) / 2, y, width: n.width, height: n.height, layer: li });
      next = y + n.height + gapY;
      bottom = Math.max(bottom, y + n.height);
    }
    x += w + gapX;
  });
  return { pos, layers, width: Math.max(0, x - gapX) + margin, height: bottom + margin };
}

/** Where along an edge its label sits: past the middle, so the labels of edges fanning out of one
 * node spread over their targets instead of piling up at the source. */
const labelAt = 0.68;

function bezier(t: number, xs: number[], ys: number[]): { x: number; y: number } {
  const u = 1 - t;
  const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
  return { x: w.reduce((s, wi, i) => s + wi * xs[i], 0), y: w.reduce((s, wi, i) => s + wi * ys[i], 0) };
}

/** The path of an edge between two placed nodes: a curve from the right side of `a` into the
 * left side of `b`, or a loop under both when `b` is not to the right of `a` (a back edge). */
export function edgePath(a: Placed, b: Placed): { d: string; mid: { x: number; y: number } } {
  if (b.x > a.x + a.width) {
    const x0 = a.x + a.width, y0 = a.y + a.height / 2, x3 = b.x, y3 = b.y + b.height / 2;
    const dx = Math.max(40, (x3 - x0) / 2);
    const x1 = x0 + dx, x2 = x3 - dx;
    return { d: `M${x0},${y0} C${x1},${y0} ${x2},${y3} ${x3},${y3}`, mid: bezier(labelAt, [x0, x1, x2, x3], [y0, y0, y3, y3]) };
  }
  const x0 = a.x + a.width / 2, y0 = a.y + a.height, x3 = b.x + b.width / 2, y3 = b.y + b.height;
  const low = Math.max(y0, y3) + 60;
  return { d: `M${x0},${y0} C${x0},${low} ${x3},${low} ${x3},${y3}`, mid: { x: (x0 + x3) / 2, y: low - 15 } };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Moves labels down (in steps of their height) until none overlaps a label placed before it, so
 * the labels of edges fanning out of one node stay readable. Labels are placed top to bottom. */
export function spreadLabels(labels: Box[], maxSteps = 6): void {
  const placed: Box[] = [];
  const hit = (a: Box) => placed.some((b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height);
  for (const l of [...labels].sort((a, b) => a.y - b.y || a.x - b.x)) {
    for (let i = 0; i < maxSteps && hit(l); i++) l.y += l.height + 1;
    placed.push(l);
  }
}
