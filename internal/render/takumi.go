package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/takumi"
)

// The takumi fast path. A page render's render type (the request's
// renderType, else its template's) picks its renderer: html is Chromium;
// takumi is takumi; auto is takumi when the template version is
// takumi-capable (decide), Chromium otherwise. Whatever the renderer, the
// render goes through the one pipeline (pipeline.go): its credits, its
// record, log entry and jobs in one transaction, its storage, webhooks and
// cache. What takumi cannot make (PDF, several pages) and every render of
// a service without takumi stays on Chromium.

// Takumi is what the service needs of the browserless renderer
// (takumi.Renderer).
type Takumi interface {
	Render(ctx context.Context, req takumi.Request) ([]byte, error)
}

// RenderTypes are the render types a template or a request may name.
var RenderTypes = []string{store.RenderTypeHTML, store.RenderTypeTakumi, store.RenderTypeAuto}

// ValidRenderType reports whether rt is one of RenderTypes.
func ValidRenderType(rt string) bool {
	for _, v := range RenderTypes {
		if rt == v {
			return true
		}
	}
	return false
}

// renderTypeError is the refusal of a render type that is none of RenderTypes.
func renderTypeError(rt string) error {
	return fmt.Errorf("%w: renderType %q is not one of %s", ErrInvalidInput, truncate(rt), strings.Join(RenderTypes, ", "))
}

// takumiFormat reports whether takumi makes f.
func takumiFormat(f browser.Format) bool {
	return f == browser.FormatPNG || f == browser.FormatJPEG || f == browser.FormatWebP
}

// useTakumi decides a prepared render's renderer: true for takumi.
func (s *Service) useTakumi(ctx context.Context, p *prepared, o *Options) bool {
	if s.cfg.Takumi == nil || len(p.runs) != 1 || !takumiFormat(o.Format) {
		return false
	}
	rt := o.RenderType
	if rt == "" {
		rt = p.first.RenderType
	}
	switch rt {
	case store.RenderTypeTakumi:
		return true
	case store.RenderTypeAuto:
		return s.decide(ctx, p.first).Takumi
	default:
		return false
	}
}

// captureTakumi renders a prepared one-page render with takumi: the
// template runs under the same limits as for Chromium, and a helper that
// crashed under the render is given one more try (the supervisor starts a
// new one), so a crash fails only a render that crashes it twice.
func (s *Service) captureTakumi(ctx context.Context, p *prepared, o *Options) (*captured, error) {
	start := time.Now()
	pages, err := s.build(ctx, p)
	if err != nil {
		return nil, err
	}
	req := takumi.Request{HTML: pages[0].HTML, Width: pages[0].Width, Height: pages[0].Height,
		Format: string(o.Format), Quality: cmpQuality(o)}
	data, err := s.cfg.Takumi.Render(ctx, req)
	if errors.Is(err, takumi.ErrCrashed) && ctx.Err() == nil {
		data, err = s.cfg.Takumi.Render(ctx, req)
	}
	if err != nil {
		return nil, err // unwrapped: the record says takumi's own words
	}
	return &captured{Result: &browser.Result{Data: data, ContentType: o.Format.ContentType(), RenderTime: time.Since(start)},
		renderer: store.RendererTakumi}, nil
}

// cmpQuality is the quality takumi is asked for: the request's, or the
// browser's default for the lossy formats, so both renderers agree.
func cmpQuality(o *Options) int {
	if o.Quality > 0 || o.Format == browser.FormatPNG {
		return o.Quality
	}
	return 90
}

// retryable reports whether an async render's error is the renderer's
// fault rather than the page's: its job is tried again.
func retryable(err error) bool {
	return errors.Is(err, takumi.ErrCrashed) || errors.Is(err, takumi.ErrStopped)
}

// Decision is whether auto picks takumi for a template version, and why.
type Decision struct {
	Takumi bool
	// Similarity is the SSIM of the two renders of the template with its
	// defaults (0 when none was made).
	Similarity float64
	// Reason says why not, when Takumi is false.
	Reason string
}

// fidelityCache holds a Decision per template version, each made once
// (callers of a version being decided wait for it).
type fidelityCache struct {
	mu sync.Mutex
	m  map[string]*decision
}

type decision struct {
	done chan struct{}
	d    Decision
}

// maxDecisions bounds the cache; past it, it starts afresh.
const maxDecisions = 4096

