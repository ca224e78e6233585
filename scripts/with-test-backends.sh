#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL (scripts/pg-test.sh) and MinIO
# (scripts/minio-test.sh) up, and RENDERHOOK_TEST_DATABASE_URL,
# RENDERHOOK_TEST_STORAGE_URL and the AWS_* credentials set, so the tests
# that read them run against those backends; both are stopped and deleted
# when the command ends.
#
#   scripts/with-test-backends.sh go test ./internal/server/
#
# RENDERHOOK_TEST_S3=0 leaves MinIO out. Should MinIO fail to build or
# start, the command still runs, on PostgreSQL with local files, and a
# warning says so (the S3 tests are then skipped, never silently passed:
# go test -v shows them as SKIP).
#
# Each run has servers of its own (in fresh directories, unless
# PG_TEST_DIR / MINIO_TEST_DIR name some): runs side by side, e.g. from
# several checkouts on one machine, would otherwise share one cluster, and
# the first to finish would stop it under the others.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=$(mktemp -d /tmp/renderhook-test-backends.XXXXXX)
chmod 755 "$run_dir"
export PG_TEST_DIR="${PG_TEST_DIR:-$run_dir/pg}"
export MINIO_TEST_DIR="${MINIO_TEST_DIR:-$run_dir/minio}"

# shellcheck source=scripts/pg-test.sh
source scripts/pg-test.sh
# shellcheck source=scripts/minio-test.sh
source scripts/minio-test.sh

cleanup() {
  minio_test_stop || true
  pg_test_stop || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_test_start
if [ "${RENDERHOOK_TEST_S3:-1}" != 0 ]; then
  if ! minio_test_start; then
    echo "with-test-backends: WARNING: MinIO is not available; running with PostgreSQL and local files only" >&2
    unset RENDERHOOK_TEST_STORAGE_URL
  fi
fi
echo "with-test-backends: RENDERHOOK_TEST_DATABASE_URL=$RENDERHOOK_TEST_DATABASE_URL RENDERHOOK_TEST_STORAGE_URL=${RENDERHOOK_TEST_STORAGE_URL:-}" >&2
"$@"
