package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// do sends req with client and reads the whole answer, returning its
// header and body; what names the call in errors. A status other than
// those in ok (200 when none is given) is an error quoting the answer's
// start.
func do(client *http.Client, req *http.Request, what string, ok ...int) (http.Header, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read: %w", what, err)
	}
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	if !slices.Contains(ok, resp.StatusCode) {
		return nil, nil, fmt.Errorf("%s: %s: %.300s", what, resp.Status, bytes.TrimSpace(data))
	}
	return resp.Header, data, nil
}
