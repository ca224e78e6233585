package browser

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/chromedp/cdproto/page"
)

// The mp4 and webm formats are a video of the page scrolling (Urlbox's
// video_* options). It is made frame by frame, not recorded in real time:
// for each frame the page is scrolled to where the easing curve puts it at
// that frame's time and the viewport is captured, and the frames are piped
// to ffmpeg (urlvideoenc.go), which encodes H.264 in mp4 or VP8/VP9 in
// webm. The same request gives the same frames however busy the node is;
// the page's own animations run on the wall clock meanwhile. A video takes
// one render slot like any URL render and is bounded by its timeout.

// Bounds of a video render.
const (
	// MaxVideoLength is the longest video, and the longest phase.
	MaxVideoLength = 30 * time.Second
	// MaxVideoFPS is the highest frame rate.
	MaxVideoFPS = 60
	// MaxVideoFrames bounds the frames of one video (30 s at 30 fps):
	// each is a screenshot.
	MaxVideoFrames = 900
	// MaxVideoSide bounds the output's width and height, in pixels.
	MaxVideoSide = 2560
	// maxVideoFramePixels bounds a captured frame (the viewport times the
	// device scale), 2560×1600.
	maxVideoFramePixels = 2560 * 1600
	// MaxVideoJitter bounds the scroll's jitter, in CSS px.
	MaxVideoJitter = 200
	// MaxVideoBitrate bounds a target bitrate, in bit/s.
	MaxVideoBitrate = 50_000_000
	// maxVideoBytes bounds the encoded file (ffmpeg's -fs).
	maxVideoBytes = 128 << 20

	// DefaultVideoFPS and DefaultVideoLength apply when none is given.
	DefaultVideoFPS    = 30
	DefaultVideoLength = 5 * time.Second
	// videoFrameQuality is the JPEG quality of the frames piped to ffmpeg.
	videoFrameQuality = 92
)

// The video codecs.
const (
	CodecH264 = "h264" // mp4's (libx264)
	CodecVP8  = "vp8"  // webm (libvpx)
	CodecVP9  = "vp9"  // webm's default (libvpx-vp9)
)

// VideoPresets are the encoder presets, fastest first (x264's names; VP8
// and VP9 map them to their speed settings).
var VideoPresets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

// DefaultVideoPreset is the preset when none is given.
const DefaultVideoPreset = "veryfast"

// VideoOptions are the video_* options of the mp4 and webm formats. The
// zero value is a 5 s, 30 fps video at the viewport's size that scrolls
// down through the whole of it.
type VideoOptions struct {
	// Codec is h264 (mp4), vp8 or vp9 (webm); "" is the format's default.
	Codec string
	// FPS is the frame rate, 1..MaxVideoFPS; 0 means DefaultVideoFPS.
	FPS int
	// Width and Height scale the frames to this many pixels (with one, the
	// other keeps the aspect ratio); 0 keeps the captured size.
	Width, Height int
	// Quality is 1..100 (100 best), mapped to the encoder's constant rate
	// factor; 0 is the encoder's usual default. Not with BitsPerSecond.
	Quality int
	// Preset is one of VideoPresets; "" means DefaultVideoPreset.
	Preset string
	// BitsPerSecond is a target bitrate; 0 encodes for Quality instead.
	BitsPerSecond int
	// Length is the video's duration: the phases play from its start, are
	// cut at its end, and their last frame holds if they end before it. 0
	// means the phases' sum, or DefaultVideoLength without phases.
	Length time.Duration
	// Aspect crops each frame (from its top left) to this width / height
	// ratio; 0 keeps it.
	Aspect float64
	// Still records the page without scrolling.
	Still bool
	// Ease is the curve of the scroll down and EaseEnd of the scroll back
	// up (see EaseNames); "" means DefaultEase and Ease.
	Ease, EaseEnd string
	// The phases, in order: Prescroll holds the top, Scroll scrolls down,
	// Rest holds there, ScrollBack scrolls back up, Postscroll holds the
	// top. All zero: Scroll is the whole video.
	Prescroll, Scroll, Rest, ScrollBack, Postscroll time.Duration
	// ScrollDistance is how far the scroll goes down, in CSS px; 0 means
	// to the bottom of the page (at most maxCaptureHeight).
	ScrollDistance int
	// ChromeHeight cuts this many CSS px off the top of every frame (a
	// browser's own chrome in a window recording; a fixed header here).
	ChromeHeight int
	// CropWidth cuts every frame to at most this many CSS px wide, from
	// its left; 0 keeps the viewport's width.
	CropWidth int
	// Jitter moves each scrolling frame by up to this many CSS px up or
	// down from the curve (a pseudo-random sequence fixed per request), so
	// the scroll looks made by hand.
	Jitter int
}

