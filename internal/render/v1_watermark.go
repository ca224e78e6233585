package render

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/watermark"
)

// This file holds the rows of the v1 table for Urlbox's image watermark
// options (#16): watermark (on, with renderhook's mark when nothing else
// is given), watermark_url and its size, blend, repeat and angle (which
// apply to a text watermark too), and watermark_style, CSS of which a safe
// subset is read into those same settings. The browser fetches the image
// (browser/urlmark.go) and the watermark package draws it.

// Bounds of these options.
const (
	maxV1MarkURL   = 2048
	maxV1MarkStyle = 1024
	// DefaultWatermarkText is what watermark: true draws when neither
	// watermark_text nor watermark_url is given.
	DefaultWatermarkText = "renderhook"
)

// markLength refuses what is not a watermark width or height.
func markLength(s string) string {
	if _, err := watermark.Length(s, 1000); err != nil {
		return fmt.Sprintf("must be a length of 1..%d px (\"120\", \"120px\") or a percentage of the capture (\"25%%\")", watermark.MaxSide)
	}
	return ""
}

// markURL refuses what is not an http(s) URL (the API checks its address
// with the egress guard; the browser fetches through it).
func markURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "must be an http(s) URL of a png, jpeg, webp or gif image"
	}
	return ""
}

func markEnum(name string, values []string, doc string, set func(w *browser.Watermark, s string)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: 32, Enum: values, Family: FamilyOutput, Supported: true, Doc: doc},
		norm: strings.ToLower,
		set:  func(st *v1State, v any) error { set(&st.r.Watermark, strings.ToLower(v.(string))); return nil }}
}

var v1MarkRows = []v1Option{
	reqString("watermark_url", FamilyOutput, maxV1MarkURL, "An image (png, jpeg, webp or gif; at most 5 MiB and 4 megapixels) drawn as the watermark instead of watermark_text; a private or metadata address is refused.",
		markURL, func(r *browser.URLRequest, s string) { r.Watermark.ImageURL = s }),
	reqString("watermark_width", FamilyOutput, 16, "The watermark image's width: px, or a percentage of the capture's width (\"25%\"); alone it keeps the aspect ratio.",
		markLength, func(r *browser.URLRequest, s string) { r.Watermark.Width = s }),
	reqString("watermark_height", FamilyOutput, 16, "The watermark image's height: px, or a percentage of the capture's height.",
		markLength, func(r *browser.URLRequest, s string) { r.Watermark.Height = s }),
	markEnum("watermark_blend", watermark.Blends, "How the watermark blends with the capture, as CSS mix-blend-mode (default normal).",
		func(w *browser.Watermark, s string) { w.Blend = s }),
	markEnum("watermark_repeat", watermark.Repeats, "Tile the watermark from its position, as CSS background-repeat (default no-repeat).",
		func(w *browser.Watermark, s string) { w.Repeat = s }),
	reqNumber("watermark_angle", FamilyOutput, -watermark.MaxAngle, watermark.MaxAngle, "Rotate the watermark clockwise by this many degrees.",
		func(st *v1State, f float64) { st.r.Watermark.Angle = f }),
	{OptionSpec: OptionSpec{Name: "watermark", Type: TypeBoolean, Default: false, Family: FamilyOutput, Supported: true,
		Doc: "Draw a watermark: watermark_text or watermark_url, else the text \"" + DefaultWatermarkText + "\"; false with other watermark options is refused."},
		set: func(st *v1State, v any) error {
			w := &st.r.Watermark
			switch on := v.(bool); {
			case on && w.Text == "" && w.ImageURL == "":
				w.Text = DefaultWatermarkText
			case !on && *w != (browser.Watermark{}):
				return optErr("watermark", "is false, but other watermark options are given")
			}
			return nil
		}},
	withThen(v1Option{OptionSpec: OptionSpec{Name: "watermark_style", Type: TypeString, Max: maxV1MarkStyle, Family: FamilyOutput, Supported: true,
		Doc: "CSS declarations for the watermark; renderhook reads opacity, color, background-color, font-size, width, height, mix-blend-mode, " +
			"background-repeat and transform: rotate(…deg), and refuses any other property. The watermark_* options win over it."},
		set: func(st *v1State, v any) error { return applyMarkStyle(&st.r.Watermark, v.(string)) }}, checkWatermark),
}

