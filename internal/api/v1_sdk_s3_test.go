package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/testkit"
)

// The storage options in TestUrlboxSDKOptions: each is sent with the
// options it goes with (use_s3 and a bucket with credentials, or a
// presigned URL), to an httptest S3 receiver standing in for the client's
// own bucket, the edge renderhook does not own. The harness counts one
// accepted only when the receiver got a PUT of the rendered file, signed
// with the request's credentials, at the key (and with the headers) the
// option asks for. The real uploads are tested on MinIO
// (internal/render's and internal/server's storage tests).

// Credentials and bucket of the harness's uploads.
const (
	sdkS3Key    = "sdk-key"
	sdkS3Secret = "sdk-secret"
	sdkS3Bucket = "sdk-bucket"
	sdkS3Here   = "{s3}" // replaced by the receiver's URL
)

// sdkS3Base is what every storage option but s3_presigned_url goes with.
var sdkS3Base = map[string]any{"use_s3": true, "s3_endpoint": sdkS3Here, "s3_bucket": sdkS3Bucket, "s3_key": sdkS3Key, "s3_secret": sdkS3Secret}

// sdkS3Option is a storage option's value (with sdkS3Base) and what its
// upload must show.
type sdkS3Option struct {
	body  map[string]any
	check func(p s3Put, renderURL string) string // "" when honoured
}

var sdkS3Options = map[string]sdkS3Option{
	"use_s3": {check: func(p s3Put, u string) string {
		return cmpStr(want(regexp.MustCompile(`^/sdk-bucket/[0-9a-f-]{36}\.png$`).MatchString(p.path), "the key is the render id .png"),
			want(p.header.Get("X-Amz-Acl") == "public-read", "public-read"), want(strings.HasSuffix(u, p.path), "renderUrl is the object's"))
	}},
	"s3_path": {body: map[string]any{"s3_path": "sdk/shot"}, check: func(p s3Put, _ string) string {
		return want(p.path == "/sdk-bucket/sdk/shot.png", "key sdk/shot.png")
	}},
	"no_suffix": {body: map[string]any{"s3_path": "sdk/plain"}, check: func(p s3Put, _ string) string {
		return want(p.path == "/sdk-bucket/sdk/plain", "key sdk/plain, no suffix")
	}},
	"s3_bucket": {check: func(p s3Put, _ string) string {
		return want(strings.HasPrefix(p.path, "/sdk-bucket/"), "bucket sdk-bucket")
	}},
	"s3_endpoint": {check: func(p s3Put, _ string) string { return "" }}, // the receiver got it
	"s3_region": {body: map[string]any{"s3_region": "eu-west-2"}, check: func(p s3Put, _ string) string {
		return want(strings.Contains(p.header.Get("Authorization"), "/eu-west-2/s3/aws4_request"), "signed for eu-west-2")
	}},
	"s3_key": {check: func(p s3Put, _ string) string {
		return want(strings.Contains(p.header.Get("Authorization"), "Credential="+sdkS3Key+"/"), "signed with the key")
	}},
	"s3_secret": {check: func(p s3Put, _ string) string { return want(p.signed, "signed with the secret") }},
	"s3_private_bucket": {check: func(p s3Put, _ string) string {
		return want(p.header.Get("X-Amz-Acl") == "", "no public-read ACL")
	}},
	"s3_force_path_style": {check: func(p s3Put, _ string) string {
		return want(strings.HasPrefix(p.path, "/sdk-bucket/"), "path style")
	}},
	"s3_storageclass": {check: func(p s3Put, _ string) string {
		return want(p.header.Get("X-Amz-Storage-Class") == "STANDARD", "storage class STANDARD")
	}},
	"s3_presigned_url": {body: map[string]any{"s3_presigned_url": sdkS3Here + "/sdk-bucket/presigned.png?X-Amz-Signature=sdk"}, check: func(p s3Put, u string) string {
		return cmpStr(want(p.path == "/sdk-bucket/presigned.png" && p.query == "X-Amz-Signature=sdk", "the presigned URL"),
			want(strings.HasSuffix(u, "/sdk-bucket/presigned.png"), "renderUrl is the URL without its query"))
	}},
	"cdn_host": {body: map[string]any{"cdn_host": "cdn.example.com"}, check: func(p s3Put, u string) string {
		return want(u == "https://cdn.example.com"+strings.TrimPrefix(p.path, "/sdk-bucket"), "renderUrl on the CDN")
	}},
}

