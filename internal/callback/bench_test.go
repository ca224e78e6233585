package callback_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/renderhook/renderhook/internal/callback"
	"github.com/renderhook/renderhook/internal/store"
)

func legacyJobs(r *store.Render) []river.JobArgs {
	return []river.JobArgs{callback.StoreArgs{RenderID: r.ID}, callback.LogArgs{RenderID: r.ID},
		callback.CreditsArgs{RenderID: r.ID, SpaceID: r.SpaceID}}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFollowUp: the CPU a render's follow-up costs on SQLite and
// local files, from queuing its jobs in the recording transaction to
// their completion: the one follow-up job against the three jobs of
// earlier versions, in the same process (run them side by side: the
// figure is cpu-ms/render).
func BenchmarkFollowUp(b *testing.B) {
	data := make([]byte, 40<<10) // about the reference card's PNG
	for _, c := range []struct {
		name string
		jobs func(*store.Render) []river.JobArgs
	}{{"one job", callback.Jobs}, {"three legacy jobs", legacyJobs}} {
		b.Run(c.name, func(b *testing.B) {
			bb := setup(b)
			done, cancel := bb.d.Queue.Client().Subscribe(river.EventKindJobCompleted)
			defer cancel()
			perRender := len(c.jobs(&store.Render{}))
			b.ResetTimer()
			start := cpuTime(b)
			for range b.N {
				bb.record(data, false, c.jobs)
			}
			for range b.N * perRender {
				select {
				case <-done:
				case <-time.After(time.Minute):
					b.Fatal("the jobs did not complete")
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/render")
			if n := bb.creditsUsed(); n != int64(b.N) {
				b.Fatalf("%d credits for %d renders", n, b.N)
			}
		})
	}
}
