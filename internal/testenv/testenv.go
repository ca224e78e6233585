// Package testenv holds what the helpers of the throwaway test backends
// (pgtest for PostgreSQL, s3test for S3) share: reading the variable that
// names a backend, and naming what a test makes on it.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
)

// Require returns the value of the environment variable env, which names
// a test backend, and skips t when it is unset, saying to run `make test`
// or to start one with script (say scripts/pg-test.sh).
func Require(t testing.TB, env, script string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skip(env + " is not set: run `make test`, or `eval \"$(" + script + " start)\"`")
	}
	return v
}

// Name is prefix and 12 random hex digits: a name of its own for what one
// test makes on a shared backend (a schema, a bucket).
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
