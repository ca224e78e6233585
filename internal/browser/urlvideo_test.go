package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// videoBand is the height of a band of bandPage, in CSS px.
const videoBand = 16

// bandPage is 256 bands of videoBand px, band k coloured
// rgb(r*16+8, (k/16)*16+8, 128) with r = k%16 in rows of 16 bands
// that run back and forth (so neighbouring bands differ in one channel by
// one step, and a blur between them reads as one or the other), each with
// a line of text right of x=40: a frame's top row tells how far the page
// is scrolled.
func bandPage() string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><style>html,body{margin:0}div{height:16px;font:12px monospace;padding-left:40px;box-sizing:border-box;overflow:hidden}</style></head><body>`)
	for k := range 256 {
		r := k % 16
		if (k/16)%2 == 1 {
			r = 15 - r
		}
		fmt.Fprintf(&b, `<div style="background:rgb(%d,%d,128)">row %d of the page, some text to encode %x</div>`, r*16+8, (k/16)*16+8, k, k*7919)
	}
	b.WriteString(`</body></html>`)
	return b.String()
}

// videoInfo is what ffprobe says of a video's stream and container.
type videoInfo struct {
	Codec         string
	Width, Height int
	FPS           float64
	Duration      float64 // seconds
	BitRate       int     // bit/s
	Frames        int
}

func probeVideo(t *testing.T, data []byte) videoInfo {
	t.Helper()
	f := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,avg_frame_rate,nb_read_frames:format=duration,bit_rate,format_name",
		"-of", "json", f).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			AvgFrameRate string `json:"avg_frame_rate"`
			Frames       string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
			BitRate  string `json:"bit_rate"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe said %s (%v)", out, err)
	}
	s := p.Streams[0]
	info := videoInfo{Codec: s.CodecName, Width: s.Width, Height: s.Height}
	if n, d, ok := strings.Cut(s.AvgFrameRate, "/"); ok {
		num, _ := strconv.ParseFloat(n, 64)
		den, _ := strconv.ParseFloat(d, 64)
		info.FPS = num / den
	}
	info.Duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	info.BitRate, _ = strconv.Atoi(p.Format.BitRate)
	info.Frames, _ = strconv.Atoi(s.Frames)
	return info
}

// videoFrames decodes every frame of a video.
func videoFrames(t *testing.T, data []byte) []*image.RGBA {
	t.Helper()
	info := probeVideo(t, data)
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1")
	cmd.Stdin = bytes.NewReader(data)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode video: %v", err)
	}
	size := info.Width * info.Height * 4
	var frames []*image.RGBA
	for len(raw) >= size {
		img := image.NewRGBA(image.Rect(0, 0, info.Width, info.Height))
		copy(img.Pix, raw[:size])
		frames = append(frames, img)
		raw = raw[size:]
	}
	return frames
}

// scrollOf is how far bandPage was scrolled in frame, in CSS px (within a
// band): the band under the frame's pixel (4, 8).
func scrollOf(frame *image.RGBA) int {
	return bandAt(frame.RGBAAt(4, 8)) * videoBand
}

func bandAt(c color.RGBA) int {
	idx := func(v uint8) int { return min(15, max(0, int(math.Round((float64(v)-8)/16)))) }
	r, g := idx(c.R), idx(c.G)
	if g%2 == 1 {
		r = 15 - r
	}
	return r + 16*g
}

func scrolls(frames []*image.RGBA) []int {
	ys := make([]int, len(frames))
	for i, f := range frames {
		ys[i] = scrollOf(f)
	}
	return ys
}

// videoPool is a URL pool for video tests, skipped without ffmpeg.
func videoPool(t *testing.T) *Pool {
	t.Helper()
	if !VideoAvailable() {
		t.Skip("ffmpeg is not installed (scripts/install-deps.sh)")
	}
	return localPool(t)
}

