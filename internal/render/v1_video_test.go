package render

import (
	"strings"
	"testing"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
)

// needVideo skips a test where the video formats are refused: this
// machine has no ffmpeg.
func needVideo(t *testing.T) {
	t.Helper()
	if !browser.VideoAvailable() {
		t.Skip("ffmpeg is not installed (scripts/install-deps.sh)")
	}
}

// TestV1VideoOptions: each video option lands in the request's
// VideoOptions as the browser reads it (what each does to the video is
// browser.TestRenderURLVideo's).
func TestV1VideoOptions(t *testing.T) {
	needVideo(t)
	for _, c := range []struct {
		opts map[string]any
		want browser.VideoOptions
	}{
		{map[string]any{"video_codec": "VP8", "format": "webm"}, browser.VideoOptions{Codec: "vp8"}},
		{map[string]any{"video_fps": 24}, browser.VideoOptions{FPS: 24}},
		{map[string]any{"video_fps": 24, "format": "webm"}, browser.VideoOptions{FPS: 24}},
		{map[string]any{"video_fps": 60, "video_time": 15}, browser.VideoOptions{FPS: 60, Length: 15 * time.Second}}, // 900 frames, the most
		{map[string]any{"video_width": 640, "video_height": "360"}, browser.VideoOptions{Width: 640, Height: 360}},
		{map[string]any{"video_quality": 80}, browser.VideoOptions{Quality: 80}},
		{map[string]any{"video_preset": "slow"}, browser.VideoOptions{Preset: "slow"}},
		{map[string]any{"video_bitrate": 800}, browser.VideoOptions{BitsPerSecond: 800_000}},
		{map[string]any{"video_bits_per_second": 123_456}, browser.VideoOptions{BitsPerSecond: 123_456}},
		{map[string]any{"video_time": 2.5}, browser.VideoOptions{Length: 2500 * time.Millisecond}},
		{map[string]any{"video_aspect": 1.5}, browser.VideoOptions{Aspect: 1.5}},
		{map[string]any{"video_scroll": false}, browser.VideoOptions{Still: true}},
		{map[string]any{"video_scroll": true}, browser.VideoOptions{}},
		{map[string]any{"video_ease": "bounce.out", "video_ease_end": "back.in", "video_scroll_back_duration": 300},
			browser.VideoOptions{Ease: "bounce.out", EaseEnd: "back.in", ScrollBack: 300 * time.Millisecond}},
		{map[string]any{"video_prescroll_duration": 100, "video_scroll_duration": 200, "video_rest_duration": 300, "video_postscroll_duration": 400},
			browser.VideoOptions{Prescroll: 100 * time.Millisecond, Scroll: 200 * time.Millisecond, Rest: 300 * time.Millisecond, Postscroll: 400 * time.Millisecond}},
		{map[string]any{"video_scroll_distance": 900, "video_jitter": 7}, browser.VideoOptions{ScrollDistance: 900, Jitter: 7}},
		{map[string]any{"video_chrome_height": 80, "video_crop_w": 600}, browser.VideoOptions{ChromeHeight: 80, CropWidth: 600}},
	} {
		if c.opts["format"] == nil {
			c.opts["format"] = "mp4"
		}
		o, err := parseWith(t, c.opts)
		if err != nil {
			t.Errorf("%v: %v", c.opts, err)
			continue
		}
		if o.Request.Video != c.want || string(o.Request.Format) != c.opts["format"] {
			t.Errorf("%v: %s %+v, want %+v", c.opts, o.Request.Format, o.Request.Video, c.want)
		}
	}
}

// TestV1VideoRefusals: a video option that would do nothing, or a video
// beyond its bounds, is a 400 naming the option.
func TestV1VideoRefusals(t *testing.T) {
	needVideo(t)
	for _, c := range []struct {
		opts map[string]any
		name string
	}{
		{map[string]any{"video_fps": 10}, "video_fps"}, // a png
		{map[string]any{"format": "pdf", "video_jitter": 3}, "video_jitter"},
		{map[string]any{"format": "mp4", "video_fps": 61}, "video_fps"},
		{map[string]any{"format": "mp4", "video_fps": 60, "video_time": 20}, "video_time"},
		{map[string]any{"format": "mp4", "video_time": 31}, "video_time"},
		{map[string]any{"format": "mp4", "video_codec": "vp9"}, "video_codec"},
		{map[string]any{"format": "webm", "video_codec": "h264"}, "video_codec"},
		{map[string]any{"format": "mp4", "video_codec": "av1"}, "video_codec"},
		{map[string]any{"format": "mp4", "video_quality": 50, "video_bitrate": 500}, "video_bitrate"},
		{map[string]any{"format": "mp4", "video_bitrate": 500, "video_bits_per_second": 500_000}, "video_bits_per_second"},
		{map[string]any{"format": "mp4", "video_scroll": false, "video_scroll_duration": 500}, "video_scroll_duration"},
		{map[string]any{"format": "mp4", "video_scroll": false, "video_jitter": 5}, "video_jitter"},
		{map[string]any{"format": "mp4", "video_ease_end": "cubic.in"}, "video_ease_end"},
		{map[string]any{"format": "mp4", "video_ease": "wobbly"}, "video_ease"},
		{map[string]any{"format": "mp4", "video_preset": "placebo"}, "video_preset"},
		{map[string]any{"format": "mp4", "height": 100, "video_chrome_height": 99}, "video_chrome_height"},
		{map[string]any{"format": "mp4", "video_jitter": 201}, "video_jitter"},
		{map[string]any{"format": "mp4", "full_page": true}, "full_page"},
		{map[string]any{"format": "webm", "selector": "main"}, "selector"},
		{map[string]any{"format": "mp4", "crop_width": 300}, "crop_width"},
		{map[string]any{"format": "mp4", "watermark_text": "x"}, "watermark_text"},
		{map[string]any{"format": "mp4", "width_from": "main"}, "width_from"},
		{map[string]any{"format": "webm", "height_from": "#hero"}, "height_from"},
		{map[string]any{"format": "mp4", "quality": 50}, "quality"},
	} {
		_, err := parseWith(t, c.opts)
		if err == nil || !strings.Contains(err.Error(), `option "`+c.name+`"`) {
			t.Errorf("%v: %v, want a refusal naming %q", c.opts, err, c.name)
		}
	}
}
