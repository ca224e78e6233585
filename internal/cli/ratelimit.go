package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/renderhook/renderhook/internal/space"
)

// spaceRateLimitCmd sets or removes a space's render rate limit:
// `space set-rate-limit --space ID --per-minute N` (0 removes it).
func spaceRateLimitCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlagSet("space set-rate-limit")
	spaceID := fs.String("space", "", "space id")
	perMinute := fs.Int("per-minute", -1, "render requests a minute the space may make; 0 removes the limit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *spaceID == "" || *perMinute < 0 {
		return errors.New("usage: renderhook space set-rate-limit --space ID --per-minute N (0 removes the limit)")
	}
	if space.CheckRateLimit(*perMinute) != nil {
		return fmt.Errorf("space set-rate-limit: --per-minute must be at most %d", space.MaxRatePerMinute)
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := space.New(st, 0).SetRateLimit(ctx, *spaceID, *perMinute); err != nil {
		return fmt.Errorf("space set-rate-limit: %w", err)
	}
	if *perMinute == 0 {
		fmt.Fprintf(stdout, "space %s: no rate limit\n", *spaceID)
		return nil
	}
	fmt.Fprintf(stdout, "space %s: %d render requests a minute (in effect on every node within a few seconds)\n", *spaceID, *perMinute)
	return nil
}
