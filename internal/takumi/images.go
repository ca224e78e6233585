package takumi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/net/html"
)

// takumi draws only the images it is handed (it fetches nothing, fonts and
// stylesheets included), so the http(s) images a render's HTML references,
// by <img src> or CSS url(), are fetched here with Config.Fetch: the
// egress guard's client, so a template reaches only what Chromium's
// template proxy would let it reach. An image that cannot be fetched
// (refused, failed, too large, past MaxImages) is left out, as a broken
// image is in Chromium; the render goes on.

// cssURL matches a CSS url(...) with its optional quotes.
var cssURL = regexp.MustCompile(`url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)`)

// ImageURLs lists the distinct http(s) image URLs doc references, as takumi
// will look them up: <img src> (entities decoded, as takumi's HTML reader
// does) and url() in style attributes and <style> elements, in order.
func ImageURLs(doc string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(u string) {
		u = strings.TrimSpace(u)
		lu := strings.ToLower(u)
		if (strings.HasPrefix(lu, "http://") || strings.HasPrefix(lu, "https://")) && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	addCSS := func(css string) {
		for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
			add(m[1] + m[2] + m[3])
		}
	}
	scan(doc, addCSS, func(t html.Token) {
		if t.Data != "img" {
			return
		}
		for _, a := range t.Attr {
			if a.Key == "src" {
				add(a.Val)
			}
		}
	})
	return out
}

// fetchImages fetches the images doc references that are not in have yet,
// at most Config.MaxImages, all at once.
func (r *Renderer) fetchImages(ctx context.Context, doc string, have []Image) []Image {
	if r.cfg.Fetch == nil {
		return nil
	}
	known := map[string]bool{}
	for _, im := range have {
		known[im.Src] = true
	}
	var urls []string
	for _, u := range ImageURLs(doc) {
		if !known[u] && len(urls) < r.cfg.MaxImages {
			urls = append(urls, u)
		}
	}
	got := make([]*Image, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := r.fetch(ctx, u)
			if err != nil {
				r.fetchFailures.Add(1)
				return
			}
			got[i] = &Image{Src: u, Data: data}
		}()
	}
	wg.Wait()
	out := make([]Image, 0, len(got))
	for _, im := range got {
		if im != nil {
			out = append(out, *im)
		}
	}
	return out
}

// fetch gets one image, Config.MaxImageBytes at most.
func (r *Renderer) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", u, err)
	}
	req.Header.Set("Accept", "image/*")
	resp, err := r.cfg.Fetch.Do(req)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("image %s: status %d", u, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", u, err)
	}
	if int64(len(data)) > r.cfg.MaxImageBytes {
		return nil, fmt.Errorf("image %s: larger than %d bytes", u, r.cfg.MaxImageBytes)
	}
	return data, nil
}
