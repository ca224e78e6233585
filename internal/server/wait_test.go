package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// eventually polls cond every 50 ms until it holds, failing the test with
// what once d has passed.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(d)
	for !cond() {
		select {
		case <-timeout:
			t.Fatalf("after %s: %s", d, what)
		case <-tick.C:
		}
	}
}

// unfinished are the states of a River job that may still run.
var unfinished = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// jobs counts the server's River jobs of kind, in the given states (any
// state when none is given). Jobs are inserted in the transaction that
// records their reason, so a job that is not there will not run:
// rivertest's "not inserted", on the live job table.
func (e *env) jobs(kind string, states ...rivertype.JobState) int {
	e.t.Helper()
	p := river.NewJobListParams().Kinds(kind).First(10000)
	if len(states) > 0 {
		p = p.States(states...)
	}
	res, err := e.srv.Queue.Client().JobList(context.Background(), p)
	if err != nil {
		e.t.Fatalf("list %s jobs: %v", kind, err)
	}
	return len(res.Jobs)
}

// settle waits until no job of kinds may still run: then nothing more
// can be counted, however long one waits.
func (e *env) settle(kinds ...string) {
	e.t.Helper()
	for _, kind := range kinds {
		eventually(e.t, 60*time.Second, kind+" jobs still unfinished", func() bool { return e.jobs(kind, unfinished...) == 0 })
	}
}
