#!/usr/bin/env bash
# Fetches everything the real-world harness runs, from Maven Central only (no tarballs):
#   e2e/.work/kafka/libs/*.jar                       Apache Kafka broker, tools, Connect, MirrorMaker 2
#   e2e/.work/agent/opentelemetry-javaagent.jar      the stock OpenTelemetry Java agent
#   e2e/apps/target/lineage-e2e-apps.jar (+ lib/)    the demo apps, if e2e/apps/pom.xml exists
# Idempotent and quiet; exits non-zero with Maven's output on any failure.
# Env: FETCH_APPS=0 skips the demo apps (for tests that need only the broker).
# Versions: e2e/kafka-dist/pom.xml (kafka.version, otel.agent.version).
set -euo pipefail
E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$E2E/.work"
DIST_POM="$E2E/kafka-dist/pom.xml"
APPS_POM="$E2E/apps/pom.xml"
MVN=(mvn -q -B)

die() { echo "fetch.sh: $*" >&2; exit 1; }
command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
command -v java >/dev/null || die "java not found"

run_mvn() { # quiet on success, full output on failure
  local log; log="$(mktemp)"
  if ! "${MVN[@]}" "$@" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; die "mvn $* failed"
  fi
  rm -f "$log"
}

mkdir -p "$WORK"
stamp="$WORK/kafka-dist.stamp"
want="$(sha256sum "$DIST_POM" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" \
      || ! -f "$WORK/agent/opentelemetry-javaagent.jar" \
      || -z "$(ls "$WORK/kafka/libs"/kafka_2.13-*.jar 2>/dev/null)" ]]; then
  rm -rf "$WORK/kafka/libs" "$WORK/agent"     # no stale jars of another version
  run_mvn -f "$DIST_POM" package
  [[ -f "$WORK/agent/opentelemetry-javaagent.jar" ]] || die "agent jar missing after mvn"
  ls "$WORK/kafka/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka jars missing after mvn"
  echo "$want" >"$stamp"
fi

if [[ -f "$APPS_POM" && "${FETCH_APPS:-1}" != 0 ]]; then
  rm -rf "$E2E/apps/target/lib"                # no stale dependency jars of another version
  run_mvn -f "$APPS_POM" package -DskipTests
  [[ -f "$E2E/apps/target/lineage-e2e-apps.jar" ]] || die "e2e/apps built but target/lineage-e2e-apps.jar is missing"
fi
