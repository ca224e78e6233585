package postgres

import "testing"

// TestBind numbers the shared statements' ? placeholders, leaving quoted
// text (a '?' in a literal) alone.
func TestBind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`UPDATE t SET a = ?, b = ? WHERE id = ?`, `UPDATE t SET a = $1, b = $2 WHERE id = $3`},
		{`SELECT '?' || ?, 'it''s ?' WHERE x = ?`, `SELECT '?' || $1, 'it''s ?' WHERE x = $2`},
		{`INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, `INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`},
	} {
		if got := bind(c.in); got != c.want {
			t.Errorf("bind(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := bind(c.in); got != c.want {
			t.Errorf("bind(%q) again (cached) = %q, want %q", c.in, got, c.want)
		}
	}
}
