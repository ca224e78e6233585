package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/renderhook/renderhook/internal/blob"
	"github.com/renderhook/renderhook/internal/blob/s3test"
	"github.com/renderhook/renderhook/internal/browser"
	"github.com/renderhook/renderhook/internal/capability"
	"github.com/renderhook/renderhook/internal/delivery"
	"github.com/renderhook/renderhook/internal/egress"
	"github.com/renderhook/renderhook/internal/egress/egresstest"
	"github.com/renderhook/renderhook/internal/server"
	"github.com/renderhook/renderhook/internal/store"
	"github.com/renderhook/renderhook/internal/testkit"
)

// The use_s3 tests put renders in a bucket of the test MinIO
// (scripts/with-test-backends.sh), which listens on 127.0.0.1: the
// server's egress guard allows that address (and the test site's), as an
// operator with a MinIO on its private network would.

// storageKey is the test servers' --storage-credentials-key.
const storageKey = "0001020304050607080910111213141516171819202122232425262728293031"

// userBucket is a bucket of the test MinIO standing for a client's own:
// its client, name, endpoint and the MinIO credentials.
type userBucket struct {
	c              *minio.Client
	name, endpoint string
	access, secret string
	region         string
}

func newUserBucket(t *testing.T, publicRead bool) *userBucket {
	t.Helper()
	raw := s3test.URL(t) // skips without a test MinIO
	c, name := s3test.Client(t, raw)
	cfg, err := blob.ParseS3URL(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
		t.Fatal(err)
	}
	if publicRead {
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + name + `/*"]}]}`
		if err := c.SetBucketPolicy(ctx, name, policy); err != nil {
			t.Fatal(err)
		}
	}
	return &userBucket{c: c, name: name, endpoint: cfg.Endpoint, region: cfg.Region,
		access: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY")}
}

// object reads an object of the bucket; nil when it does not exist.
func (b *userBucket) object(t *testing.T, key string) []byte {
	t.Helper()
	o, err := b.c.GetObject(context.Background(), b.name, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// options are the request options of a render into the bucket.
func (b *userBucket) options(extra map[string]any) map[string]any {
	m := map[string]any{
		"html": v1Page, "width": 200, "height": 100, "use_s3": true, "s3_bucket": b.name, "s3_endpoint": b.endpoint,
		"s3_region": b.region, "s3_key": b.access, "s3_secret": b.secret, "s3_force_path_style": true,
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// storageServer is a v1 server that may reach the test MinIO and the test
// site, with a storage credentials key and its log lines kept.
func storageServer(t *testing.T, b *userBucket) (*env, *v1Site, *testkit.SyncBuffer) {
	t.Helper()
	site := newV1Site(t)
	host := strings.TrimPrefix(strings.TrimPrefix(b.endpoint, "http://"), "https://")
	ip := strings.Split(host, ":")[0]
	logs := &testkit.SyncBuffer{}
	e := startServerCfg(t, server.Config{
		Browser:               browser.Config{MaxTabs: 2, RenderTimeout: 15 * time.Second},
		Webhooks:              delivery.Config{Schedule: []time.Duration{0, 300 * time.Millisecond}},
		Egress:                egressAllow(v1Allowed+"/32", ip+"/32"),
		StorageCredentialsKey: storageKey,
		Logger:                slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return e, site, logs
}

// TestV1UseS3 renders into the client's bucket: the object is at s3_path
// with the format's extension (or without, with no_suffix), its bytes are
// what renderUrl serves, and it is a PNG of the size asked for; cdn_host
// puts renderUrl on the CDN's host.
func TestV1UseS3(t *testing.T) {
	b := newUserBucket(t, true)
	e, _, _ := storageServer(t, b)

	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, b.options(map[string]any{"s3_path": "shots/red"})).JSON(t)
	want := b.endpoint + "/" + b.name + "/shots/red.png"
	if r["renderUrl"] != want {
		t.Fatalf("renderUrl %v, want %s", r["renderUrl"], want)
	}
	obj := b.object(t, "shots/red.png")
	if obj == nil {
		t.Fatal("no shots/red.png in the bucket")
	}
	img, err := png.Decode(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if sz := img.Bounds().Size(); sz.X != 200 || sz.Y != 100 || !near(img.At(100, 50), 255, 0, 0) {
		t.Fatalf("object is %v, pixel %v; want a red 200x100 PNG", sz, img.At(100, 50))
	}
	if got := e.download(want); !bytes.Equal(got, obj) {
		t.Fatalf("renderUrl serves %d bytes, the bucket holds %d", len(got), len(obj))
	}
	if int(r["size"].(float64)) != len(obj) {
		t.Fatalf("size %v, object %d bytes", r["size"], len(obj))
	}

	// no_suffix: the key as given.
	e.mustDo(200, "POST", "/v1/render/sync", e.token, b.options(map[string]any{"s3_path": "shots/raw", "no_suffix": true}))
	if b.object(t, "shots/raw") == nil || b.object(t, "shots/raw.png") != nil {
		t.Fatal("no_suffix: want shots/raw and no shots/raw.png")
	}
	// cdn_host: the URL is on the CDN, the object in the bucket.
	r = e.mustDo(200, "POST", "/v1/render/sync", e.token, b.options(map[string]any{"s3_path": "cdn/a", "cdn_host": "cdn.example.com"})).JSON(t)
	if r["renderUrl"] != "https://cdn.example.com/cdn/a.png" || b.object(t, "cdn/a.png") == nil {
		t.Fatalf("cdn_host: renderUrl %v", r["renderUrl"])
	}
	// The status of a stored render points at the bucket too.
	id := e.mustDo(201, "POST", "/v1/render/async", e.token, b.options(map[string]any{"s3_path": "async/one"})).JSON(t)["renderId"].(string)
	st := e.waitV1(id)
	if st["status"] != "succeeded" || st["renderUrl"] != b.endpoint+"/"+b.name+"/async/one.png" || b.object(t, "async/one.png") == nil {
		t.Fatalf("async: %v", st)
	}
	// The queued render's stored options never held the secret.
	rec, err := e.srv.Store.FindRender(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.Options, b.secret) || strings.Contains(rec.Options, b.access) || !strings.Contains(rec.Options, `"sealed"`) {
		t.Fatalf("stored options: %s", rec.Options)
	}
	e.waitCredits(4)
}

// TestV1UseS3Refused: a bucket that refuses the upload (a wrong secret, a
// bucket that does not exist) fails the render with the bucket's reason:
// 422 S3UploadFailed, a failed render, a log entry saying so, a
// render.failed webhook, and no credit. The secret is nowhere: not in the
// answer, the log entry, the webhook or the server's log lines.
func TestV1UseS3Refused(t *testing.T) {
	b := newUserBucket(t, false)
	e, site, logs := storageServer(t, b)
	const wrong = "not-the-secret-7Hq2"
	cases := []struct {
		name, reason string
		opts         map[string]any
	}{
		{"wrong secret", "SignatureDoesNotMatch", map[string]any{"s3_secret": wrong}},
		{"no such bucket", "NoSuchBucket", map[string]any{"s3_bucket": "rh-missing-" + strings.ToLower(store.NewID("b"))[4:16]}},
	}
	for _, c := range cases {
		opts := b.options(c.opts)
		opts["webhook_url"] = site.URL + "/hook"
		r := e.do("POST", "/v1/render/sync", e.token, opts)
		if r.Status != 422 || r.errCode(t) != "S3UploadFailed" || !strings.Contains(string(r.Body), c.reason) {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		h := site.waitHook(t)
		var p struct {
			Event    string `json:"event"`
			RenderID string `json:"renderId"`
			Error    struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(h.Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event != "render.failed" || !strings.Contains(p.Error.Message, c.reason) {
			t.Fatalf("%s: webhook %s", c.name, h.Body)
		}
		l := e.waitLog(r.Header.Get("X-Request-Id"), func(map[string]any) bool { return true })
		lerr, _ := l["error"].(map[string]any)
		if l["status"] != float64(422) || lerr["code"] != "S3UploadFailed" || l["renderId"] != p.RenderID {
			t.Fatalf("%s: log entry %v", c.name, l)
		}
		for where, text := range map[string]string{"answer": string(r.Body), "webhook": string(h.Body), "log entry": mustJSON(t, l)} {
			if strings.Contains(text, b.secret) || strings.Contains(text, wrong) {
				t.Fatalf("%s: the secret is in the %s: %s", c.name, where, text)
			}
		}
	}
	used, _, succeeded, failed := e.usage()
	if used != 0 || succeeded != 0 || failed != 2 {
		t.Fatalf("usage used=%d succeeded=%d failed=%d, want 0/0/2", used, succeeded, failed)
	}
	if s := logs.String(); strings.Contains(s, b.secret) || strings.Contains(s, wrong) {
		t.Fatal("a secret is in the server's log lines")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestV1UseS3SpaceCredentials: a space keeps its bucket and credentials
// (PUT /api/storage), the secret sealed in its row and never shown; a
// render with use_s3 alone uses them, and a request's own s3_secret
// overrides them (a wrong one is refused).
func TestV1UseS3SpaceCredentials(t *testing.T) {
	b := newUserBucket(t, false)
	e, _, logs := storageServer(t, b)
	in := map[string]any{"bucket": b.name, "endpoint": b.endpoint, "region": b.region, "forcePathStyle": true,
		"accessKey": b.access, "secretKey": b.secret}
	put := e.mustDo(200, "PUT", "/api/storage", e.token, in)
	got := e.mustDo(200, "GET", "/api/storage", e.token, nil)
	for _, r := range []resp{put, got} {
		if strings.Contains(string(r.Body), b.secret) || strings.Contains(string(r.Body), b.access) || r.JSON(t)["hasSecret"] != true {
			t.Fatalf("a read shows the credentials: %s", r.Body)
		}
	}
	row, err := e.srv.Store.GetSpaceStorage(context.Background(), e.space)
	if err != nil {
		t.Fatal(err)
	}
	if row.SecretSealed == "" || strings.Contains(row.SecretSealed, b.secret) {
		t.Fatalf("the stored secret is %q", row.SecretSealed)
	}

	e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "use_s3": true, "s3_path": "space/one"})
	if b.object(t, "space/one.png") == nil {
		t.Fatal("the render did not reach the space's bucket")
	}
	r := e.do("POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "use_s3": true, "s3_key": b.access, "s3_secret": "wrong-wrong-wrong"})
	if r.Status != 422 || r.errCode(t) != "S3UploadFailed" {
		t.Fatalf("a request's own wrong secret: %d %s", r.Status, r.Body)
	}
	// The space's credentials sign for the space's endpoint only.
	r = e.do("POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "use_s3": true, "s3_endpoint": "https://s3.example.com"})
	if r.Status != 400 || !strings.Contains(string(r.Body), "s3_endpoint") {
		t.Fatalf("another endpoint with the space's credentials: %d %s", r.Status, r.Body)
	}
	// A render link with use_s3 (the space's credentials: a link may not
	// carry any) answers the file, and from the cache redirects to it.
	sp := e.space1()
	q := "html=" + url.QueryEscape(v1Page) + "&use_s3=true&s3_path=link/one"
	link := e.base + "/v1/" + sp.RenderKey + "/" + capability.V1LinkToken(sp.RenderSecret, q) + "/png?" + q
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, want := range []int{200, 302} {
		res, err := noFollow.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		obj := b.object(t, "link/one.png")
		switch {
		case res.StatusCode != want || obj == nil:
			t.Fatalf("link fetch %d: %d (object present %v) %.200s", i, res.StatusCode, obj != nil, body)
		case want == 200 && !bytes.Equal(body, obj):
			t.Fatal("the link's answer is not the object")
		case want == 302 && res.Header.Get("Location") != b.endpoint+"/"+b.name+"/link/one.png":
			t.Fatalf("cached link redirects to %q", res.Header.Get("Location"))
		}
	}
	e.mustDo(204, "DELETE", "/api/storage", e.token, nil)
	if r := e.do("POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "use_s3": true}); r.Status != 400 || !strings.Contains(string(r.Body), "use_s3") {
		t.Fatalf("use_s3 without settings: %d %s", r.Status, r.Body)
	}
	if strings.Contains(logs.String(), b.secret) {
		t.Fatal("the secret is in the server's log lines")
	}
}

// TestV1S3EndpointRefused: under the default egress config a private or
// metadata s3_endpoint (or presigned URL) is a 400 naming the option, with
// nothing rendered or billed; and a host name that resolves to a refused
// address passes that check but is refused when the upload connects.
func TestV1S3EndpointRefused(t *testing.T) {
	resolver, _ := egresstest.FakeResolver(netip.MustParseAddr("127.0.0.1"))
	e := startServerCfg(t, server.Config{
		Browser: browser.Config{MaxTabs: 2, RenderTimeout: 15 * time.Second},
		Egress:  egressAllow(),
	})
	base := map[string]any{"html": v1Page, "use_s3": true, "s3_bucket": "b-1", "s3_key": "k", "s3_secret": "s"}
	for _, ep := range []string{"http://127.0.0.1:9000", "http://169.254.169.254", "10.1.2.3:9000", "http://[::1]:9000", "http://localhost:9000"} {
		opts := map[string]any{"s3_endpoint": ep}
		for k, v := range base {
			opts[k] = v
		}
		r := e.do("POST", "/v1/render/sync", e.token, opts)
		if r.Status != 400 || r.errCode(t) != "InvalidOptions" || !strings.Contains(string(r.Body), `s3_endpoint`) {
			t.Fatalf("%s: %d %s", ep, r.Status, r.Body)
		}
	}
	r := e.do("POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "s3_presigned_url": "http://169.254.169.254/b/k?X-Amz-Signature=x"})
	if r.Status != 400 || !strings.Contains(string(r.Body), "s3_presigned_url") {
		t.Fatalf("presigned: %d %s", r.Status, r.Body)
	}
	used, _, succeeded, failed := e.usage()
	if used != 0 || succeeded != 0 || failed != 0 {
		t.Fatalf("usage %d/%d/%d, want nothing", used, succeeded, failed)
	}

	// DNS rebinding: a name resolving to loopback is refused at connect.
	e2 := startServerCfg(t, server.Config{
		Browser: browser.Config{MaxTabs: 2, RenderTimeout: 15 * time.Second},
		Egress:  egress.Config{Resolver: resolver},
	})
	opts := map[string]any{"s3_endpoint": "http://bucket-host.example:9000", "s3_force_path_style": true}
	for k, v := range base {
		opts[k] = v
	}
	r = e2.do("POST", "/v1/render/sync", e2.token, opts)
	if r.Status != 422 || r.errCode(t) != "S3UploadFailed" || !strings.Contains(string(r.Body), "forbidden address") {
		t.Fatalf("rebinding: %d %s", r.Status, r.Body)
	}
	if used, _, _, failed := e2.usage(); used != 0 || failed != 1 {
		t.Fatalf("rebinding usage used=%d failed=%d", used, failed)
	}
}

// TestV1PresignedURL uploads to a presigned PUT URL the client made for
// its bucket: the object arrives, and renderUrl is the URL without its
// signature.
func TestV1PresignedURL(t *testing.T) {
	b := newUserBucket(t, false)
	e, _, _ := storageServer(t, b)
	u, err := b.c.PresignedPutObject(context.Background(), b.name, "pre/signed.png", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := e.mustDo(200, "POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "s3_presigned_url": u.String()}).JSON(t)
	plain := *u
	plain.RawQuery = ""
	if r["renderUrl"] != plain.String() || b.object(t, "pre/signed.png") == nil {
		t.Fatalf("renderUrl %v, object present %v", r["renderUrl"], b.object(t, "pre/signed.png") != nil)
	}
	// An expired or altered signature is the bucket's refusal.
	q := u.Query()
	q.Set("X-Amz-Signature", strings.Repeat("0", 64))
	bad := *u
	bad.RawQuery = q.Encode()
	rr := e.do("POST", "/v1/render/sync", e.token, map[string]any{"html": v1Page, "s3_presigned_url": bad.String()})
	if rr.Status != 422 || rr.errCode(t) != "S3UploadFailed" || strings.Contains(string(rr.Body), "X-Amz-Signature") {
		t.Fatalf("bad signature: %d %s", rr.Status, rr.Body)
	}
}
