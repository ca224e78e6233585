package takumi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxFrame bounds a response frame (an image) from the helper.
const maxFrame = 256 << 20

// Response statuses, as helper.js writes them.
const (
	statusOK          = 0
	statusError       = 1
	statusUnsupported = 2
)

type result struct {
	status byte
	body   []byte
	err    error
}

// proc is one helper process.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	wmu    sync.Mutex // serialises frames on stdin
	used   atomic.Int64
	nextID atomic.Uint32
	peak   *atomic.Int64

	mu      sync.Mutex
	pending map[uint32]chan result
	dead    chan struct{} // closed once the process has exited and pending failed
	ready   chan result
	fonts   fontReport
	stderr  *limitedWriter
}

func (p *proc) isDead() bool {
	select {
	case <-p.dead:
		return true
	default:
		return false
	}
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

// retire closes stdin: the helper finishes its renders in flight and exits.
func (p *proc) retire() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.stdin.Close()
}

// spawn starts a helper and waits for its ready frame.
func (r *Renderer) spawn(ctx context.Context) (*proc, error) {
	// The helper outlives ctx (which bounds only its start): kill ends it.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), r.cfg.Node, filepath.Join(r.cfg.HelperDir, "helper.js")) //nolint:gosec // the configured node binary runs our own helper script
	cmd.Dir = r.cfg.HelperDir
	cmd.Env = append(os.Environ(), "TAKUMI_FONTS="+strings.Join(r.cfg.Fonts, "\n"),
		"UV_THREADPOOL_SIZE="+strconv.Itoa(r.cfg.MaxConcurrent)) // a libuv thread per render in flight
	p := &proc{cmd: cmd, peak: &r.peak, pending: map[uint32]chan result{}, dead: make(chan struct{}), ready: make(chan result, 1)}
	p.stderr = &limitedWriter{max: 64 << 10}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("takumi: stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("takumi: stdout pipe: %w", err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrUnavailable, r.cfg.Node, err)
	}
	growPipe(stdout) // raw pixels are megabytes: fewer, larger reads
	go p.readLoop(bufio.NewReaderSize(stdout, 256<<10))
	t := time.NewTimer(r.cfg.StartTimeout)
	defer t.Stop()
	select {
	case res := <-p.ready:
		if res.err != nil {
			return nil, res.err
		}
		if err := json.Unmarshal(res.body, &p.fonts); err != nil {
			p.kill()
			return nil, fmt.Errorf("%w: bad ready frame: %w", ErrCrashed, err)
		}
		return p, nil
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("helper not ready: %w after %s", ErrTimeout, r.cfg.StartTimeout)
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("takumi: starting the helper: %w", ctx.Err())
	}
}

// readLoop delivers responses until the helper exits, then fails every
// render still pending with ErrCrashed.
func (p *proc) readLoop(rd *bufio.Reader) {
	err := p.readFrames(rd)
	_ = p.cmd.Wait()
	crash := fmt.Errorf("%w: %v; stderr: %s", ErrCrashed, err, strings.TrimSpace(p.stderrText()))
	p.mu.Lock()
	for id, ch := range p.pending {
		if ch != staleMark {
			ch <- result{err: crash}
		}
		delete(p.pending, id)
	}
	close(p.dead)
	p.mu.Unlock()
	select {
	case p.ready <- result{err: crash}:
	default:
	}
}

func (p *proc) readFrames(rd *bufio.Reader) error {
	var head [4]byte
	for {
		if _, err := io.ReadFull(rd, head[:]); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		n := binary.BigEndian.Uint32(head[:])
		if n < 7 || n > maxFrame {
			return fmt.Errorf("bad frame length %d", n)
		}
		frame := getFrame(int(n))
		if _, err := io.ReadFull(rd, frame); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		id := binary.BigEndian.Uint32(frame[0:4])
		res := result{status: frame[4], body: frame[7:]}
		inflight := int64(binary.BigEndian.Uint16(frame[5:7]))
		for {
			old := p.peak.Load()
			if inflight <= old || p.peak.CompareAndSwap(old, inflight) {
				break
			}
		}
		if id == 0 {
			p.ready <- res
			continue
		}
		p.mu.Lock()
		ch, ok := p.pending[id]
		delete(p.pending, id)
		p.mu.Unlock()
		if ok && ch != staleMark { // stale: the caller timed out and went away
			ch <- res
		}
	}
}

func (p *proc) stderrText() string {
	p.stderr.mu.Lock()
	defer p.stderr.mu.Unlock()
	return p.stderr.buf.String()
}

