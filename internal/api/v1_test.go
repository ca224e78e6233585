package api

import "testing"

func TestV1ETagMatch(t *testing.T) {
	for header, want := range map[string]bool{
		`"r1"`: true, `W/"r1"`: true, `"r0", "r1"`: true, `*`: true, `"r2"`: false, ``: false, `r1`: false,
	} {
		if got := etagMatch(header, `"r1"`); got != want {
			t.Errorf("etagMatch(%q) = %v, want %v", header, got, want)
		}
	}
}
