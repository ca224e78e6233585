// Package testenv holds what the helpers of the throwaway test backends
// (pgtest for PostgreSQL, s3test for S3) share: reading the variable that
// names a backend, naming what a test makes on it, and giving each test a
// place of its own there that is dropped when it ends (Backend).
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

// Backend is a throwaway test backend shared by the tests of a run (a
// PostgreSQL database, an S3 server), named by the variable Env that
// Script sets, on which each test gets a place of its own (a schema, a
// bucket) so that tests never see each other's data.
type Backend struct {
	Env, Script string
	// Prefix begins the name of each test's place (Name).
	Prefix string
	// Place returns the URL of the place name on the backend at base,
	// which the test or the code under test creates.
	Place func(base, name string) (string, error)
	// Drop removes the place name, at URL place, when the test ends; a
	// place never created is fine.
	Drop func(t testing.TB, base, name, place string)
}

// Enabled reports whether the backend is configured.
func (b Backend) Enabled() bool { return os.Getenv(b.Env) != "" }

// URL returns the URL of a new place of the test's own, dropped when the
// test ends. It skips t when the backend is not configured.
func (b Backend) URL(t testing.TB) string {
	t.Helper()
	base := Require(t, b.Env, b.Script)
	name := Name(b.Prefix)
	place, err := b.Place(base, name)
	if err != nil {
		t.Fatalf("%s: %v", b.Env, err)
	}
	t.Cleanup(func() { b.Drop(t, base, name, place) })
	return place
}