// fontReport is the helper's ready frame: fonts registered, and those that failed.
type fontReport struct {
	Registered int      `json:"fonts"`
	Failed     []string `json:"failed"`
}

type wireRequest struct {
	ID      uint32  `json:"id"`
	HTML    string  `json:"html"`
	Width   int     `json:"width,omitempty"`
	Height  int     `json:"height,omitempty"`
	Format  string  `json:"format"`
	Quality int     `json:"quality,omitempty"`
	Images  []Image `json:"images,omitempty"`
}

// renderOn sends req to p and waits for its answer, Config.Timeout at most.
// A helper that has not answered a timed-out render one more Timeout later
// is wedged: it is killed, and the next render starts a new one.
func (r *Renderer) renderOn(ctx context.Context, p *proc, req Request) ([]byte, error) {
	id := p.nextID.Add(1)
	body, err := json.Marshal(wireRequest{ID: id, HTML: req.HTML, Width: req.Width, Height: req.Height,
		Format: req.Format, Quality: req.Quality, Images: req.Images})
	if err != nil {
		return nil, fmt.Errorf("takumi: encode request: %w", err)
	}
	ch := make(chan result, 1)
	p.mu.Lock()
	if p.isDead() {
		p.mu.Unlock()
		return nil, ErrCrashed
	}
	p.pending[id] = ch
	p.mu.Unlock()
	frame := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body))) //nolint:gosec // bounded by the template caps, far below 4 GiB
	copy(frame[4:], body)
	p.wmu.Lock()
	_, err = p.stdin.Write(frame)
	p.wmu.Unlock()
	if err != nil {
		p.forget(id)
		return nil, fmt.Errorf("%w: write: %w", ErrCrashed, err)
	}
	t := time.NewTimer(r.cfg.Timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return decode(res)
	case <-t.C:
		p.forget(id)
		time.AfterFunc(r.cfg.Timeout, func() {
			if !p.isDead() && p.stale(id) {
				p.kill()
			}
		})
		return nil, fmt.Errorf("%w after %s", ErrTimeout, r.cfg.Timeout)
	case <-ctx.Done():
		p.forget(id)
		return nil, fmt.Errorf("takumi: %w", ctx.Err())
	}
}

func decode(res result) ([]byte, error) {
	switch {
	case res.err != nil:
		return nil, res.err
	case res.status == statusOK:
		return res.body, nil
	case res.status == statusUnsupported:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, res.body)
	default:
		return nil, fmt.Errorf("%w: %s", ErrRender, res.body)
	}
}

// forget drops a pending render whose caller went away, remembering it as
// stale until the helper answers it.
func (p *proc) forget(id uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pending[id]; ok {
		p.pending[id] = staleMark
	}
}

// staleMark marks a pending render nobody waits for any more; nothing is
// ever sent on it.
var staleMark = make(chan result)

// stale reports whether the helper still owes an answer to render id.
func (p *proc) stale(id uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.pending[id]
	return ok && ch == staleMark
}

// limitedWriter keeps the first max bytes of the helper's stderr.
type limitedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// Frames of raw pixels (megabytes each) are reused: a raw render's frame
// goes back once it is encoded (putFrame), the next large one takes it.
// A free list of its own, not a sync.Pool, which every GC empties: with
// megabytes allocated per render, that is every few renders. Only frames
// of card sizes are kept (up to maxPooledFrame): one burst of the largest
// canvases (maxRawPixels, 64 MiB a frame) would otherwise stay in the list
// for the life of the process.
const (
	pooledFrame    = 1 << 20
	maxPooledFrame = 16 << 20
)

var frames = newFreeList[[]byte](16)

func getFrame(n int) []byte {
	if n >= pooledFrame {
		if b, ok := frames.get(); ok && cap(b) >= n {
			return b[:n]
		}
		// Room for the header too: what comes back is the body, frame[7:].
		return make([]byte, n, n+64)
	}
	return make([]byte, n)
}

// putFrame returns a frame's bytes (or a slice of them) for reuse; the
// caller keeps no reference to them.
func putFrame(b []byte) {
	if cap(b) >= pooledFrame && cap(b) <= maxPooledFrame+64 {
		frames.put(b)
	}
}

// freeList keeps up to its capacity of values for reuse; past it they
// are dropped.
type freeList[T any] chan T

func newFreeList[T any](n int) freeList[T] { return make(chan T, n) }

func (l freeList[T]) get() (T, bool) {
	select {
	case v := <-l:
		return v, true
	default:
		var zero T
		return zero, false
	}
}

func (l freeList[T]) put(v T) {
	select {
	case l <- v:
	default:
	}
}
