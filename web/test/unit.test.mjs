// Unit tests of the UI's pure parts (layout, label spreading, touchpoint grouping), run by
// `npm run build` (so `make ui` and `make check-ui`) before bundling. The TypeScript modules are
// bundled by esbuild into a temporary ES module and imported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

async function load(entry) {
  const dir = mkdtempSync(join(tmpdir(), 'lineage-web-test-'));
  try {
    const out = join(dir, 'm.mjs');
    await build({ entryPoints: [new URL(`../src/${entry}`, import.meta.url).pathname], bundle: true, format: 'esm', platform: 'neutral', outfile: out, logLevel: 'error' });
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { layered, edgePath, spreadLabels } = await load('layout.ts');
const { touchRows, named, changelogStore } = await load('eventgraph.ts');

const node = (id, h = 40, group) => ({ id, width: 100, height: h, group });
const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('layered: every input left of its output, layers by longest path', () => {
  const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => node(id));
  const edges = [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'a', to: 'c' }, { from: 'd', to: 'c' }, { from: 'c', to: 'e' }];
  const l = layered(nodes, edges);
  for (const e of edges) assert.ok(l.pos.get(e.from).x + 100 < l.pos.get(e.to).x, `${e.from} left of ${e.to}`);
  assert.deepEqual(Object.fromEntries([...l.pos].map(([id, p]) => [id, p.layer])), { a: 0, b: 1, c: 2, d: 0, e: 3 });
  assert.equal(l.layers.length, 4);
});

test('layered: no two nodes overlap, the picture holds them all', () => {
  const nodes = Array.from({ length: 30 }, (_, i) => node(`n${i}`, 20 + (i % 5) * 10, i % 2 ? 'dc1' : 'dc2'));
  const edges = nodes.slice(1).map((n, i) => ({ from: `n${Math.floor(i / 3)}`, to: n.id }));
  const l = layered(nodes, edges);
  const ps = [...l.pos.values()];
  assert.equal(ps.length, 30);
  for (let i = 0; i < ps.length; i++) {
    assert.ok(ps[i].x >= 0 && ps[i].y >= 0 && ps[i].x + ps[i].width <= l.width && ps[i].y + ps[i].height <= l.height);
    for (let j = i + 1; j < ps.length; j++) assert.ok(!overlap(ps[i], ps[j]), `nodes ${i} and ${j} overlap`);
  }
});

test('layered: cycles, self loops, duplicate and dangling edges', () => {
  const nodes = ['x', 'y', 'z'].map((id) => node(id));
  const edges = [{ from: 'x', to: 'y' }, { from: 'y', to: 'z' }, { from: 'z', to: 'x' }, { from: 'y', to: 'y' }, { from: 'x', to: 'y' }, { from: 'x', to: 'nowhere' }];
  const l = layered(nodes, edges);
  assert.deepEqual([...l.pos.keys()].sort(), ['x', 'y', 'z']);
  // the DFS from x keeps x -> y -> z and breaks z -> x
  assert.deepEqual(['x', 'y', 'z'].map((id) => l.pos.get(id).layer), [0, 1, 2]);
  assert.deepEqual(layered(nodes, edges), l, 'deterministic');
  assert.equal(layered([], []).layers.length, 0);
});

test('layered: barycenter ordering removes a crossing', () => {
  // a1 -> b2, a2 -> b1: given in crossing order, the sweep puts b2 above b1
  const l = layered([node('a1'), node('a2'), node('b1'), node('b2')], [{ from: 'a1', to: 'b2' }, { from: 'a2', to: 'b1' }]);
  assert.ok(l.pos.get('b2').y < l.pos.get('b1').y);
});

test('edgePath: forward curve from right side to left side; back edge loops below', () => {
  const a = { x: 0, y: 0, width: 100, height: 40, layer: 0 };
  const b = { x: 200, y: 100, width: 100, height: 40, layer: 1 };
  const f = edgePath(a, b);
  assert.match(f.d, /^M100,20 C.* 200,120$/);
  assert.ok(f.mid.x > 100 && f.mid.x < 200 && f.mid.y > 20 && f.mid.y < 120);
  const back = edgePath(b, a);
  assert.ok(back.mid.y > 140, 'below both nodes');
});

test('spreadLabels: overlapping labels end apart', () => {
  const ls = Array.from({ length: 5 }, (_, i) => ({ x: 10 + i, y: 50, width: 80, height: 16 }));
  spreadLabels(ls);
  for (let i = 0; i < ls.length; i++) for (let j = i + 1; j < ls.length; j++) assert.ok(!overlap(ls[i], ls[j]));
  const apart = [{ x: 0, y: 0, width: 10, height: 10 }, { x: 50, y: 0, width: 10, height: 10 }];
  spreadLabels(apart);
  assert.deepEqual(apart.map((l) => l.y), [0, 0], 'labels that do not overlap stay');
});

