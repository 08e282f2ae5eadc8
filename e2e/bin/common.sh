# Shared helpers for the e2e harness scripts (sourced, not executed).
# shellcheck shell=bash
E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$E2E/.." && pwd)"
WORK="$E2E/.work"
CONFIG="$E2E/config"
KAFKA_LIBS="$WORK/kafka/libs"
AGENT_JAR="$WORK/agent/opentelemetry-javaagent.jar"
APPS_JAR="$E2E/apps/target/lineage-e2e-apps.jar"
APPS_LIB="$E2E/apps/target/lib"
JAVA="${JAVA:-java}"
# Short-lived tool JVMs (TopicCommand, StorageTool): small heap, fast start.
TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true
           -Dlog4j2.configurationFile="$CONFIG/log4j2-tools.xml")

die() { echo "$(basename "$0"): ERROR: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

need_kafka() {
  ls "$KAFKA_LIBS"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no Kafka jars in $KAFKA_LIBS: run e2e/bin/fetch.sh"
}

kafka_version() { # from the jar name, e.g. 4.3.1
  local j; j="$(ls "$KAFKA_LIBS"/kafka_2.13-*.jar 2>/dev/null | head -1)"
  j="${j##*/kafka_2.13-}"; echo "${j%.jar}"
}

agent_version() {
  unzip -p "$AGENT_JAR" META-INF/MANIFEST.MF 2>/dev/null | tr -d '\r' \
    | sed -n 's/^Implementation-Version: //p' | head -1
}

# Run a Kafka tool class on the Kafka classpath.
kafka_tool() { "$JAVA" "${TOOL_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$@"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Is PID alive and is it ours (its command line carries MARKER)?
pid_ours() { # PID MARKER
  local pid="$1" marker="$2"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$marker"
}

# Start a command detached in its own session; writes its PID to PIDFILE.
# spawn PIDFILE OUTFILE cmd args...
spawn() {
  local pidfile="$1" out="$2"; shift 2
  # fd 9 is run-scenario.sh's lock: long-lived processes must not hold it
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$out" 2>&1 9>&- &
  local i
  for i in $(seq 1 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  die "could not start $1"
}

# Stop the process in PIDFILE: SIGTERM, wait up to TIMEOUT s, then SIGKILL. Removes PIDFILE.
# stop_pidfile PIDFILE MARKER TIMEOUT [LABEL]
stop_pidfile() {
  local pidfile="$1" marker="$2" timeout="$3" label="${4:-$2}" pid i
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if pid_ours "$pid" "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      pid_ours "$pid" "$marker" || break
      sleep 0.1
    done
    if pid_ours "$pid" "$marker"; then
      log "$label did not stop within ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do pid_ours "$pid" "$marker" || break; sleep 0.1; done
    fi
  fi
  rm -f "$pidfile"
}

tail_log() { # FILE [LINES]
  local f="$1" n="${2:-40}"
  [[ -f "$f" ]] || return 0
  echo "----- last $n lines of $f -----" >&2
  tail -n "$n" "$f" >&2
  echo "-----" >&2
}

# OpenTelemetry Java agent switches for a service (see e2e/README.md).
# agent_opts CONFIG(a|b|c|d) SERVICE CLUSTER [streams_or_connect(0|1)] -> prints one switch per line
agent_opts() {
  local cfg="$1" svc="$2" dc="$3" forwarding="${4:-0}"
  local ep="${OTEL_ENDPOINT:-http://127.0.0.1:14318}"
  printf '%s\n' "-javaagent:$AGENT_JAR" "-Dotel.service.name=$svc" \
    "-Dotel.resource.attributes=kafka.cluster.name=$dc" \
    "-Dotel.exporter.otlp.endpoint=$ep" "-Dotel.exporter.otlp.protocol=http/protobuf" \
    "-Dotel.metrics.exporter=none"
  case "$cfg" in
    a) ;;
    b) [[ "$forwarding" == 1 ]] && echo "-Dotel.instrumentation.kafka.producer-propagation.enabled=false" ;;
    c) echo "-D${SEMCONV_PROPERTY:-otel.semconv-stability.preview}=messaging" ;;
    d) echo "-Dotel.instrumentation.messaging.experimental.receive-telemetry.enabled=true" ;;
    *) die "unknown agent config '$cfg' (a|b|c|d)" ;;
  esac
  return 0
}
