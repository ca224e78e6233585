package server_test

import (
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/queue"
	"github.com/renderhook/renderhook/internal/server"
)

// TestDerivedDefaults pins the derived defaults operators are told about
// (--http-write-timeout's 210s, --job-rescue-after's 75s) and the rules
// behind them, so a change to either shows here.
func TestDerivedDefaults(t *testing.T) {
	def := server.Config{}.WithDefaults()
	if got := def.HTTP.WriteTimeout; got != 210*time.Second {
		t.Errorf("default write timeout %s, want 210s (60s read + 120s longest v1 render + 30s)", got)
	}
	if got := def.MinRescueAfter(); got != 75*time.Second {
		t.Errorf("default rescue after %s, want 75s (2 x 30s render + 10s, + 5s)", got)
	}
	// A longer render timeout moves both; a long webhook timeout moves the
	// rescue once a delivery's limit is the longest job.
	slow := server.Config{Browser: browser.Config{RenderTimeout: 3 * time.Minute}}.WithDefaults()
	if got := slow.HTTP.WriteTimeout; got != 60*time.Second+3*time.Minute+server.WriteMargin {
		t.Errorf("write timeout with a 3m render timeout: %s", got)
	}
	if got := slow.MinRescueAfter(); got != 6*time.Minute+server.AsyncRenderMargin+server.RescueMargin {
		t.Errorf("rescue after with a 3m render timeout: %s", got)
	}
	hooks := server.Config{Webhooks: delivery.Config{Timeout: 5 * time.Minute}, Queue: queue.Config{JobTimeout: time.Second}}
	if got, want := hooks.MinRescueAfter(), hooks.Webhooks.JobLimit()+server.RescueMargin; got != want {
		t.Errorf("rescue after with a 5m webhook timeout: %s, want %s", got, want)
	}
}
