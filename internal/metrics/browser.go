package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/renderhook/renderhook/internal/browser"
)

// BrowserSource is what the browser collector reads: the pool's snapshot
// and the pid at the root of the Chromium process tree.
type BrowserSource interface {
	Stats() browser.Stats
	BrowserPID() int
}

type browserCollector struct {
	src                                         BrowserSource
	tabs, spares, queue, restarts, crashes, rss *prometheus.Desc
}

func newBrowserCollector(src BrowserSource) *browserCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &browserCollector{
		src:      src,
		tabs:     d("renderhook_browser_tabs", "Warm tabs of the current browser, busy (running a render) or idle.", "state"),
		spares:   d("renderhook_browser_spare_contexts", "Spare browser contexts made ahead of URL renders."),
		queue:    d("renderhook_browser_queue_length", "Renders waiting for a tab."),
		restarts: d("renderhook_browser_restarts_total", "Browser relaunches, after a crash or a recycle."),
		crashes:  d("renderhook_browser_crashes_total", "Browsers that exited on their own (crashed or were killed as hung)."),
		rss:      d("renderhook_browser_rss_bytes", "Resident memory of the whole Chromium process tree."),
	}
}

func (c *browserCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.tabs, c.spares, c.queue, c.restarts, c.crashes, c.rss} {
		ch <- d
	}
}

func (c *browserCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.tabs, float64(s.Busy), "busy")
	g(c.tabs, float64(max(0, s.Tabs-s.Busy)), "idle")
	g(c.spares, float64(s.Spares))
	g(c.queue, float64(max(0, s.Queued)))
	ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(s.Restarts))
	ch <- prometheus.MustNewConstMetric(c.crashes, prometheus.CounterValue, float64(s.Crashes))
	if pid := c.src.BrowserPID(); pid > 0 {
		g(c.rss, float64(TreeRSS("/proc", pid)))
	}
}

// TreeRSS is the resident memory, in bytes, of pid and all its
// descendants as procfs (mounted at proc) shows them now; processes that
// exit while it reads are skipped.
func TreeRSS(proc string, pid int) int64 {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return 0
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := parentOf(proc, p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	page := int64(os.Getpagesize())
	var total int64
	seen := map[int]bool{}
	for todo := []int{pid}; len(todo) > 0; {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		total += residentPages(proc, p) * page
		todo = append(todo, children[p]...)
	}
	return total
}

// parentOf reads the ppid field of /proc/pid/stat (after the command,
// which may itself hold spaces and parentheses).
func parentOf(proc string, pid int) int {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat")) //nolint:gosec // a procfs path made of a pid
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(string(f[1]))
	return pp
}

// residentPages reads the resident field of /proc/pid/statm.
func residentPages(proc string, pid int) int64 {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "statm")) //nolint:gosec // a procfs path made of a pid
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return n
}
