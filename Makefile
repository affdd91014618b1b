# ora2gcs — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   ?= bin/ora2gcs
# Packages that need cgo (godror); everything else is tested with -race.
CGO_PKGS  := ./sources/oracle/...
PKGS       = $(shell $(GO) list ./... | grep -v /sources/oracle)
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: all build demo test test-go lint bench bench-go fuzz clean image image-test release build-nocgo

all: build

## build: the ora2gcs binary (cgo on: godror needs it; Instant Client only at run time)
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ora2gcs

## demo: the main job on the embedded defaults (synthetic VBRP/VBRK/LIKP → ./data/oracle-etl-data/TRP-LOCAL/vNNN/)
demo: build
	./$(BIN) run

## test: every test, with a throwaway PostgreSQL started for the integration tests (what .ci/run calls)
test:
	bash scripts/with-postgres.sh $(MAKE) --no-print-directory test-go

test-go: lint
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/ora2gcs   # the pure-Go build (no Oracle) must keep compiling
	bash scripts/install-chromium.sh
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	$(GO) test -count=1 -timeout 10m $(CGO_PKGS)

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: the README's performance figures (synth → null, median of 5)
bench: build
	./$(BIN) bench --source synth --tables VBRP --rows 200000 --target null --runs 5

## bench-go: the go test benchmarks of encoder, compressor and pipeline
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./stages ./pipeline ./sources/synth

## fuzz: short runs of the encoder and line compressor fuzz tests
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEncode -fuzztime 60s ./stages
	$(GO) test -run '^$$' -fuzz FuzzLineDeflate -fuzztime 60s ./stages

clean:
	rm -rf bin data/oracle-etl-data

## build-nocgo: the pure-Go static binary bin/ora2gcs-nocgo (synth and PostgreSQL; no Oracle)
build-nocgo:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ora2gcs-nocgo ./cmd/ora2gcs

## image: the container image (IMAGE=localhost/ora2gcs:test; Instant Client zip in instantclient/ if you have it)
image:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)' bash scripts/image-test.sh build

## image-test: build the image, run --version, the demo and serve inside it (opt-in: takes minutes)
image-test:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)' bash scripts/image-test.sh

## release: dist/ora2gcs_VERSION_linux_{amd64,arm64}.tar.gz and dist/SHA256SUMS
release:
	GO='$(GO)' VERSION='$(VERSION)' COMMIT='$(COMMIT)' bash scripts/release.sh
