package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// recorder group-commits attempt records: the delivery workers hand it
// their attempts and each waits until its own is committed, while one
// goroutine writes whatever has piled up in one statement
// (store.RecordDeliveryAttempts). Under load, a hundred workers' records
// cost one round trip and one commit instead of a hundred; at a trickle,
// a record is written alone at once, with no timer adding latency.
//
// It is a write batcher, not a queue: nothing is held past the call that
// hands it in, so a crash loses only records whose Work has not returned,
// and River retries those jobs.
type recorder struct {
	st store.Store
	// max bounds one batch (and so one statement's arrays).
	max int
	// timeout bounds one batch's write; a worker waits at most this long.
	timeout time.Duration
	// onWrite, when set, is told the size of each batch written (tests
	// count the writes).
	onWrite func(n int)

	mu      sync.Mutex
	pending []*pendingRecord
	writing bool // a goroutine is draining pending
}

type pendingRecord struct {
	rec  store.AttemptRecord
	err  error
	done chan struct{}
}

// recordBatchMax is how many attempts one write records at most: a burst
// of every default worker (DefaultWorkers) takes two writes.
const recordBatchMax = 256

// recordTimeout bounds one write of records, within the room JobLimit
// leaves after an attempt.
const recordTimeout = 5 * time.Second

func newRecorder(st store.Store) *recorder {
	return &recorder{st: st, max: recordBatchMax, timeout: recordTimeout}
}

// record appends the attempt to delivery id and sets its status, and
// returns once that is committed (or has failed, with the error;
// store.ErrNotFound when the delivery is gone). It does not give up early
// when a job's context ends: the attempt happened, and its record is
// kept if it can be.
func (r *recorder) record(id string, a store.DeliveryAttempt, status string) error {
	p := &pendingRecord{rec: store.AttemptRecord{DeliveryID: id, Attempt: a, Status: status}, done: make(chan struct{})}
	r.mu.Lock()
	r.pending = append(r.pending, p)
	if !r.writing {
		r.writing = true
		go r.drain()
	}
	r.mu.Unlock()
	<-p.done
	return p.err
}

// drain writes batches until nothing is pending. Records that arrive
// while a batch is being written make up the next one.
func (r *recorder) drain() {
	for {
		r.mu.Lock()
		n := min(len(r.pending), r.max)
		if n == 0 {
			r.pending = nil
			r.writing = false
			r.mu.Unlock()
			return
		}
		batch := r.pending[:n:n]
		r.pending = r.pending[n:]
		r.mu.Unlock()
		r.write(batch)
	}
}

func (r *recorder) write(batch []*pendingRecord) {
	recs := make([]store.AttemptRecord, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	found, err := r.st.RecordDeliveryAttempts(ctx, recs)
	cancel()
	if r.onWrite != nil {
		r.onWrite(len(recs))
	}
	for i, p := range batch {
		switch {
		case err != nil:
			p.err = fmt.Errorf("record %d attempts: %w", len(recs), err)
		case !found[i]:
			p.err = store.ErrNotFound
		}
		close(p.done)
	}
}