// IsVideo reports whether f is a video format.
func (f Format) IsVideo() bool { return f == FormatMP4 || f == FormatWebM }

// codec returns the codec the video is encoded with.
func (v VideoOptions) codec(f Format) string {
	if v.Codec != "" {
		return v.Codec
	}
	if f == FormatWebM {
		return CodecVP9
	}
	return CodecH264
}

// validateVideo checks the video options (of a video format; others must
// leave them zero) before the render queues.
func (r URLRequest) validateVideo() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	v := r.Video
	if !r.Format.IsVideo() {
		if v != (VideoOptions{}) {
			return bad("video options apply to mp4 and webm only, not %s", r.Format)
		}
		return nil
	}
	if !VideoAvailable() {
		return fmt.Errorf("%w: %w", ErrBadRequest, ErrNoVideoEncoder)
	}
	vp := r.viewport()
	phases := []time.Duration{v.Prescroll, v.Scroll, v.Rest, v.ScrollBack, v.Postscroll}
	switch c := v.codec(r.Format); {
	case r.FullPage || r.Selector != "" || r.Clip != nil || r.ThumbWidth > 0 || r.ThumbHeight > 0 ||
		r.ImgFit != "" || r.post() || r.CropWidth > 0 || r.Transparent:
		return bad("a video is of the viewport: full_page, selector, clip, thumbnails, fitting, padding, crop_width, transparency and watermarks do not apply")
	case (r.Format == FormatMP4) != (c == CodecH264) || (c != CodecH264 && c != CodecVP8 && c != CodecVP9):
		return bad("video codec %q does not go in %s (mp4 takes h264, webm vp8 or vp9)", v.Codec, r.Format)
	case v.FPS < 0 || v.FPS > MaxVideoFPS:
		return bad("video fps %d is outside 1..%d", v.FPS, MaxVideoFPS)
	case v.Width < 0 || v.Width > MaxVideoSide || v.Height < 0 || v.Height > MaxVideoSide:
		return bad("video size %dx%d: each side at most %d", v.Width, v.Height, MaxVideoSide)
	case float64(vp.width)*float64(vp.height)*vp.scale*vp.scale > maxVideoFramePixels:
		return bad("a video's frames (the viewport at its scale) may have at most %d pixels", maxVideoFramePixels)
	case v.Quality < 0 || v.Quality > 100, v.BitsPerSecond < 0 || v.BitsPerSecond > MaxVideoBitrate:
		return bad("video quality 1..100 and bitrate up to %d bit/s", MaxVideoBitrate)
	case v.Quality > 0 && v.BitsPerSecond > 0:
		return bad("a video is encoded for a quality or for a bitrate, not both")
	case v.Preset != "" && !slices.Contains(VideoPresets, v.Preset):
		return bad("video preset %q is not one of %v", v.Preset, VideoPresets)
	case v.Length < 0 || v.Length > MaxVideoLength, slices.ContainsFunc(phases, func(d time.Duration) bool { return d < 0 || d > MaxVideoLength }):
		return bad("a video and each of its phases last at most %s", MaxVideoLength)
	case v.Aspect < 0 || v.Aspect > 100 || math.IsNaN(v.Aspect):
		return bad("video aspect %v is outside 0.01..100", v.Aspect)
	case (v.Ease != "" && easing(v.Ease) == nil) || (v.EaseEnd != "" && easing(v.EaseEnd) == nil):
		return bad("video easing %q/%q is not one of %v", v.Ease, v.EaseEnd, EaseNames)
	case v.ScrollDistance < 0 || v.ScrollDistance > maxCaptureHeight:
		return bad("video scroll distance %d is outside 0..%d", v.ScrollDistance, maxCaptureHeight)
	case v.ChromeHeight < 0 || v.ChromeHeight > r.Height-2:
		return bad("video chrome height %d leaves less than 2 px of a %d px viewport", v.ChromeHeight, r.Height)
	case v.CropWidth < 0 || v.CropWidth > maxDimension, v.Jitter < 0 || v.Jitter > MaxVideoJitter:
		return bad("video crop width up to %d px, jitter up to %d px", maxDimension, MaxVideoJitter)
	}
	if n := v.Frames(); n > MaxVideoFrames {
		return bad("a video of %s at %d fps is %d frames, at most %d", v.length(), v.fps(), n, MaxVideoFrames)
	}
	return nil
}

