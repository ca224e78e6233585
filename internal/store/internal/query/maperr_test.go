package query

import (
	"errors"
	"fmt"
	"testing"

	"github.com/renderhook/renderhook/internal/store"
)

func TestMapErr(t *testing.T) {
	noRows, violation, other := errors.New("no rows"), errors.New("duplicate key"), errors.New("disk full")
	conflict := func(err error) (string, bool) {
		if errors.Is(err, violation) {
			return "key (id)=(x) exists", true
		}
		return "", false
	}
	if err := MapErr(nil, noRows, conflict); err != nil {
		t.Fatalf("nil mapped to %v", err)
	}
	if err := MapErr(fmt.Errorf("scan: %w", noRows), noRows, conflict); err != store.ErrNotFound {
		t.Fatalf("no row mapped to %v, want store.ErrNotFound", err)
	}
	if err := MapErr(violation, noRows, conflict); !errors.Is(err, store.ErrConflict) || err.Error() != store.ErrConflict.Error()+": key (id)=(x) exists" {
		t.Fatalf("violation mapped to %v, want store.ErrConflict with the driver's message", err)
	}
	if err := MapErr(other, noRows, conflict); err != other {
		t.Fatalf("other error mapped to %v, want it unchanged", err)
	}
}
