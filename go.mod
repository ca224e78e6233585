module github.com/renderhook/renderhook

go 1.26.8

require (
	github.com/chromedp/cdproto v0.0.0-20250724212937-08a3db8b4327
	github.com/chromedp/chromedp v0.14.2
	// webp encodes the images redrawn in Go (img_fit contain/fill, img_pad,
	// stitch, watermark) when the format is webp: libwebp built to wasm and
	// run by wazero (no cgo; a system libwebp.so is used if one loads).
	// The first encode compiles the module (about 3 s), later ones reuse it.
	github.com/gen2brain/webp v0.5.5
	github.com/google/uuid v1.6.0
	// pgx/v5 (pgxpool) is the PostgreSQL driver of the store, and the pool
	// River's riverpgxv5 shares for jobs inserted in the store's transactions.
	github.com/jackc/pgx/v5 v5.12.0
	// minio-go for S3-compatible storage rather than gocloud.dev/blob with
	// s3blob: one client with presigning built in, a small dependency tree
	// (gocloud pulls in the AWS SDK v2 and more), and it speaks to AWS S3,
	// MinIO and R2 alike. Credentials come from the AWS_* variables.
	github.com/minio/minio-go/v7 v7.4.1
	// client_golang serves /metrics (internal/metrics): the Go and process
	// collectors and the text format promtool checks.
	github.com/prometheus/client_golang v1.25.0
	// River and all its modules (riverdriver, riverpgxv5, riversqlite,
	// rivertype, rivershared) must stay on one version, v0.49.0: the
	// drivers implement the client's internal interfaces of that release.
	github.com/riverqueue/river v0.49.0
	github.com/riverqueue/river/riverdriver v0.49.0
	github.com/riverqueue/river/riverdriver/riverpgxv5 v0.49.0
	github.com/riverqueue/river/riverdriver/riversqlite v0.49.0
	github.com/riverqueue/river/rivertype v0.49.0
	// wazero (pure Go WebAssembly) runs takumi's wasm build in the takumi
	// spike (internal/takumi, tests only so far; see docs/BENCHMARKS.md).
	github.com/tetratelabs/wazero v1.12.0
	// OpenTelemetry (internal/tracing): otel, its SDK and trace API, and
	// the OTLP/HTTP exporter must stay on one version; proto/otlp and
	// protobuf decode OTLP in the tests' in-process receiver.
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.47.0
	go.opentelemetry.io/otel/sdk v1.47.0
	go.opentelemetry.io/otel/trace v1.47.0
	go.opentelemetry.io/proto/otlp v1.11.0
	// x/image: high-quality resampling (img_fit fill) and the embedded Go
	// fonts and OpenType rasteriser that draw the watermark.
	golang.org/x/image v0.48.0
	google.golang.org/protobuf v1.36.12
	modernc.org/sqlite v1.61.1
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cenkalti/backoff/v5 v5.0.3 // indirect
	// libopenapi and libopenapi-validator, in tests only: they validate the
	// OpenAPI 3.1 document (JSON Schema 2020-12) and the recorded answers
	// against it (internal/api/openapi_test.go); kin-openapi's 3.1 support
	// is partial.
	github.com/pb33f/libopenapi v0.42.4
	github.com/pb33f/libopenapi-validator v0.16.2
	// yaml v3, in tests only: parsing deploy/'s compose, Prometheus and
	// Grafana files (deploy/deploy_test.go).
	go.yaml.in/yaml/v3 v3.0.5
)

require (
	github.com/klauspost/compress v1.20.1
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
)

require (
	// html-to-markdown v2 (maintained, CommonMark, absolute links via
	// WithDomain, cancellable by context) makes the v1 md format and
	// save_markdown (internal/browser/urlextract.go).
	github.com/JohannesKaufmann/html-to-markdown/v2 v2.5.2
	// gen2brain/avif (libavif in wasm under wazero) decodes avif renders
	// in tests only; it lost the encoder benchmark to avifenc
	// (docs/BENCHMARKS.md).
	github.com/gen2brain/avif v0.4.4
)

require (
	github.com/JohannesKaufmann/dom v0.3.1 // indirect
	github.com/bahlo/generic-list-go v0.2.0 // indirect
	github.com/basgys/goxml2json v1.1.1-0.20231018121955-e66ee54ceaad // indirect
	github.com/buger/jsonparser v1.6.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/sysutil v1.1.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/ebitengine/purego v0.8.3 // indirect
	github.com/go-json-experiment/json v0.0.0-20250725192818-e39067aee2d2 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-openapi/jsonpointer v1.0.2 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	github.com/gobwas/ws v1.4.0 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.30.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/klauspost/crc32 v1.3.0 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/minio/crc64nvme v1.1.1 // indirect
	github.com/minio/md5-simd v1.1.2 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/pb33f/go-yaml v0.1.1 // indirect
	github.com/pb33f/jsonpath v0.8.5 // indirect
	github.com/pb33f/jsonschema/v6 v6.0.3 // indirect
	github.com/pb33f/ordered-map/v2 v2.3.2 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/riverqueue/river/rivershared v0.49.0 // indirect
	github.com/rs/xid v1.6.0 // indirect
	github.com/tidwall/gjson v1.19.0 // indirect
	github.com/tidwall/match v1.2.0 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	github.com/tinylib/msgp v1.6.4 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/exporters/otlp/otlptrace v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/grpc v1.83.2 // indirect
	gopkg.in/ini.v1 v1.67.3 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
)
