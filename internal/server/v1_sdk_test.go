package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sdkDir holds link.js and Urlbox's official SDK (urlbox 2.2.0, pinned in
// its package-lock.json; scripts/install-deps.sh runs npm ci there).
const sdkDir = "testdata/urlbox-sdk"

// sdkLink has the official SDK's generateRenderLink make a signed link
// for a space's render key and secret, with renderhook as its prefix.
func sdkLink(t *testing.T, key, secret, prefix string, options map[string]any) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Urlbox SDK test needs it (scripts/install-deps.sh installs it)")
	}
	if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", "urlbox", "package.json")); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			t.Fatalf("%s has no node_modules and npm is missing: run scripts/install-deps.sh", sdkDir)
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = sdkDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", sdkDir, err, out)
		}
	}
	in, err := json.Marshal(map[string]any{"key": key, "secret": secret, "prefix": prefix, "options": options})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "link.js")
	cmd.Dir, cmd.Stdin = sdkDir, bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node link.js: %v: %s", err, stderr.String())
	}
	return string(out)
}

// TestUrlboxSDKRenderLink: a link made by Urlbox's own SDK with a space's
// render key and secret (arrays sent as repeated options, its
// arrayFormat "repeat") renders through renderhook: the page got the
// headers, the file is the viewport asked for, and the answer is the file
// as an attachment.
func TestUrlboxSDKRenderLink(t *testing.T) {
	e, site := v1Server(t)
	spaceID, _ := e.newSpace("sdk")
	sp, err := e.srv.Store.GetSpace(context.Background(), spaceID)
	if err != nil {
		t.Fatal(err)
	}
	link := sdkLink(t, sp.RenderKey, sp.RenderSecret, e.base+"/v1/", map[string]any{
		"url": site.URL + "/echo", "format": "png", "width": 800, "height": 600,
		"header": []string{"X-Sdk: one", "X-Sdk-Two: two"}, "hide_selector": []string{"h1", ".absent"},
		"block_urls": []string{"*.ads.example/*"}, "full_page": false, "retina": false, "custom_id": "sdk-1",
		"download": "from the sdk.png", "unique": "u-1",
	})
	prefix := e.base + "/v1/" + sp.RenderKey + "/"
	if !strings.HasPrefix(link, prefix) || !strings.Contains(link, "/png?") || !strings.Contains(link, "header=X-Sdk%3A%20one&header=X-Sdk-Two%3A%20two") {
		t.Fatalf("the SDK made %q", link)
	}
	r := e.get(strings.TrimPrefix(link, e.base))
	if r.Status != 200 {
		t.Fatalf("GET the SDK's link: %d %s", r.Status, r.Body)
	}
	img, format := decodeImage(t, r.Body)
	if format != "png" || img.Bounds().Dx() != 800 || img.Bounds().Dy() != 600 || !near(img.At(400, 590), 255, 0, 0) {
		t.Fatalf("render %s %v, pixel %v", format, img.Bounds(), img.At(400, 590))
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="from the sdk.png"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	site.mu.Lock()
	echo := site.echo
	site.mu.Unlock()
	if echo.Get("X-Sdk") != "one" || echo.Get("X-Sdk-Two") != "two" {
		t.Fatalf("the page saw headers %v", echo)
	}
	// A link the SDK signed with another secret is refused.
	bad := sdkLink(t, sp.RenderKey, "not the secret", e.base+"/v1/", map[string]any{"url": site.URL + "/echo"})
	if r := e.get(strings.TrimPrefix(bad, e.base)); r.Status != 403 && r.Status != 401 {
		t.Fatalf("a link signed with the wrong secret: %d %s", r.Status, r.Body)
	}
}
