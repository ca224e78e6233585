package render

import (
	"cmp"
	"errors"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/watermark"
)

// TestV1WatermarkOptions: each option of v1_watermark.go lands in its
// browser.Watermark field (whose effect on the pixels the browser's
// TestRenderURLWatermarkImage and the watermark package's tests show),
// and watermark_style's declarations fill what the options leave unset.
func TestV1WatermarkOptions(t *testing.T) {
	const logo = "https://a.example/logo.png"
	wantParsed(t, []parsedCase[browser.Watermark]{
		{map[string]any{"watermark": true}, browser.Watermark{Text: DefaultWatermarkText}},
		{map[string]any{"watermark": true, "watermark_text": "DRAFT"}, browser.Watermark{Text: "DRAFT"}},
		{map[string]any{"watermark": "true", "watermark_url": logo}, browser.Watermark{ImageURL: logo}},
		{map[string]any{"watermark_url": logo, "watermark_width": "120px", "watermark_height": "25%", "watermark_blend": "Multiply",
			"watermark_repeat": "repeat-x", "watermark_angle": "-30"},
			browser.Watermark{ImageURL: logo, Width: "120px", Height: "25%", Blend: "multiply", Repeat: "repeat-x", Angle: -30}},
		{map[string]any{"watermark_text": "x", "watermark_angle": 45.5}, browser.Watermark{Text: "x", Angle: 45.5}},
		{map[string]any{"watermark_text": "x", "watermark_style": "opacity: 0.8; color: red; background-color: #000; font-size: 30px; " +
			"mix-blend-mode: screen; background-repeat: repeat; transform: rotate(45deg);"},
			browser.Watermark{Text: "x", Opacity: 0.8, Colour: "red", Background: "#000", Size: 30, Blend: "screen", Repeat: "repeat", Angle: 45}},
		{map[string]any{"watermark_url": logo, "watermark_style": "width: 50%; height: 20px; rotate: -90deg; opacity: 40%"},
			browser.Watermark{ImageURL: logo, Width: "50%", Height: "20px", Angle: -90, Opacity: 0.4}},
		// The options win over the style.
		{map[string]any{"watermark_text": "x", "watermark_opacity": 0.3, "watermark_blend": "darken", "watermark_angle": 10,
			"watermark_style": "opacity: 0.9; mix-blend-mode: lighten; transform: rotate(80deg)"},
			browser.Watermark{Text: "x", Opacity: 0.3, Blend: "darken", Angle: 10}},
	}, func(o *URLOptions) browser.Watermark { return o.Request.Watermark })
}

// TestV1WatermarkRefused: bad values and combinations are a 400 naming
// the option.
func TestV1WatermarkRefused(t *testing.T) {
	const logo = "https://a.example/logo.png"
	wantRefused(t, []refusal{
		{map[string]any{"watermark_url": "ftp://a.example/x.png"}, "watermark_url"},
		{map[string]any{"watermark_url": "javascript:alert(1)"}, "watermark_url"},
		{map[string]any{"watermark_url": "https://u:p@a.example/x.png"}, "watermark_url"},
		{map[string]any{"watermark_url": logo, "format": "pdf"}, "watermark_url"},
		{map[string]any{"watermark_url": logo, "watermark_text": "x"}, "watermark_text"},
		{map[string]any{"watermark_url": logo, "watermark_width": "0"}, "watermark_width"},
		{map[string]any{"watermark_url": logo, "watermark_width": "5000"}, "watermark_width"},
		{map[string]any{"watermark_url": logo, "watermark_height": "200%"}, "watermark_height"},
		{map[string]any{"watermark_text": "x", "watermark_width": "100"}, "watermark_width"},
		{map[string]any{"watermark_url": logo, "watermark_blend": "hue"}, "watermark_blend"},
		{map[string]any{"watermark_url": logo, "watermark_repeat": "space"}, "watermark_repeat"},
		{map[string]any{"watermark_url": logo, "watermark_angle": 720}, "watermark_angle"},
		{map[string]any{"watermark_url": logo, "watermark_angle": "45deg"}, "watermark_angle"},
		{map[string]any{"watermark_blend": "multiply"}, "watermark_text"},
		{map[string]any{"watermark": false, "watermark_text": "x"}, "watermark"},
		{map[string]any{"watermark_text": "x", "watermark_style": "position: fixed"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": "background: url(http://169.254.169.254/)"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": "transform: scale(9)"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": "opacity: 2"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": "font-size: 9000px"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": "color"}, "watermark_style"},
		{map[string]any{"watermark_text": "x", "watermark_style": strings.Repeat("a", maxV1MarkStyle+1)}, "watermark_style"},
	})
}

// FuzzV1WatermarkStyle: any watermark_style is parsed or refused naming
// the option, never a panic, and what it sets is in the watermark's
// bounds.
func FuzzV1WatermarkStyle(f *testing.F) {
	for _, s := range []string{"opacity: 0.5", "transform: rotate(45deg); color: red", "width: 10%;;height:3px",
		"mix-blend-mode: multiply !important", "a:b:c", ";", "rotate: 1e9deg", "font-size: 12px; background: rgba(0,0,0,0.5)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, css string) {
		var w browser.Watermark
		err := applyMarkStyle(&w, css)
		if err != nil {
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), `option "watermark_style"`) {
				t.Fatalf("%q: %v", css, err)
			}
			return
		}
		for _, l := range []string{w.Width, w.Height} {
			if _, err := watermark.Length(l, 1000); l != "" && err != nil {
				t.Fatalf("%q: length %q: %v", css, l, err)
			}
		}
		for _, c := range []string{w.Colour, w.Background} {
			if _, err := browser.ParseColour(c); c != "" && err != nil {
				t.Fatalf("%q: colour %q: %v", css, c, err)
			}
		}
		s := watermark.Spec{Text: "x", Size: float64(cmp.Or(w.Size, 24)), Opacity: w.Opacity, Angle: w.Angle, Blend: w.Blend, Repeat: w.Repeat}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q set %+v: %v", css, w, err)
		}
	})
}