// video renders bandPage at 320×240 as f with v.
func video(t *testing.T, p *Pool, f Format, v VideoOptions) []byte {
	t.Helper()
	return renderAs(t, p, URLRequest{HTML: bandPage(), Format: f, Width: 320, Height: 240, Video: v}).Data
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestRenderURLVideo checks the mp4 and webm formats and each video
// option by what ffprobe and the decoded frames show.
func TestRenderURLVideo(t *testing.T) {
	p := videoPool(t)
	short := VideoOptions{FPS: 10, Length: time.Second}

	t.Run("codecs", func(t *testing.T) {
		for _, c := range []struct {
			f     Format
			codec string
			want  string
		}{{FormatMP4, "", "h264"}, {FormatWebM, "", "vp9"}, {FormatWebM, CodecVP8, "vp8"}} {
			v := short
			v.Codec = c.codec
			if info := probeVideo(t, video(t, p, c.f, v)); info.Codec != c.want || info.Width != 320 || info.Height != 240 {
				t.Errorf("%s %q: %+v, want %s at 320x240", c.f, c.codec, info, c.want)
			}
		}
	})

	t.Run("fps and time", func(t *testing.T) {
		info := probeVideo(t, video(t, p, FormatMP4, VideoOptions{FPS: 12, Length: 1500 * time.Millisecond}))
		if !near(info.FPS, 12, 0.01) || info.Frames != 18 || !near(info.Duration, 1.5, 0.1) {
			t.Errorf("fps 12 for 1.5 s: %+v, want 18 frames at 12 fps, 1.5 s", info)
		}
	})

	t.Run("size", func(t *testing.T) {
		for _, c := range []struct {
			name string
			set  func(v *VideoOptions)
			w, h int
		}{
			{"width", func(v *VideoOptions) { v.Width = 200 }, 200, 150},
			{"height", func(v *VideoOptions) { v.Height = 120 }, 160, 120},
			{"both", func(v *VideoOptions) { v.Width, v.Height = 160, 160 }, 160, 160},
			{"aspect", func(v *VideoOptions) { v.Aspect = 1 }, 240, 240},
			{"crop_w", func(v *VideoOptions) { v.CropWidth = 100 }, 100, 240},
			{"chrome", func(v *VideoOptions) { v.ChromeHeight = 40 }, 320, 200},
		} {
			v := short
			v.Still = true
			c.set(&v)
			if info := probeVideo(t, video(t, p, FormatMP4, v)); info.Width != c.w || info.Height != c.h {
				t.Errorf("%s: %dx%d, want %dx%d", c.name, info.Width, info.Height, c.w, c.h)
			}
		}
	})

	t.Run("chrome height cuts the top", func(t *testing.T) {
		frames := videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 5, Length: time.Second, Still: true, ChromeHeight: 48}))
		// The frame's top is the page's y=48 (band 3), not its top (band 0).
		if got := scrollOf(frames[0]); got != 48 {
			t.Errorf("top of the frame shows the page at %d px, want 48", got)
		}
	})

	t.Run("still and scroll", func(t *testing.T) {
		still := scrolls(videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 5, Length: time.Second, Still: true})))
		for i, y := range still {
			if y != 0 {
				t.Errorf("still frame %d is scrolled to %d", i, y)
			}
		}
		// The page is 4096 px high; the viewport 240: it scrolls to 3856.
		ys := scrolls(videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 10, Scroll: time.Second, Ease: "linear.none"})))
		if len(ys) != 10 || ys[0] != 0 || ys[9] < 3300 {
			t.Fatalf("scroll: %v, want 10 frames from 0 down to the bottom", ys)
		}
		for i := 1; i < len(ys); i++ {
			if ys[i] <= ys[i-1] {
				t.Errorf("frame %d at %d is not below frame %d at %d", i, ys[i], i-1, ys[i-1])
			}
		}
	})

	t.Run("distance", func(t *testing.T) {
		ys := scrolls(videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 10, Scroll: 500 * time.Millisecond, Rest: 500 * time.Millisecond, ScrollDistance: 800})))
		if got := ys[len(ys)-1]; !near(float64(got), 800, videoBand) {
			t.Errorf("scroll_distance 800 ends at %d: %v", got, ys)
		}
	})

	t.Run("phases", func(t *testing.T) {
		ph := 500 * time.Millisecond
		ys := scrolls(videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 10, Prescroll: ph, Scroll: ph, Rest: ph, ScrollBack: ph, Postscroll: ph,
			ScrollDistance: 1600, Ease: "linear.none"})))
		if len(ys) != 25 {
			t.Fatalf("%d frames, want 25 (2.5 s at 10 fps)", len(ys))
		}
		phase := func(from, to int, ok func(y int) bool, what string) {
			for i := from; i < to; i++ {
				if !ok(ys[i]) {
					t.Errorf("frame %d at %d: want %s (%v)", i, ys[i], what, ys)
				}
			}
		}
		top := func(y int) bool { return y == 0 }
		bottom := func(y int) bool { return near(float64(y), 1600, videoBand) }
		phase(0, 5, top, "the top during prescroll")
		phase(6, 10, func(y int) bool { return y > 0 && y < 1600-videoBand }, "between during the scroll")
		phase(10, 15, bottom, "the bottom during the rest")
		phase(16, 20, func(y int) bool { return y > 0 && y < 1600-videoBand }, "between during the scroll back")
		phase(20, 25, top, "the top during postscroll")
	})

	t.Run("ease", func(t *testing.T) {
		mid := func(ease, easeEnd string) (down, up int) {
			ph := time.Second
			ys := scrolls(videoFrames(t, video(t, p, FormatMP4, VideoOptions{FPS: 10, Scroll: ph, ScrollBack: ph, ScrollDistance: 1600, Ease: ease, EaseEnd: easeEnd})))
			return ys[5], ys[15] // half way down, half way back up
		}
		down, up := mid("linear.none", "")
		if !near(float64(down), 800, videoBand) || !near(float64(up), 800, videoBand) {
			t.Errorf("linear: half way down at %d, back up at %d, want 800", down, up)
		}
		down, up = mid("quadratic.in", "cubic.out")
		// quadratic.in: 0.5² of the way; cubic.out back up: 1-(1-(1-0.5)³) = 0.125 left.
		if !near(float64(down), 400, videoBand) || !near(float64(up), 200, videoBand) {
			t.Errorf("quadratic.in, cubic.out: half way down at %d (want 400), back up at %d (want 200)", down, up)
		}
	})

	t.Run("jitter", func(t *testing.T) {
		opts := VideoOptions{FPS: 10, Scroll: 2 * time.Second, ScrollDistance: 1600, Ease: "linear.none"}
		smooth := scrolls(videoFrames(t, video(t, p, FormatMP4, opts)))
		opts.Jitter = 60
		shaky := scrolls(videoFrames(t, video(t, p, FormatMP4, opts)))
		moved := 0
		for i := range smooth {
			d := math.Abs(float64(shaky[i] - smooth[i]))
			if d > 60+2*videoBand {
				t.Errorf("frame %d jittered by %v px, more than 60", i, d)
			}
			if d > 2*videoBand {
				moved++
			}
		}
		t.Logf("smooth %v\nshaky  %v", smooth, shaky)
		if moved < 3 {
			t.Errorf("jitter 60 moved %d frames off the curve: %v vs %v", moved, shaky, smooth)
		}
	})

	t.Run("quality", func(t *testing.T) {
		v := VideoOptions{FPS: 10, Length: time.Second, ScrollDistance: 1600, Quality: 10}
		low := len(video(t, p, FormatMP4, v))
		v.Quality = 90
		high := len(video(t, p, FormatMP4, v))
		if high < 2*low {
			t.Errorf("quality 90 is %d bytes, quality 10 %d: want the better one at least twice as big", high, low)
		}
	})

	t.Run("preset", func(t *testing.T) {
		// x264 writes its settings into the stream: ultrafast searches
		// motion with dia, veryslow with umh.
		for preset, want := range map[string]string{"ultrafast": "me=dia", "veryslow": "me=umh"} {
			if data := video(t, p, FormatMP4, VideoOptions{FPS: 10, Length: time.Second, Preset: preset}); !bytes.Contains(data, []byte(want)) {
				t.Errorf("preset %s: the stream's x264 settings lack %q", preset, want)
			}
		}
	})

	t.Run("bitrate", func(t *testing.T) {
		for _, bps := range []int{500_000, 2_000_000} {
			for _, f := range []Format{FormatMP4, FormatWebM} {
				info := probeVideo(t, video(t, p, f, VideoOptions{FPS: 20, Length: 2 * time.Second, Ease: "linear.none", BitsPerSecond: bps}))
				if r := float64(info.BitRate) / float64(bps); r < 0.5 || r > 1.5 {
					t.Errorf("%s at %d bit/s: %d bit/s (%.2f of the target)", f, bps, info.BitRate, r)
				}
			}
		}
	})
}