func (v VideoOptions) fps() int { return cmp0(v.FPS, DefaultVideoFPS) }

// phaseSum is the phases' total.
func (v VideoOptions) phaseSum() time.Duration {
	return v.Prescroll + v.Scroll + v.Rest + v.ScrollBack + v.Postscroll
}

// length is the video's duration.
func (v VideoOptions) length() time.Duration {
	switch {
	case v.Length > 0:
		return v.Length
	case v.phaseSum() > 0 && !v.Still:
		return min(v.phaseSum(), MaxVideoLength)
	}
	return DefaultVideoLength
}

// Frames is how many frames the video has (at least one).
func (v VideoOptions) Frames() int {
	return max(1, int(math.Round(v.length().Seconds()*float64(v.fps()))))
}

// position is the scroll's fraction of its distance (0 the top, 1 the
// bottom) at time t, and whether the page is moving then.
func (v VideoOptions) position(t time.Duration) (float64, bool) {
	if v.Still {
		return 0, false
	}
	if v.phaseSum() == 0 {
		v.Scroll = v.length()
	}
	down, up := easing(cmpStr(v.Ease, DefaultEase)), easing(cmpStr(v.EaseEnd, cmpStr(v.Ease, DefaultEase)))
	ends := []time.Duration{v.Prescroll, v.Scroll, v.Rest, v.ScrollBack}
	at := t
	for i, d := range ends {
		if at < d {
			k := float64(at) / float64(d)
			switch i {
			case 0:
				return 0, false
			case 1:
				return down(k), true
			case 2:
				return 1, false
			case 3:
				return 1 - up(k), true
			}
		}
		at -= d
	}
	if v.ScrollBack > 0 {
		return 0, false // postscroll, at the top again
	}
	if v.Scroll > 0 {
		return 1, false
	}
	return 0, false
}

func cmp0(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func cmpStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// recordVideo captures the video's frames and encodes them.
func (r *urlRun) recordVideo(ctx context.Context) ([]byte, error) {
	req := r.req
	v := req.Video
	var dist float64
	if !v.Still {
		var bottom float64
		js := `Math.max(0, Math.min((document.scrollingElement || document.documentElement).scrollHeight, ` +
			fmt.Sprint(maxCaptureHeight) + `) - window.innerHeight)`
		if err := evaluate(ctx, js, &bottom); err != nil {
			return nil, fmt.Errorf("measure page for video: %w", err)
		}
		dist = bottom
		if v.ScrollDistance > 0 {
			dist = min(dist, float64(v.ScrollDistance))
		}
	}
	enc, err := startEncoder(ctx, req)
	if err != nil {
		return nil, err
	}
	defer enc.kill()
	jitter := rand.New(rand.NewPCG(1, 16)) // #nosec G404 -- a fixed sequence for a look, not a secret
	shot := page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatJpeg).WithQuality(videoFrameQuality).WithOptimizeForSpeed(true)
	n, fps := v.Frames(), v.fps()
	last := math.NaN()
	var spent [2]time.Duration // scrolling, capturing
	for i := range n {
		t := time.Duration(float64(i) * float64(time.Second) / float64(fps))
		k, moving := v.position(t)
		y := math.Round(k * dist)
		if moving && v.Jitter > 0 {
			y += float64(jitter.IntN(2*v.Jitter+1) - v.Jitter)
		}
		y = min(max(y, 0), dist)
		t0 := time.Now()
		if y != last {
			if err := evaluate(ctx, fmt.Sprintf(`window.scrollTo({left: 0, top: %d, behavior: "instant"})`, int(y)), nil); err != nil {
				return nil, fmt.Errorf("scroll video frame %d: %w", i, err)
			}
			last = y
		}
		t1 := time.Now()
		data, err := shot.Do(ctx)
		if err != nil {
			return nil, fmt.Errorf("capture video frame %d: %w", i, err)
		}
		spent[0], spent[1] = spent[0]+t1.Sub(t0), spent[1]+time.Since(t1)
		if err := enc.frame(ctx, data); err != nil {
			return nil, err
		}
	}
	r.ur.cfg.Logger.Debug("video frames", "frames", n, "scroll", spent[0], "capture", spent[1])
	return enc.finish(ctx)
}
