#!/usr/bin/env bash
# A real PostgreSQL server for the lineage store's tests, benchmarks and the exporter's outage test.
#   postgres.sh start    initdb on first start (trust auth on loopback only, database `lineage`),
#                        start, wait until it accepts connections, print the DSN; idempotent
#   postgres.sh stop     fast shutdown (pg_ctl -m fast), data kept for the next start
#   postgres.sh status   print the DSN and exit 0 when it accepts connections, else exit 3
#   postgres.sh dsn      print the DSN
# Env: LINEAGE_PG_PORT (default 25432: below Linux's ephemeral port range 32768-60999, where a
# client socket of an earlier test, e.g. the Kafka integration test's, can hold the port), LINEAGE_PG_DIR (default ${TMPDIR:-/tmp}/lineage-pg: data/,
# postgres.log, the socket directory), LINEAGE_PG_START_TIMEOUT (default 60 s).
# Uses the Debian packages' binaries (/usr/lib/postgresql/*/bin, the newest); when run as root the
# server runs as user postgres (it refuses root).
set -euo pipefail

PORT="${LINEAGE_PG_PORT:-25432}"
DIR="${LINEAGE_PG_DIR:-${TMPDIR:-/tmp}/lineage-pg}"
DATA="$DIR/data"
LOG="$DIR/postgres.log"
SOCK="$DIR/run"
TIMEOUT="${LINEAGE_PG_START_TIMEOUT:-60}"
DB=lineage
DSN="postgres://postgres@127.0.0.1:$PORT/$DB?sslmode=disable"

die() { echo "postgres.sh: $*" >&2; exit 1; }
usage() { sed -n '2,12p' "$0" >&2; exit 2; }

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
[[ -n "$BIN" && -x "$BIN/pg_ctl" && -x "$BIN/initdb" ]] ||
  die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install them: apt-get install postgresql)"

# as_owner runs a server command as the data directory's owner: postgres when we are root.
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the user postgres (apt-get install postgresql creates it)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

psql_q() { as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -tAqX -c "$2"; }

ready() { as_owner "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres; }

running() { [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init() {
  mkdir -p "$DIR"
  if [[ $EUID -eq 0 ]]; then
    chown postgres: "$DIR"
    runuser -u postgres -- test -w "$DIR" ||
      die "user postgres cannot write $DIR (a parent directory is closed to it); set LINEAGE_PG_DIR to a directory it can reach"
  fi
  as_owner mkdir -p "$SOCK"
  [[ -f "$DATA/PG_VERSION" ]] && return
  echo "postgres.sh: initdb $DATA" >&2
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --no-locale --auth-local=trust --auth-host=trust \
    >"$DIR/initdb.log" 2>&1 || { tail -n 20 "$DIR/initdb.log" >&2; die "initdb failed (log: $DIR/initdb.log)"; }
  # Loopback only: trust is safe because nothing else can reach the server.
  cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 256MB
logging_collector = off
CONF
}

cmd_start() {
  if running && ready; then
    echo "$DSN"
    return
  fi
  init
  if ! running; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      die "port 127.0.0.1:$PORT is in use by another process (set LINEAGE_PG_PORT)"
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PORT" -w -t "$TIMEOUT" start >/dev/null ||
      { tail -n 20 "$LOG" >&2 || true; die "the server did not start (log: $LOG)"; }
  fi
  local t0=$SECONDS
  until ready; do
    (( SECONDS - t0 < TIMEOUT )) || { tail -n 20 "$LOG" >&2 || true; die "no connection within ${TIMEOUT}s (log: $LOG)"; }
    sleep 0.2
  done
  if [[ "$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    psql_q postgres "CREATE DATABASE $DB" >/dev/null || die "create database $DB failed"
  fi
  echo "$DSN"
}

cmd_stop() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null || die "stop failed (log: $LOG)"
    echo "postgres.sh: stopped (data kept in $DATA)" >&2
  else
    echo "postgres.sh: not running" >&2
  fi
}

cmd_status() {
  if running && ready; then
    echo "$DSN"
  else
    echo "postgres.sh: not running (127.0.0.1:$PORT, data $DATA)" >&2
    exit 3
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  dsn) echo "$DSN" ;;
  *) usage ;;
esac
