package queue

// LockTries reports how many times the queue has tried to take its node
// identity's lock, so a test can wait for a retry instead of sleeping.
func (q *Queue) LockTries() int64 { return q.lockTries.Load() }
