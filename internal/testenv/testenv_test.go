package testenv

import (
	"regexp"
	"testing"
)

func TestName(t *testing.T) {
	a, b := Name("t_"), Name("t_")
	if !regexp.MustCompile(`^t_[0-9a-f]{12}$`).MatchString(a) || a == b {
		t.Fatalf("Name: %q, %q; want t_ and 12 hex digits, different each time", a, b)
	}
}

func TestRequire(t *testing.T) {
	t.Setenv("RENDERHOOK_TESTENV_X", "postgres://x")
	if got := Require(t, "RENDERHOOK_TESTENV_X", "scripts/pg-test.sh"); got != "postgres://x" {
		t.Fatalf("Require = %q", got)
	}
	t.Run("unset skips", func(t *testing.T) {
		t.Setenv("RENDERHOOK_TESTENV_X", "")
		Require(t, "RENDERHOOK_TESTENV_X", "scripts/pg-test.sh")
		t.Fatal("Require went on without the variable")
	})
}
