package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The encoding half of a video render: Debian's ffmpeg
// (scripts/install-deps.sh) reads the frames as concatenated JPEGs on its
// standard input and writes the video to a file in a temporary directory
// (mp4 moves its index to the front, which needs a seekable output). It
// may read only its pipe and write only its file (-protocol_whitelist), is
// killed with the render's context, and is bounded by maxVideoBytes.

// ErrNoVideoEncoder: the mp4 and webm formats need ffmpeg, which is not
// installed.
var ErrNoVideoEncoder = errors.New("mp4 and webm need ffmpeg (Debian's ffmpeg), which is not installed")

var ffmpegPath = sync.OnceValues(func() (string, error) { return exec.LookPath("ffmpeg") })

// VideoAvailable reports whether this machine can make mp4 and webm renders.
func VideoAvailable() bool {
	_, err := ffmpegPath()
	return err == nil
}

// videoGeometry is what ffmpeg does to each captured frame: crop the
// rectangle (w, h) at (0, top), then scale it to out.
type videoGeometry struct {
	top, w, h  int
	outW, outH int
	inW, inH   int // the captured frame
}

// geometry works out a request's crop and output size, in pixels of the
// captured frame (the viewport at its device scale).
func (r URLRequest) geometry() videoGeometry {
	v, vp := r.Video, r.viewport()
	px := func(css int) int { return int(math.Round(float64(css) * vp.scale)) }
	g := videoGeometry{inW: px(vp.width), inH: px(vp.height)}
	g.top = px(v.ChromeHeight)
	g.w, g.h = g.inW, g.inH-g.top
	if v.CropWidth > 0 {
		g.w = min(g.w, px(v.CropWidth))
	}
	if a := v.Aspect; a > 0 {
		if float64(g.w)/float64(g.h) > a {
			g.w = int(math.Round(float64(g.h) * a))
		} else {
			g.h = int(math.Round(float64(g.w) / a))
		}
	}
	g.w, g.h = max(g.w, 2), max(g.h, 2)
	g.outW, g.outH = g.w, g.h
	switch {
	case v.Width > 0 && v.Height > 0:
		g.outW, g.outH = v.Width, v.Height
	case v.Width > 0:
		g.outW, g.outH = v.Width, int(math.Round(float64(v.Width)*float64(g.h)/float64(g.w)))
	case v.Height > 0:
		g.outW, g.outH = int(math.Round(float64(v.Height)*float64(g.w)/float64(g.h))), v.Height
	}
	// yuv420p needs even sides.
	g.outW, g.outH = min(max(g.outW&^1, 2), MaxVideoSide), min(max(g.outH&^1, 2), MaxVideoSide)
	return g
}

// filter is ffmpeg's -vf for g.
func (g videoGeometry) filter() string {
	return fmt.Sprintf("crop=%d:%d:0:%d,scale=%d:%d:flags=bicubic,setsar=1,format=yuv420p", g.w, g.h, g.top, g.outW, g.outH)
}

// presetIndex is the preset's place in VideoPresets, 0 fastest.
func presetIndex(p string) int {
	if i := slices.Index(VideoPresets, cmpStr(p, DefaultVideoPreset)); i >= 0 {
		return i
	}
	return slices.Index(VideoPresets, DefaultVideoPreset)
}

// codecArgs are ffmpeg's output arguments for the request's codec, preset
// and quality or bitrate.
func codecArgs(f Format, v VideoOptions) []string {
	p := presetIndex(v.Preset)
	rate := func(crf func(q int) int, def int) []string {
		if b := strconv.Itoa(v.BitsPerSecond); v.BitsPerSecond > 0 {
			if f == FormatWebM { // constant bitrate: libvpx's VBR overshoots short videos twice over
				return []string{"-b:v", b, "-minrate", b, "-maxrate", b}
			}
			return []string{"-b:v", b}
		}
		q := def
		if v.Quality > 0 {
			q = crf(v.Quality)
		}
		return []string{"-crf", strconv.Itoa(q)}
	}
	// VP8 and VP9: the fast presets encode in realtime mode, the slow ones
	// in good mode, each at a lower cpu-used (more effort) the slower.
	deadline := "realtime"
	if p > 4 {
		deadline = "good"
	}
	switch v.codec(f) {
	case CodecVP9:
		args := []string{"-c:v", "libvpx-vp9", "-deadline", deadline, "-cpu-used", strconv.Itoa([]int{8, 8, 7, 6, 5, 4, 3, 2, 1}[p]), "-row-mt", "1"}
		args = append(args, rate(func(q int) int { return 4 + (100-q)*59/100 }, 32)...)
		if v.BitsPerSecond == 0 {
			args = append(args, "-b:v", "0") // constant quality
		}
		return append(args, "-f", "webm")
	case CodecVP8:
		args := []string{"-c:v", "libvpx", "-deadline", deadline, "-cpu-used", strconv.Itoa([]int{16, 12, 10, 8, 6, 4, 2, 1, 0}[p])}
		args = append(args, rate(func(q int) int { return 4 + (100-q)*59/100 }, 10)...)
		if v.BitsPerSecond == 0 {
			args = append(args, "-b:v", "50M") // crf's ceiling
		}
		return append(args, "-f", "webm")
	}
	args := []string{"-c:v", "libx264", "-preset", VideoPresets[p]}
	args = append(args, rate(func(q int) int { return (100 - q) * 51 / 100 }, 23)...)
	return append(args, "-movflags", "+faststart", "-f", "mp4")
}

