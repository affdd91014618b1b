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

.PHONY: all build demo test test-go lint bench bench-oracle bench-go fuzz clean image image-test release build-nocgo

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

## bench: the end-to-end suites of benchmarks/ in one table (synth → null/file/emulator, ranges, PostgreSQL vs COPY,
##        many tables, API latency during a job); PostgreSQL: $ORA2GCS_TEST_POSTGRES_DSN, else a throwaway server.
##        More flags in BENCH_ARGS, e.g. BENCH_ARGS='-suites synth -rows 500000 -runs 5' (benchmarks/README.md)
bench: build
	$(GO) build -o bin/ora2gcs-benchmarks ./benchmarks
	@if [ -n "$$ORA2GCS_TEST_POSTGRES_DSN" ]; then ./bin/ora2gcs-benchmarks -bin $(BIN) $(BENCH_ARGS); \
	  else bash scripts/with-postgres.sh ./bin/ora2gcs-benchmarks -bin $(BIN) $(BENCH_ARGS); fi

## bench-oracle: the Oracle suite against your database, a report to paste into a bug report:
##        make bench-oracle ORACLE_DSN=oracle://user@host:1521/service [ORACLE_TABLE=SCHEMA.TABLE] (ORACLE_PASSWORD set)
bench-oracle:
	@if [ -z "$$ORACLE_DSN" ]; then \
	  echo "bench-oracle: no database: make bench-oracle ORACLE_DSN=oracle://user@host:1521/service (password in ORACLE_PASSWORD), or ORACLE_DSN=oracle for a wallet from the ORACLE_* variables; see benchmarks/README.md" >&2; \
	  exit 2; fi
	@$(MAKE) --no-print-directory build
	$(GO) build -o bin/ora2gcs-benchmarks ./benchmarks
	./bin/ora2gcs-benchmarks -bin $(BIN) -oracle "$$ORACLE_DSN" $${ORACLE_TABLE:+-table "$$ORACLE_TABLE"} $(BENCH_ARGS)

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
