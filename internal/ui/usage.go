package ui

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/store"
)

// chartDays is how many days the usage charts cover, today included.
const chartDays = 30

// dayStats is one UTC day of renders.
type dayStats struct {
	Day       string // 2006-01-02
	Label     string // Jan 2
	Succeeded int
	Failed    int
	P50, P95  int64 // render time of succeeded renders, ms; 0 without any
	Today     bool
	times     []int64
}

// dailyStats reads the space's log newest first, page by page, back to the
// first of the chart's days or until limit entries are read, and counts
// renders per day: an entry with a render id and status 200 is a succeeded
// render (its TotalMs is the render time); status 400 or more with a
// render id or an error is a failed one. capped reports that the limit
// stopped the scan before the oldest day was complete.
func dailyStats(list func(store.ListLogsParams) ([]*store.RequestLog, error), spaceID string, now time.Time, limit int) (days []*dayStats, scanned int, capped bool, err error) {
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(chartDays - 1))
	byDay := make(map[string]*dayStats, chartDays)
	for i := range chartDays {
		d := since.AddDate(0, 0, i)
		ds := &dayStats{Day: d.Format("2006-01-02"), Label: d.Format("Jan 2"), Today: i == chartDays-1}
		days = append(days, ds)
		byDay[ds.Day] = ds
	}
	p := store.ListLogsParams{SpaceID: spaceID, Limit: 500}
scan:
	for {
		p.Limit = min(500, limit-scanned)
		if p.Limit <= 0 {
			// At the cap: capped only if an entry of the window is left.
			p.Limit = 1
			more, err := list(p)
			if err != nil {
				return nil, 0, false, err
			}
			capped = len(more) > 0 && !more[0].CreatedAt.Before(since)
			break
		}
		page, err := list(p)
		if err != nil {
			return nil, 0, false, err
		}
		for _, l := range page {
			if l.CreatedAt.Before(since) {
				break scan
			}
			scanned++
			ds := byDay[l.CreatedAt.UTC().Format("2006-01-02")]
			if ds == nil { // a clock ahead of ours; not on the chart
				continue
			}
			switch {
			case l.RenderID != "" && l.Status == http.StatusOK:
				ds.Succeeded++
				ds.times = append(ds.times, l.TotalMs)
			case l.Status >= 400 && (l.RenderID != "" || l.Error != "" || l.ErrorCode != ""):
				ds.Failed++
			}
		}
		if len(page) < p.Limit {
			break
		}
		last := page[len(page)-1]
		p.After = &store.LogCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	for _, ds := range days {
		ds.P50, ds.P95 = percentile(ds.times, 50), percentile(ds.times, 95)
	}
	return days, scanned, capped, nil
}

// percentile is the nearest-rank percentile of xs (sorted in place); 0 for
// no values.
func percentile(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	return xs[min(max(rank, 1), len(xs))-1]
}

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW    = 900
	chartH    = 300
	padLeft   = 64
	padRight  = 10
	padTop    = 12
	padBottom = 34
	yTicks    = 4
)

type bar struct {
	Day, Kind, Title string
	Today            bool
	X, Y, W, H       string
}

type tick struct {
	Y, Label string
}

type xLabel struct {
	X, Label string
	Anchor   string // text-anchor: the last label ends at the plot's edge
}

type point struct {
	X, Y, Kind, Title string
}

