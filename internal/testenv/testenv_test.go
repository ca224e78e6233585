package testenv

import (
	"regexp"
	"slices"
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

func TestBackend(t *testing.T) {
	t.Setenv("RENDERHOOK_TESTENV_X", "s3://server")
	var dropped []string
	b := Backend{
		Env: "RENDERHOOK_TESTENV_X", Script: "scripts/x-test.sh", Prefix: "b_",
		Place: func(base, name string) (string, error) { return base + "/" + name, nil },
		Drop:  func(_ testing.TB, base, name, place string) { dropped = append(dropped, base, name, place) },
	}
	if !b.Enabled() {
		t.Fatal("Enabled with the variable set")
	}
	var place string
	t.Run("place", func(t *testing.T) {
		place = b.URL(t)
		if !regexp.MustCompile(`^s3://server/b_[0-9a-f]{12}$`).MatchString(place) || len(dropped) != 0 {
			t.Fatalf("URL = %q, dropped %v before the test ended", place, dropped)
		}
	})
	if want := []string{"s3://server", place[len("s3://server/"):], place}; !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v when the test ended, want %v", dropped, want)
	}
	t.Run("unset skips", func(t *testing.T) {
		t.Setenv("RENDERHOOK_TESTENV_X", "")
		if b.Enabled() {
			t.Error("Enabled without the variable")
		}
		b.URL(t)
		t.Fatal("URL went on without the variable")
	})
}
