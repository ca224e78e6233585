package browser

import (
	"math"
	"strings"
)

// The easing curves of a video's scroll (Urlbox's video_ease and
// video_ease_end), named family.direction as tween.js names them:
// linear.none, quadratic.in, cubic.inout, bounce.out, … Each maps the
// phase's elapsed fraction 0..1 to the scroll's fraction 0..1 (elastic and
// back overshoot a little; the scroll position is clamped to the page).

// easeFamilies are the curves' in-halves; out and inout are made from them.
var easeFamilies = map[string]func(k float64) float64{
	"linear":      func(k float64) float64 { return k },
	"quadratic":   func(k float64) float64 { return k * k },
	"cubic":       func(k float64) float64 { return k * k * k },
	"quartic":     func(k float64) float64 { return k * k * k * k },
	"quintic":     func(k float64) float64 { return k * k * k * k * k },
	"sinusoidal":  func(k float64) float64 { return 1 - math.Cos(k*math.Pi/2) },
	"exponential": expoIn,
	"circular":    func(k float64) float64 { return 1 - math.Sqrt(max(0, 1-k*k)) },
	"elastic":     elasticIn,
	"back":        func(k float64) float64 { const s = 1.70158; return k * k * ((s+1)*k - s) },
	"bounce":      func(k float64) float64 { return 1 - bounceOut(1-k) },
}

// EaseNames lists every easing name, in the order Urlbox's SDK lists them.
var EaseNames = func() []string {
	var names []string
	for _, f := range []string{"linear", "quadratic", "cubic", "quartic", "quintic", "sinusoidal", "exponential", "circular", "elastic", "back", "bounce"} {
		if f == "linear" {
			names = append(names, "linear.none")
		}
		names = append(names, f+".in", f+".out", f+".inout")
	}
	return names
}()

// DefaultEase is the easing of a video's scroll when none is given.
const DefaultEase = "quadratic.inout"

func expoIn(k float64) float64 {
	if k <= 0 {
		return 0
	}
	return math.Pow(1024, k-1)
}

func elasticIn(k float64) float64 {
	if k <= 0 || k >= 1 {
		return k
	}
	return -math.Pow(2, 10*(k-1)) * math.Sin((k-1.1)*5*math.Pi)
}

func bounceOut(k float64) float64 {
	switch {
	case k < 1/2.75:
		return 7.5625 * k * k
	case k < 2/2.75:
		k -= 1.5 / 2.75
		return 7.5625*k*k + 0.75
	case k < 2.5/2.75:
		k -= 2.25 / 2.75
		return 7.5625*k*k + 0.9375
	}
	k -= 2.625 / 2.75
	return 7.5625*k*k + 0.984375
}

// easing returns the curve of name, or nil for a name that is none.
func easing(name string) func(k float64) float64 {
	family, dir, ok := strings.Cut(name, ".")
	in := easeFamilies[family]
	if !ok || in == nil {
		return nil
	}
	switch {
	case dir == "in" || (family == "linear" && (dir == "none" || dir == "out" || dir == "inout")):
		return in
	case dir == "out":
		return func(k float64) float64 { return 1 - in(1-k) }
	case dir == "inout":
		return func(k float64) float64 {
			if k < 0.5 {
				return in(2*k) / 2
			}
			return 1 - in(2-2*k)/2
		}
	}
	return nil
}
