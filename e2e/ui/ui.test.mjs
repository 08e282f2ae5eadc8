// Browser tests of the lineage web UI against the real collector (started and fed by run.sh):
// Debian's chromium, headless, driven by playwright-core. Every expectation about the data comes
// from the capture's ground truth (truth.json), never from the API under test.
//   UI_BASE     the UI/API base URL          UI_TOKEN  its bearer token
//   UI_CAPTURE  the replayed capture dir     UI_SHOTS  where to write screenshots ('' = none)
//   CHROMIUM    the browser executable
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const BASE = need('UI_BASE');
const TOKEN = need('UI_TOKEN');
const CAPTURE = need('UI_CAPTURE');
const SHOTS = process.env.UI_SHOTS ?? '';
const truth = JSON.parse(readFileSync(join(CAPTURE, 'truth.json'), 'utf8'));

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run e2e/ui/run.sh)`);
  return v;
}

// ---- the ground truth ----------------------------------------------------------------------

const byID = new Map(truth.records.map((r) => [r.id, r]));

/** The origin a record's journey starts at: its primary parents, up to an origin record. */
function primaryOrigin(rec) {
  for (let r = rec, seen = new Set(); ; ) {
    if (seen.has(r.id)) throw new Error(`primary parent cycle at ${r.id}`);
    seen.add(r.id);
    const p = r.parents.find((x) => x.primary);
    if (!p) return r;
    r = byID.get(p.id);
  }
}

/** Every origin upstream of a record, through all its parents. */
function allOrigins(rec) {
  const out = new Set();
  const stack = [rec];
  const seen = new Set();
  while (stack.length) {
    const r = stack.pop();
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (!r.parents.length) out.add(r.id);
    for (const p of r.parents) stack.push(byID.get(p.id));
  }
  return out;
}

const eventOf = new Map(truth.events.map((e) => [e.record, e]));
const richness = (e) => Object.values(e.touchpoints).reduce((n, l) => n + l.length, 0);

// The outbound record to open: an approved withdrawal (preferring a copy in another cluster than
// its origin), whose origin event touches the most services, topics, stores and connectors.
const outbound = truth.records
  .filter((r) => r.role === 'output' && /withdrawals-approved$/.test(r.topic))
  .map((r) => ({ r, o: primaryOrigin(r) }))
  .sort((a, b) => (b.r.cluster !== b.o.cluster) - (a.r.cluster !== a.o.cluster)
    || richness(eventOf.get(b.o.id)) - richness(eventOf.get(a.o.id)) || a.r.id.localeCompare(b.r.id))[0];
assert.ok(outbound, 'the capture has an approved withdrawal');
const target = outbound.r;
const targetOrigin = outbound.o;
const targetEvent = eventOf.get(targetOrigin.id);

// ---- the API, as a client (readiness only) -------------------------------------------------

async function api(path) {
  const res = await fetch(BASE + path, { headers: { Authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function countEvents(cluster, topic) {
  let n = 0;
  let token = '';
  do {
    const q = new URLSearchParams({ cluster, topic, limit: '1000' });
    if (token) q.set('page_token', token);
    const page = await api(`/api/v1/events?${q}`);
    n += (page.events ?? []).length;
    token = page.next_page_token ?? '';
  } while (token);
  return n;
}

const apiPath = (id) => `/api/v1/events/${id.split('/').map(encodeURIComponent).join('/')}`;

/** What the store holds of the chosen record's lineage, in numbers. */
async function lineageSignature() {
  const up = await api(`${apiPath(target.id)}/lineage?direction=upstream`);
  const down = await api(`${apiPath(targetOrigin.id)}/lineage?direction=downstream`);
  const size = (g) => [(g.nodes ?? []).length, (g.edges ?? []).length, (g.nodes ?? []).reduce((n, x) => n + (x.touchpoints ?? []).length, 0)];
  const names = new Set((down.nodes ?? []).map((n) => `${n.event.cluster_name || n.event.record.cluster}/${n.event.record.topic}/${n.event.record.partition}/${n.event.record.offset}`));
  return { reached: names.has(target.id), sig: JSON.stringify([size(up), size(down)]) };
}

/** Waits until the store holds every record of the truth and the chosen record's lineage has
 * settled: the replay is over in a second, but the lineage processor holds spans up to its
 * decision_wait (3 s, sometimes twice) before the batch processor and the exporter write them.
 * Settled = the same lineage, in numbers, over three polls 2 s apart (6 s ≥ 2 × decision_wait). */
async function waitForStore() {
  const want = new Map();
  for (const r of truth.records) want.set(`${r.cluster}\u0000${r.topic}`, (want.get(`${r.cluster}\u0000${r.topic}`) ?? 0) + 1);
  const deadline = Date.now() + 180_000;
  let missing = [];
  let last = '';
  let same = 0;
  for (;;) {
    missing = [];
    for (const [k, n] of want) {
      const [cluster, topic] = k.split('\u0000');
      const got = await countEvents(cluster, topic);
      if (got < n) missing.push(`${cluster}/${topic} ${got}/${n}`);
    }
    if (!missing.length) {
      const { reached, sig } = await lineageSignature();
      if (!reached) missing.push(`edges from ${targetOrigin.id} to ${target.id}`);
      same = sig === last ? same + 1 : 0;
      last = sig;
      if (reached && same >= 2) return;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  assert.deepEqual(missing, [], 'the store did not receive the whole capture, or its lineage did not settle');
  assert.fail(`the lineage of ${target.id} kept changing`);
}

// ---- the browser ---------------------------------------------------------------------------

let context;
let page;
let profile;
const downloads = mkdtempSync(join(tmpdir(), 'lineage-ui-downloads-'));

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA rules on the current page: no serious or critical violation. (Run
 * through the DevTools protocol: the page's CSP allows no injected script, rightly.) */
async function accessible(what) {
  const violations = await page.evaluate(async (src) => {
    if (!window.axe) (0, eval)(src);
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
  }, axeSource);
  assert.deepEqual(violations, [], `accessibility of ${what}`);
}

async function shot(name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

before(async () => {
  await waitForStore();
  profile = mkdtempSync(join(tmpdir(), 'lineage-ui-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1600, height: 1000 },
    acceptDownloads: true,
    downloadsPath: downloads,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // a 401/400/404 the UI asked for on purpose is logged by the browser as a failed resource
    if (m.type() === 'error' && !/status of (400|401|404)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  // nothing may be fetched from anywhere but the collector
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['http:', 'blob:', 'data:'].includes(u.protocol) || (u.protocol === 'http:' && u.origin !== new URL(BASE).origin)) problems.push(`external request: ${r.url()}`);
  });
  context.problems = problems;
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  rmSync(downloads, { recursive: true, force: true });
});

const main = () => page.locator('main');
const recordPath = (id) => `/events/${id.split('/').map(encodeURIComponent).join('/')}`;

/** What the drawn lineage picture shows: the union over its event boxes. */
async function drawn() {
  await page.locator('svg.lineage g.node').first().waitFor();
  return page.$$eval('svg.lineage g.node', (nodes) => {
    const u = { services: new Set(), topics: new Set(), state_stores: new Set(), connectors: new Set(), clusters: new Set(), records: new Set() };
    for (const n of nodes) {
      JSON.parse(n.dataset.services).forEach((s) => u.services.add(s));
      JSON.parse(n.dataset.stores).forEach((s) => u.state_stores.add(s));
      JSON.parse(n.dataset.connectors).forEach((s) => u.connectors.add(s));
      u.topics.add(n.dataset.topic);
      u.clusters.add(n.dataset.cluster);
      u.records.add(n.dataset.name);
    }
    return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, [...v].sort()]));
  });
}

describe(`lineage UI on ${truth.scenario}-${truth.config}`, () => {
  test('unauthorised state, a rejected token, then the right one', async () => {
    await page.goto(BASE + '/');
    const form = page.locator('form[data-state=unauthorised]');
    await form.waitFor();
    await assertVisibleText(form, 'Authentication required');
    await shot('auth');
    await accessible('the token form');
    await page.getByLabel('Bearer token').fill('not-the-token');
    await page.getByRole('button', { name: 'Continue' }).click();
    await assertVisibleText(page.locator('form[data-state=unauthorised]'), 'rejected the token');
    await page.getByLabel('Bearer token').fill(TOKEN);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Search events' }).waitFor();
    await page.locator('table.grid tbody tr').first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('lineage.api-token')), TOKEN, 'kept in session storage');
    await page.getByRole('button', { name: 'Forget token' }).waitFor();
  });

  test('search by cluster, topic, partition and offset', async () => {
    await page.getByLabel('Cluster (name or id)').fill(target.cluster);
    await page.getByLabel('Topic').fill(target.topic);
    await page.getByLabel('Partition').fill(String(target.partition));
    await page.getByLabel('Offset').fill(String(target.offset));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('heading', { name: 'Matching events' }).waitFor();
    const rows = page.locator('table.grid tbody tr');
    await rows.first().waitFor();
    assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.name)), [target.id]);
    await shot('search');
    await accessible('search');
  });

  test('search by key', async () => {
    const key = targetOrigin.key;
    const want = truth.records.filter((r) => r.key === key).map((r) => r.id).sort();
    await page.goto(`${BASE}/?key=${encodeURIComponent(key)}&run=1`);
    const rows = page.locator('table.grid tbody tr');
    await rows.first().waitFor();
    for (;;) { // every page
      const more = page.getByRole('button', { name: 'Load more' });
      if (!(await more.isVisible())) break;
      const n = await rows.count();
      await more.click();
      await page.waitForFunction((n) => document.querySelectorAll('table.grid tbody tr').length > n, n);
    }
    const got = await rows.evaluateAll((rs) => rs.map((r) => ({ name: r.dataset.name, hash: r.dataset.keyHash })));
    const hash = createHash('sha256').update(key).digest('hex');
    assert.deepEqual(got.filter((g) => g.hash !== hash), [], 'every match has the key\'s hash');
    const names = new Set(got.map((g) => g.name));
    assert.deepEqual(want.filter((id) => !names.has(id)), [], `records with key ${key} missing`);
  });

  test('open an outbound record: the journey shows every touchpoint of its origin event', async () => {
    await page.goto(`${BASE}/?cluster=${target.cluster}&topic=${target.topic}&partition=${target.partition}&offset=${target.offset}`);
    await page.getByRole('link', { name: `${target.topic} [${target.partition}] @${target.offset}` }).click();
    await page.getByRole('heading', { level: 1, name: `${target.topic} [${target.partition}] @${target.offset}` }).waitFor();
    const d = await drawn();
    for (const k of ['services', 'topics', 'state_stores', 'connectors', 'clusters']) {
      const missing = targetEvent.touchpoints[k].filter((x) => !d[k].includes(x));
      assert.deepEqual(missing, [], `${k} of ${targetOrigin.id}'s journey missing from the picture of ${target.id}`);
    }
    assert.ok(d.records.includes(target.id) && d.records.includes(targetOrigin.id), 'the record and its origin are drawn');
    // the selected record's detail panel and the trace link to the configured trace backend
    const panel = page.getByRole('complementary', { name: 'Selected event' });
    await assertVisibleText(panel, target.topic);
    const href = await panel.locator('a.trace-link').first().getAttribute('href');
    assert.match(href, /^http:\/\/jaeger\.example\.invalid:16686\/trace\/[0-9a-f]{32}$/);
    // edges are labelled with latency and rule
    const labels = await page.locator('svg.lineage .edge-label text').allTextContents();
    assert.ok(labels.some((l) => /ms|s · /.test(l) && / · \S+/.test(l)), `edge labels: ${labels.slice(0, 5)}`);
    await shot('event-journey');
    await accessible('the event page');
  });

  test('keyboard: a node is focusable and Enter selects it', async () => {
    await page.goto(BASE + recordPath(target.id));
    const origin = page.locator(`svg.lineage g.node[data-name="${targetOrigin.id}"]`);
    await origin.focus();
    await page.keyboard.press('Enter');
    await assertVisibleText(page.getByRole('complementary', { name: 'Selected event' }), targetOrigin.topic);
  });

  test('root cause: the upstream origins are the truth\'s', async () => {
    await page.goto(BASE + recordPath(target.id));
    await page.locator('svg.lineage g.node-start').waitFor();
    await page.getByRole('tab', { name: 'Root cause' }).click();
    const list = page.locator('ul[data-list=origins] li');
    await list.first().waitFor();
    const got = (await list.evaluateAll((ls) => ls.map((l) => l.dataset.name))).sort();
    assert.deepEqual(got, [...allOrigins(target)].sort());
    assert.match(page.url(), /view=root-cause/);
    await shot('event-root-cause');
    await page.getByRole('tab', { name: 'Impact' }).click();
    await page.locator('svg.lineage g.node-start').waitFor();
    await shot('event-impact');
    await page.getByRole('tab', { name: 'Journey' }).click();
    await page.locator('svg.lineage g.node-start').waitFor();
  });

  test('audit export: JSON and CSV of the same trail', async () => {
    await page.goto(BASE + recordPath(target.id));
    await page.locator('svg.lineage g.node-start').waitFor();
    const [jsonDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const trail = JSON.parse(readFileSync(await jsonDl.path(), 'utf8'));
    assert.equal(trail.direction, 'both');
    const [c, t, p, o] = target.id.split('/');
    assert.equal(trail.start.topic, t);
    assert.equal(`${trail.start.partition}/${trail.start.offset}`, `${p}/${o}`);
    const rows = trail.touchpoints;
    assert.ok(rows.some((r) => r.role === 'start'), 'rows of the event itself');
    const upstreamTopics = new Set(rows.filter((r) => r.role === 'upstream').map((r) => r.record.topic));
    assert.ok(upstreamTopics.has(targetOrigin.topic), `the origin's topic ${targetOrigin.topic} is upstream in the trail`);
    assert.ok(c);

    const [csvDl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(csvDl.suggestedFilename(), /\.csv$/);
    const lines = readFileSync(await csvDl.path(), 'utf8').trim().split(/\r?\n/);
    assert.equal(lines[0], 'record,role,depth,service,operation,kind,start,end,duration_ms,cluster,connector,state_store,store_operation,rule,trace_id,span_id');
    assert.equal(lines.length - 1, rows.length, 'one CSV row per touchpoint of the JSON trail');
    assert.equal(lines.filter((l) => /,start,0,/.test(l)).length, rows.filter((r) => r.role === 'start').length);
    await assertVisibleText(page.locator('.export-status'), 'Downloaded');
  });

  test('flow map: services and topics of the capture', async () => {
    await page.getByRole('link', { name: 'Flow map' }).click();
    await page.locator('svg.flowmap g.fnode').first().waitFor();
    const nodes = await page.$$eval('svg.flowmap g.fnode', (ns) => ns.map((n) => `${n.dataset.kind}:${n.dataset.id}`));
    const services = new Set(truth.records.map((r) => r.producer).filter(Boolean));
    for (const s of services) assert.ok(nodes.includes(`service:${s}`), `service ${s} on the flow map`);
    for (const r of truth.records.filter((r) => r.role !== 'intermediate')) {
      assert.ok(nodes.includes(`topic:${r.cluster}/${r.topic}`), `topic ${r.cluster}/${r.topic} on the flow map`);
    }
    assert.ok(await page.locator('table.flows tbody tr').count() > 0);
    await shot('flow-map');
    await accessible('the flow map');
    // a topic of the map leads to its events
    await page.locator(`svg.flowmap g.fnode[data-id="${targetOrigin.cluster}/${targetOrigin.topic}"]`).click();
    await page.getByRole('heading', { name: 'Matching events' }).waitFor();
    const rows = page.locator('table.grid tbody tr');
    await rows.first().waitFor();
    const names = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.name));
    assert.deepEqual(names.filter((n) => !n.startsWith(`${targetOrigin.cluster}/${targetOrigin.topic}/`)), []);
  });

  test('outliers: slow hops above factor × usual', async () => {
    await page.goto(`${BASE}/outliers?factor=3&min_ms=20`);
    await page.getByRole('heading', { name: 'Latency outliers' }).waitFor();
    await page.locator('main table.grid, main [data-state=empty]').first().waitFor();
    const rows = await page.$$eval('main table.grid tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
    // the captures hold table joins and punctuations of tens of seconds next to hops of milliseconds
    assert.ok(rows.length > 0, 'slow hops found');
    for (const r of rows) assert.match(r[5], /far above usual|above the threshold/);
    await shot('outliers');
    await accessible('outliers');
  });

  test('empty, error and not-found states', async () => {
    await page.goto(`${BASE}/?topic=no-such-topic-anywhere&run=1`);
    await assertVisibleText(page.locator('[data-state=empty]'), 'No events match');
    await shot('empty');
    await page.goto(`${BASE}/?trace_id=not-hex&run=1`);
    const err = page.locator('[data-state=error]');
    await assertVisibleText(err, 'trace_id');
    assert.equal(await err.getAttribute('role'), 'alert');
    await page.goto(`${BASE}${recordPath(`${target.cluster}/${target.topic}/${target.partition}/999999999`)}`);
    await assertVisibleText(page.locator('[data-state=empty]'), 'is stored');
  });

  test('long queries show progress and can be cancelled', async () => {
    let release;
    const held = new Promise((r) => (release = r));
    const lineage = /\/lineage\?/;
    await page.route(lineage, async (route) => {
      await held;
      await route.continue().catch(() => {}); // the page cancelled it meanwhile
    });
    await page.goto(BASE + recordPath(target.id));
    const loading = page.locator('[data-state=loading]');
    await assertVisibleText(loading, 'Walking upstream');
    assert.equal(await loading.getAttribute('role'), 'status');
    await loading.getByRole('button', { name: 'Cancel' }).click();
    await assertVisibleText(page.locator('[data-state=empty]'), 'Cancelled');
    release();
    await page.unroute(lineage);
    await page.getByRole('tab', { name: 'Journey' }).click();
    await page.locator('svg.lineage g.node-start').waitFor();
  });

  test('no page error, no failed script, nothing fetched from elsewhere', () => {
    assert.deepEqual(context.problems, []);
  });
});

async function assertVisibleText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible' });
}