// checkWatermark refuses the watermark options without what they go
// with, or with what they cannot be combined.
func checkWatermark(st *v1State) error {
	w := st.r.Watermark
	switch {
	case w != (browser.Watermark{}) && w.Text == "" && w.ImageURL == "":
		return optErr("watermark_text", "(or option \"watermark_url\", or \"watermark\": true) is required with the other watermark options")
	case w.Text != "" && w.ImageURL != "":
		return errorf("option \"watermark_text\" and option \"watermark_url\" cannot be combined: a watermark is a text or an image")
	case utf8.RuneCountInString(w.Text) > watermark.MaxText:
		return optErr("watermark_text", "must be at most %d characters", watermark.MaxText)
	case w.ImageURL == "" && w.Width != "":
		return optErr("watermark_width", "goes with watermark_url")
	case w.ImageURL == "" && w.Height != "":
		return optErr("watermark_height", "goes with watermark_url")
	case w.ImageURL != "" && st.r.Format == browser.FormatPDF:
		return optErr("watermark_url", "applies to png, jpeg and webp only, not pdf")
	case w.Text != "" && st.r.Format == browser.FormatPDF:
		return optErr("watermark_text", "applies to png, jpeg and webp only, not pdf")
	}
	return nil
}

// applyMarkStyle reads watermark_style's declarations into w, where the
// options left a setting unset. Only the properties below are read, each
// value checked as its option's; anything else is refused.
func applyMarkStyle(w *browser.Watermark, css string) error {
	bad := func(format string, args ...any) error { return optErr("watermark_style", format, args...) }
	for _, decl := range strings.Split(css, ";") {
		if strings.TrimSpace(decl) == "" {
			continue
		}
		prop, val, ok := strings.Cut(decl, ":")
		prop, val = strings.ToLower(strings.TrimSpace(prop)), strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "!important"))
		if !ok || val == "" {
			return bad("must be CSS declarations (property: value; …)")
		}
		if err := applyMarkDecl(w, prop, strings.TrimSpace(val)); err != nil {
			return bad("%s", err)
		}
	}
	return nil
}

// applyMarkDecl reads one declaration of watermark_style.
func applyMarkDecl(w *browser.Watermark, prop, val string) error {
	setStr := func(to *string, msg string) error {
		if msg != "" {
			return fmt.Errorf("%s: %s", prop, msg)
		}
		if *to == "" {
			*to = val
		}
		return nil
	}
	// A keyword is kept as the list spells it: CSS keywords are
	// case-insensitive, the browser's and takumi's checks are not.
	oneOf := func(to *string, values []string) error {
		v := strings.ToLower(val)
		if !slices.Contains(values, v) {
			return fmt.Errorf("%s: must be one of %s", prop, strings.Join(values, ", "))
		}
		if *to == "" {
			*to = v
		}
		return nil
	}
	switch prop {
	case "opacity":
		f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if strings.HasSuffix(val, "%") {
			f /= 100
		}
		if err != nil || !(f >= 0.01 && f <= 1) {
			return fmt.Errorf("opacity: must be 0.01..1")
		}
		if w.Opacity == 0 {
			w.Opacity = f
		}
	case "color":
		return setStr(&w.Colour, goColour(val))
	case "background-color", "background":
		return setStr(&w.Background, goColour(val))
	case "font-size":
		n, err := strconv.Atoi(strings.TrimSuffix(val, "px"))
		if err != nil || n < watermark.MinSize || n > watermark.MaxSize {
			return fmt.Errorf("font-size: must be %d..%dpx", watermark.MinSize, watermark.MaxSize)
		}
		if w.Size == 0 {
			w.Size = n
		}
	case "width":
		return setStr(&w.Width, markLength(val))
	case "height":
		return setStr(&w.Height, markLength(val))
	case "mix-blend-mode":
		return oneOf(&w.Blend, watermark.Blends)
	case "background-repeat":
		return oneOf(&w.Repeat, watermark.Repeats)
	case "transform", "rotate":
		return markRotate(w, prop, val)
	default:
		return fmt.Errorf("property %q is not one renderhook honours (opacity, color, background-color, font-size, width, height, "+
			"mix-blend-mode, background-repeat, transform: rotate())", truncate(prop))
	}
	return nil
}

// markRotate reads transform: rotate(Ndeg) or rotate: Ndeg.
func markRotate(w *browser.Watermark, prop, val string) error {
	v := strings.ToLower(val)
	if prop == "transform" {
		inner, ok := strings.CutPrefix(v, "rotate(")
		if !ok || !strings.HasSuffix(inner, ")") {
			return fmt.Errorf("transform: only rotate(…deg) is honoured")
		}
		v = strings.TrimSpace(strings.TrimSuffix(inner, ")"))
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "deg"), 64)
	if err != nil || !(f >= -watermark.MaxAngle && f <= watermark.MaxAngle) {
		return fmt.Errorf("%s: must be an angle of -%d..%d deg", prop, watermark.MaxAngle, watermark.MaxAngle)
	}
	if w.Angle == 0 {
		w.Angle = f
	}
	return nil
}
