package cli

import (
	"flag"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/api"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/server"
)

// TestServeFlagDefaultsAreTheComponents: serve with no flags runs with
// exactly the defaults the components apply to a zero Config, so a default
// changed in a component cannot leave a stale one in the CLI.
func TestServeFlagDefaultsAreTheComponents(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg server.Config
	flags := registerServeFlags(fs, &cfg)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if err := flags.apply(&cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, want := cfg.WithDefaults(), server.Config{}.WithDefaults()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"addr", got.Addr, want.Addr},
		{"data dir", got.DataDir, want.DataDir},
		{"role", got.Role, want.Role},
		{"shutdown timeout", got.ShutdownTimeout, want.ShutdownTimeout},
		{"log retention", got.LogRetention, want.LogRetention},
		{"HTTP", got.HTTP, want.HTTP},
		{"rescue after", got.MinRescueAfter(), want.MinRescueAfter()},
		{"sync redirect after", api.Config{SyncRedirectAfter: got.SyncRedirectAfter}.WithDefaults().SyncRedirectAfter, api.Config{}.WithDefaults().SyncRedirectAfter},
	} {
		if c.got != c.want {
			t.Errorf("%s: flag default %v, component default %v", c.name, c.got, c.want)
		}
	}
	gw, ww := got.Webhooks.WithDefaults(), delivery.Config{}.WithDefaults()
	if gw.SignatureHeader != ww.SignatureHeader || gw.DisableAfter != ww.DisableAfter || gw.Workers != ww.Workers ||
		gw.MaxInFlightPerEndpoint != ww.MaxInFlightPerEndpoint || gw.BreakAfter != ww.BreakAfter || gw.BreakerCooldown != ww.BreakerCooldown || !slices.Equal(gw.Schedule, ww.Schedule) {
		t.Errorf("webhook flag defaults %+v differ from delivery's %+v", gw, ww)
	}
	if cfg.Queue.RescueAfter != 0 || cfg.HTTP.WriteTimeout != 0 || cfg.Webhooks.MaxInFlightPerEndpoint != 0 {
		t.Error("a derived default is fixed by its flag instead of derived by the component")
	}
}

// TestFormatSchedule: the schedule in --webhook-retry-schedule's help is
// the one delivery applies, written as the flag takes it.
func TestFormatSchedule(t *testing.T) {
	got := formatSchedule(delivery.DefaultSchedule)
	if got != "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h" {
		t.Errorf("formatSchedule(DefaultSchedule) = %q", got)
	}
	back, err := delivery.ParseSchedule(got)
	if err != nil || !slices.Equal(back, delivery.DefaultSchedule) {
		t.Errorf("ParseSchedule(%q) = %v, %v; want DefaultSchedule back", got, back, err)
	}
	for d, want := range map[time.Duration]string{0: "0s", 75 * time.Second: "1m15s", 168 * time.Hour: "168h", 90 * time.Minute: "1h30m"} {
		if s := shortDuration(d); s != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, s, want)
		}
	}
}
