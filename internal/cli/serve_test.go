package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeRoleNeedsPostgres checks that --role (or RENDERHOOK_ROLE)
// reaches the server, and that split roles are refused on SQLite, which
// one process must own, before anything starts.
func TestServeRoleNeedsPostgres(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"flag api", []string{"--role", "api"}, "", "--role api needs a shared database"},
		{"env worker", nil, "worker", "--role worker needs a shared database"},
		{"unknown", []string{"--role", "both"}, "", `unknown --role "both"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("RENDERHOOK_ROLE", tc.env)
			}
			var out, errb bytes.Buffer
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, tc.args...)
			if code := Main(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errb.String(), tc.want)
			}
		})
	}
}
