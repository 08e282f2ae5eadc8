#!/usr/bin/env bash
# Runs harness scenarios x agent configs and evaluates each capture with lineage-eval.
#   e2e.sh [SCENARIOS] [CONFIGS]     e.g. e2e.sh withdrawal,multicluster a,b,c,d (these are the defaults;
#                                    E2E_SCENARIOS / E2E_CONFIGS, comma- or space-separated, also work)
# Captures go to E2E_OUT (default: a new temp dir), one directory per run: SCENARIO-CONFIG/,
# with run-scenario's output in SCENARIO-CONFIG.log and lineage-eval's in SCENARIO-CONFIG.eval (and,
# after the lineage processor configured as e2e/config/lineage-processor.yaml, SCENARIO-CONFIG.stitched.eval).
# Env: E2E_OUT, E2E_SKIP_FETCH=1 (do not run fetch.sh), plus everything run-scenario.sh reads
#      (e.g. RESTART_STREAMS=1: every run restarts the Streams app with restoration, then a second burst).
# Each stitched evaluation is held to its row in e2e/thresholds.txt (floor: fail when missed; target:
# reported). Exit status: non-zero if any run or evaluation failed or missed its floor.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCENARIOS="${1:-${E2E_SCENARIOS:-withdrawal,multicluster}}"
CONFIGS="${2:-${E2E_CONFIGS:-a,b,c,d}}"
OUT="${E2E_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/lineage-e2e.XXXXXX")}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"

[[ "${E2E_SKIP_FETCH:-0}" == 1 ]] || "$E2E/bin/fetch.sh"

# evaluate DIR OUTFILE [ARGS...]: lineage-eval's final line on stdout; non-zero when it failed.
evaluate() {
  local dir="$1" out="$2" line; shift 2
  if (cd "$REPO" && go run ./cmd/lineage-eval "$@" "$dir") >"$out" 2>"$out.err"; then
    line="$(grep -E '^events=' "$out" | tail -1)"
    [[ -n "$line" ]] || { echo "(no metrics line in $out)"; return 1; }
    echo "$line"
  else
    tail -n 15 "$out.err" >&2
    echo "lineage-eval $* FAILED (see $out.err)"; return 1
  fi
}

# check SCENARIO CONFIG "events=.. traces_per_event=T precision=P recall=R": prints the verdict of
# the floor and the target of e2e/thresholds.txt; non-zero when the floor is missed (or no row).
check() {
  local row; row="$(awk -v s="$1" -v c="$2" '$1 == s && $2 == c' "$E2E/thresholds.txt")"
  [[ -n "$row" ]] || { echo "no threshold row for $1 $2 in e2e/thresholds.txt: FAIL"; return 1; }
  awk -v line="$3" -v row="$row" 'BEGIN {
    n = split(line, kv, /[ =]/); for (i = 1; i < n; i += 2) m[kv[i]] = kv[i + 1]
    split(row, t, /[ \t]+/)
    if (m["traces_per_event"] == "" || m["precision"] == "" || m["recall"] == "") { print "no metrics: FAIL"; exit 1 }
    floor = (m["traces_per_event"] <= t[3] && m["precision"] >= t[4] && m["recall"] >= t[5])
    target = (m["traces_per_event"] <= t[6] && m["precision"] >= t[7] && m["recall"] >= t[8])
    printf "floor %s/%s/%s %s, target %s/%s/%s %s\n", t[3], t[4], t[5], floor ? "ok" : "MISSED: FAIL", t[6], t[7], t[8], target ? "met" : "not met"
    exit !floor
  }'
}

read -r -a scen <<<"${SCENARIOS//,/ }"
read -r -a cfgs <<<"${CONFIGS//,/ }"
rows=()
failed=0
for s in "${scen[@]}"; do
  for c in "${cfgs[@]}"; do
    name="$s-$c" dir="$OUT/$s-$c"
    log "running $name -> $dir (log: $OUT/$name.log)"
    t0=$SECONDS rstatus=ok
    if ! "$E2E/bin/run-scenario.sh" "$s" "$c" "$dir" >"$OUT/$name.log" 2>&1; then
      rstatus=FAILED; failed=1
      tail -n 15 "$OUT/$name.log" >&2
    fi
    dur=$((SECONDS - t0))
    spans=- recs=- metrics="-" stitched="-" verdict="-"
    if [[ -f "$dir/spans.jsonl" ]]; then
      spans="$(jq '[.resourceSpans[]?.scopeSpans[]?.spans[]?] | length' "$dir/spans.jsonl" | awk '{s+=$1} END {print s+0}')"
    fi
    [[ -f "$dir/truth.json" ]] && recs="$(jq '.records | length' "$dir/truth.json" 2>/dev/null || echo -)"
    if [[ "$rstatus" == ok ]]; then
      metrics="$(evaluate "$dir" "$OUT/$name.eval")" || failed=1
      if stitched="$(evaluate "$dir" "$OUT/$name.stitched.eval" --stitch --config "$E2E/config/lineage-processor.yaml")"; then
        verdict="$(check "$s" "$c" "$stitched")" || failed=1
      else
        failed=1
      fi
    fi
    rows+=("$(printf '%-14s %-3s %-7s %6ss %7s %7s  %s\n%50s stitched: %s\n%50s %s' "$s" "$c" "$rstatus" "$dur" "$spans" "$recs" "$metrics" "" "$stitched" "" "$verdict")")
  done
done

echo
printf '%-14s %-3s %-7s %7s %7s %7s  %s\n' scenario cfg status time spans records "lineage-eval"
printf '%s\n' "${rows[@]}"
echo
echo "captures: $OUT"
exit "$failed"
