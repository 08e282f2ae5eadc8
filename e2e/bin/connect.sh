#!/usr/bin/env bash
# Distributed Kafka Connect worker of the e2e harness, running WITH the stock OpenTelemetry Java agent.
#   connect.sh start NAME BOOTSTRAP REST_PORT   fresh worker dir e2e/.work/connect-NAME; returns when REST answers
#   connect.sh stop  NAME                       graceful stop (bounded), then SIGKILL (extra args ignored)
#   connect.sh submit REST_PORT FILE.json [KEY=VALUE...]   fill @KEY@ placeholders, PUT the connector config
#   connect.sh wait  REST_PORT CONNECTOR [TIMEOUT_S]       until the connector and all its tasks are RUNNING
#   connect.sh status REST_PORT CONNECTOR
# NAME is the cluster name (dc1, dc2): service.name kafka-connect-NAME, resource kafka.cluster.name=NAME.
# Env: AGENT_CONFIG a|b|c|d (default a; see e2e/README.md), AGENT=0 runs without the agent,
#      CONNECT_HEAP (default -Xmx512m -Xms256m), CONNECT_START_TIMEOUT (120 s), CONNECT_STOP_TIMEOUT (30 s).
# The JVM switches used are written to e2e/.work/connect-NAME/jvm-switches.txt (one per line).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,11p' "$0" >&2; exit 2; }

rest() { # METHOD URL [curl args...] -> body, then the HTTP code on the last line
  local m="$1" url="$2"; shift 2
  curl -sS --max-time 10 -X "$m" -o /dev/stdout -w '\n%{http_code}' "$@" "$url"
}

