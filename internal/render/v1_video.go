package render

import (
	"strings"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// This file holds the v1 rows of Urlbox's video options (#16): the formats
// mp4 and webm (values of the format row, v1table.go) are a video of the
// page scrolling, made frame by frame in browser/urlvideo.go and encoded
// by ffmpeg. The video_* options apply to those formats only; none has a
// default in the table, so an option given with another format is named
// in the 400, and the browser's zero values are the defaults the docs say.

// Bounds of the video options, in their own units.
const (
	maxV1VideoMS   = int(browser.MaxVideoLength / time.Millisecond)
	maxV1VideoKbps = browser.MaxVideoBitrate / 1000
)

// videoOpt makes a row a video option: setting it records that a video
// option was given, which checkVideo refuses for other formats.
func videoOpt(o v1Option) v1Option {
	set := o.set
	o.set = func(st *v1State, v any) error {
		if st.videoOption == "" {
			st.videoOption = o.Name
		}
		return set(st, v)
	}
	return o
}

// videoInt is an integer video option from lo to hi.
func videoInt(name string, lo, hi int, doc string, set func(v *browser.VideoOptions, n int)) v1Option {
	return videoOpt(reqInt(name, FamilyVideo, lo, hi, doc, func(r *browser.URLRequest, n int) { set(&r.Video, n) }))
}

// videoMS is a video phase in ms.
func videoMS(name, doc string, set func(v *browser.VideoOptions, d time.Duration)) v1Option {
	return videoInt(name, 0, maxV1VideoMS, doc+" In ms, at most 30000 (default 0).",
		func(v *browser.VideoOptions, n int) { set(v, ms(n)) })
}

// videoEnum is a video option with one of values.
func videoEnum(name string, values []string, doc string, set func(v *browser.VideoOptions, s string)) v1Option {
	return videoOpt(v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: 32, Enum: values, Family: FamilyVideo, Supported: true, Doc: doc},
		norm: strings.ToLower,
		set:  func(st *v1State, v any) error { set(&st.r.Video, strings.ToLower(v.(string))); return nil }})
}

var v1VideoRows = []v1Option{
	videoEnum("video_codec", []string{browser.CodecH264, browser.CodecVP8, browser.CodecVP9},
		"The video's codec: h264 for mp4 (its default), vp8 or vp9 for webm (vp9 by default).",
		func(v *browser.VideoOptions, s string) { v.Codec = s }),
	videoInt("video_fps", 1, browser.MaxVideoFPS, "Frames per second of the video (default 30); at most 900 frames in all.",
		func(v *browser.VideoOptions, n int) { v.FPS = n }),
	videoInt("video_width", 2, browser.MaxVideoSide, "Scale the video to this many px wide (even; without video_height the height follows).",
		func(v *browser.VideoOptions, n int) { v.Width = n }),
	videoInt("video_height", 2, browser.MaxVideoSide, "Scale the video to this many px high (even; without video_width the width follows).",
		func(v *browser.VideoOptions, n int) { v.Height = n }),
	videoInt("video_quality", 1, 100, "The video's quality, 1..100 (100 best, the biggest file), as the encoder's constant rate factor; not with a bitrate.",
		func(v *browser.VideoOptions, n int) { v.Quality = n }),
	videoEnum("video_preset", browser.VideoPresets, "The encoder's speed against size (default veryfast): slower presets make smaller files for the same quality.",
		func(v *browser.VideoOptions, s string) { v.Preset = s }),
	{OptionSpec: OptionSpec{Name: "video_bitrate", Type: TypeInteger, Min: 50, Max: float64(maxV1VideoKbps), Family: FamilyVideo, Supported: true,
		Doc: "Encode the video for this bitrate, in kbit/s, rather than for a quality."},
		set: setBitrate("video_bitrate", 1000)},
	{OptionSpec: OptionSpec{Name: "video_bits_per_second", Type: TypeInteger, Min: 50_000, Max: browser.MaxVideoBitrate, Family: FamilyVideo, Supported: true,
		Doc: "Encode the video for this bitrate, in bit/s (video_bitrate in other units)."},
		set: setBitrate("video_bits_per_second", 1)},
	videoOpt(reqNumber("video_time", FamilyVideo, 0.1, browser.MaxVideoLength.Seconds(),
		"The video's length in seconds, at most 30 (default the phases' sum, or 5 s): the scroll's phases are cut at its end, or their last frame holds.",
		func(st *v1State, n float64) { st.r.Video.Length = time.Duration(n * float64(time.Second)) })),
	videoOpt(reqNumber("video_aspect", FamilyVideo, 0.1, 10, "Crop each frame from its top left to this width / height ratio (16/9 is 1.778).",
		func(st *v1State, n float64) { st.r.Video.Aspect = n })),
	videoOpt(v1Option{OptionSpec: OptionSpec{Name: "video_scroll", Type: TypeBoolean, Family: FamilyVideo, Supported: true,
		Doc: "Scroll down the page while recording (default true); false records the top of the page standing still."},
		set: func(st *v1State, v any) error { st.r.Video.Still = !v.(bool); return nil }}),
	videoEnum("video_ease", browser.EaseNames, "The easing of the scroll down (default quadratic.inout).",
		func(v *browser.VideoOptions, s string) { v.Ease = s }),
	videoEnum("video_ease_end", browser.EaseNames, "The easing of the scroll back up (default video_ease's); needs video_scroll_back_duration.",
		func(v *browser.VideoOptions, s string) { v.EaseEnd = s }),
	videoMS("video_prescroll_duration", "How long the video holds the top of the page before scrolling.",
		func(v *browser.VideoOptions, d time.Duration) { v.Prescroll = d }),
	videoMS("video_scroll_duration", "How long the scroll down lasts (with no phase given, the whole video).",
		func(v *browser.VideoOptions, d time.Duration) { v.Scroll = d }),
	videoMS("video_rest_duration", "How long the video holds where the scroll down ended.",
		func(v *browser.VideoOptions, d time.Duration) { v.Rest = d }),
	videoMS("video_scroll_back_duration", "How long the scroll back up to the top lasts (0: no scroll back).",
		func(v *browser.VideoOptions, d time.Duration) { v.ScrollBack = d }),
	videoMS("video_postscroll_duration", "How long the video holds at the end, after the scrolls.",
		func(v *browser.VideoOptions, d time.Duration) { v.Postscroll = d }),
	videoInt("video_scroll_distance", 1, maxV1CaptureHeight, "How far the scroll goes down, in CSS px (default to the bottom of the page, at most 16384 px).",
		func(v *browser.VideoOptions, n int) { v.ScrollDistance = n }),
	videoInt("video_chrome_height", 0, maxV1Dimension, "Cut this many CSS px off the top of every frame (a browser's chrome in a window recording, or a fixed header).",
		func(v *browser.VideoOptions, n int) { v.ChromeHeight = n }),
	videoInt("video_crop_w", 2, maxV1Dimension, "Cut every frame to at most this many CSS px wide, from its left.",
		func(v *browser.VideoOptions, n int) { v.CropWidth = n }),
	thenCheck(videoInt("video_jitter", 0, browser.MaxVideoJitter, "Move each scrolling frame up to this many CSS px off the easing curve, so the scroll looks made by hand (the same every time).",
		func(v *browser.VideoOptions, n int) { v.Jitter = n }), checkVideo),
}

