package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/store"
)

// A v1 render's artifacts (save_html, save_mhtml, save_markdown,
// save_metadata; metadata) are stored beside its file, under its key with
// another ending, before the render is recorded; so they are the space's
// as the file is, their URLs are made (signed, or the bucket's) as the
// file's is, and a cached render has the same artifacts as the request it
// answers (the browser's Extract is in the cache key).

// The endings of the artifacts' keys, in place of the file's extension.
const (
	htmlSuffix     = blob.ArtifactHTML
	mhtmlSuffix    = blob.ArtifactMHTML
	markdownSuffix = blob.ArtifactMarkdown
	metadataSuffix = blob.ArtifactMetadata
	customSuffix   = blob.ArtifactCustomData
)

// Artifacts is what a v1 answer and its render.succeeded webhook add to
// the file's URL: the artifacts' URLs and the page metadata.
type Artifacts struct {
	HTMLURL     string
	MHTMLURL    string
	MarkdownURL string
	MetadataURL string
	// Metadata is the page's metadata when the metadata option asked for
	// it (JSON of a browser.PageMetadata).
	Metadata json.RawMessage
	// CustomData is the JSON of custom_data_variable's value.
	CustomData json.RawMessage
}

// Fields adds the artifacts to a JSON answer, in Urlbox's names.
func (a *Artifacts) Fields(body map[string]any) {
	if a == nil {
		return
	}
	for k, v := range map[string]string{"htmlUrl": a.HTMLURL, "mhtmlUrl": a.MHTMLURL, "markdownUrl": a.MarkdownURL, "metadataUrl": a.MetadataURL} {
		if v != "" {
			body[k] = v
		}
	}
	if a.Metadata != nil {
		body["metadata"] = a.Metadata
	}
	if a.CustomData != nil {
		body["customData"] = a.CustomData
	}
}

// artifactKey is the key of a render's artifact: beside its file, or for
// a render whose file is in the client's bucket (no blob key), where its
// file would be were it renderhook's, dated by its creation.
func artifactKey(rec *store.Render, suffix string) string {
	base := rec.BlobKey
	if base == "" {
		base = rec.SpaceID + "/" + rec.CreatedAt.UTC().Format("2006/01/02") + "/" + rec.ID
	}
	return blob.ArtifactKey(base, suffix)
}

// storeArtifacts puts what the browser extracted beside the render's file.
func (s *Service) storeArtifacts(ctx context.Context, rec *store.Render, ex *browser.Extracted) error {
	if ex == nil {
		return nil
	}
	put := func(suffix string, data []byte, contentType string) error {
		if data == nil {
			return nil
		}
		if err := s.cfg.Bucket.Put(ctx, artifactKey(rec, suffix), data, contentType); err != nil {
			return fmt.Errorf("store render %s%s: %w", rec.ID, suffix, err)
		}
		return nil
	}
	var md []byte
	if ex.Metadata != nil {
		md, _ = json.Marshal(ex.Metadata) // strings only: always marshals
	}
	return errors.Join(
		put(htmlSuffix, ex.HTML, browser.FormatHTML.ContentType()),
		put(mhtmlSuffix, ex.MHTML, browser.FormatMHTML.ContentType()),
		put(markdownSuffix, ex.Markdown, browser.FormatMarkdown.ContentType()),
		put(metadataSuffix, md, "application/json"),
		put(customSuffix, ex.CustomData, "application/json"),
	)
}

