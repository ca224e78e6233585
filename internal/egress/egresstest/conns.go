package egresstest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// CountConns makes the unstarted test server s count the TCP connections
// it accepts, and returns the count. A test proving that a refused dial
// never connected reads it: a connection that sent no request would
// escape a count kept by the handler.
func CountConns(s *httptest.Server) *atomic.Int32 {
	n := new(atomic.Int32)
	// net/http reports StateNew from its accept loop, in accept order,
	// before serving the connection.
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			n.Add(1)
		}
	}
	return n
}
