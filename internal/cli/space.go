package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/space"
	"github.com/renderhook/renderhook/internal/store"
)

// spaceCreated is the JSON that `space create --json` prints.
type spaceCreated struct {
	SpaceID       string `json:"spaceId"`
	Name          string `json:"name"`
	CreditLimit   int64  `json:"creditLimit"`
	Token         string `json:"token"`
	TokenID       string `json:"tokenId"`
	WebhookSecret string `json:"webhookSecret"`
	// RenderKey and RenderSecret make signed render links
	// (/v1/{renderKey}/{hmac}/{format}?…); GetRenderToken is ?gt= for
	// token-only page renders by GET.
	RenderKey      string `json:"renderKey"`
	RenderSecret   string `json:"renderSecret"`
	GetRenderToken string `json:"getRenderToken"`
}

// createSpace makes a space (space.Service.Create) and says what to print.
func createSpace(ctx context.Context, st store.Store, name string, limit int64) (*spaceCreated, error) {
	c, err := space.New(st, 0).Create(ctx, name, limit)
	if err != nil {
		return nil, err
	}
	sp := c.Space
	return &spaceCreated{SpaceID: sp.ID, Name: sp.Name, CreditLimit: sp.CreditLimit, Token: c.Token, TokenID: c.TokenID, WebhookSecret: sp.WebhookSecret,
		RenderKey: sp.RenderKey, RenderSecret: sp.RenderSecret, GetRenderToken: sp.GetRenderToken}, nil
}

// spaceFlags are the flags every `space` subcommand but set-rate-limit
// and storage takes (each uses some).
type spaceFlags struct {
	db      *dbFlags
	asJSON  *bool
	name    *string
	limit   *int64
	spaceID *string
	overlap *time.Duration
	revoke  *bool
}

const spaceUsage = "usage: renderhook space create --name N [--credit-limit N] [--json] | space list [--json] | " +
	"space rotate-render-secret --space ID [--render-secret-overlap D] [--json] | space rotate-get-render-token --space ID [--render-secret-overlap D] [--json] | " +
	"space set-rate-limit --space ID --per-minute N | space storage set|show|delete|reseal …"

func spaceCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "set-rate-limit" {
		return spaceRateLimitCmd(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "storage" {
		return spaceStorageCmd(ctx, args[1:], os.Stdin, stdout)
	}
	if len(args) == 0 {
		return errors.New(spaceUsage)
	}
	var run func(context.Context, store.Store, *spaceFlags, io.Writer) error
	switch args[0] {
	case "create":
		run = spaceCreateCmd
	case "list":
		run = spaceListCmd
	case "rotate-render-secret":
		run = rotateCmd(space.RenderSecret)
	case "rotate-get-render-token":
		run = rotateCmd(space.GetRenderToken)
	default:
		return errors.New(spaceUsage)
	}
	fs, db := dbFlagSet("space " + args[0])
	f := spaceFlags{db: db,
		asJSON:  fs.Bool("json", false, "print JSON"),
		name:    fs.String("name", "", "space name (create)"),
		limit:   fs.Int64("credit-limit", 0, "renders the space may use; 0 is unlimited (create)"),
		spaceID: fs.String("space", "", "space id (rotate-*)"),
		overlap: fs.Duration("render-secret-overlap", capability.DefaultOverlap, "how long the rotated-out value keeps working (rotate-*)"),
		revoke:  fs.Bool("revoke-previous", false, "end the rotated-out value at once, after a leak (rotate-*)"),
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	st, err := f.db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return run(ctx, st, &f, stdout)
}

func spaceListCmd(ctx context.Context, st store.Store, f *spaceFlags, stdout io.Writer) error {
	spaces, err := st.ListSpaces(ctx)
	if err != nil {
		return err
	}
	if *f.asJSON {
		type row struct {
			SpaceID     string `json:"spaceId"`
			Name        string `json:"name"`
			CreditLimit int64  `json:"creditLimit"`
			CreditsUsed int64  `json:"creditsUsed"`
			// RenderKey is public (it is in every signed link); the
			// secrets are shown only by create.
			RenderKey string    `json:"renderKey"`
			CreatedAt time.Time `json:"createdAt"`
		}
		rows := []row{}
		for _, s := range spaces {
			rows = append(rows, row{s.ID, s.Name, s.CreditLimit, s.CreditsUsed, s.RenderKey, s.CreatedAt})
		}
		return json.NewEncoder(stdout).Encode(rows)
	}
	for _, s := range spaces {
		fmt.Fprintf(stdout, "%s\t%s\tcredits %d/%d\n", s.ID, s.Name, s.CreditsUsed, s.CreditLimit)
	}
	return nil
}

func spaceCreateCmd(ctx context.Context, st store.Store, f *spaceFlags, stdout io.Writer) error {
	out, err := createSpace(ctx, st, *f.name, *f.limit)
	switch {
	case errors.Is(err, space.ErrNameRequired):
		return errors.New("space create: --name is required")
	case errors.Is(err, space.ErrCreditLimit):
		return errors.New("space create: --credit-limit must be 0 (unlimited) or more")
	case err != nil:
		return err
	}
	if *f.asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "space %s (%s)\ntoken %s\nwebhook secret %s\nrender key %s\nrender secret %s\n(the token is shown only now)\n",
		out.SpaceID, out.Name, out.Token, out.WebhookSecret, out.RenderKey, out.RenderSecret)
	return nil
}

// rotateCmd rotates a space's render secret or GET-render token and
// prints the new value, shown only now; the previous one keeps working
// for --render-secret-overlap, or not at all with --revoke-previous.
func rotateCmd(c space.Credential) func(context.Context, store.Store, *spaceFlags, io.Writer) error {
	return func(ctx context.Context, st store.Store, f *spaceFlags, stdout io.Writer) error {
		which := "rotate-render-secret"
		if c == space.GetRenderToken {
			which = "rotate-get-render-token"
		}
		if *f.spaceID == "" {
			return fmt.Errorf("space %s: --space is required", which)
		}
		overlap := *f.overlap
		if *f.revoke {
			overlap = capability.NoOverlap
		}
		rot, err := space.New(st, 0).Rotate(ctx, c, *f.spaceID, overlap)
		switch {
		case errors.Is(err, space.ErrOverlap):
			return fmt.Errorf("space %s: --render-secret-overlap must be positive (or use --revoke-previous)", which)
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("space %s: no space %s", which, *f.spaceID)
		case err != nil:
			return err
		}
		if *f.asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"spaceId": *f.spaceID, c.Field(): rot.Value, "previousValidUntil": rot.PreviousValidUntil})
		}
		fmt.Fprintf(stdout, "new %s %s\n(shown only now; the previous one keeps working until %s)\n", c.Label(), rot.Value, rot.PreviousValidUntil.Format(time.RFC3339))
		return nil
	}
}