// ffmpegArgs are ffmpeg's arguments for a request, reading JPEG frames on
// pipe:0 and writing out.
func ffmpegArgs(r URLRequest, out string) []string {
	v := r.Video
	fps := strconv.Itoa(v.fps())
	args := []string{
		"-hide_banner", "-loglevel", "error", "-y",
		"-protocol_whitelist", "pipe,file",
		"-f", "image2pipe", "-c:v", "mjpeg", "-framerate", fps, "-i", "pipe:0",
		"-an", "-sn", "-dn", "-map_metadata", "-1", "-threads", "2",
		"-vf", r.geometry().filter(), "-r", fps, "-pix_fmt", "yuv420p",
	}
	args = append(args, codecArgs(r.Format, v)...)
	return append(args, "-fs", strconv.Itoa(maxVideoBytes), out)
}

// videoFrameBuffer is how many frames may wait for ffmpeg while the next
// are captured.
const videoFrameBuffer = 8

// encoder is one running ffmpeg, fed by a goroutine that writes the
// frames handed to it, so capturing and encoding overlap.
type encoder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr toolOutput
	dir    string
	out    string
	frames chan []byte
	wrote  chan error // the writer's first error, once it has closed stdin
	closed bool       // frames is closed
	done   bool       // ffmpeg was waited for
}

// startEncoder starts ffmpeg for the request, killed when ctx ends.
func startEncoder(ctx context.Context, r URLRequest) (*encoder, error) {
	bin, err := ffmpegPath()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, ErrNoVideoEncoder)
	}
	dir, err := os.MkdirTemp("", "renderhook-video-")
	if err != nil {
		return nil, fmt.Errorf("encode video: %w", err)
	}
	e := &encoder{dir: dir, out: filepath.Join(dir, "out."+string(r.Format)), closed: true, done: true}
	// #nosec G204 -- ffmpeg found on PATH, with our own arguments and temporary file name
	e.cmd = exec.CommandContext(ctx, bin, ffmpegArgs(r, e.out)...)
	e.cmd.Stdout, e.cmd.Stderr = &e.stderr, &e.stderr
	e.cmd.WaitDelay = 2 * time.Second
	e.cmd.Env = []string{} // no proxies or config from the server's environment
	if e.stdin, err = e.cmd.StdinPipe(); err != nil {
		e.kill()
		return nil, fmt.Errorf("encode video: %w", err)
	}
	if err := e.cmd.Start(); err != nil {
		e.kill()
		return nil, fmt.Errorf("encode video: start ffmpeg: %w", err)
	}
	e.frames, e.wrote, e.closed, e.done = make(chan []byte, videoFrameBuffer), make(chan error, 1), false, false
	go func() {
		var err error
		for f := range e.frames {
			if err == nil {
				_, err = e.stdin.Write(f)
			} // after an error, drain: ffmpeg's own error says why
		}
		_ = e.stdin.Close()
		e.wrote <- err
	}()
	return e, nil
}

// frame hands ffmpeg one JPEG frame.
func (e *encoder) frame(ctx context.Context, jpeg []byte) error {
	select {
	case e.frames <- jpeg:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("encode video: %w", ctx.Err())
	}
}

// stop closes the frames and waits for the writer and ffmpeg.
func (e *encoder) stop() (writeErr, waitErr error) {
	if !e.closed {
		close(e.frames)
		e.closed = true
		writeErr = <-e.wrote
	}
	if !e.done {
		waitErr = e.cmd.Wait()
		e.done = true
	}
	return writeErr, waitErr
}

// finish closes ffmpeg's input, waits for it and reads the video.
func (e *encoder) finish(ctx context.Context) ([]byte, error) {
	werr, err := e.stop()
	if err == nil {
		err = werr
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("encode video: %w", ctx.Err())
		}
		return nil, fmt.Errorf("encode video: ffmpeg: %w: %s", err, firstLine(e.stderr.String()))
	}
	st, err := os.Stat(e.out)
	if err != nil {
		return nil, fmt.Errorf("encode video: %w", err)
	}
	if st.Size() >= maxVideoBytes {
		return nil, fmt.Errorf("%w: the video is larger than %d MiB", ErrArtifactTooLarge, maxVideoBytes>>20)
	}
	data, err := os.ReadFile(e.out) // #nosec G304 -- our own temporary directory
	if err != nil {
		return nil, fmt.Errorf("encode video: %w", err)
	}
	return data, nil
}

// kill stops ffmpeg if it still runs and removes its directory.
func (e *encoder) kill() {
	if !e.done && e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
	}
	_, _ = e.stop()
	_ = os.RemoveAll(e.dir)
}
