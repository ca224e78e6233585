package testkit

import (
	"net/url"
	"testing"
)

// FuzzQuery fuzzes a parser of URL query strings: the seeds start the
// corpus, and check is called with every raw string url.ParseQuery
// accepts and the values it parsed (a string it refuses is skipped).
func FuzzQuery(f *testing.F, seeds []string, check func(t *testing.T, raw string, q url.Values)) {
	f.Helper()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check(t, raw, q)
	})
}