// artifactsOf are the artifacts of a succeeded v1 render made with o; md
// and custom are its page metadata and custom data when known (nil: read
// from the bucket if o answers with them). Nil when o asked for none.
func (s *Service) artifactsOf(ctx context.Context, rec *store.Render, o *URLOptions, md, custom json.RawMessage) (*Artifacts, error) {
	if o == nil {
		return nil, nil
	}
	e := o.Request.Extract
	if !e.HTML && !e.MHTML && !e.Markdown && !o.SaveMetadata && !o.PageMetadata && e.CustomData == "" {
		return nil, nil
	}
	a := &Artifacts{}
	url := func(on bool, suffix string) string {
		if !on {
			return ""
		}
		return s.cfg.Signer.URL(artifactKey(rec, suffix))
	}
	a.HTMLURL, a.MHTMLURL, a.MarkdownURL = url(e.HTML, htmlSuffix), url(e.MHTML, mhtmlSuffix), url(e.Markdown, markdownSuffix)
	a.MetadataURL = url(o.SaveMetadata, metadataSuffix)
	var err error
	// A no_upload render stored none of them: what its answer had is
	// gone, and its status says nothing of them.
	stored := !o.NoUpload
	if o.PageMetadata {
		if md == nil && stored {
			if md, err = s.readJSON(ctx, rec, metadataSuffix); err != nil {
				return nil, err
			}
		}
		a.Metadata = md
	}
	if e.CustomData != "" {
		if custom == nil && stored {
			if custom, err = s.readJSON(ctx, rec, customSuffix); err != nil {
				return nil, err
			}
		}
		a.CustomData = custom
	}
	return a, nil
}

// readJSON reads a render's stored JSON artifact (page metadata, custom
// data).
func (s *Service) readJSON(ctx context.Context, rec *store.Render, suffix string) (json.RawMessage, error) {
	// What storeArtifacts wrote is bounded by the browser's limits.
	data, err := s.readStored(ctx, artifactKey(rec, suffix), 1<<20)
	if err == nil && !json.Valid(data) {
		err = errors.New("not JSON")
	}
	if err != nil {
		return nil, fmt.Errorf("read render %s%s: %w", rec.ID, suffix, err)
	}
	return data, nil
}

// readStored reads the object at key in renderhook's bucket: at most
// limit bytes, or all of it for a negative limit.
func (s *Service) readStored(ctx context.Context, key string, limit int64) ([]byte, error) {
	f, _, err := s.cfg.Bucket.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if limit < 0 {
		return io.ReadAll(f)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// extractedMetadata is the JSON of what the browser read of the page's
// metadata, nil if nothing.
func extractedMetadata(res *browser.Result) json.RawMessage {
	if res.Extracted == nil || res.Extracted.Metadata == nil {
		return nil
	}
	b, _ := json.Marshal(res.Extracted.Metadata) // strings only: always marshals
	return b
}

// sourceArtifacts are the artifacts of a render from src that the
// browser made as res; nil for sources that make none (pages).
func (s *Service) sourceArtifacts(ctx context.Context, rec *store.Render, src source, res *browser.Result) (*Artifacts, error) {
	u, ok := src.(urlSource)
	if !ok {
		return nil, nil
	}
	var custom json.RawMessage
	if res.Extracted != nil {
		custom = res.Extracted.CustomData
	}
	return s.artifactsOf(ctx, rec, u.opts, extractedMetadata(res), custom)
}

// URLArtifacts returns the artifacts of rec, a succeeded render that
// answered a request with options o from the cache (the same cache key:
// the same artifacts), for an answer.
func (s *Service) URLArtifacts(ctx context.Context, rec *store.Render, o *URLOptions) (*Artifacts, error) {
	return s.artifactsOf(ctx, rec, o, nil, nil)
}

// RenderArtifacts returns the artifacts of a succeeded render for a status
// answer (nil if it asked for none): a queued render's options say which
// it has.
func (s *Service) RenderArtifacts(ctx context.Context, rec *store.Render) (*Artifacts, error) {
	if rec.Status != store.RenderSucceeded || rec.Options == "" || rec.PageID != "" {
		return nil, nil
	}
	o, err := decodeOptions[URLOptions](rec)
	if err != nil {
		return nil, err
	}
	return s.artifactsOf(ctx, rec, o, nil, nil)
}
