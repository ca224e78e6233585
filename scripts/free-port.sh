#!/usr/bin/env bash
# Sourced by scripts/pg-test.sh and scripts/minio-test.sh: the helpers the
# throwaway test backends share.

# _free_port prints a TCP port of 127.0.0.1 that nothing listens on (one
# of 50 random tries in 20000-39999), or fails.
_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
