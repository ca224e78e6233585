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
	@./scripts/fuzz.sh $(if $(filter command line environment,$(origin FUZZTIME)),$(FUZZTIME),30s)

FUZZTIME ?= 10s
.PHONY: fuzz-ci
fuzz-ci: ## Run every Fuzz target, found by scripts/fuzz.sh (not listed here), for FUZZTIME each (10s; CI runs this)
	@./scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: deps ## Full benchmark: renderhook against the raw Chromium floor (and Gotenberg if GOTENBERG_URL is set); webhooks on SQLite and a throwaway PostgreSQL
	RENDERHOOK_TEST_S3=0 ./scripts/with-test-backends.sh go run ./bench

.PHONY: bench-quick
bench-quick: deps ## The same benchmark with fewer samples (under 2 minutes)
	RENDERHOOK_TEST_S3=0 ./scripts/with-test-backends.sh go run ./bench -quick

GOLANGCI_LINT_VERSION := v2.15.0
GOBIN_DIR := $(or $(shell go env GOBIN),$(shell go env GOPATH)/bin)
GOLANGCI_LINT := $(GOBIN_DIR)/golangci-lint

.PHONY: lint-tools
lint-tools: ## Install the pinned golangci-lint (GOLANGCI_LINT_VERSION) into GOBIN when missing (about 80 s)
	@if ! $(GOLANGCI_LINT) version 2>/dev/null | grep -q 'version $(patsubst v%,%,$(GOLANGCI_LINT_VERSION)) '; then \
	  echo "installing golangci-lint $(GOLANGCI_LINT_VERSION)"; \
	  go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

.PHONY: lint
lint: lint-tools ## gofmt, go vet and golangci-lint (.golangci.yml)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(GOLANGCI_LINT) run ./...