const tp = (o) => ({ record: { cluster: 'c1', topic: 'transactions', partition: 0, offset: 1 }, trace_id: 't', span_id: 's', service: 'svc', operation: 'op', kind: 'produce', start: '2026-01-01T00:00:00Z', end: '2026-01-01T00:00:00.010Z', ...o });

test('changelogStore: <service>-<store>-changelog written by <service>', () => {
  assert.equal(changelogStore(tp({ service: 'withdrawal-processor', record: { topic: 'withdrawal-processor-balances-changelog' } })), 'balances');
  assert.equal(changelogStore(tp({ service: 'app', record: { topic: 'app-windows-suppress-store-changelog' } })), 'windows-suppress-store');
  assert.equal(changelogStore(tp({ service: 'other', record: { topic: 'app-balances-changelog' } })), '', 'another service');
  assert.equal(changelogStore(tp({ service: 'app', kind: 'consume', record: { topic: 'app-balances-changelog' } })), '', 'a restore read');
  assert.equal(changelogStore(tp({ service: 'app', record: { topic: 'app-balances' } })), '');
});

test('touchRows and named: grouped by kind and service, MirrorMaker 2 as cluster hops', () => {
  const tps = [
    tp({ service: 'producer', operation: 'transactions publish' }),
    tp({ service: 'proc', kind: 'consume', operation: 'transactions process', start: '2026-01-01T00:00:01Z' }),
    tp({ service: 'proc', kind: 'consume', operation: 'transactions process', start: '2026-01-01T00:00:02Z' }),
    tp({ service: 'proc', kind: 'state_store', state_store: 'balances', store_operation: 'put', start: '2026-01-01T00:00:03Z' }),
    tp({ service: 'kafka-connect-dc2', kind: 'consume', connector: 'mm2-dc1-to-dc2', operation: 'transactions process', start: '2026-01-01T00:00:04Z' }),
  ];
  assert.deepEqual(touchRows(tps).map((r) => [r.kind, r.text, r.count]), [
    ['produce', 'producer: transactions publish', 1],
    ['consume', 'proc: transactions process', 2],
    ['state_store', 'proc: balances put', 1],
    ['mirror', 'mm2-dc1-to-dc2: transactions process', 1],
  ]);
  assert.deepEqual(named(tps), { services: ['kafka-connect-dc2', 'proc', 'producer'], stores: ['proc/balances'], connectors: ['mm2-dc1-to-dc2'] });
});

const { primaryOrigins } = await load('event.ts');

test('primaryOrigins: up the parent chains, not through span links', () => {
  const r = (topic, offset = 0) => ({ cluster: 'c', topic, partition: 0, offset });
  const n = (rec, origin) => ({ event: { record: rec }, depth: 0, origin });
  const tx = r('transactions'), acct = r('accounts'), mirrored = r('dc1.transactions'), out = r('withdrawals-approved');
  const graph = {
    start: out, direction: 'upstream', truncated: false,
    nodes: [n(out, false), n(mirrored, false), n(tx, true), n(acct, true)],
    edges: [
      { from: tx, to: mirrored, derivation: 'derived', rule: 'mirror_copy' },
      { from: mirrored, to: out, derivation: 'measured' },
      { from: acct, to: out, derivation: 'configuration', rule: 'table_join', link: true },
    ],
  };
  assert.deepEqual(primaryOrigins(graph, out), [tx]);
  // an event reached only through links is its own journey's beginning
  assert.deepEqual(primaryOrigins({ ...graph, edges: graph.edges.filter((e) => e.link) }, out), [out]);
  // a cycle ends, with no origin (the journey then starts at the event itself)
  const cyc = { ...graph, edges: [{ from: out, to: mirrored, derivation: 'measured' }, { from: mirrored, to: out, derivation: 'measured' }] };
  assert.deepEqual(primaryOrigins(cyc, out), []);
});

const { traceURL, fmtMs, isTime } = await load('format.ts');

test('traceURL: the template with the trace id, http(s) only', () => {
  assert.equal(traceURL('http://localhost:16686/trace/{trace_id}', 'ab12'), 'http://localhost:16686/trace/ab12');
  assert.equal(traceURL('https://grafana/explore?left={"queries":[{"query":"{trace_id}"}]}&again={trace_id}', 'ab'), 'https://grafana/explore?left={"queries":[{"query":"ab"}]}&again=ab');
  assert.equal(traceURL('javascript:alert(1)//{trace_id}', 'ab'), null);
  assert.equal(traceURL('', 'ab'), null);
  assert.equal(traceURL('http://x/{trace_id}', ''), null);
  assert.equal(traceURL('http://x/{trace_id}', 'a/b?c'), 'http://x/a%2Fb%3Fc');
});

test('fmtMs and isTime', () => {
  assert.deepEqual([fmtMs(0.25), fmtMs(12.34), fmtMs(123.4), fmtMs(31619.4), fmtMs(undefined)], ['0.3 ms', '12.3 ms', '123 ms', '31.6 s', '—']);
  assert.equal(isTime('0001-01-01T00:00:00Z'), false);
  assert.equal(isTime('2026-11-26T09:44:35.175Z'), true);
});
