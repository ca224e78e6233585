package requestlog

import (
	"errors"
	"net/url"
	"testing"
	"time"
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
