// Builds the web UI into ../internal/webui/dist, which otelcol-lineage embeds: one minified ES
// module and one stylesheet, named by content hash (cached forever), and index.html naming them
// (never cached). Deterministic: the same sources and esbuild version give the same bytes, so
// `make check-ui` can rebuild and compare with what is committed.
import { build } from 'esbuild';
import { mkdir, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'internal', 'webui', 'dist');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.ts'), join(here, 'src', 'styles.css')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  sourcemap: false,
  charset: 'utf8',
  logLevel: 'warning',
});

const assets = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) assets[basename(meta.entryPoint)] = '/assets/' + basename(file);
}
const js = assets['main.ts'];
const css = assets['styles.css'];
if (!js || !css) throw new Error('build: missing outputs ' + JSON.stringify(assets));

const html = (await readFile(join(here, 'src', 'index.html'), 'utf8'))
  .replace('%APP_JS%', js)
  .replace('%APP_CSS%', css);
await writeFile(join(out, 'index.html'), html);
await copyFile(join(here, 'src', 'favicon.svg'), join(out, 'favicon.svg'));

const files = (await readdir(out, { recursive: true })).sort();
console.log('web: built ' + files.join(', ') + ' into internal/webui/dist');
