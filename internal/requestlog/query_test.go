package requestlog

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/testkit"
)

func TestCursorRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123).UTC()
	c, ok := DecodeCursor(EncodeCursor(at, "req_1"))
	if !ok || !c.CreatedAt.Equal(at) || c.ID != "req_1" {
		t.Fatalf("decoded %+v %v", c, ok)
	}
	for _, bad := range []string{"!!", "bm9jb2xvbg", EncodeCursor(at, "")} {
		if _, ok := DecodeCursor(bad); ok {
			t.Errorf("DecodeCursor(%q) ok", bad)
		}
	}
}

func TestParseStatusFilter(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"", 0, 0, true}, {"succeeded", 200, 399, true}, {"FAILED", 400, 599, true}, {"4xx", 400, 499, true},
		{"404", 404, 404, true}, {"6xx", 0, 0, false}, {"99", 0, 0, false}, {"teapot", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, ok := ParseStatusFilter(tt.in)
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("ParseStatusFilter(%q) = %d, %d, %v", tt.in, lo, hi, ok)
		}
	}
}

func TestLogQuery(t *testing.T) {
	p, err := LogQuery("spc_1", url.Values{"status": {"5xx"}, "limit": {"10"}})
	if err != nil || p.Limit != 11 || p.StatusMin != 500 || p.StatusMax != 599 || p.SpaceID != "spc_1" {
		t.Fatalf("LogQuery = %+v, %v", p, err)
	}
	for _, q := range []url.Values{{"limit": {"0"}}, {"limit": {"201"}}, {"cursor": {"x"}}, {"sort": {"asc"}}, {"status": {"7xx"}}} {
		if _, err := LogQuery("spc_1", q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("LogQuery(%v) err %v, want ErrInvalidQuery", q, err)
		}
	}
	// The console tells a stale cursor from a bad filter by ErrInvalidCursor.
	if _, err := LogQuery("spc_1", url.Values{"cursor": {"x"}, "status": {"404"}}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("bad cursor: %v, want ErrInvalidCursor", err)
	}
	if _, err := LogQuery("spc_1", url.Values{"status": {"7xx"}}); errors.Is(err, ErrInvalidCursor) {
		t.Errorf("bad status: %v, is no cursor error", err)
	}
}

// FuzzLogQuery holds the log listing's rule to its promises on any query
// string: a refusal wraps ErrInvalidQuery, and an accepted query asks for
// one more row than a page of 1 to MaxLimit, in a status range of HTTP
// statuses (or all), after a cursor EncodeCursor could have made.
func FuzzLogQuery(f *testing.F) {
	seeds := []string{"", "status=4xx&limit=10", "status=failed&cursor=" + EncodeCursor(time.UnixMilli(1), "req_1"),
		"cursor=%25", "limit=0", "sort=asc", "status=6xx", "status=404&status=500"}
	testkit.FuzzQuery(f, seeds, func(t *testing.T, raw string, q url.Values) {
		p, err := LogQuery("spc_1", q)
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("%q: %v does not wrap ErrInvalidQuery", raw, err)
			}
			return
		}
		if p.Limit < 2 || p.Limit > MaxLimit+1 || p.SpaceID != "spc_1" {
			t.Fatalf("%q: limit %d, space %q", raw, p.Limit, p.SpaceID)
		}
		if (p.StatusMin != 0 || p.StatusMax != 0) && (p.StatusMin < 100 || p.StatusMax > 599 || p.StatusMin > p.StatusMax) {
			t.Fatalf("%q: status range %d-%d", raw, p.StatusMin, p.StatusMax)
		}
		if p.After != nil && p.After.ID == "" {
			t.Fatalf("%q: a cursor without an id", raw)
		}
	})
}

func TestCut(t *testing.T) {
	rows, more := Cut([]int{1, 2, 3}, 2)
	if len(rows) != 2 || !more {
		t.Errorf("Cut = %v, %v", rows, more)
	}
	if rows, more = Cut([]int{1, 2}, 2); len(rows) != 2 || more {
		t.Errorf("Cut = %v, %v", rows, more)
	}
}