// thenCheck is o with then as its check.
func thenCheck(o v1Option, then func(st *v1State) error) v1Option {
	o.then = then
	return o
}

// setBitrate sets the target bitrate from a value in units of unit bit/s;
// a second bitrate option, or video_quality, is refused.
func setBitrate(name string, unit int) func(st *v1State, v any) error {
	return videoOpt(v1Option{OptionSpec: OptionSpec{Name: name}, set: func(st *v1State, v any) error {
		vo := &st.r.Video
		switch {
		case vo.BitsPerSecond > 0:
			return optErr(name, "cannot be combined with option \"video_bitrate\"")
		case vo.Quality > 0:
			return optErr(name, "cannot be combined with option \"video_quality\" (a video is encoded for one or the other)")
		}
		vo.BitsPerSecond = v.(int) * unit
		return nil
	}}).set
}

// firstGiven is the first of opts that was set, or "".
func firstGiven(opts ...given) string {
	for _, o := range opts {
		if o.set {
			return o.name
		}
	}
	return ""
}

// checkVideo refuses video options with another format, options of other
// formats with a video, and video options that would have no effect.
func checkVideo(st *v1State) error {
	r := st.r
	v := &r.Video
	if !r.Format.IsVideo() {
		if st.videoOption != "" {
			return optErr(st.videoOption, "applies to formats mp4 and webm only, not %s", r.Format)
		}
		return nil
	}
	if !browser.VideoAvailable() {
		return optErr("format", "mp4 and webm need ffmpeg (Debian's ffmpeg), which this server lacks")
	}
	if name := firstGiven(given{"full_page", r.FullPage}, given{"selector", r.Selector != ""}, given{"clip", r.Clip != nil},
		given{"thumb_width", r.ThumbWidth > 0}, given{"thumb_height", r.ThumbHeight > 0}, given{"img_fit", r.ImgFit != ""},
		given{"img_pad", r.ImgPad != [4]int{}}, given{"crop_width", r.CropWidth > 0}, given{"transparent", r.Transparent},
		given{"watermark_text", r.Watermark.Text != ""}, given{"width_from", r.WidthFrom != ""},
		given{"height_from", r.HeightFrom != ""}); name != "" {
		return optErr(name, "applies to images, not %s (a video is of the viewport: see the video_* options)", r.Format)
	}
	if v.Codec != "" && (r.Format == browser.FormatMP4) != (v.Codec == browser.CodecH264) {
		return optErr("video_codec", "%q does not go in %s (mp4 takes h264, webm vp8 or vp9)", v.Codec, r.Format)
	}
	if v.Still {
		if name := firstGiven(given{"video_ease", v.Ease != ""}, given{"video_ease_end", v.EaseEnd != ""},
			given{"video_prescroll_duration", v.Prescroll > 0}, given{"video_scroll_duration", v.Scroll > 0},
			given{"video_rest_duration", v.Rest > 0}, given{"video_scroll_back_duration", v.ScrollBack > 0},
			given{"video_postscroll_duration", v.Postscroll > 0}, given{"video_scroll_distance", v.ScrollDistance > 0},
			given{"video_jitter", v.Jitter > 0}); name != "" {
			return optErr(name, "is about the scroll, and video_scroll is false")
		}
	}
	if v.EaseEnd != "" && v.ScrollBack == 0 {
		return optErr("video_ease_end", "is the easing of the scroll back up: give video_scroll_back_duration too")
	}
	if v.ChromeHeight > r.Height-2 {
		return optErr("video_chrome_height", "must leave at least 2 px of the %d px high viewport", r.Height)
	}
	if n := v.Frames(); n > browser.MaxVideoFrames {
		name := "video_fps"
		if v.Length > 0 {
			name = "video_time"
		}
		return optErr(name, "makes a video of %d frames, at most %d (frames per second × seconds)", n, browser.MaxVideoFrames)
	}
	return nil
}
