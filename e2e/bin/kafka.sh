#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for the e2e harness.
#   kafka.sh start NAME PORT CONTROLLER_PORT   fresh storage in e2e/.work/kafka-NAME; returns when the broker answers
#   kafka.sh restart NAME                      stop, then start again on the SAME storage (offsets and records kept)
#   kafka.sh stop  NAME                        graceful stop (bounded), then SIGKILL  (extra args ignored)
#   kafka.sh topics BOOTSTRAP t1,t2,... PARTITIONS   create topics (RF 1, idempotent)
#   kafka.sh wait-topics BOOTSTRAP t1,t2,... [TIMEOUT_S]   wait until all the topics exist
#   kafka.sh list BOOTSTRAP                    list topics
#   kafka.sh wait-group BOOTSTRAP GROUP [TIMEOUT_S]   wait until the consumer group is Stable
# Env: KAFKA_HEAP (default -Xmx512m -Xms256m), KAFKA_START_TIMEOUT (default 120 s), KAFKA_STOP_TIMEOUT (30 s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,11p' "$0" >&2; exit 2; }

list_topics() { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" --list; }

cmd_start() {
  local name="$1" port="$2" cport="$3"
  need_kafka
  local dir="$WORK/kafka-$name"
  cmd_stop "$name" >/dev/null 2>&1 || true
  for p in "$port" "$cport"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use (another broker? check 'ss -ltnp')"
  done
  rm -rf "$dir"; mkdir -p "$dir/data"
  sed -e "s#@NAME@#$name#g" -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" \
      -e "s#@DATA_DIR@#$dir/data#g" "$CONFIG/broker.properties" >"$dir/server.properties"
  local cluster_id
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)" || die "StorageTool random-uuid failed"
  kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    >"$dir/format.log" 2>&1 || { tail_log "$dir/format.log"; die "formatting $dir failed"; }
  echo "$port" >"$dir/port"
  launch "$name" "$port"
}

# restart keeps the storage: a client sees the same cluster, topics and offsets after it.
cmd_restart() {
  local name="$1"; local dir="$WORK/kafka-$name"
  need_kafka
  [[ -f "$dir/server.properties" && -f "$dir/port" ]] || die "no broker $name to restart (run: kafka.sh start $name PORT CONTROLLER_PORT)"
  cmd_stop "$name"
  launch "$name" "$(cat "$dir/port")"
}

# launch NAME PORT: start the broker on its prepared storage; returns when it answers.
launch() {
  local name="$1" port="$2"
  local dir="$WORK/kafka-$name" marker="-Dlineage.e2e.proc=kafka-$name"
  local pidfile="$dir/kafka.pid" out="$dir/stdout.log" log="$dir/server.log"
  local heap; read -r -a heap <<<"${KAFKA_HEAP:--Xmx512m -Xms256m}"
  spawn "$pidfile" "$out" "$JAVA" "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "$marker" \
    -Dlog4j2.configurationFile="$CONFIG/log4j2.xml" -Dlineage.log.file="$log" -Dkafka.logs.dir="$dir" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  local pid; pid="$(cat "$pidfile")"

  local timeout="${KAFKA_START_TIMEOUT:-120}" t0=$SECONDS
  while :; do
    if ! pid_ours "$pid" "$marker"; then
      tail_log "$log"; tail_log "$out"; rm -f "$pidfile"
      die "broker $name exited during start-up"
    fi
    if port_open "$port" && list_topics "127.0.0.1:$port" >/dev/null 2>&1; then break; fi
    if (( SECONDS - t0 >= timeout )); then
      tail_log "$log"; tail_log "$out"
      cmd_stop "$name" >/dev/null 2>&1 || true
      die "broker $name did not answer on 127.0.0.1:$port within ${timeout}s"
    fi
    sleep 0.5
  done
  log "kafka $name up on 127.0.0.1:$port (pid $pid, $(kafka_version), $((SECONDS - t0))s)"
}

cmd_stop() {
  local name="$1"; local dir="$WORK/kafka-$name"
  stop_pidfile "$dir/kafka.pid" "-Dlineage.e2e.proc=kafka-$name" "${KAFKA_STOP_TIMEOUT:-30}" "kafka $name"
}

cmd_topics() {
  local bs="$1" topics="$2" parts="${3:-3}" t
  need_kafka
  IFS=, read -r -a arr <<<"$topics"
  local pids=() names=() i rc=0
  for t in "${arr[@]}"; do   # one TopicCommand JVM per topic, run side by side
    [[ -n "$t" ]] || continue
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create --if-not-exists \
      --topic "$t" --partitions "$parts" --replication-factor 1 >/dev/null &
    pids+=($!); names+=("$t")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "creating topic ${names[$i]} on $bs failed" >&2; rc=1; }
  done
  (( rc == 0 )) || die "topic creation failed on $bs"
}

cmd_wait_topics() {
  local bs="$1" topics="$2" timeout="${3:-60}" t0=$SECONDS have missing t
  need_kafka
  IFS=, read -r -a arr <<<"$topics"
  while :; do
    have="$(list_topics "$bs" 2>/dev/null || true)"
    missing=()
    for t in "${arr[@]}"; do grep -qxF -- "$t" <<<"$have" || missing+=("$t"); done
    (( ${#missing[@]} == 0 )) && return 0
    (( SECONDS - t0 >= timeout )) && die "topics missing on $bs after ${timeout}s: ${missing[*]}"
    sleep 1
  done
}

cmd_wait_group() {
  local bs="$1" group="$2" timeout="${3:-60}" t0=$SECONDS out
  need_kafka
  while :; do
    out="$(kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bs" \
             --describe --group "$group" --state 2>/dev/null || true)"
    grep -qw Stable <<<"$out" && return 0
    (( SECONDS - t0 >= timeout )) && { echo "$out" >&2; die "group $group on $bs not Stable after ${timeout}s"; }
    sleep 1
  done
}

[[ $# -ge 1 ]] || usage
case "$1" in
  start)       [[ $# -ge 4 ]] || usage; cmd_start "$2" "$3" "$4" ;;
  restart)     [[ $# -ge 2 ]] || usage; cmd_restart "$2" ;;
  stop)        [[ $# -ge 2 ]] || usage; cmd_stop "$2" ;;
  topics)      [[ $# -ge 3 ]] || usage; cmd_topics "$2" "$3" "${4:-3}" ;;
  wait-topics) [[ $# -ge 3 ]] || usage; cmd_wait_topics "$2" "$3" "${4:-60}" ;;
  wait-group)  [[ $# -ge 3 ]] || usage; cmd_wait_group "$2" "$3" "${4:-60}" ;;
  list)        [[ $# -ge 2 ]] || usage; need_kafka; list_topics "$2" ;;
  *) usage ;;
esac
