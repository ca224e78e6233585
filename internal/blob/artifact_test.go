package blob

import "testing"

// TestArtifactKeysAndTypes: an artifact's key is its file's with another
// ending (so under the same space), and each stored ending is served with
// its type; page text is marked untrusted, pictures are not.
func TestArtifactKeysAndTypes(t *testing.T) {
	if got := ArtifactKey("spc_1/2026/12/02/rnd_1.png", ArtifactMetadata); got != "spc_1/2026/12/02/rnd_1.metadata.json" {
		t.Errorf("ArtifactKey = %q", got)
	}
	for key, want := range map[string]string{
		"a/r.png": "image/png", "a/r.jpg": "image/jpeg", "a/r.webp": "image/webp", "a/r.avif": "image/avif", "a/r.pdf": "application/pdf",
		"a/r.html": "text/html; charset=utf-8", "a/r.mhtml": "multipart/related", "a/r.md": "text/markdown; charset=utf-8",
		"a/r.metadata.json": "application/json", "a/r.exe": "application/octet-stream",
	} {
		if got := ContentType(key); got != want {
			t.Errorf("ContentType(%s) = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]bool{"a/r.html": true, "a/r.mhtml": true, "a/r.md": true, "a/r.png": false, "a/r.metadata.json": false} {
		if Untrusted(key) != want {
			t.Errorf("Untrusted(%s) = %v", key, !want)
		}
	}
}