// chart is a server-drawn SVG chart.
type chart struct {
	W, H     int
	Left     int
	Bottom   string
	Right    int
	Bars     []bar
	Ticks    []tick
	XLabels  []xLabel
	P50, P95 string // polyline points
	Dots     []point
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten.
func niceCeil(n float64) float64 {
	if n <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(n)))
	for _, m := range []float64{1, 2, 5, 10} {
		if n <= m*mag*(1+1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// axisMax is the top of a y axis for values up to top: yTicks steps of a
// round size (1, 2 or 5 times a power of ten, at least 1), so every tick
// is a whole, round number.
func axisMax(top float64) float64 {
	return yTicks * max(1, niceCeil(top/yTicks))
}

// compact spells a tick value briefly: 950, 1.5k, 20k.
func compact(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func frame(yMax float64) (c chart, plotH, slot float64) {
	c = chart{W: chartW, H: chartH, Left: padLeft, Right: chartW - padRight, Bottom: f1(chartH - padBottom)}
	plotH = chartH - padTop - padBottom
	for i := 0; i <= yTicks; i++ {
		c.Ticks = append(c.Ticks, tick{Y: f1(chartH - padBottom - plotH*float64(i)/yTicks), Label: compact(yMax * float64(i) / yTicks)})
	}
	slot = float64(chartW-padLeft-padRight) / chartDays
	return c, plotH, slot
}

func (c *chart) labelDays(days []*dayStats, slot float64) {
	for i, d := range days {
		if (chartDays-1-i)%7 != 0 { // today and every 7th day before it
			continue
		}
		l := xLabel{X: f1(padLeft + slot*(float64(i)+0.5)), Label: d.Label, Anchor: "middle"}
		if i == len(days)-1 {
			l.X, l.Anchor = f1(chartW-padRight), "end"
		}
		c.XLabels = append(c.XLabels, l)
	}
}

// countChart stacks failed renders on succeeded ones, one bar per day.
func countChart(days []*dayStats) chart {
	top := 0
	for _, d := range days {
		top = max(top, d.Succeeded+d.Failed)
	}
	yMax := axisMax(float64(top))
	c, plotH, slot := frame(yMax)
	base := float64(chartH - padBottom)
	for i, d := range days {
		x := padLeft + slot*float64(i) + slot*0.15
		w := slot * 0.7
		hs := plotH * float64(d.Succeeded) / yMax
		hf := plotH * float64(d.Failed) / yMax
		if d.Succeeded > 0 {
			c.Bars = append(c.Bars, bar{Day: d.Day, Kind: "succeeded", Today: d.Today,
				Title: fmt.Sprintf("%s: %d succeeded", d.Day, d.Succeeded), X: f1(x), Y: f1(base - hs), W: f1(w), H: f1(hs)})
		}
		if d.Failed > 0 {
			c.Bars = append(c.Bars, bar{Day: d.Day, Kind: "failed", Today: d.Today,
				Title: fmt.Sprintf("%s: %d failed", d.Day, d.Failed), X: f1(x), Y: f1(base - hs - hf), W: f1(w), H: f1(hf)})
		}
	}
	c.labelDays(days, slot)
	return c
}

// timeChart draws p50 and p95 render times as lines over the days that had
// succeeded renders.
func timeChart(days []*dayStats) chart {
	var top int64
	for _, d := range days {
		top = max(top, d.P95)
	}
	yMax := axisMax(float64(top))
	c, plotH, slot := frame(yMax)
	base := float64(chartH - padBottom)
	var p50, p95 []string
	for i, d := range days {
		if d.Succeeded == 0 {
			continue
		}
		x := f1(padLeft + slot*(float64(i)+0.5))
		y50, y95 := f1(base-plotH*float64(d.P50)/yMax), f1(base-plotH*float64(d.P95)/yMax)
		p50 = append(p50, x+","+y50)
		p95 = append(p95, x+","+y95)
		c.Dots = append(c.Dots, point{X: x, Y: y95, Kind: "p95", Title: fmt.Sprintf("%s: p95 %d ms", d.Day, d.P95)},
			point{X: x, Y: y50, Kind: "p50", Title: fmt.Sprintf("%s: p50 %d ms", d.Day, d.P50)})
	}
	c.P50, c.P95 = strings.Join(p50, " "), strings.Join(p95, " ")
	c.labelDays(days, slot)
	return c
}

type usageData struct {
	// RatePerMinute is the space's render rate limit, 0 for none. The
	// operator sets it (renderhook space set-rate-limit); the console
	// shows it, since a tenant must not lift its own plan's limit.
	RatePerMinute int
	Usage         store.Usage
	Remaining     int64
	Counts        chart
	Times         chart
	Days          []*dayStats
	Scanned       int
	Capped        bool
	ScanLimit     int
	HasRenders    bool
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request, sess *session) error {
	u, err := s.cfg.Store.Usage(r.Context(), sess.Space.ID)
	if err != nil {
		return err
	}
	list := func(p store.ListLogsParams) ([]*store.RequestLog, error) {
		return s.cfg.Store.ListRequestLogs(r.Context(), p)
	}
	days, scanned, capped, err := dailyStats(list, sess.Space.ID, time.Now(), s.cfg.UsageScanLimit)
	if err != nil {
		return err
	}
	d := usageData{Usage: u, Counts: countChart(days), Times: timeChart(days), Scanned: scanned, Capped: capped, ScanLimit: s.cfg.UsageScanLimit}
	if u.CreditLimit > 0 {
		d.Remaining = max(0, u.CreditLimit-u.CreditsUsed)
	}
	if d.RatePerMinute, err = s.cfg.Store.GetRateLimit(r.Context(), sess.Space.ID); err != nil {
		return err
	}
	// Newest day first in the table.
	for i := len(days) - 1; i >= 0; i-- {
		d.Days = append(d.Days, days[i])
		if days[i].Succeeded+days[i].Failed > 0 {
			d.HasRenders = true
		}
	}
	s.render(w, r, http.StatusOK, "usage", view{Title: "Usage", Nav: "usage", S: sess, Data: d})
	return nil
}
