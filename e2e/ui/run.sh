#!/usr/bin/env bash
# Browser tests of the lineage web UI (`make uitest`): builds bin/otelcol-lineage and
# bin/lineage-replay, and for each capture starts the collector with e2e/ui/collector.yaml on free
# ports and a fresh SQLite store, replays the capture into it (timestamps shifted to now), and runs
# e2e/ui/ui.test.mjs in Debian's chromium (headless, driven by playwright-core). The first capture's
# run writes the screenshots of docs/screenshots/.
#   UI_CAPTURES   captures under testdata/captures (default: multicluster-a withdrawal-a)
#   CHROMIUM      the browser (default /usr/bin/chromium)
#   COLLECTOR     the collector binary to test (default: bin/otelcol-lineage, built here)
set -euo pipefail
cd "$(dirname "$0")/../.."

CAPTURES=${UI_CAPTURES:-multicluster-a withdrawal-a}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "e2e/ui: $CHROMIUM not found (apt-get install chromium)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null ||
  { echo "e2e/ui: Node.js 20+ is required (playwright-core), found $(node --version 2>/dev/null || echo none)" >&2; exit 1; }

npm ci --prefix e2e/ui --no-audit --no-fund --loglevel=error
if [ -z "${COLLECTOR:-}" ]; then
  go build -trimpath -o bin/otelcol-lineage ./cmd/otelcol-lineage
  COLLECTOR=bin/otelcol-lineage
fi
go build -trimpath -o bin/lineage-replay ./cmd/lineage-replay

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

collector_pid=
work=
stop() {
  if [ -n "$collector_pid" ]; then
    kill "$collector_pid" 2>/dev/null || true
    wait "$collector_pid" 2>/dev/null || true
    collector_pid=
  fi
  [ -z "$work" ] || rm -rf "$work"
  work=
}
trap stop EXIT

shots=docs/screenshots
for capture in $CAPTURES; do
  dir=testdata/captures/$capture
  [ -f "$dir/truth.json" ] || { echo "e2e/ui: no capture $dir" >&2; exit 1; }
  work=$(mktemp -d)
  export UI_E2E_DIR=$work UI_E2E_OTLP_PORT=$(free_port) UI_E2E_API_PORT=$(free_port)
  export UI_E2E_TOKEN="ui-e2e-$RANDOM$RANDOM"
  # the harness' lineage processor settings (table joins), indented under processors::lineage
  awk 'FNR==NR { if ($0 !~ /^[[:space:]]*#/ && $0 != "") extra = extra "    " $0 "\n"; next }
       { print } !done && /^  lineage:$/ { printf "%s", extra; done = 1 }' e2e/config/lineage-processor.yaml e2e/ui/collector.yaml > "$work/collector.yaml"

  "$COLLECTOR" --config "$work/collector.yaml" > "$work/collector.log" 2>&1 &
  collector_pid=$!
  api=http://127.0.0.1:$UI_E2E_API_PORT
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/config" || true)
    [ "$code" = 401 ] && break
    kill -0 "$collector_pid" 2>/dev/null || { cat "$work/collector.log" >&2; exit 1; }
    sleep 0.2
  done
  [ "$code" = 401 ] || { echo "e2e/ui: the API did not come up behind its token (last status $code)" >&2; cat "$work/collector.log" >&2; exit 1; }
  echo "== e2e/ui: $capture: collector at $api"

  bin/lineage-replay --endpoint "127.0.0.1:$UI_E2E_OTLP_PORT" --shift-to-now "$dir"

  status=0
  UI_BASE=$api UI_TOKEN=$UI_E2E_TOKEN UI_CAPTURE=$dir UI_SHOTS=$shots \
    node --test --test-concurrency=1 --test-reporter=spec e2e/ui/ui.test.mjs || status=$?
  if [ "$status" != 0 ]; then
    echo "e2e/ui: $capture failed; collector log:" >&2
    tail -n 60 "$work/collector.log" >&2
    exit "$status"
  fi
  stop
  shots=   # screenshots come from the first capture only
done
echo "== e2e/ui: all captures passed"
