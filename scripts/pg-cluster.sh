#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests of the PostgreSQL backend, never Debian's
# own `main` cluster: a fresh data folder under /tmp, a free port on 127.0.0.1, trust
# authentication for the `postgres` user, no fsync (its data is thrown away; with
# CDHT_PG_DURABLE=1, PostgreSQL's durable defaults, for benchmarks).
#
#   pg-cluster.sh start DIR   makes and starts a cluster in the empty folder DIR and
#                             prints its URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   pg-cluster.sh stop DIR    stops it and removes DIR
#   pg-cluster.sh run DIR     start, print the URL, wait for standard input to close,
#                             then stop: what a test process runs as its child, so the
#                             cluster goes when the process goes, however it ends
#
# With CDHT_PG_TLS_CERT and CDHT_PG_TLS_KEY (PEM files), the cluster also speaks TLS with
# that certificate (the test of the server's TLS to its database).
#
# initdb and postgres refuse to run as root: as root they run as the `postgres` user
# (DIR is given to it), and DIR must not be under /root, which that user cannot enter.
set -euo pipefail

bin=${CDHT_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|run DIR" >&2
  exit 2
fi

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "pg-cluster: no PostgreSQL 15 in $bin: run scripts/setup.sh" >&2
    exit 3
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_pg "$bin/initdb" -U postgres -A trust -E UTF8 --locale=C -N -D "$dir/data" >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # Tests throw the data away: no fsync. Benchmarks (CDHT_PG_DURABLE=1) keep
  # PostgreSQL's defaults, as a real server runs.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${CDHT_PG_DURABLE:-0}" = 1 ]; then durability=""; fi
  local tls=""
  if [ -n "${CDHT_PG_TLS_CERT:-}" ] && [ -n "${CDHT_PG_TLS_KEY:-}" ]; then
    # postgres reads its key only when the key is its own and private.
    install -m 600 "$CDHT_PG_TLS_CERT" "$dir/server.crt"
    install -m 600 "$CDHT_PG_TLS_KEY" "$dir/server.key"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/server.crt" "$dir/server.key"; fi
    tls="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  fi
  # A port from the ephemeral range that is free now; another process may take it
  # before postgres binds it, so a failed start tries another one.
  local port tries=0
  while :; do
    port=$((20000 + RANDOM % 30000))
    if as_pg "$bin/pg_ctl" -w -t 30 -D "$dir/data" -l "$dir/server.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $durability $tls" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 10 ]; then
      echo "pg-cluster: postgres did not start; its log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
  done
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -w -D "$dir/data" -m fast stop >/dev/null || true
  fi
  rm -rf "$dir"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  run)
    trap stop EXIT
    start
    # Until the parent closes our standard input (or dies).
    cat >/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop|run DIR" >&2
    exit 2
    ;;
esac
