#!/usr/bin/env bash
# The local stack: a Kafka-protocol broker (Tansu, memory storage) and PostgreSQL 15, both on loopback.
#   scripts/stack.sh start    install what is missing, start both (a running stack is detected and kept),
#                             create the pipeline's topics and apply the database migrations
#   scripts/stack.sh stop     stop both
#   scripts/stack.sh status   report both; exit 0 only when both answer
#   scripts/stack.sh env      print the environment a service needs to reach the stack
# Ports: FX_KAFKA_PORT (default 19092), FX_PG_PORT (default 15432). State lives in .stack/.
# With TimescaleDB installed (scripts/install-deps.sh builds it from a source tarball), the server
# preloads it; database `fxstream` then uses it, and database `fxstream_plain`
# (`fxstream.timescaledb = off`) stays on plain tables, so both back-ends are tested side by side.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
KAFKA_PORT="${FX_KAFKA_PORT:-19092}"
PG_PORT="${FX_PG_PORT:-15432}"
STATE="${FX_STACK_DIR:-$FX_ROOT/.stack}"
PGROOT="$STATE/pg"
# The server runs as the postgres user when we are root: if that user cannot reach the checkout
# (e.g. a clone under /root), keep the cluster in a temporary directory named after the checkout.
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$FX_ROOT" 2>/dev/null; then
  PGROOT="${TMPDIR:-/tmp}/fxstream-pg-$(printf '%s' "$FX_ROOT" | cksum | cut -d' ' -f1)"
fi
PGDATA="$PGROOT/data"
log() { printf '[stack] %s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 100); do port_open "$port" && return 0; sleep 0.1; done
  log "$what did not open port $port"; return 1
}

broker_running() { [ -f "$STATE/tansu.pid" ] && kill -0 "$(cat "$STATE/tansu.pid")" 2>/dev/null && port_open "$KAFKA_PORT"; }
pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
timescale_installed() { [ -f "$(dirname "$PG_BIN")/lib/timescaledb.so" ]; }
psql_stack() { as_postgres psql -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# Server options: TimescaleDB preloaded when installed (its background workers run the policies).
pg_options() {
  local options="-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
  if timescale_installed; then
    options+=" -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off -c max_worker_processes=32 -c timescaledb.max_background_workers=24"
  fi
  printf '%s' "$options"
}

start_broker() {
  if broker_running; then log "broker already running on 127.0.0.1:$KAFKA_PORT"; return; fi
  [ -x "$TANSU_BIN" ] || { log "tansu not found (run scripts/install-deps.sh)"; exit 1; }
  if port_open "$KAFKA_PORT"; then log "port $KAFKA_PORT is taken by another process"; exit 1; fi
  mkdir -p "$STATE"
  nohup "$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine memory://tansu/ \
    >"$STATE/tansu.log" 2>&1 &
  echo $! > "$STATE/tansu.pid"
  wait_port "$KAFKA_PORT" broker
  log "broker started on 127.0.0.1:$KAFKA_PORT (pid $(cat "$STATE/tansu.pid"))"
}

start_pg() {
  if pg_running && timescale_installed \
     && ! psql_stack -tAc "SHOW shared_preload_libraries" 2>/dev/null | grep -q timescaledb; then
    log "postgres runs without TimescaleDB preloaded: restarting it"
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  if pg_running; then log "postgres already running on 127.0.0.1:$PG_PORT"; return; fi
  mkdir -p "$PGDATA"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$PGROOT"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$STATE/initdb.log" 2>&1
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/postgres.log" -w -t 60 \
    -o "$(pg_options)" start >/dev/null
  for db in fxstream fxstream_plain; do
    psql_stack -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 || psql_stack -qc "CREATE DATABASE $db"
  done
  psql_stack -qc "ALTER DATABASE fxstream_plain SET fxstream.timescaledb = 'off'"
  log "postgres started on 127.0.0.1:$PG_PORT (data $PGDATA; TimescaleDB $(timescale_installed && echo preloaded || echo 'not installed'))"
}

print_env() {
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/fxstream"
  echo "export DATABASE_URL_PLAIN=postgres://postgres@127.0.0.1:$PG_PORT/fxstream_plain"
}

fxadmin() {
  (cd "$FX_ROOT" && swift build --product fxadmin >"$STATE/build-fxadmin.log" 2>&1) || { cat "$STATE/build-fxadmin.log" >&2; exit 1; }
  eval "$(print_env)"
  "$(cd "$FX_ROOT" && swift build --show-bin-path)/fxadmin" "$@"
}

case "${1:-status}" in
  start)
    bash "$FX_ROOT/scripts/install-deps.sh"
    source "$FX_ROOT/scripts/env.sh"
    start_broker
    start_pg
    if [ "${FX_STACK_SKIP_SETUP:-0}" != 1 ]; then
      fxadmin create-topics --partitions "${FX_PARTITIONS:-3}"
      fxadmin migrate
      fxadmin migrate --database-url "postgres://postgres@127.0.0.1:$PG_PORT/fxstream_plain" >/dev/null
    fi
    ;;
  stop)
    if [ -f "$STATE/tansu.pid" ]; then kill "$(cat "$STATE/tansu.pid")" 2>/dev/null || true; rm -f "$STATE/tansu.pid"; log "broker stopped"; fi
    if pg_running; then as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null; log "postgres stopped"; fi
    ;;
  status)
    ok=0
    if broker_running; then log "broker: up on 127.0.0.1:$KAFKA_PORT"; else log "broker: down"; ok=1; fi
    if pg_running; then log "postgres: up on 127.0.0.1:$PG_PORT"; else log "postgres: down"; ok=1; fi
    exit $ok
    ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
