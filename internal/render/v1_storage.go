package render

import (
	"errors"
	"net/url"
	"strings"

	"github.com/renderhook/renderhook/internal/blob"
)

// This file holds the rows of the v1 table for Urlbox's storage options
// (#16): a render stored in the client's own S3 bucket (use_s3, the s3_*
// family, no_suffix, cdn_host), and the checks that keep them apart from
// renders kept in renderhook's bucket. The upload is the pipeline's store
// step (storage.go).

// StorageOptions are where a v1 render's file goes when it goes to the
// client's bucket. The credentials and the presigned URL are never in the
// JSON of an async render's options as given: they travel sealed
// (Sealed, see sealSecrets), and the cache key holds only their hash.
type StorageOptions struct {
	UseS3          bool   `json:"useS3,omitempty"`
	Path           string `json:"path,omitempty"`
	NoSuffix       bool   `json:"noSuffix,omitempty"`
	Bucket         string `json:"bucket,omitempty"`
	Endpoint       string `json:"endpoint,omitempty"`
	Region         string `json:"region,omitempty"`
	PrivateBucket  bool   `json:"privateBucket,omitempty"`
	ForcePathStyle bool   `json:"forcePathStyle,omitempty"`
	StorageClass   string `json:"storageClass,omitempty"`
	CDNHost        string `json:"cdnHost,omitempty"`
	// Key, Secret and PresignedURL are the request's own; see Sealed.
	Key          string `json:"-"`
	Secret       string `json:"-"`
	PresignedURL string `json:"-"`
	// Sealed holds Key, Secret and PresignedURL of a queued render,
	// sealed for its render id; "" for none.
	Sealed string `json:"sealed,omitempty"`
}

// On reports whether the render goes to the client's bucket.
func (s StorageOptions) On() bool { return s.UseS3 || s.PresignedURL != "" }

// Bounds of the storage options.
const (
	maxV1S3Secret = 256
	maxV1Presign  = 8192
)

// s3StorageClasses are the Urlbox SDK's s3_storageclass values.
var s3StorageClasses = []string{"standard", "reduced_redundancy", "standard_ia", "onezone_ia", "intelligent_tiering", "glacier", "deep_archive", "outposts"}

// storeString is a string option of the storage family that sets a field
// after check (returning "" to accept).
func storeString(name string, maxLen int, doc string, check func(st *v1State, s string) string, set func(o *StorageOptions, s string)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeString, Max: float64(maxLen), Family: FamilyStorage, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error {
			s := strings.TrimSpace(v.(string))
			if check != nil {
				if msg := check(st, s); msg != "" {
					return optErr(name, "%s", msg)
				}
			}
			set(&st.o.Storage, s)
			return nil
		}}
}

func storeBool(name, doc string, set func(o *StorageOptions, b bool)) v1Option {
	return v1Option{OptionSpec: OptionSpec{Name: name, Type: TypeBoolean, Default: false, Family: FamilyStorage, Supported: true, Doc: doc},
		set: func(st *v1State, v any) error { set(&st.o.Storage, v.(bool)); return nil }}
}

// notInLink refuses a credential in a signed link's query, where anyone
// who holds (or logs) the link would read it.
func notInLink(st *v1State, _ string) string {
	if st.pathFormat != "" {
		return "may not be put in a render link (anyone holding the link would read it): set the space's storage credentials (PUT /api/storage) instead"
	}
	return ""
}

