package ui

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/store/sqlite/sqlitetest"
)

func TestSessionCookie(t *testing.T) {
	s := &Server{key: []byte("0123456789abcdef0123456789abcdef")}
	hash := sha256.Sum256([]byte("rh_token"))
	now := time.Now()
	v := s.cookieValue(hash[:], now.Add(time.Hour))

	t.Run("valid", func(t *testing.T) {
		got, ok := s.parseCookie(v, now)
		if !ok || string(got) != string(hash[:]) {
			t.Fatalf("parseCookie(%q) = %x, %v", v, got, ok)
		}
		if strings.Contains(v, "rh_token") {
			t.Fatal("cookie carries the token")
		}
	})
	t.Run("expired", func(t *testing.T) {
		if _, ok := s.parseCookie(v, now.Add(time.Hour+time.Second)); ok {
			t.Fatal("expired cookie accepted")
		}
	})
	t.Run("tampered", func(t *testing.T) {
		parts := strings.Split(v, ".")
		later := s.cookieValue(hash[:], now.Add(48*time.Hour))
		for name, bad := range map[string]string{
			"expiry pushed out": parts[0] + "." + strings.Split(later, ".")[1] + "." + parts[2],
			"other hash":        strings.Repeat("ab", 32) + "." + parts[1] + "." + parts[2],
			"no signature":      parts[0] + "." + parts[1],
			"empty":             "",
			"garbage":           "a.b.c",
		} {
			if _, ok := s.parseCookie(bad, now); ok {
				t.Errorf("%s: accepted", name)
			}
		}
	})
	t.Run("other key", func(t *testing.T) {
		other := &Server{key: []byte("fedcba9876543210fedcba9876543210")}
		if _, ok := other.parseCookie(v, now); ok {
			t.Fatal("a cookie signed with another key was accepted")
		}
	})
	t.Run("csrf differs from cookie signature", func(t *testing.T) {
		if s.mac("csrf", v) == s.mac("session", v) {
			t.Fatal("purposes are not separated")
		}
	})
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs   []int64
		p    float64
		want int64
	}{
		{nil, 50, 0},
		{[]int64{7}, 95, 7},
		{[]int64{5, 1, 4, 2, 3}, 50, 3},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 95, 100},
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 50, 50},
	} {
		if got := percentile(append([]int64(nil), tc.xs...), tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %d, want %d", tc.xs, tc.p, got, tc.want)
		}
	}
}

func TestAxisMax(t *testing.T) {
	for top, want := range map[float64]float64{0: 4, 1: 4, 4: 4, 5: 8, 6: 8, 9: 20, 153: 200, 1234: 2000, 30000: 40000} {
		if got := axisMax(top); got != want {
			t.Errorf("axisMax(%v) = %v, want %v", top, got, want)
		}
	}
}

// TestDailyStats counts renders per UTC day from a real SQLite store.
func TestDailyStats(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Migrated(t)
	sp := &store.Space{ID: store.NewID("spc"), Name: "s", CreatedAt: time.Now()}
	if err := st.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	n := 0
	add := func(at time.Time, status int, renderID, errMsg string, totalMs int64) {
		n++
		l := &store.RequestLog{ID: fmt.Sprintf("req_%04d", n), SpaceID: sp.ID, CreatedAt: at, Method: "GET", Path: "/api/render/x",
			Status: status, RenderID: renderID, Error: errMsg, TotalMs: totalMs, Callbacks: map[string]store.CallbackState{}}
		if err := st.CreateRequestLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	today := now.Add(-time.Hour)
	for i, ms := range []int64{100, 200, 300, 400, 1000} {
		add(today.Add(time.Duration(i)*time.Minute), 200, fmt.Sprintf("rnd_t%d", i), "", ms)
	}
	add(today, 422, "", "template error", 0)             // failed before a render
	add(today, 404, "", "", 0)                           // neither render nor error: not counted
	add(today, 202, "rnd_async", "", 0)                  // queued async render: not counted yet
	add(now.AddDate(0, 0, -3), 200, "rnd_old", "", 50)   // three days ago
	add(now.AddDate(0, 0, -40), 200, "rnd_gone", "", 50) // before the chart

	list := func(p store.ListLogsParams) ([]*store.RequestLog, error) { return st.ListRequestLogs(ctx, p) }
	days, scanned, capped, err := dailyStats(list, sp.ID, now, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != chartDays || !days[chartDays-1].Today || days[chartDays-1].Day != "2026-03-31" || days[0].Day != "2026-03-02" {
		t.Fatalf("days run %s … %s", days[0].Day, days[len(days)-1].Day)
	}
	d := days[chartDays-1]
	if d.Succeeded != 5 || d.Failed != 1 || d.P50 != 300 || d.P95 != 1000 {
		t.Fatalf("today: %+v", *d)
	}
	if old := days[chartDays-4]; old.Day != "2026-03-28" || old.Succeeded != 1 || old.P50 != 50 {
		t.Fatalf("three days ago: %+v", *old)
	}
	if capped || scanned != 9 {
		t.Fatalf("scanned %d capped %v, want 9 entries in the window, not capped", scanned, capped)
	}

	// A cap below the window's entries says so.
	_, scanned, capped, err = dailyStats(list, sp.ID, now, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !capped || scanned != 4 {
		t.Fatalf("with cap 4: scanned %d capped %v", scanned, capped)
	}
	// A cap exactly at the window's entries is not a cut.
	if _, _, capped, _ = dailyStats(list, sp.ID, now, 9); capped {
		t.Fatal("cap equal to the window's entries reported as capped")
	}

	// The charts: today's bars, and a point per day with renders.
	c := countChart(days)
	var todays []string
	for _, b := range c.Bars {
		if b.Today {
			todays = append(todays, b.Kind)
		}
	}
	if strings.Join(todays, ",") != "succeeded,failed" {
		t.Fatalf("today's bars %v", todays)
	}
	if tc := timeChart(days); len(tc.Dots) != 4 || strings.Count(tc.P50, ",") != 2 {
		t.Fatalf("time chart dots %d, p50 points %q", len(tc.Dots), tc.P50)
	}
}

func TestFromThisHost(t *testing.T) {
	for _, tc := range []struct {
		origin, referer, fwdHost string
		ok                       bool
	}{
		{"http://console.example", "", "", true},
		{"https://console.example", "", "", true},
		{"", "http://console.example/ui/logs", "", true},
		{"https://evil.example", "http://console.example/ui/logs", "", false},
		{"null", "", "", false},
		{"", "", "", false},
		{"http://console.example.evil.example", "", "", false},
		{"http://public.example", "", "public.example", true},
		{"javascript://console.example", "", "", false},
	} {
		r := newRequest("POST", "http://console.example/ui/tokens")
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		if tc.fwdHost != "" {
			r.Header.Set("X-Forwarded-Host", tc.fwdHost)
		}
		if got := fromThisHost(r); got != tc.ok {
			t.Errorf("origin %q referer %q fwd %q: %v, want %v", tc.origin, tc.referer, tc.fwdHost, got, tc.ok)
		}
	}
}

func newRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}
