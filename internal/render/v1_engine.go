package render

import "github.com/renderhook/renderhook/internal/browser"

// This file holds the rows of the v1 table for the Urlbox options that
// state what renderhook always does (#16): srgb (Chromium draws into sRGB,
// --force-color-profile=srgb) and use_chromium (it renders with
// Chromium), each true as renderhook's behaviour and false refused, since
// renderhook cannot do otherwise; and fail_if_captcha, the browser's
// CAPTCHA check (browser/urlcaptcha.go).

// alwaysTrue is a boolean option renderhook honours by what it always
// does: true is accepted, false refused with why.
func alwaysTrue(name string, f Family, doc, why string) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeBoolean, Default: true, Family: f, Supported: true, Doc: doc},
		set: func(_ *v1State, v any) error {
			if !v.(bool) {
				return optErr(name, "cannot be false: %s", why)
			}
			return nil
		}}
}

var v1EngineRows = []v1Option{
	alwaysTrue("srgb", FamilyEngine, "Capture in sRGB: always true (Chromium draws into sRGB, so CSS colours come out as their exact sRGB values and wide-gamut ones are converted).",
		"renderhook captures in sRGB only"),
	alwaysTrue("use_chromium", FamilyEngine, "Render with Chromium: always true (renderhook renders with the Chromium it is deployed with).",
		"renderhook renders with Chromium only"),
	reqBool("fail_if_captcha", FamilyWaits, "Fail the render (no file, no credit) when the ready page shows a reCAPTCHA, hCaptcha or Cloudflare Turnstile widget or challenge; nothing is solved.",
		func(r *browser.URLRequest, b bool) { r.FailIfCaptcha = b }),
}
