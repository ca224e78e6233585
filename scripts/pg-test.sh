#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: a private cluster (initdb) in a temp
# directory, on a free loopback port, with fsync off; never the machine's
# own server. Installs Debian's postgresql with apt when its binaries are
# missing.
#
#   scripts/pg-test.sh start   # prints: export RENDERHOOK_TEST_DATABASE_URL=…
#   scripts/pg-test.sh url     # prints the URL of the running cluster
#   scripts/pg-test.sh stop    # stops it and deletes its directory
#   scripts/pg-test.sh install # only installs PostgreSQL when missing
#
# Or, from bash: `source scripts/pg-test.sh && pg_test_start` exports the
# variable and `pg_test_stop` (e.g. in a trap) ends it. Starting again while
# the cluster runs reuses it. PG_TEST_DIR (default /tmp/renderhook-pg-test)
# says where the cluster lives.

PG_TEST_DIR="${PG_TEST_DIR:-/tmp/renderhook-pg-test}"
PG_TEST_DB="${PG_TEST_DB:-renderhook_test}"

_pg_log() { echo "pg-test: $*" >&2; }

# _pg_bin finds the newest installed PostgreSQL's binaries.
_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
    return 0
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

_pg_install() {
  if _pg_bin >/dev/null; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    _pg_log "PostgreSQL is not installed and there is no apt-get: install it (initdb, pg_ctl) yourself"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  _pg_log "installing postgresql (apt)"
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null || return 1
  _pg_bin >/dev/null
}

# _pg_as runs a command as the cluster's owner: initdb and postgres refuse
# to run as root, so root hands them to the postgres user.
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# shellcheck source=scripts/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

_pg_running() {
  local bin
  bin=$(_pg_bin) || return 1
  [ -f "$PG_TEST_DIR/port" ] && [ -d "$PG_TEST_DIR/data" ] && _pg_as "$bin/pg_ctl" -D "$PG_TEST_DIR/data" status >/dev/null 2>&1
}

pg_test_url() {
  echo "postgres://postgres@127.0.0.1:$(cat "$PG_TEST_DIR/port")/$PG_TEST_DB?sslmode=disable"
}

pg_test_start() {
  _pg_install || return 1
  local bin port
  bin=$(_pg_bin)
  if _pg_running; then
    export RENDERHOOK_TEST_DATABASE_URL
    RENDERHOOK_TEST_DATABASE_URL=$(pg_test_url)
    _pg_log "reusing the cluster in $PG_TEST_DIR"
    return 0
  fi
  rm -rf "$PG_TEST_DIR"
  mkdir -p "$PG_TEST_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_TEST_DIR"
  _pg_as "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { _pg_log "initdb failed:"; cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
  for _ in 1 2 3; do
    port=$(_free_port) || { _pg_log "no free port"; return 1; }
    # Loopback only; sockets in the cluster's own directory; durability
    # off (a test cluster is thrown away) for speed; connections for
    # parallel test packages, each server holding a pool and River's
    # listener.
    if _pg_as "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB" \
      >/dev/null 2>&1; then
      echo "$port" >"$PG_TEST_DIR/port"
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    _pg_log "the cluster did not start:"
    tail -n 20 "$PG_TEST_DIR/server.log" >&2
    return 1
  fi
  "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $PG_TEST_DB" >/dev/null \
    || { _pg_log "create database failed"; return 1; }
  export RENDERHOOK_TEST_DATABASE_URL
  RENDERHOOK_TEST_DATABASE_URL=$(pg_test_url)
  _pg_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($PG_TEST_DIR)"
}

pg_test_stop() {
  local bin
  if bin=$(_pg_bin) && [ -d "$PG_TEST_DIR/data" ]; then
    _pg_as "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_TEST_DIR"
}

# Run as a command (not sourced).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-start}" in
    start) pg_test_start && echo "export RENDERHOOK_TEST_DATABASE_URL='$RENDERHOOK_TEST_DATABASE_URL'" ;;
    url) _pg_running && pg_test_url ;;
    install) _pg_install ;;
    stop) pg_test_stop ;;
    *) echo "usage: $0 start|url|stop|install" >&2; exit 2 ;;
  esac
fi
