// Package egresstest helps tests of code behind the egress guard: a DNS
// resolver that answers from memory, so a test can make a host name resolve
// to a forbidden address without any packet leaving the process.
package egresstest

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
)

// FakeResolver is a resolver that answers every A query with answer and every
// other query with no records. It talks over in-memory pipes, so no packet
// leaves the process. queries counts the lookups it served.
func FakeResolver(answer netip.Addr) (r *net.Resolver, queries *atomic.Int32) {
	queries = new(atomic.Int32)
	r = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, answer, queries)
			return client, nil
		},
	}
	return r, queries
}

// serveDNS answers DNS-over-TCP framed queries (the framing Go's resolver
// uses on a conn that is not a PacketConn) until conn is closed.
func serveDNS(conn net.Conn, answer netip.Addr, queries *atomic.Int32) {
	defer conn.Close()
	for {
		var size [2]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(conn, q); err != nil {
			return
		}
		queries.Add(1)
		// Header (12 bytes), then one question: labels, 0, type, class.
		end := 12
		for end < len(q) && q[end] != 0 {
			end += int(q[end]) + 1
		}
		end += 5
		if end > len(q) {
			return
		}
		qtype := binary.BigEndian.Uint16(q[end-4:])
		resp := append([]byte{}, q[0:2]...)         // id
		resp = append(resp, 0x81, 0x80, 0, 1, 0, 0) // response, RD, RA; 1 question
		if qtype == 1 {
			resp[7] = 1 // one answer
		}
		resp = append(resp, 0, 0, 0, 0) // no authority or additional records
		resp = append(resp, q[12:end]...)
		if qtype == 1 {
			a := answer.As4()
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			resp = append(resp, a[:]...)
		}
		n := len(resp)
		if n > math.MaxUint16 {
			return // cannot be framed; a real query is far smaller
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(n))
		if _, err := conn.Write(append(out, resp...)); err != nil {
			return
		}
	}
}
