package render

import "slices"

// This file holds the refused rows for the options of Urlbox's SDK
// (urlbox-node v2.2.0 RenderOptions, third_party/urlbox-node)
// that renderhook does not implement, so that every name a Urlbox client
// can send is a row of the table: a 400 that names it and says it is a
// Urlbox option, never "not a known option". The options renderhook will
// not implement (stayOut) say why.

// stayOut is a Urlbox option renderhook will not implement, and why.
func stayOut(name string, f Family, doc, why string) v1Option {
	o := unsupported(name, f, doc)
	o.Refusal = why
	return o
}

// Reasons renderhook gives for the options it stays out of.
const (
	whyGPU    = "renderhook's Chromium composites on the CPU; there is no GPU to ask for"
	whyEngine = "renderhook renders with the one Chromium it is deployed with; a render cannot choose another browser, " +
		"engine or version"
	whyColour   = "renderhook captures in sRGB only; wide-gamut and HDR profiles need a GPU compositor and HDR-aware formats"
	whyCaptcha  = "renderhook does not solve CAPTCHAs, which sites use to keep automated clients out (fail_if_captcha detects them)"
	whyCoinMine = "renderhook never lets a page mine cryptocurrency on its CPUs"
)

// colourRow is a colour-profile option renderhook stays out of.
func colourRow(name, doc string) v1Option { return stayOut(name, FamilyEngine, doc, whyColour) }

// v1SDKRefusedRows are parsed last: refused options are only looked up by
// name.
var v1SDKRefusedRows = slices.Concat(v1StayOutRows, v1NotYetRows)

var v1StayOutRows = []v1Option{
	stayOut("gpu", FamilyEngine, "Render with a GPU.", whyGPU),
	stayOut("engine_version", FamilyEngine, "Pick the browser's version.", whyEngine),
	stayOut("renderer", FamilyEngine, "Pick the rendering engine.", whyEngine),
	stayOut("use_chrome", FamilyEngine, "Render with Google Chrome.", whyEngine),
	stayOut("solve_captchas", FamilyCleanup, "Solve CAPTCHAs on the page.", whyCaptcha),
	stayOut("allow_coin", FamilyCleanup, "Let crypto-mining scripts run.", whyCoinMine),
	colourRow("color_profile", "The colour profile of the capture."),
	colourRow("display_p3", "Capture in Display P3."),
	colourRow("rec2020", "Capture in Rec. 2020."),
	colourRow("scrgb_linear", "Capture in linear scRGB."),
	colourRow("hdr10", "Capture in HDR10."),
	colourRow("rgb", "Capture in generic RGB."),
	colourRow("gamma24", "Capture with a gamma of 2.4."),
}

// v1NotYetRows are Urlbox options renderhook does not implement yet.
var v1NotYetRows = []v1Option{
	unsupported("flash", FamilyEngine, "Enable Flash."),
	unsupported("from_html", FamilyExtraction, "Render the page's HTML as fetched."),
	unsupported("full_html", FamilyExtraction, "Keep the page's whole HTML."),
	unsupported("fragment", FamilyCapture, "Capture an HTML fragment."),
	unsupported("disable_web_security", FamilyRequest, "Turn the same-origin policy off."),
	unsupported("wrap", FamilyInteraction, "Wrap html in a page."),
	unsupported("blend_mode", FamilyOutput, "How a thumbnail blends with its background."),
}