cmd_start() {
  local name="$1" bs="$2" port="$3"
  need_kafka
  [[ -f "$APPS_JAR" ]] || die "$APPS_JAR missing (the harness source connector lives there): run e2e/bin/fetch.sh"
  local dir="$WORK/connect-$name" marker="-Dlineage.e2e.proc=connect-$name"
  local pidfile="$dir/connect.pid" out="$dir/stdout.log" log="$dir/connect.log"
  cmd_stop "$name" >/dev/null 2>&1 || true
  port_open "$port" && die "port 127.0.0.1:$port is already in use"
  rm -rf "$dir"; mkdir -p "$dir"
  sed -e "s#@NAME@#$name#g" -e "s#@BOOTSTRAP@#$bs#g" -e "s#@REST_PORT@#$port#g" \
      "$CONFIG/connect-worker.properties" >"$dir/worker.properties"

  local heap switches=()
  read -r -a heap <<<"${CONNECT_HEAP:--Xmx512m -Xms256m}"
  if [[ "${AGENT:-1}" != 0 ]]; then
    [[ -f "$AGENT_JAR" ]] || die "$AGENT_JAR missing: run e2e/bin/fetch.sh"
    local sw
    sw="$(agent_opts "${AGENT_CONFIG:-a}" "kafka-connect-$name" "$name" 1)" || exit 1  # unknown config
    mapfile -t switches <<<"$sw"
  fi
  printf '%s\n' "${switches[@]}" >"$dir/jvm-switches.txt"
  spawn "$pidfile" "$out" "$JAVA" "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true "$marker" \
    "${switches[@]}" \
    -Dlog4j2.configurationFile="$CONFIG/log4j2.xml" -Dlineage.log.file="$log" -Dkafka.logs.dir="$dir" \
    -cp "$KAFKA_LIBS/*:$APPS_JAR" org.apache.kafka.connect.cli.ConnectDistributed "$dir/worker.properties"
  local pid; pid="$(cat "$pidfile")"

  local timeout="${CONNECT_START_TIMEOUT:-120}" t0=$SECONDS
  while :; do
    if ! pid_ours "$pid" "$marker"; then
      tail_log "$log"; tail_log "$out"; rm -f "$pidfile"
      die "Connect worker $name exited during start-up"
    fi
    # the REST server answers early; /connectors answers once the herder has joined its group
    if curl -sf --max-time 5 "http://127.0.0.1:$port/connectors" >/dev/null 2>&1; then break; fi
    if (( SECONDS - t0 >= timeout )); then
      tail_log "$log"; tail_log "$out"
      cmd_stop "$name" >/dev/null 2>&1 || true
      die "Connect worker $name did not answer on 127.0.0.1:$port within ${timeout}s"
    fi
    sleep 1
  done
  log "connect $name up on 127.0.0.1:$port (pid $pid, agent config ${AGENT_CONFIG:-a}$([[ "${AGENT:-1}" == 0 ]] && echo ' DISABLED'), $((SECONDS - t0))s)"
}

cmd_stop() {
  local name="$1"
  stop_pidfile "$WORK/connect-$name/connect.pid" "-Dlineage.e2e.proc=connect-$name" \
    "${CONNECT_STOP_TIMEOUT:-30}" "connect $name"
}

render() { # FILE KEY=VALUE... -> JSON on stdout
  local file="$1"; shift
  local json kv; json="$(cat "$file")"
  for kv in "$@"; do json="${json//@${kv%%=*}@/${kv#*=}}"; done
  if grep -o '@[A-Z0-9_]*@' <<<"$json" | head -1 | grep -q .; then
    die "$file: unfilled placeholders: $(grep -o '@[A-Z0-9_]*@' <<<"$json" | sort -u | tr '\n' ' ')"
  fi
  jq -e . <<<"$json" >/dev/null || die "$file: not valid JSON after substitution"
  echo "$json"
}

cmd_submit() {
  local port="$1" file="$2"; shift 2
  local json name cfg resp code t0=$SECONDS timeout="${CONNECT_SUBMIT_TIMEOUT:-60}"
  json="$(render "$file" "$@")"
  name="$(jq -r .name <<<"$json")"; cfg="$(jq -c .config <<<"$json")"
  while :; do
    resp="$(rest PUT "http://127.0.0.1:$port/connectors/$name/config" \
              -H 'Content-Type: application/json' --data "$cfg" 2>&1 || true)"
    code="${resp##*$'\n'}"
    [[ "$code" == 200 || "$code" == 201 ]] && break
    if (( SECONDS - t0 >= timeout )); then
      die "submitting $name to 127.0.0.1:$port failed (HTTP $code): ${resp%$'\n'*}"
    fi
    # 409 (rebalance in progress) and 5xx are transient while the worker settles
    [[ "$code" == 400 || "$code" == 404 ]] && die "connector $name rejected (HTTP $code): ${resp%$'\n'*}"
    sleep 1
  done
  log "connector $name submitted to 127.0.0.1:$port"
}

cmd_status() { curl -sS --max-time 10 "http://127.0.0.1:$1/connectors/$2/status"; }

cmd_wait() {
  local port="$1" name="$2" timeout="${3:-90}" t0=$SECONDS st state tasks bad
  while :; do
    st="$(cmd_status "$port" "$name" 2>/dev/null || true)"
    if jq -e .connector >/dev/null 2>&1 <<<"$st"; then
      state="$(jq -r .connector.state <<<"$st")"
      tasks="$(jq -r '[.tasks[].state] | join(",")' <<<"$st")"
      bad="$(jq -r '[.connector.state, (.tasks[].state)] | map(select(. == "FAILED")) | length' <<<"$st")"
      if [[ "$bad" != 0 ]]; then
        jq -r '.connector.trace // empty, (.tasks[] | .trace // empty)' <<<"$st" | head -40 >&2
        die "connector $name FAILED on 127.0.0.1:$port"
      fi
      if [[ "$state" == RUNNING && -n "$tasks" && "$tasks" =~ ^(RUNNING,?)+$ ]]; then
        log "connector $name RUNNING (tasks: $tasks)"
        return 0
      fi
    fi
    if (( SECONDS - t0 >= timeout )); then
      echo "$st" >&2
      die "connector $name not RUNNING on 127.0.0.1:$port within ${timeout}s"
    fi
    sleep 1
  done
}

[[ $# -ge 1 ]] || usage
case "$1" in
  start)  [[ $# -ge 4 ]] || usage; cmd_start "$2" "$3" "$4" ;;
  stop)   [[ $# -ge 2 ]] || usage; cmd_stop "$2" ;;
  submit) [[ $# -ge 3 ]] || usage; shift; cmd_submit "$@" ;;
  wait)   [[ $# -ge 3 ]] || usage; cmd_wait "$2" "$3" "${4:-90}" ;;
  status) [[ $# -ge 3 ]] || usage; cmd_status "$2" "$3" ;;
  *) usage ;;
esac
