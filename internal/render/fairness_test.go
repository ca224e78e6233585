package render

import "testing"

func TestPriorityForBacklog(t *testing.T) {
	for _, tc := range []struct{ queued, want int }{
		{1, 1}, {4, 1}, {5, 2}, {32, 2}, {33, 3}, {256, 3}, {257, 4}, {100000, 4},
	} {
		if got := priorityForBacklog(tc.queued); got != tc.want {
			t.Errorf("priorityForBacklog(%d) = %d, want %d", tc.queued, got, tc.want)
		}
	}
}
