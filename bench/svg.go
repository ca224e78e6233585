package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// sideColors are the chart colours of each side.
var sideColors = map[string]string{
	"floor":      "#6b7280",
	"renderhook": "#4f46e5",
	// The baseline without callbacks, a lighter shade of renderhook's.
	sideNoCallbacks: "#a5b4fc",
	"gotenberg":     "#d97706",
}

// latencySVG draws the PNG latency distributions as horizontal box plots:
// whiskers from min to p99, a box from p25 to p75, a bar at p50 and a tick
// at p95, one row per side, sequential first and then concurrent.
func latencySVG(rep *report) string {
	var rows []scenario
	for _, clients := range []int{1, rep.Plan.Clients} {
		for _, s := range rep.Scenarios {
			if s.Format == string(formatPNG) && s.Clients == clients {
				rows = append(rows, s)
			}
		}
	}
	const (
		width    = 880
		labelW   = 270 // row labels left of the plot (the longest, the server without callbacks, needs ~260)
		plotL    = labelW + 10
		plotR    = 700 // figures to the right of the plot
		top      = 64
		rowH     = 36
		groupGap = 14
		boxH     = 16
	)
	maxMs := 0.0
	for _, s := range rows {
		maxMs = max(maxMs, s.Latency.P99)
	}
	step := niceStep(maxMs / 5)
	axisMax := math.Ceil(maxMs*1.05/step) * step
	if axisMax <= 0 {
		axisMax, step = 1, 0.2
	}
	x := func(ms float64) float64 { return plotL + ms/axisMax*(plotR-plotL) }

	// Row positions, with a gap between the sequential and concurrent groups.
	ys := make([]float64, len(rows))
	y := float64(top)
	for i, s := range rows {
		if i > 0 && s.Clients != rows[i-1].Clients {
			y += groupGap
		}
		ys[i] = y + rowH/2
		y += rowH
	}
	plotBottom := y + 4
	height := int(plotBottom) + 56

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="16" y="24" font-size="16" font-weight="bold">Render latency, %dx%d PNG (ms)</text>`+"\n", pageWidth, pageHeight)
	m := rep.Machine
	fmt.Fprintf(&b, `<text x="16" y="44" fill="#555">%s</text>`+"\n", esc(fmt.Sprintf("%s run, %s, %d cores, %s, %s", rep.Plan.Mode, rep.Date, m.Cores, m.CPU, m.Chromium)))

	// Grid and axis.
	for v := 0.0; v <= axisMax+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`+"\n", x(v), top-4, x(v), plotBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(v), plotBottom+16, fmtMs(v))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">milliseconds, request to last byte</text>`+"\n", float64(plotL+plotR)/2, plotBottom+34)

	for i, s := range rows {
		cy := ys[i]
		c := sideColors[s.Side]
		if c == "" {
			c = "#111827"
		}
		l := s.Latency
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", labelW, cy, esc(s.label()))
		// Whisker min..p99 with end caps.
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", x(l.Min), cy, x(l.P99), cy, c)
		for _, v := range []float64{l.Min, l.P99} {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", x(v), cy-5, x(v), cy+5, c)
		}
		// Box p25..p75, bar at p50, tick at p95.
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s" fill-opacity="0.3" stroke="%s"/>`+"\n",
			x(l.P25), cy-boxH/2, math.Max(x(l.P75)-x(l.P25), 1), boxH, c, c)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", x(l.P50), cy-boxH/2-2, x(l.P50), cy+boxH/2+2, c)
		fmt.Fprintf(&b, `<path d="M%.1f %.1f l4 -6 h-8 z" fill="%s"/>`+"\n", x(l.P95), cy-boxH/2-1, c)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" dominant-baseline="middle" fill="#333">p50 %s · p99 %s</text>`+"\n", plotR+12, cy, fmtMs(l.P50), fmtMs(l.P99))
	}
	fmt.Fprintf(&b, `<text x="16" y="%d" fill="#555">whisker: min to p99 · box: p25 to p75 · bar: p50 · triangle: p95</text>`+"\n", height-10)
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep rounds a raw tick interval up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtMs(v float64) string {
	if v >= 10 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string { return html.EscapeString(s) }
