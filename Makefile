# renderhook — run `make help` for the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

BIN      := bin/renderhook
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/renderhook/renderhook/internal/server.Version=$(VERSION)
DATA_DIR ?= ./data
ADDR     ?= 127.0.0.1:8080

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install Chromium, fonts and test tools when missing (apt)
	@./scripts/install-deps.sh

.PHONY: build
build: ## Build bin/renderhook
	go build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/renderhook

.PHONY: run
run: deps build ## Set up what is missing, create a first space/token/page, print a curl line and serve
	@$(BIN) quickstart --data-dir $(DATA_DIR) --addr $(ADDR)
	@exec $(BIN) serve --data-dir $(DATA_DIR) --addr $(ADDR)

.PHONY: test
test: deps ## Run every test twice (race detector on): on SQLite + local files, then on PostgreSQL + MinIO
	go vet ./...
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-backends

.PHONY: test-sqlite
UI_SHOTS ?= $(CURDIR)/.tmp/ui-screenshots
test-sqlite: ## Run every test on SQLite and local files
	@mkdir -p $(UI_SHOTS)
	RENDERHOOK_UI_SCREENSHOTS=$(UI_SHOTS) go test -race -count=1 -timeout 20m ./...
	@echo "console screenshots (laptop and phone size, every page): $(UI_SHOTS)"

.PHONY: test-backends
test-backends: ## Run every test on a throwaway PostgreSQL and MinIO (installed and started by scripts/)
	./scripts/with-test-backends.sh go test -race -count=1 -timeout 25m ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	@$(MAKE) --no-print-directory fuzz-ci FUZZTIME=$(or $(FUZZTIME),30s)

FUZZTIME ?= 10s
.PHONY: fuzz-ci
fuzz-ci: ## Run every fuzz target for a bounded time (10s each; CI runs this)
	go test ./webhook -run '^$$' -fuzz '^FuzzParseSignatureHeader$$' -fuzztime $(FUZZTIME)
	go test ./webhook -run '^$$' -fuzz '^FuzzVerifyStandard$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzParseBody$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzApplyValues$$' -fuzztime $(FUZZTIME)
	go test ./internal/capability -run '^$$' -fuzz '^FuzzVerifyPage$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzParseV1Query$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzParseV1Body$$' -fuzztime $(FUZZTIME)
	go test ./internal/render -run '^$$' -fuzz '^FuzzExecuteBounded$$' -fuzztime $(FUZZTIME)
	go test ./internal/egress -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime $(FUZZTIME)
	go test ./internal/browser -run '^$$' -fuzz '^FuzzIsAdHost$$' -fuzztime $(FUZZTIME)

.PHONY: bench
bench: deps ## Full benchmark: renderhook against the raw Chromium floor (and Gotenberg if GOTENBERG_URL is set); webhooks on SQLite and a throwaway PostgreSQL
	RENDERHOOK_TEST_S3=0 ./scripts/with-test-backends.sh go run ./bench

.PHONY: bench-quick
bench-quick: deps ## The same benchmark with fewer samples (under 2 minutes)
	RENDERHOOK_TEST_S3=0 ./scripts/with-test-backends.sh go run ./bench -quick

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
