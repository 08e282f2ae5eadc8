#!/usr/bin/env bash
# Runs one harness scenario end to end against real Kafka with the stock OpenTelemetry Java agent and
# leaves a capture directory (docs/capture-format.md):
#   run-scenario.sh SCENARIO(withdrawal|multicluster) CONFIG(a|b|c|d) OUTDIR
#     OUTDIR/spans.jsonl, logs.jsonl   what the agents sent (collector file exporter)
#     OUTDIR/facts.jsonl               one record fact per Kafka record (kafka_records receiver)
#     OUTDIR/truth.json                the TruthRecorder's ground truth
#     OUTDIR/manifest.json             scenario, config, versions, JVM switches, commit interval, restart, times
# Everything it starts is stopped on exit, also on failure or Ctrl-C.
# Env (all optional):
#   EVENTS=40 ACCOUNTS=8 INTERVAL_MS=250 SEED=   workload of lineage.demo.TransactionProducer
#   COMMIT_INTERVAL_MS=   Streams commit.interval.ms (unset: the Streams default, 30000)
#   PUNCTUATE_MS=         the processor's punctuation interval (unset: the app's default)
#   IDLE_S=10             "the pipeline is quiet" = the recorder saw no new record for this long
#   SETTLE_TIMEOUT_S=300  bound of each wait for quiet
#   ACCOUNT_INTERVAL_MS=250  the CRM source connector's emit interval (multicluster)
#   COLLECTOR_BIN=bin/otelcol-lineage  COLLECTOR_CONFIG=e2e/config/collector.yaml
#   RUN_DIR=e2e/.work/runs/SCENARIO-CONFIG   logs of every process, Streams state, status files
#   SEMCONV_PROPERTY=otel.semconv-stability.preview   the property config c sets to "messaging"
#   RESTART_STREAMS=0     1: once the first burst has settled, stop the Streams app (clean close), delete its
#                         state dir, start it again (restoration from the changelogs), wait until it is
#                         RUNNING and its group Stable, then a second producer burst (event ids EVENTS+1..)
#   RESTART_TIMEOUT_S=300 bound of the wait for the restarted Streams app
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -eq 3 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
SCENARIO="$1" CFG="$2" OUTDIR="$3"
case "$SCENARIO" in withdrawal|multicluster) ;; *) die "unknown scenario '$SCENARIO' (withdrawal|multicluster)" ;; esac
case "$CFG" in a|b|c|d) ;; *) die "unknown config '$CFG' (a|b|c|d)" ;; esac

EVENTS="${EVENTS:-40}" ACCOUNTS="${ACCOUNTS:-8}" INTERVAL_MS="${INTERVAL_MS:-250}" SEED="${SEED:-}"
COMMIT_INTERVAL_MS="${COMMIT_INTERVAL_MS:-}" PUNCTUATE_MS="${PUNCTUATE_MS:-}"
IDLE_S="${IDLE_S:-10}" SETTLE_TIMEOUT_S="${SETTLE_TIMEOUT_S:-300}"
ACCOUNT_INTERVAL_MS="${ACCOUNT_INTERVAL_MS:-250}"
RESTART_STREAMS="${RESTART_STREAMS:-0}" RESTART_TIMEOUT_S="${RESTART_TIMEOUT_S:-300}"
case "$RESTART_STREAMS" in 0|1) ;; *) die "RESTART_STREAMS must be 0 or 1 (got '$RESTART_STREAMS')" ;; esac
COLLECTOR_BIN="${COLLECTOR_BIN:-$REPO/bin/otelcol-lineage}"
COLLECTOR_CONFIG="${COLLECTOR_CONFIG:-$CONFIG/collector.yaml}"
RUN_DIR="${RUN_DIR:-$WORK/runs/$SCENARIO-$CFG}"
STREAMS_DEFAULT_COMMIT_MS=30000

DC1=127.0.0.1:19092 DC2=127.0.0.1:29092
OUTBOUND=withdrawals-approved,withdrawals-rejected,balance-updates,type-totals,summaries,withdrawal-windows
APP_CP="$APPS_JAR:$APPS_LIB/*"