var v1StorageRows = []v1Option{
	storeBool("use_s3", "Store the file in your own S3 bucket (the request's s3_* options, else the space's storage settings) instead of renderhook's; renderUrl points at it.",
		func(o *StorageOptions, b bool) { o.UseS3 = b }),
	storeString("s3_path", 512, "The file's key in your bucket, the format's extension appended unless no_suffix (default: the render id).",
		func(_ *v1State, s string) string {
			if !blob.ValidKey(strings.TrimPrefix(s, "/")) {
				return "must be a relative path of non-empty segments (no \"..\", \".\" or backslashes)"
			}
			return ""
		},
		func(o *StorageOptions, s string) { o.Path = strings.TrimPrefix(s, "/") }),
	storeBool("no_suffix", "Do not append the format's extension to s3_path.",
		func(o *StorageOptions, b bool) { o.NoSuffix = b }),
	storeString("s3_bucket", 63, "Your bucket's name (overrides the space's).",
		func(_ *v1State, s string) string { return errText(blob.CheckBucket(s)) },
		func(o *StorageOptions, s string) { o.Bucket = s }),
	storeString("s3_endpoint", 2048, "Your S3-compatible server, https://host[:port] (default AWS S3); a private or metadata address is refused unless the operator allows it.",
		func(_ *v1State, s string) string {
			_, err := blob.NormEndpoint(s)
			return errText(err)
		},
		func(o *StorageOptions, s string) { o.Endpoint, _ = blob.NormEndpoint(s) }),
	storeString("s3_region", 64, "Your bucket's region (default us-east-1).",
		func(_ *v1State, s string) string { return errText(blob.CheckRegion(s)) },
		func(o *StorageOptions, s string) { o.Region = s }),
	storeString("s3_key", maxV1S3Secret, "The access key id the upload is signed with (overrides the space's); not in render links.",
		func(st *v1State, s string) string { return cmpMsg(notInLink(st, s), oneLine(s)) },
		func(o *StorageOptions, s string) { o.Key = s }),
	storeString("s3_secret", maxV1S3Secret, "The secret key the upload is signed with (overrides the space's); never stored in the clear, not in render links.",
		func(st *v1State, s string) string { return cmpMsg(notInLink(st, s), oneLine(s)) },
		func(o *StorageOptions, s string) { o.Secret = s }),
	storeBool("s3_private_bucket", "Upload without the public-read ACL: only the bucket's owner can read the file at renderUrl.",
		func(o *StorageOptions, b bool) { o.PrivateBucket = b }),
	storeBool("s3_force_path_style", "Address the bucket as endpoint/bucket/key (MinIO and most self-hosted servers) rather than bucket.endpoint/key.",
		func(o *StorageOptions, b bool) { o.ForcePathStyle = b }),
	{OptionSpec: OptionSpec{Name: "s3_storageclass", Type: TypeString, Max: 32, Enum: s3StorageClasses, Family: FamilyStorage, Supported: true,
		Doc: "The object's S3 storage class (default: the bucket's)."},
		norm: strings.ToLower,
		set: func(st *v1State, v any) error {
			st.o.Storage.StorageClass = strings.ToUpper(v.(string))
			return nil
		}},
	storeString("s3_presigned_url", maxV1Presign, "PUT the file to this presigned URL instead (no credentials needed); renderUrl is the URL without its query. Not in render links.",
		func(st *v1State, s string) string {
			if msg := notInLink(st, s); msg != "" {
				return msg
			}
			if _, err := presignedOrigin(s); err != nil {
				return err.Error()
			}
			return ""
		},
		func(o *StorageOptions, s string) { o.PresignedURL = s }),
	withThen(storeString("cdn_host", 253, "The host of renderUrl instead of the bucket's (renderUrl is then cdn_host/key over https), for a CDN in front of your bucket.",
		func(_ *v1State, s string) string {
			h := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
			if !blob.ValidHostPort(h) {
				return "must be a host name like cdn.example.com"
			}
			return ""
		},
		func(o *StorageOptions, s string) { o.CDNHost = s }), checkStorage),
}

// cmpMsg is the first non-empty message.
func cmpMsg(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// presignedOrigin is a presigned URL's scheme://host/, the part the
// egress guard checks.
func presignedOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !blob.ValidHostPort(u.Host) ||
		strings.Trim(u.Path, "/") == "" {
		return "", errors.New("must be an http(s) URL of an object")
	}
	return u.Scheme + "://" + u.Host + "/", nil
}

// StorageURLs are the URLs of a request's storage options that renderhook
// connects to, by option name, for the API's egress check.
func (o *URLOptions) StorageURLs() map[string]string {
	m := map[string]string{}
	if o.Storage.Endpoint != "" {
		m["s3_endpoint"] = o.Storage.Endpoint
	}
	if o.Storage.PresignedURL != "" {
		m["s3_presigned_url"], _ = presignedOrigin(o.Storage.PresignedURL)
	}
	return m
}

// given is whether an option was given.
type given struct {
	name string
	set  bool
}

// checkStorage refuses storage options given without a bucket to apply
// to, and a presigned URL with options it makes moot.
func checkStorage(st *v1State) error {
	s := st.o.Storage
	if s.On() {
		if s.PresignedURL != "" {
			for _, g := range []given{{"s3_bucket", s.Bucket != ""}, {"s3_endpoint", s.Endpoint != ""}, {"s3_key", s.Key != ""}, {"s3_secret", s.Secret != ""}} {
				if g.set {
					return optErr(g.name, "cannot be combined with option \"s3_presigned_url\" (the URL names the bucket and carries its signature)")
				}
			}
		}
		return nil
	}
	for _, g := range []given{
		{"s3_path", s.Path != ""}, {"no_suffix", s.NoSuffix}, {"s3_bucket", s.Bucket != ""}, {"s3_endpoint", s.Endpoint != ""},
		{"s3_region", s.Region != ""}, {"s3_key", s.Key != ""}, {"s3_secret", s.Secret != ""}, {"s3_private_bucket", s.PrivateBucket},
		{"s3_force_path_style", s.ForcePathStyle}, {"s3_storageclass", s.StorageClass != ""}, {"cdn_host", s.CDNHost != ""},
	} {
		if g.set {
			return optErr(g.name, "applies only with option \"use_s3\" true (or option \"s3_presigned_url\")")
		}
	}
	return nil
}
