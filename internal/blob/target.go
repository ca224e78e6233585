package blob

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Target is a client's own bucket for one render (the v1 API's use_s3):
// an S3 bucket reached with the client's credentials, or a presigned PUT
// URL. Its connections go through the Transport given to Put, which the
// render service builds on the egress guard's dialer, so an endpoint (or a
// bucket's virtual host) resolving to a forbidden address is refused at
// connect time whatever its name said when it was checked.
type Target struct {
	// Endpoint is the server, http(s)://host[:port]; "" is AWS S3.
	Endpoint string
	Bucket   string
	// Region is the bucket's region; "" is DefaultRegion.
	Region string
	// PathStyle addresses endpoint/bucket/key; otherwise bucket.endpoint/key
	// (always path style for an endpoint that is an IP address).
	PathStyle bool
	// AccessKey and SecretKey sign the upload.
	AccessKey, SecretKey string
	// Key is the object's key.
	Key string
	// StorageClass is the S3 storage class (STANDARD, …); "" the bucket's default.
	StorageClass string
	// Private uploads without an ACL (the bucket's owner alone reads the
	// file); otherwise the object is uploaded public-read.
	Private bool
	// CDNHost, when set, is the host of the file URL Put returns:
	// https://CDNHost/Key.
	CDNHost string
	// PresignedURL, when set, is where the file is PUT instead, and
	// everything above but Key and CDNHost is unused.
	PresignedURL string
}

// ErrTarget is wrapped by every error of an upload to a client's bucket;
// the message says what the bucket answered (its S3 error code), and
// never carries a credential or a presigned URL's signature.
var ErrTarget = errors.New("upload to your bucket failed")

// maxErrorBody bounds what is read of a presigned PUT's error answer.
const maxErrorBody = 64 << 10

// Put uploads data to the target through rt and returns the file's URL:
// under CDNHost, the presigned URL without its query, or the object's URL
// on the endpoint.
func (t Target) Put(ctx context.Context, rt http.RoundTripper, data []byte, contentType string) (string, error) {
	if t.PresignedURL != "" {
		return t.putPresigned(ctx, rt, data, contentType)
	}
	host, secure, err := endpointHost(t.Endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTarget, err)
	}
	region := t.Region
	if region == "" {
		region = DefaultRegion
	}
	lookup := minio.BucketLookupDNS
	if t.PathStyle || isIPHost(host) {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(t.AccessKey, t.SecretKey, ""), Secure: secure, Region: region,
		BucketLookup: lookup, Transport: rt,
		// One attempt: a refusal is the render's answer, and a retry loop
		// would hold the render past its time.
		MaxRetries: 1,
	})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTarget, err)
	}
	opts := minio.PutObjectOptions{ContentType: contentType, StorageClass: t.StorageClass}
	if !t.Private {
		opts.UserMetadata = map[string]string{"x-amz-acl": "public-read"}
	}
	if _, err := c.PutObject(ctx, t.Bucket, t.Key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		return "", fmt.Errorf("%w: s3://%s/%s at %s: %s", ErrTarget, t.Bucket, t.Key, host, s3Reason(err))
	}
	if t.CDNHost != "" {
		return cdnURL(t.CDNHost, t.Key), nil
	}
	scheme := "https"
	if !secure {
		scheme = "http"
	}
	path := (&url.URL{Path: t.Key}).EscapedPath()
	if lookup == minio.BucketLookupPath {
		return scheme + "://" + host + "/" + t.Bucket + "/" + path, nil
	}
	if t.Endpoint == "" {
		host = "s3." + region + ".amazonaws.com"
	}
	return scheme + "://" + t.Bucket + "." + host + "/" + path, nil
}

// putPresigned PUTs data to the presigned URL.
func (t Target) putPresigned(ctx context.Context, rt http.RoundTripper, data []byte, contentType string) (string, error) {
	u, err := url.Parse(t.PresignedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: the presigned URL is not an http(s) URL", ErrTarget)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.PresignedURL, bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("%w: the presigned URL is not usable", ErrTarget)
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("Content-Type", contentType)
	resp, err := (&http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		// A url.Error quotes the URL, signature and all: keep its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("%w: PUT to the presigned URL at %s: %v", ErrTarget, u.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("%w: PUT to the presigned URL at %s answered %d%s", ErrTarget, u.Host, resp.StatusCode, xmlReason(body))
	}
	if t.CDNHost != "" {
		return cdnURL(t.CDNHost, strings.TrimPrefix(u.Path, "/")), nil
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// s3BucketRE is an S3 bucket name: 3–63 lower-case letters, digits, dots
// and hyphens, starting and ending with a letter or digit.
var s3BucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

var s3RegionRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// CheckBucket refuses what is not an S3 bucket name (an IP address
// included: it would become a host name in virtual-host addressing).
func CheckBucket(s string) error {
	if !s3BucketRE.MatchString(s) || net.ParseIP(s) != nil || strings.Contains(s, "..") {
		return errors.New("must be an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens")
	}
	return nil
}

// CheckRegion refuses what is not an S3 region name.
func CheckRegion(s string) error {
	if !s3RegionRE.MatchString(s) {
		return errors.New("must be a region name like eu-west-2")
	}
	return nil
}

// ValidHostPort reports whether s is host[:port], the host made of DNS
// characters (or an IP address).
func ValidHostPort(s string) bool {
	u, err := url.Parse("https://" + s)
	return err == nil && s != "" && u.Host == s && u.Hostname() != "" &&
		strings.Trim(strings.ToLower(u.Hostname()), "abcdefghijklmnopqrstuvwxyz0123456789.-:") == ""
}

// NormEndpoint reads an S3 endpoint as scheme://host[:port] (https when
// it has no scheme).
func NormEndpoint(s string) (string, error) {
	ep := s
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || strings.Trim(u.Path, "/") != "" ||
		u.RawQuery != "" || !ValidHostPort(u.Host) {
		return "", errors.New("must be http(s)://host[:port], without a path")
	}
	return u.Scheme + "://" + u.Host, nil
}

// endpointHost reads an endpoint as host[:port] and whether it is https.
func endpointHost(ep string) (string, bool, error) {
	if ep == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" || u.User != nil {
		return "", false, errors.New("the endpoint must be http(s)://host[:port]")
	}
	return u.Host, u.Scheme == "https", nil
}

// isIPHost reports whether host[:port] names an IP address, which cannot
// carry a bucket as a subdomain.
func isIPHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	return net.ParseIP(strings.Trim(h, "[]")) != nil
}

// cdnURL is the file's URL under a CDN host.
func cdnURL(host, key string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
	return "https://" + host + "/" + (&url.URL{Path: key}).EscapedPath()
}

// MaxReason bounds what a bucket's refusal adds to an upload's error (the
// render's error, in its row, answers and webhooks): the bucket's own
// words are a hostile server's, up to a megabyte.
const MaxReason = 256

// reason is s as one line of at most MaxReason bytes of valid UTF-8.
func reason(s string) string {
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= MaxReason {
		return s
	}
	cut := MaxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// s3Reason is what an S3 error says: its code and message.
func s3Reason(err error) string {
	r := minio.ToErrorResponse(err)
	if r.Code != "" {
		return reason(r.Code + ": " + r.Message)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return reason(uerr.Err.Error())
	}
	return reason(err.Error())
}

// xmlReason is ": Code: Message" of an S3 XML error body, or "".
func xmlReason(body []byte) string {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &e) != nil || e.Code == "" {
		return ""
	}
	return ": " + reason(e.Code+": "+e.Message)
}