// TestRenderURLVideoBounds checks that a video beyond its bounds is
// refused before it queues, and that a render cut by its timeout leaves
// no ffmpeg behind.
func TestRenderURLVideoBounds(t *testing.T) {
	p := videoPool(t)
	for name, v := range map[string]VideoOptions{
		"fps":        {FPS: MaxVideoFPS + 1},
		"frames":     {FPS: 60, Length: 20 * time.Second},
		"length":     {Length: MaxVideoLength + time.Second},
		"phase":      {Scroll: MaxVideoLength + time.Second},
		"codec":      {Codec: CodecVP9},
		"side":       {Width: MaxVideoSide + 2},
		"both rates": {Quality: 50, BitsPerSecond: 1000_000},
		"preset":     {Preset: "warp"},
		"ease":       {Ease: "wobbly.in"},
		"chrome":     {ChromeHeight: 240},
		"jitter":     {Jitter: MaxVideoJitter + 1},
	} {
		_, err := p.RenderURL(context.Background(), URLRequest{HTML: bandPage(), Format: FormatMP4, Width: 320, Height: 240, Video: v})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", name, err)
		}
	}
	_, err := p.RenderURL(context.Background(), URLRequest{HTML: bandPage(), Format: FormatPNG, Video: VideoOptions{FPS: 10}})
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("video options on a png: %v, want ErrBadRequest", err)
	}
	_, err = p.RenderURL(context.Background(), URLRequest{HTML: bandPage(), Format: FormatMP4, Width: 2560, Height: 1600, Retina: true})
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("5120x3200 frames: %v, want ErrBadRequest", err)
	}

	before := videoDirs(t)
	_, err = p.RenderURL(context.Background(), URLRequest{HTML: bandPage(), Format: FormatMP4, Width: 320, Height: 240, Timeout: 1500 * time.Millisecond,
		Video: VideoOptions{FPS: 60, Length: 15 * time.Second}})
	if !errors.Is(err, ErrRenderTimeout) {
		t.Fatalf("a 15 s video in 1.5 s: %v, want ErrRenderTimeout", err)
	}
	if after := videoDirs(t); after > before {
		t.Errorf("%d video directories left behind (ffmpeg's output)", after-before)
	}
	if n := ffmpegChildren(t); n > 0 {
		t.Errorf("%d ffmpeg processes still run after the render timed out", n)
	}
}

// ffmpegChildren counts this process's ffmpeg children.
func ffmpegChildren(t *testing.T) int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …
		_, rest, _ := strings.Cut(string(b), " (")
		comm, rest, _ := strings.Cut(rest, ") ")
		if fields := strings.Fields(rest); comm == "ffmpeg" && len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			n++
		}
	}
	return n
}

// videoDirs counts the encoders' temporary directories.
func videoDirs(t *testing.T) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "renderhook-video-*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
