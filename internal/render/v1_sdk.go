package render

import "slices"

// This file holds the refused rows for the options of Urlbox's SDK
// (urlbox-node v2.2.0 RenderOptions, internal/render/testdata/urlbox-node)
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
	whyVideo  = "renderhook renders images and PDFs and records no video"
	whyGPU    = "renderhook's Chromium composites on the CPU; there is no GPU to ask for"
	whyEngine = "renderhook renders with the one Chromium it is deployed with; a render cannot choose another browser, " +
		"engine or version"
	whyColour   = "renderhook captures in sRGB only; wide-gamut and HDR profiles need a GPU compositor and HDR-aware formats"
	whyCaptcha  = "renderhook does not solve or detect CAPTCHAs, which sites use to keep automated clients out"
	whyCoinMine = "renderhook never lets a page mine cryptocurrency on its CPUs"
)

// videoRow is a video option renderhook stays out of.
func videoRow(name, doc string) v1Option { return stayOut(name, FamilyVideo, doc, whyVideo) }

// colourRow is a colour-profile option renderhook stays out of.
func colourRow(name, doc string) v1Option { return stayOut(name, FamilyEngine, doc, whyColour) }

// v1SDKRefusedRows are parsed last: refused options are only looked up by
// name.
var v1SDKRefusedRows = slices.Concat(v1StayOutRows, v1NotYetRows)

var v1StayOutRows = []v1Option{
	videoRow("video_codec", "A video's codec."),
	videoRow("video_scroll", "Scroll while recording a video."),
	videoRow("video_fps", "A video's frame rate."),
	videoRow("video_width", "A video's width."),
	videoRow("video_height", "A video's height."),
	videoRow("video_quality", "A video's quality."),
	videoRow("video_preset", "The encoder preset of a video."),
	videoRow("video_bitrate", "A video's bitrate."),
	videoRow("video_bits_per_second", "A video's bits per second."),
	videoRow("video_time", "How long a video records."),
	videoRow("video_aspect", "A video's aspect ratio."),
	videoRow("video_ease", "The easing of a video's scroll."),
	videoRow("video_ease_end", "The easing at the end of a video's scroll."),
	videoRow("video_prescroll_duration", "How long a video records before scrolling."),
	videoRow("video_scroll_duration", "How long a video's scroll lasts."),
	videoRow("video_rest_duration", "How long a video rests between scrolls."),
	videoRow("video_scroll_back_duration", "How long a video's scroll back up lasts."),
	videoRow("video_postscroll_duration", "How long a video records after scrolling."),
	videoRow("video_scroll_distance", "How far a video scrolls."),
	videoRow("video_chrome_height", "The height of a video's browser chrome."),
	videoRow("video_crop_w", "The width a video is cropped to."),
	videoRow("video_jitter", "Jitter added to a video's scroll."),
	stayOut("gpu", FamilyEngine, "Render with a GPU.", whyGPU),
	stayOut("engine_version", FamilyEngine, "Pick the browser's version.", whyEngine),
	stayOut("renderer", FamilyEngine, "Pick the rendering engine.", whyEngine),
	stayOut("use_chrome", FamilyEngine, "Render with Google Chrome.", whyEngine),
	stayOut("use_chromium", FamilyEngine, "Render with Urlbox's Chromium.", whyEngine),
	stayOut("solve_captchas", FamilyCleanup, "Solve CAPTCHAs on the page.", whyCaptcha),
	stayOut("fail_if_captcha", FamilyWaits, "Fail the render when the page shows a CAPTCHA.", whyCaptcha),
	stayOut("allow_coin", FamilyCleanup, "Let crypto-mining scripts run.", whyCoinMine),
	colourRow("color_profile", "The colour profile of the capture."),
	colourRow("display_p3", "Capture in Display P3."),
	colourRow("rec2020", "Capture in Rec. 2020."),
	colourRow("scrgb_linear", "Capture in linear scRGB."),
	colourRow("hdr10", "Capture in HDR10."),
	colourRow("srgb", "Capture in sRGB explicitly."),
	colourRow("rgb", "Capture in generic RGB."),
	colourRow("gamma24", "Capture with a gamma of 2.4."),
}

// v1NotYetRows are Urlbox options renderhook does not implement yet.
var v1NotYetRows = []v1Option{
	unsupported("freeze_fixed", FamilyCapture, "Keep fixed elements in place in a full-page capture."),
	unsupported("flash", FamilyEngine, "Enable Flash."),
	unsupported("sharp_stitch", FamilyCapture, "Stitch full-page sections without seams."),
	unsupported("show_sections", FamilyCapture, "Outline a full-page capture's sections."),
	unsupported("show_seams", FamilyCapture, "Show the seams of a stitched capture."),
	unsupported("no_upload", FamilyStorage, "Do not store the file."),
	unsupported("from_html", FamilyExtraction, "Render the page's HTML as fetched."),
	unsupported("full_html", FamilyExtraction, "Keep the page's whole HTML."),
	unsupported("fix_full_height", FamilyCapture, "Fix the page's height before a full-page capture."),
	unsupported("skip_final_delay", FamilyWaits, "Skip the delay before capturing."),
	unsupported("skip_wait", FamilyWaits, "Skip the waits for the page to settle."),
	unsupported("skip_wait_for_modifications", FamilyWaits, "Skip the wait for DOM changes to stop."),
	unsupported("turbo", FamilyEngine, "Render faster with fewer checks."),
	unsupported("lightweight", FamilyEngine, "Render with fewer resources."),
	unsupported("fragment", FamilyCapture, "Capture an HTML fragment."),
	unsupported("disable_web_security", FamilyRequest, "Turn the same-origin policy off."),
	unsupported("wrap", FamilyInteraction, "Wrap html in a page."),
	unsupported("width_from", FamilyCapture, "Take the viewport width from an element."),
	unsupported("height_from", FamilyCapture, "Take the viewport height from an element."),
	unsupported("blend_mode", FamilyOutput, "How a thumbnail blends with its background."),
	unsupported("max_section_width", FamilyCapture, "Widest one section of a full-width capture may be."),
	unsupported("max_sections", FamilyCapture, "Most sections of a full-page capture."),
	unsupported("max_xsections", FamilyCapture, "Most horizontal sections of a full-width capture."),
	unsupported("max_scroll_page_time", FamilyCapture, "Longest the scroll through the page may take."),
	unsupported("scroll_height", FamilyCapture, "How far the scroll through the page goes."),
	unsupported("optimise", FamilyOutput, "Optimise the file's size."),
}
