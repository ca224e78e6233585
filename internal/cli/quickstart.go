package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/renderhook/renderhook/internal/demo"
	"github.com/renderhook/renderhook/internal/page"
	"github.com/renderhook/renderhook/internal/store"
)

// DemoTemplateHTML is the social-card template quickstart installs
// (internal/demo); the benchmark renders the same HTML.
const DemoTemplateHTML = demo.CardHTML

// DemoVariables are the demo template's variables.
var DemoVariables = demo.CardVariables

// quickstartFile is kept in the data dir so later runs can print the same
// working token; the database itself only has the token's hash.
type quickstartFile struct {
	SpaceID string `json:"spaceId"`
	Token   string `json:"token"`
	PageID  string `json:"pageId"`
	// WebhookSecret verifies the space's webhooks; RenderKey and
	// RenderSecret make signed v1 render links. Shown once here, as
	// `space create --json` shows them.
	WebhookSecret string `json:"webhookSecret,omitempty"`
	RenderKey     string `json:"renderKey,omitempty"`
	RenderSecret  string `json:"renderSecret,omitempty"`
}

func quickstart(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlagSet("quickstart")
	addr := fs.String("addr", "127.0.0.1:8080", "address the server will listen on (for the printed curl line)")
	publicURL := fs.String("public-url", "", "public base URL (default http://<addr>)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base := *publicURL
	if base == "" {
		base = "http://" + *addr
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	path := filepath.Join(db.dataDir, "quickstart.json")
	var qs quickstartFile
	b, err := os.ReadFile(path) // #nosec G304 -- a file in the operator's own --data-dir
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &qs); err != nil {
			return fmt.Errorf("read %s: %w (delete it to start over)", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		spaces, err := st.ListSpaces(ctx)
		if err != nil {
			return err
		}
		if len(spaces) > 0 {
			fmt.Fprintf(stdout, "This data dir already has %d space(s). Create a token with:\n  renderhook token create --data-dir %s --space %s\n",
				len(spaces), db.dataDir, spaces[0].ID)
			return nil
		}
		if qs, err = seedDemo(ctx, st); err != nil {
			return err
		}
		out, _ := json.MarshalIndent(qs, "", "  ")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	default:
		return fmt.Errorf("read %s: %w", path, err)
	}

	q := url.Values{}
	q.Set("tweak:title", "Hello, world")
	fmt.Fprintf(stdout, `
renderhook is set up.
  space  %s
  token  %s
  page   %s
  webhook signing secret  %s
(these are also in %s, with the render key and secret for signed
links; delete that file once you have saved them)

Render the demo page once the server is up:
  curl -fsS -H "Authorization: Bearer %s" "%s/api/render/%s?%s" -o hello.png

`, qs.SpaceID, qs.Token, qs.PageID, qs.WebhookSecret, path, qs.Token, base, qs.PageID, q.Encode())
	return nil
}

func seedDemo(ctx context.Context, st store.Store) (quickstartFile, error) {
	created, err := createSpace(ctx, st, "default", 0)
	if err != nil {
		return quickstartFile{}, err
	}
	pages := page.New(st)
	name, html, size, vars, tokenOnly := "Social card", DemoTemplateHTML, 1200, DemoVariables, true
	height := 630
	tpl, err := pages.CreateTemplate(ctx, created.SpaceID, page.TemplateInput{
		Name: &name, HTML: &html, Width: &size, Height: &height, Variables: &vars, RequireGetRenderToken: &tokenOnly,
	})
	if err != nil {
		return quickstartFile{}, fmt.Errorf("create demo template: %w", err)
	}
	pageName, values := "Demo card", map[string]any{}
	pg, err := pages.CreatePage(ctx, created.SpaceID, page.Input{TemplateID: &tpl.ID, Name: &pageName, Values: &values, Publish: true})
	if err != nil {
		return quickstartFile{}, fmt.Errorf("create demo page: %w", err)
	}
	return quickstartFile{SpaceID: created.SpaceID, Token: created.Token, PageID: pg.ID,
		WebhookSecret: created.WebhookSecret, RenderKey: created.RenderKey, RenderSecret: created.RenderSecret}, nil
}