func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return "not " + what
}

func cmpStr(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// s3Put is one upload the receiver got.
type s3Put struct {
	path, query string
	header      http.Header
	body        []byte
	// signed: the Authorization header's AWS4 signature is right for
	// sdkS3Secret (presigned PUTs carry none).
	signed bool
}

// s3Receiver is an S3 server's PUT Object, recording what it got.
type s3Receiver struct {
	*httptest.Server
	puts testkit.Collected[s3Put]
}

func newS3Receiver(t *testing.T) *s3Receiver {
	rc := &s3Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if r.Method != http.MethodPut {
			http.Error(w, "only PUT", http.StatusMethodNotAllowed)
			return
		}
		p := s3Put{path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		if sig, ok := sigV4(r, sdkS3Secret); ok {
			switch h := r.Header.Get("X-Amz-Content-Sha256"); h {
			case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
				p.body, p.signed = sig.chunks(body)
			default:
				p.signed = h == "UNSIGNED-PAYLOAD" || h == hex.EncodeToString(sha(body))
			}
		}
		if r.Header.Get("Authorization") != "" && !p.signed {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>`)
			return
		}
		rc.puts.Add(p)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sha(body))[:32]+`"`)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// fill gives a storage option its companions, the receiver's URL for
// sdkS3Here.
func (rc *s3Receiver) fill(name string, body map[string]any) {
	o, ok := sdkS3Options[name]
	if !ok {
		return
	}
	if name != "s3_presigned_url" {
		for k, v := range sdkS3Base {
			body[k] = v
		}
	}
	for k, v := range o.body {
		body[k] = v
	}
	for k, v := range body {
		if s, ok := v.(string); ok {
			body[k] = strings.ReplaceAll(s, sdkS3Here, rc.URL)
		}
	}
}

// check says why a storage option's accepted render was not honoured by
// the upload ("" when it was, or for another option).
func (rc *s3Receiver) check(name string, res []byte, file []byte) string {
	puts := rc.puts.Take()
	o, ok := sdkS3Options[name]
	if !ok {
		return ""
	}
	if len(puts) != 1 || !bytes.Equal(puts[0].body, file) {
		return "the bucket did not get one PUT of the file"
	}
	var m struct{ RenderURL string }
	_ = json.Unmarshal(res, &m)
	return o.check(puts[0], m.RenderURL)
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func hmacSHA(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

var sigV4RE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

// sigV4Seed is a request's verified signature, which its aws-chunked
// body's chunks chain from.
type sigV4Seed struct {
	sig, amzDate, scope string
	key                 []byte
}

// chunks decodes an aws-chunked body, each chunk's signature checked.
func (s sigV4Seed) chunks(b []byte) ([]byte, bool) {
	var out []byte
	prev := s.sig
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		size, sig, ok2 := strings.Cut(string(line), ";chunk-signature=")
		n, err := strconv.ParseInt(size, 16, 32)
		if !ok || !ok2 || err != nil || int(n)+2 > len(rest) {
			return nil, false
		}
		data := rest[:n]
		toSign := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" + prev + "\n" +
			hex.EncodeToString(sha(nil)) + "\n" + hex.EncodeToString(sha(data))
		if want := hex.EncodeToString(hmacSHA(s.key, toSign)); want != sig {
			return nil, false
		}
		if n == 0 {
			return out, true
		}
		out, prev, b = append(out, data...), sig, rest[n+2:]
	}
}

// sigV4 checks r's AWS Signature Version 4 against secret, as S3 does.
func sigV4(r *http.Request, secret string) (sigV4Seed, bool) {
	m := sigV4RE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return sigV4Seed{}, false
	}
	date, region, signed, sig := m[2], m[3], strings.Split(m[4], ";"), m[5]
	var q []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			q = append(q, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	sort.Strings(q)
	var hs strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		hs.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(q, "&"), hs.String(), m[4], r.Header.Get("X-Amz-Content-Sha256")}, "\n")
	scope := date + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sha([]byte(canonical)))
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, "s3", "aws4_request"} {
		key = hmacSHA(key, part)
	}
	ok := slices.Contains(signed, "host") && hmac.Equal([]byte(hex.EncodeToString(hmacSHA(key, toSign))), []byte(sig))
	return sigV4Seed{sig: sig, amzDate: r.Header.Get("X-Amz-Date"), scope: scope, key: key}, ok
}