// versionKey names a template version: its id, and a hash of what
// renders (HTML, size, variables' defaults), so an edit is a new version.
func versionKey(t *store.Template) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00", t.ID, t.Width, t.Height, t.HTML)
	for _, v := range t.Variables {
		fmt.Fprintf(h, "%s\x00%s\x00%v\x00", v.Name, v.Type, v.Default)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Decide returns whether auto picks takumi for template t, deciding once
// per template version (see decide).
func (s *Service) Decide(ctx context.Context, t *store.Template) Decision {
	return s.decide(ctx, t)
}

// CachedDecision is the decision already made for t's version, if any.
func (s *Service) CachedDecision(t *store.Template) (Decision, bool) {
	c := &s.fidelity
	c.mu.Lock()
	e := c.m[versionKey(t)]
	c.mu.Unlock()
	if e == nil {
		return Decision{}, false
	}
	select {
	case <-e.done:
		return e.d, true
	default:
		return Decision{}, false
	}
}

// decide makes (or reads) the decision for t's version: takumi only when
// its HTML and CSS use nothing takumi lacks (takumi.Unsupported) and its
// render with the template's defaults is, by takumi.SSIM, at least
// takumi.Threshold alike Chromium's.
func (s *Service) decide(ctx context.Context, t *store.Template) Decision {
	key := versionKey(t)
	c := &s.fidelity
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecisions {
		c.m = map[string]*decision{}
	}
	e, ok := c.m[key]
	if !ok {
		e = &decision{done: make(chan struct{})}
		c.m[key] = e
	}
	c.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.d
		case <-ctx.Done():
			return Decision{Reason: "not decided yet"}
		}
	}
	e.d = s.compare(context.WithoutCancel(ctx), t)
	s.log.Info("auto render type decided", "template_id", t.ID, "takumi", e.d.Takumi, "similarity", e.d.Similarity, "reason", e.d.Reason)
	if e.d.Reason == errDecisionAborted {
		c.mu.Lock()
		delete(c.m, key) // decide again next time
		c.mu.Unlock()
	}
	close(e.done)
	return e.d
}

// errDecisionAborted marks a decision that could not be made now (the
// browser busy or down): it is not cached.
const errDecisionAborted = "no comparison could be made now"

// compare renders t with its defaults with both renderers and compares.
func (s *Service) compare(ctx context.Context, t *store.Template) Decision {
	ct, err := s.cache.get(t)
	if err != nil {
		return Decision{Reason: "template does not parse"}
	}
	data, err := ApplyValues(t, nil, Tweaks{})
	if err != nil {
		return Decision{Reason: "defaults do not apply"}
	}
	html, err := ct.execute(ctx, newBudget(s.cfg.Limits), data)
	if err != nil {
		return Decision{Reason: "template does not execute with its defaults"}
	}
	if why := takumi.Unsupported(html); len(why) > 0 {
		return Decision{Reason: "uses what takumi does not draw: " + strings.Join(why, "; ")}
	}
	page := browser.Page{HTML: html, Width: t.Width, Height: t.Height}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ref, err := s.cfg.Browser.Render(ctx, browser.Request{Pages: []browser.Page{page}, Format: browser.FormatPNG, SpaceID: t.SpaceID})
	if err != nil {
		s.log.Warn("auto render type: Chromium reference render failed", "template_id", t.ID, "err", err)
		return Decision{Reason: errDecisionAborted}
	}
	img, err := s.cfg.Takumi.Render(ctx, takumi.Request{HTML: html, Width: t.Width, Height: t.Height, Format: "png"})
	if retryable(err) || errors.Is(err, takumi.ErrTimeout) {
		s.log.Warn("auto render type: takumi reference render failed", "template_id", t.ID, "err", err)
		return Decision{Reason: errDecisionAborted}
	}
	if err != nil {
		return Decision{Reason: "takumi cannot render it: " + err.Error()}
	}
	sim, err := takumi.Similarity(ref.Data, img)
	if err != nil {
		return Decision{Reason: err.Error()}
	}
	if sim < takumi.Threshold {
		return Decision{Similarity: sim, Reason: fmt.Sprintf("takumi's render is %.3f alike Chromium's, below %.2f", sim, takumi.Threshold)}
	}
	return Decision{Takumi: true, Similarity: sim}
}
