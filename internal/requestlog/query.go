package requestlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// ErrInvalidQuery: a listing's query the caller must correct (400); the
// text after "invalid query: " says what.
var ErrInvalidQuery = errors.New("invalid query")

// ErrInvalidCursor: a listing's cursor that no listing made (400); it
// wraps ErrInvalidQuery. The console shows the newest entries instead.
var ErrInvalidCursor = fmt.Errorf("%w: cursor is not one this API returned", ErrInvalidQuery)

// Page sizes of listings (logs, deliveries).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// EncodeCursor is the opaque cursor of the listing entry after which the
// next page starts: its time and id. The API and the console use the same
// one, so a cursor from one works in the other.
func EncodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMilli(), 10) + ":" + id))
}

// DecodeCursor reads a cursor EncodeCursor made; ok is false for anything
// else.
func DecodeCursor(s string) (c *store.LogCursor, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return nil, false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, false
	}
	return &store.LogCursor{CreatedAt: time.UnixMilli(n).UTC(), ID: id}, true
}

// ParseStatusFilter reads a log listing's status filter: an HTTP status
// (404), a class (4xx), succeeded (2xx–3xx) or failed (4xx–5xx), or ""
// for all (0, 0).
func ParseStatusFilter(v string) (lo, hi int, ok bool) {
	switch strings.ToLower(v) {
	case "":
		return 0, 0, true
	case "succeeded", "success", "ok":
		return 200, 399, true
	case "failed", "error":
		return 400, 599, true
	}
	if len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx") && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return c, c + 99, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, false
	}
	return n, n, true
}

// PageQuery reads a listing's limit and cursor, refusing query parameters
// other than those and the listing's own filters.
func PageQuery(q url.Values, filters ...string) (limit int, after *store.LogCursor, err error) {
	for k := range q {
		if k != "limit" && k != "cursor" && !slices.Contains(filters, k) {
			return 0, nil, fmt.Errorf("%w: unknown query parameter %q", ErrInvalidQuery, k)
		}
	}
	limit = DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, nil, fmt.Errorf("%w: limit must be from 1 to %d", ErrInvalidQuery, MaxLimit)
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, ok := DecodeCursor(v)
		if !ok {
			return 0, nil, ErrInvalidCursor
		}
		after = c
	}
	return limit, after, nil
}

// LogQuery reads a log listing's query (status, limit, cursor). The limit
// asked for is one more than the page, to tell whether another follows.
func LogQuery(spaceID string, q url.Values) (store.ListLogsParams, error) {
	p := store.ListLogsParams{SpaceID: spaceID}
	var err error
	if p.Limit, p.After, err = PageQuery(q, "status"); err != nil {
		return p, err
	}
	lo, hi, ok := ParseStatusFilter(q.Get("status"))
	if !ok {
		return p, fmt.Errorf("%w: status must be an HTTP status (404), a class (4xx), succeeded or failed", ErrInvalidQuery)
	}
	p.StatusMin, p.StatusMax = lo, hi
	p.Limit++
	return p, nil
}

// Cut trims a page read with one row more than limit to limit rows, and
// reports whether another page follows.
func Cut[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}
