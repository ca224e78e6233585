#!/usr/bin/env bash
# A throwaway S3 server for the tests: MinIO, built from source with
# `go install` at a pinned version (the first build takes minutes), serving
# a temp directory on a free port of 127.0.0.1 only, with fixed test
# credentials. Never reachable from outside this machine.
#
#   scripts/minio-test.sh start   # prints export lines: RENDERHOOK_TEST_STORAGE_URL, AWS_*
#   scripts/minio-test.sh stop    # stops it and deletes its data
#
# Or, from bash: `source scripts/minio-test.sh && minio_test_start` exports
# the variables and `minio_test_stop` ends it. Starting again while it runs
# reuses it. MINIO_TEST_DIR (default /tmp/renderhook-minio-test) says where
# it lives. MINIO_TEST_INSTALL_TIMEOUT (default 1500 s) bounds the build.

# The MinIO server has no semver tags on the Go module proxy, only pseudo-
# versions; this one is the last commit of the public repository's source
# (2026-02-12), found with `go list -m github.com/minio/minio@latest`.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_TEST_DIR="${MINIO_TEST_DIR:-/tmp/renderhook-minio-test}"
# Fixed credentials: the server is loopback-only and thrown away.
MINIO_TEST_USER="renderhook-test"
MINIO_TEST_PASSWORD="renderhook-test-secret"

_minio_log() { echo "minio-test: $*" >&2; }

_minio_bin() {
  local gobin
  gobin="$(go env GOBIN 2>/dev/null)"
  [ -n "$gobin" ] || gobin="$(go env GOPATH 2>/dev/null)/bin"
  echo "$gobin/minio"
}

# _minio_install builds the pinned MinIO unless that exact build is there.
_minio_install() {
  local bin
  bin=$(_minio_bin)
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/minio/minio[[:space:]]*$MINIO_VERSION"; then
    return 0
  fi
  _minio_log "building MinIO $MINIO_VERSION with go install (takes several minutes the first time)"
  if ! timeout "${MINIO_TEST_INSTALL_TIMEOUT:-1500}" go install "github.com/minio/minio@$MINIO_VERSION" >&2; then
    _minio_log "go install github.com/minio/minio@$MINIO_VERSION failed"
    return 1
  fi
}

# shellcheck source=scripts/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free-port.sh"

_minio_running() {
  [ -f "$MINIO_TEST_DIR/pid" ] && [ -f "$MINIO_TEST_DIR/port" ] && kill -0 "$(cat "$MINIO_TEST_DIR/pid")" 2>/dev/null &&
    curl -fsS -o /dev/null "http://127.0.0.1:$(cat "$MINIO_TEST_DIR/port")/minio/health/live"
}

_minio_export() {
  local port
  port=$(cat "$MINIO_TEST_DIR/port")
  export RENDERHOOK_TEST_STORAGE_URL="s3://renderhook-test?endpoint=http://127.0.0.1:$port&region=us-east-1&use_path_style=true"
  export AWS_ACCESS_KEY_ID="$MINIO_TEST_USER"
  export AWS_SECRET_ACCESS_KEY="$MINIO_TEST_PASSWORD"
  export AWS_REGION="us-east-1"
}

minio_test_start() {
  if _minio_running; then
    _minio_export
    _minio_log "reusing the server in $MINIO_TEST_DIR"
    return 0
  fi
  _minio_install || return 1
  local bin port console pid
  bin=$(_minio_bin)
  minio_test_stop
  mkdir -p "$MINIO_TEST_DIR/data"
  for _ in 1 2 3; do
    port=$(_free_port) && console=$(_free_port) || { _minio_log "no free port"; return 1; }
    # Loopback only, for the API and the console alike; no console UI.
    MINIO_ROOT_USER="$MINIO_TEST_USER" MINIO_ROOT_PASSWORD="$MINIO_TEST_PASSWORD" \
      MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
      nohup "$bin" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
      "$MINIO_TEST_DIR/data" >"$MINIO_TEST_DIR/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$MINIO_TEST_DIR/pid"
    echo "$port" >"$MINIO_TEST_DIR/port"
    for _ in $(seq 1 150); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/minio/health/live" 2>/dev/null; then
        _minio_export
        _minio_log "MinIO on 127.0.0.1:$port ($MINIO_TEST_DIR)"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  _minio_log "MinIO did not start:"
  tail -n 20 "$MINIO_TEST_DIR/server.log" >&2
  return 1
}

minio_test_stop() {
  if [ -f "$MINIO_TEST_DIR/pid" ]; then
    local pid
    pid=$(cat "$MINIO_TEST_DIR/pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$MINIO_TEST_DIR"
}

# Run as a command (not sourced).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-start}" in
    start)
      minio_test_start
      for v in RENDERHOOK_TEST_STORAGE_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION; do
        echo "export $v='${!v}'"
      done
      ;;
    install) _minio_install ;;
    stop) minio_test_stop ;;
    *) echo "usage: $0 start|install|stop" >&2; exit 2 ;;
  esac
fi
