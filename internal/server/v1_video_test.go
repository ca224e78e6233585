package server_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
)

// TestV1VideoEndToEnd: a sync mp4 render through Chromium and ffmpeg is
// stored and served as video/mp4, a video ffprobe reads at the asked
// size; a signed link's webm segment answers a VP9 webm.
func TestV1VideoEndToEnd(t *testing.T) {
	if !browser.VideoAvailable() {
		t.Skip("ffmpeg is not installed (scripts/install-deps.sh)")
	}
	e, site := v1Server(t)
	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{
		"html": "<body style='height:3000px;background:linear-gradient(red,blue)'><h1>video</h1></body>", "format": "mp4",
		"width": 320, "height": 240, "video_time": 1, "video_fps": 10, "video_width": 160,
	})
	body, h := fetchFile(t, r.JSON(t)["renderUrl"].(string))
	if h.Get("Content-Type") != "video/mp4" {
		t.Fatalf("content type %q", h.Get("Content-Type"))
	}
	if got := probe(t, body); got != "h264 160x120" {
		t.Errorf("mp4 render: %s, want h264 160x120", got)
	}

	sp := e.space1()
	q := "url=" + url.QueryEscape(site.URL+"/") + "&video_time=0.5&video_fps=10&width=320&height=240"
	lr := e.get("/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, q) + "/webm?" + q)
	if lr.Status != 200 || lr.Header.Get("Content-Type") != "video/webm" {
		t.Fatalf("signed webm link: %d %v %.200s", lr.Status, lr.Header, lr.Body)
	}
	if got := probe(t, string(lr.Body)); got != "vp9 320x240" {
		t.Errorf("webm link: %s, want vp9 320x240", got)
	}
}

// probe is ffprobe's "codec WxH" of a video.
func probe(t *testing.T, data string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
		"-of", "csv=p=0:s=x", f).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	codec, size, _ := strings.Cut(strings.TrimSpace(string(out)), "x")
	return codec + " " + size
}