# ---------------------------------------------------------------- preconditions
need_kafka
[[ -f "$AGENT_JAR" ]] || die "$AGENT_JAR missing: run e2e/bin/fetch.sh"
[[ -f "$APPS_JAR" && -d "$APPS_LIB" ]] || die "$APPS_JAR or $APPS_LIB missing: run e2e/bin/fetch.sh"
[[ -x "$COLLECTOR_BIN" ]] || die "collector binary $COLLECTOR_BIN missing: run 'make build'"
# one run at a time; whatever an earlier run left behind (killed with SIGKILL) is stale: stop it
mkdir -p "$WORK/runs"
exec 9>"$WORK/runs/.lock"
flock -n 9 || die "another run-scenario.sh is running (lock $WORK/runs/.lock)"
for f in "$WORK"/runs/*/*.pid; do
  [[ -f "$f" ]] && stop_pidfile "$f" "$(cat "$f.marker" 2>/dev/null || echo '-Dlineage.e2e.proc=')" 10
done
for dc in dc1 dc2; do
  "$E2E/bin/connect.sh" stop "$dc" >/dev/null 2>&1 || true
  "$E2E/bin/kafka.sh" stop "$dc" >/dev/null 2>&1 || true
done
PORTS=(14317 14318 14133 19092 19093)
[[ "$SCENARIO" == multicluster ]] && PORTS+=(29092 29093 18083 28083)
for p in "${PORTS[@]}"; do
  port_open "$p" && die "port 127.0.0.1:$p is in use (a previous run still up? another harness?)"
done

mkdir -p "$OUTDIR"; OUTDIR="$(cd "$OUTDIR" && pwd)"
rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"
rm -f "$OUTDIR"/{spans.jsonl,logs.jsonl,facts.jsonl,truth.json,manifest.json}
RECORDER_STATUS="$RUN_DIR/recorder-status.json"

STARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"; T0=$SECONDS
RESTARTED_AT=""   # when the restarted Streams app was RUNNING again (RESTART_STREAMS=1)
declare -A SWITCHES=() HOME_DC=()
STOPS=()   # stop actions, run in reverse order on exit
STATUS=failed

# ---------------------------------------------------------------- process helpers
# start_java NAME JVM-ARGS...   (detached, own session; pid in RUN_DIR/NAME.pid, log in RUN_DIR/NAME.log)
start_java() {
  local name="$1"; shift
  local marker="-Dlineage.e2e.proc=$name-$SCENARIO-$CFG"
  local pidfile="$RUN_DIR/$name.pid"
  echo "$marker" >"$pidfile.marker"
  STOPS+=("stop_pidfile '$pidfile' '$marker' 30 '$name'")
  spawn "$pidfile" "$RUN_DIR/$name.log" "$JAVA" "$marker" "$@"
  LAST_BG=$!
}
stop_java() { # NAME [TIMEOUT]
  local pidfile="$RUN_DIR/$1.pid"
  [[ -f "$pidfile" ]] || return 0
  stop_pidfile "$pidfile" "$(cat "$pidfile.marker")" "${2:-30}" "$1"
}
alive() { local f="$RUN_DIR/$1.pid"; [[ -f "$f" ]] && pid_ours "$(cat "$f")" "$(cat "$f.marker")"; }
check_alive() { # dies with the log tail if one of the named processes has exited
  local n
  for n in "$@"; do
    alive "$n" || { tail_log "$RUN_DIR/$n.log" 60; die "$n exited unexpectedly"; }
  done
}

# JVM switches of an agent-instrumented service (also recorded for the manifest)
service_switches() { # SERVICE CLUSTER FORWARDING(0|1)
  local s; s="$(agent_opts "$CFG" "$1" "$2" "$3")"
  SWITCHES[$1]="$s"; HOME_DC[$1]="$2"
}

recorder_field() { jq -r ".$1 // empty" "$RECORDER_STATUS" 2>/dev/null || true; }

# wait_quiet LABEL SINCE_MS [PROCESS...]: until the recorder has seen no new record for IDLE_S, counted
# from its last new record or from SINCE_MS (epoch ms), whichever is later (bounded). The named
# processes must stay alive meanwhile.
wait_quiet() {
  local label="$1" since="$2" t0=$SECONDS now last recs quiet; shift 2
  while :; do
    check_alive truth-recorder "$@"
    now="$(recorder_field time_ms)"; last="$(recorder_field last_record_ms)"; recs="$(recorder_field records)"
    if [[ -n "$now" && -n "$last" && -n "$recs" && "$recs" -gt 0 ]]; then
      (( last > since )) || last=$since
      quiet=$(( now - last ))
      if (( quiet >= IDLE_S * 1000 )); then
        log "quiet ($label): recorder has $recs records, none new for ${quiet} ms"
        return 0
      fi
    fi
    (( SECONDS - t0 >= SETTLE_TIMEOUT_S )) && die "pipeline not quiet after ${SETTLE_TIMEOUT_S}s ($label); recorder status: $(cat "$RECORDER_STATUS" 2>/dev/null)"
    sleep 1
  done
}
now_ms() { date +%s%3N; }

write_manifest() {
  local services='{}' s sw connectors='[]'
  for s in "${!SWITCHES[@]}"; do
    sw="$(printf '%s\n' "${SWITCHES[$s]}" | sed "s#$REPO/##g" | jq -R . | jq -s .)"
    services="$(jq --arg s "$s" --arg dc "${HOME_DC[$s]}" --argjson sw "$sw" \
      '.[$s] = {cluster: $dc, jvm_switches: $sw}' <<<"$services")"
  done
  [[ "$SCENARIO" == multicluster ]] && connectors='["mm2-dc1-to-dc2","mm2-dc2-to-dc1","crm-accounts-source","approved-file-sink"]'
  local clusters; clusters="$(jq -n --arg dc1 "$DC1" '{dc1: $dc1}')"
  [[ "$SCENARIO" == multicluster ]] && clusters="$(jq --arg dc2 "$DC2" '. + {dc2: $dc2}' <<<"$clusters")"
  jq -n --arg scenario "$SCENARIO" --arg config "$CFG" --arg status "$STATUS" \
    --arg kafka "$(kafka_version)" --arg agent "$(agent_version)" \
    --arg java "$("$JAVA" -version 2>&1 | head -1)" \
    --argjson clusters "$clusters" --argjson services "$services" --argjson connectors "$connectors" \
    --arg commit "$COMMIT_INTERVAL_MS" --argjson commit_default "$STREAMS_DEFAULT_COMMIT_MS" \
    --arg punct "$PUNCTUATE_MS" \
    --argjson events "$EVENTS" --argjson accounts "$ACCOUNTS" --argjson interval "$INTERVAL_MS" --arg seed "$SEED" \
    --arg semconv "${SEMCONV_PROPERTY:-otel.semconv-stability.preview}" \
    --argjson restart "$RESTART_STREAMS" --arg restarted "$RESTARTED_AT" \
    --arg started "$STARTED_AT" --arg ended "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson duration "$((SECONDS - T0))" '
    {
      schema_version: 1, scenario: $scenario, config: $config, status: $status,
      kafka_version: $kafka, agent_version: $agent, java_version: $java,
      clusters: $clusters, services: $services, connectors: $connectors,
      streams: {
        application_id: "withdrawal-processor",
        commit_interval_ms: (if $commit == "" then null else ($commit | tonumber) end),
        effective_commit_interval_ms: (if $commit == "" then $commit_default else ($commit | tonumber) end),
        caching: "default",
        punctuate_ms: (if $punct == "" then null else ($punct | tonumber) end)
      },
      restart_streams: ($restart == 1),
      streams_restarted_at: (if $restarted == "" then null else $restarted end),
      workload: {events: $events, accounts: $accounts, interval_ms: $interval,
                 seed: (if $seed == "" then null else $seed end),
                 bursts: (if $restart == 1 then [{first_event_index: 1, events: $events},
                                                 {first_event_index: ($events + 1), events: $events}]
                          else [{first_event_index: 1, events: $events}] end)},
      agent_configs: {a: "defaults", b: "producer-propagation disabled on Streams and Connect",
                      c: ($semconv + "=messaging on every JVM"),
                      d: "otel.instrumentation.messaging.experimental.receive-telemetry.enabled=true on every JVM"},
      started_at: $started, ended_at: $ended, duration_s: $duration
    }' >"$OUTDIR/manifest.json"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  local i
  for ((i = ${#STOPS[@]} - 1; i >= 0; i--)); do eval "${STOPS[$i]}" >/dev/null 2>&1 || true; done
  if [[ "$STATUS" != ok ]]; then
    write_manifest 2>/dev/null || true
    log "run FAILED (rc $rc); logs in $RUN_DIR"
    (( rc == 0 )) && rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- 1. collector
log "== $SCENARIO / config $CFG -> $OUTDIR (run dir $RUN_DIR)"
echo "$COLLECTOR_CONFIG" >"$RUN_DIR/collector.pid.marker"
export CAPTURE_DIR="$OUTDIR"
STOPS+=("stop_pidfile '$RUN_DIR/collector.pid' '$COLLECTOR_CONFIG' 30 collector")
spawn "$RUN_DIR/collector.pid" "$RUN_DIR/collector.log" \
  "$COLLECTOR_BIN" --config "$COLLECTOR_CONFIG"
t=$SECONDS
until curl -sf --max-time 2 http://127.0.0.1:14133/status >/dev/null 2>&1; do
  alive collector || { tail_log "$RUN_DIR/collector.log"; die "collector exited during start-up"; }
  (( SECONDS - t >= 30 )) && { tail_log "$RUN_DIR/collector.log"; die "collector not healthy on 127.0.0.1:14133 within 30s"; }
  sleep 0.5
done
log "collector up (capture dir $OUTDIR)"

# ---------------------------------------------------------------- 2. brokers and topics
STOPS+=("'$E2E/bin/kafka.sh' stop dc1")
"$E2E/bin/kafka.sh" start dc1 19092 19093
if [[ "$SCENARIO" == multicluster ]]; then
  STOPS+=("'$E2E/bin/kafka.sh' stop dc2")
  "$E2E/bin/kafka.sh" start dc2 29092 29093
  "$E2E/bin/kafka.sh" topics "$DC1" transactions,accounts 3
  "$E2E/bin/kafka.sh" topics "$DC2" "$OUTBOUND" 3
else
  "$E2E/bin/kafka.sh" topics "$DC1" "accounts,transactions,$OUTBOUND" 3
fi
log "topics created"

# ---------------------------------------------------------------- 3. truth recorder (no agent)
rec_args=(--scenario "$SCENARIO" --config "$CFG" --cluster "dc1=$DC1")
[[ "$SCENARIO" == multicluster ]] && rec_args+=(--cluster "dc2=$DC2")
[[ "$RESTART_STREAMS" == 1 ]] && rec_args+=(--restored)
start_java truth-recorder -Xmx512m -cp "$APP_CP" lineage.harness.TruthRecorder "${rec_args[@]}" \
  --out "$OUTDIR/truth.json" --status-file "$RECORDER_STATUS"
t=$SECONDS
until [[ -s "$RECORDER_STATUS" ]]; do
  check_alive truth-recorder
  (( SECONDS - t >= 60 )) && { tail_log "$RUN_DIR/truth-recorder.log"; die "truth recorder wrote no status within 60s"; }
  sleep 0.5
done
log "truth recorder up"

# ---------------------------------------------------------------- 4. Connect + connectors (multicluster)
if [[ "$SCENARIO" == multicluster ]]; then
  STOPS+=("'$E2E/bin/connect.sh' stop dc1" "'$E2E/bin/connect.sh' stop dc2")
  AGENT_CONFIG="$CFG" "$E2E/bin/connect.sh" start dc1 "$DC1" 18083
  AGENT_CONFIG="$CFG" "$E2E/bin/connect.sh" start dc2 "$DC2" 28083
  for dc in dc1 dc2; do
    SWITCHES[kafka-connect-$dc]="$(cat "$WORK/connect-$dc/jvm-switches.txt")"; HOME_DC[kafka-connect-$dc]=$dc
  done
  subst=(DC1_BOOTSTRAP="$DC1" DC2_BOOTSTRAP="$DC2" RUN_DIR="$RUN_DIR"
         ACCOUNTS="$ACCOUNTS" ACCOUNT_INTERVAL_MS="$ACCOUNT_INTERVAL_MS")
  "$E2E/bin/connect.sh" submit 28083 "$CONFIG/connectors/mm2-dc1-to-dc2.json" "${subst[@]}"
  "$E2E/bin/connect.sh" submit 18083 "$CONFIG/connectors/mm2-dc2-to-dc1.json" "${subst[@]}"
  "$E2E/bin/connect.sh" wait 28083 mm2-dc1-to-dc2 120
  "$E2E/bin/connect.sh" wait 18083 mm2-dc2-to-dc1 120
  # MirrorMaker 2 creates the remote topics; the apps and the sink need them before they start
  "$E2E/bin/kafka.sh" wait-topics "$DC2" dc1.transactions,dc1.accounts 120
  "$E2E/bin/kafka.sh" wait-topics "$DC1" "dc2.${OUTBOUND//,/,dc2.}" 120
  "$E2E/bin/connect.sh" submit 18083 "$CONFIG/connectors/crm-accounts-source.json" "${subst[@]}"
  "$E2E/bin/connect.sh" submit 18083 "$CONFIG/connectors/approved-file-sink.json" "${subst[@]}"
  "$E2E/bin/connect.sh" wait 18083 crm-accounts-source 120
  "$E2E/bin/connect.sh" wait 18083 approved-file-sink 120
  PROC_BS="$DC2" PROC_DC=dc2 PROC_PREFIX="dc1." CONS_PREFIX="dc2."
else
  PROC_BS="$DC1" PROC_DC=dc1 PROC_PREFIX="" CONS_PREFIX=""
fi

# ---------------------------------------------------------------- 5. Streams app and consumer
service_switches withdrawal-processor "$PROC_DC" 1
STREAMS_STATE="$RUN_DIR/streams-state"
proc_args=(--bootstrap "$PROC_BS" --input-prefix "$PROC_PREFIX" --state-dir "$STREAMS_STATE")
[[ -n "$COMMIT_INTERVAL_MS" ]] && proc_args+=(--commit-interval-ms "$COMMIT_INTERVAL_MS")
[[ -n "$PUNCTUATE_MS" ]] && proc_args+=(--punctuate-ms "$PUNCTUATE_MS")
start_processor() { # same JVM switches and arguments on every start
  local sw; mapfile -t sw <<<"${SWITCHES[withdrawal-processor]}"
  start_java withdrawal-processor -Xmx384m "${sw[@]}" -cp "$APP_CP" lineage.demo.WithdrawalProcessor "${proc_args[@]}"
}
start_processor

service_switches outcome-consumer dc1 0
mapfile -t sw <<<"${SWITCHES[outcome-consumer]}"
start_java outcome-consumer -Xmx256m "${sw[@]}" -cp "$APP_CP" lineage.demo.OutcomeConsumer \
  --bootstrap "$DC1" --topic-prefix "$CONS_PREFIX"

"$E2E/bin/kafka.sh" wait-group "$PROC_BS" withdrawal-processor 120 || { check_alive withdrawal-processor; exit 1; }
"$E2E/bin/kafka.sh" wait-group "$DC1" outcome-consumer 120 || { check_alive outcome-consumer; exit 1; }
check_alive withdrawal-processor outcome-consumer
log "withdrawal-processor and outcome-consumer running"

# ---------------------------------------------------------------- 6. producer
service_switches transaction-producer dc1 0
# run_producer FIRST_EVENT_INDEX: one burst of EVENTS transactions (accounts too on the first burst),
# returns when the producer has exited successfully
run_producer() {
  local first="$1" sw prod_args prod_bg prod_timeout prod_rc t
  mapfile -t sw <<<"${SWITCHES[transaction-producer]}"
  prod_args=(--bootstrap "$DC1" --scenario "$SCENARIO" --events "$EVENTS" --accounts "$ACCOUNTS" --interval-ms "$INTERVAL_MS")
  [[ -n "$SEED" ]] && prod_args+=(--seed "$SEED")
  (( first > 1 )) && prod_args+=(--first-event-index "$first")
  log "transaction-producer: $EVENTS events from index $first"
  start_java transaction-producer -Xmx256m "${sw[@]}" -cp "$APP_CP" lineage.demo.TransactionProducer "${prod_args[@]}"
  prod_bg=$LAST_BG
  prod_timeout=$(( EVENTS * INTERVAL_MS / 1000 + 120 )); t=$SECONDS
  while alive transaction-producer; do
    check_alive withdrawal-processor outcome-consumer truth-recorder
    (( SECONDS - t >= prod_timeout )) && { tail_log "$RUN_DIR/transaction-producer.log"; die "transaction-producer still running after ${prod_timeout}s"; }
    sleep 1
  done
  prod_rc=0; wait "$prod_bg" || prod_rc=$?
  rm -f "$RUN_DIR/transaction-producer.pid"
  (( prod_rc == 0 )) || { tail_log "$RUN_DIR/transaction-producer.log" 60; die "transaction-producer exited with $prod_rc"; }
  log "transaction-producer done ($((SECONDS - t))s)"
}

# ---------------------------------------------------------------- 7. let the pipeline settle
commit_ms="${COMMIT_INTERVAL_MS:-$STREAMS_DEFAULT_COMMIT_MS}"
settle=$(( (commit_ms + 999) / 1000 + 10 ))
# settle_and_close LABEL: at least one commit interval + 10 s, then quiet; close the Streams app
# (SIGTERM: close flushes its caches), quiet again
settle_and_close() {
  local label="$1" t
  log "waiting ${settle}s (commit interval ${commit_ms} ms + 10 s)"
  t=$SECONDS
  while (( SECONDS - t < settle )); do check_alive withdrawal-processor outcome-consumer truth-recorder; sleep 1; done
  wait_quiet "after producer$label" 0 withdrawal-processor outcome-consumer
  log "stopping withdrawal-processor (SIGTERM: close flushes its caches)"
  stop_java withdrawal-processor 60
  wait_quiet "after Streams close$label" "$(now_ms)" outcome-consumer
}

# restart_processor: the Streams app again with an empty state dir (its stores are restored from the
# changelogs on its StateUpdater threads); returns when it is RUNNING and its group is Stable
restart_processor() {
  local plog="$RUN_DIR/withdrawal-processor.log" off t
  log "deleting the Streams state dir $STREAMS_STATE and starting withdrawal-processor again"
  rm -rf "$STREAMS_STATE"
  echo "===== run-scenario.sh: restart with an empty state dir at $(date -u +%Y-%m-%dT%H:%M:%SZ) =====" >>"$plog"
  off="$(stat -c %s "$plog")"
  start_processor
  t=$SECONDS
  until tail -c +"$((off + 1))" "$plog" | grep -q 'streams state .* -> RUNNING'; do
    check_alive withdrawal-processor outcome-consumer truth-recorder
    (( SECONDS - t >= RESTART_TIMEOUT_S )) && { tail_log "$plog" 60; die "restarted withdrawal-processor not RUNNING after ${RESTART_TIMEOUT_S}s"; }
    sleep 1
  done
  "$E2E/bin/kafka.sh" wait-group "$PROC_BS" withdrawal-processor "$RESTART_TIMEOUT_S" || { check_alive withdrawal-processor; exit 1; }
  check_alive withdrawal-processor
  RESTARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  log "withdrawal-processor RUNNING again, group Stable ($((SECONDS - t))s after the restart)"
}

run_producer 1
if [[ "$RESTART_STREAMS" == 1 ]]; then
  settle_and_close " (burst 1)"
  restart_processor
  run_producer $((EVENTS + 1))
  settle_and_close " (burst 2)"
else
  settle_and_close ""
fi

# ---------------------------------------------------------------- 8. orderly shutdown
stop_java outcome-consumer 30
if [[ "$SCENARIO" == multicluster ]]; then
  "$E2E/bin/connect.sh" stop dc1
  "$E2E/bin/connect.sh" stop dc2
fi
log "stopping truth recorder (drains, writes truth.json)"
stop_java truth-recorder 180
[[ -s "$OUTDIR/truth.json" ]] || { tail_log "$RUN_DIR/truth-recorder.log" 60; die "truth recorder wrote no $OUTDIR/truth.json"; }
stop_pidfile "$RUN_DIR/collector.pid" "$COLLECTOR_CONFIG" 30 collector
"$E2E/bin/kafka.sh" stop dc1
[[ "$SCENARIO" == multicluster ]] && "$E2E/bin/kafka.sh" stop dc2

STATUS=ok
write_manifest
spans=0; [[ -f "$OUTDIR/spans.jsonl" ]] && spans="$(jq '[.resourceSpans[]?.scopeSpans[]?.spans[]?] | length' "$OUTDIR/spans.jsonl" | awk '{s+=$1} END {print s+0}')"
recs="$(jq '.records | length' "$OUTDIR/truth.json" 2>/dev/null || echo '?')"
log "== $SCENARIO / $CFG done in $((SECONDS - T0))s: $spans spans, $recs truth records -> $OUTDIR"
