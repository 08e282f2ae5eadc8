# Kafka Event Lineage Collector - build, run and test.
# The two commands of the README: `make run` (the collector with its embedded defaults) and
# `make test` (everything CI runs: unit tests with -race, Java unit tests, receiver integration tests
# and the harness against real Kafka).

SHELL        := /usr/bin/env bash
GO           ?= go
GOBIN        := $(shell $(GO) env GOPATH)/bin
OCB_VERSION  := v0.165.0
BIN          := bin/otelcol-lineage
EVAL         := bin/lineage-eval
# Scenarios and agent configurations the harness runs (see e2e/README.md).
E2E_SCENARIOS ?= withdrawal multicluster
E2E_CONFIGS   ?= a b c d

.PHONY: all build run test unit gotest javatest integration e2e generate check-generate lint fuzz docker clean

all: build

## build: the collector distribution and the evaluation tool into bin/
build:
	$(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/otelcol-lineage
	$(GO) build -trimpath -o $(EVAL) ./cmd/lineage-eval

## run: build and start the collector with its embedded default configuration
run: build
	@echo "otelcol-lineage: OTLP gRPC localhost:4317, HTTP localhost:4318; health http://localhost:13133/status"
	@echo "otelcol-lineage: lineage UI and API on http://$${LINEAGE_UI_ENDPOINT:-localhost:18090}/ (replay a capture: go run ./cmd/lineage-replay --shift-to-now testdata/captures/multicluster-a)"
	@echo "otelcol-lineage: lineage store $${LINEAGE_DATA_DIR:-data}/lineage.db; received telemetry also in traces.jsonl and logs.jsonl there"
	./$(BIN)

## test: everything CI runs (uitest: the web UI in headless Chromium against the real collector)
test: lint check-generate check-ui unit integration uitest e2e

## unit: Go tests with the race detector, and the Java harness' own unit tests
unit: gotest javatest

gotest:
	$(GO) test -race -count=1 ./...

javatest:
	mvn -q -B -f e2e/apps/pom.xml test

## integration: against real servers: the receivers against a Kafka broker started by e2e/bin/kafka.sh
## on 127.0.0.1:24092 (controller 24093; a broker restart included; fetches the Kafka distribution as
## the harness does), the lineage store suite against PostgreSQL (e2e/bin/postgres.sh, 127.0.0.1:25432),
## and the lineage exporter's outage test (its own PostgreSQL, stopped and restarted mid-run)
integration:
	FETCH_APPS=0 e2e/bin/fetch.sh
	$(GO) test -race -count=1 -tags integration ./receiver/...
	dsn=$$(e2e/bin/postgres.sh start); rc=0; \
	LINEAGE_TEST_POSTGRES_DSN="$$dsn" $(GO) test -race -count=1 -tags integration ./internal/lineagestore/... || rc=$$?; \
	e2e/bin/postgres.sh stop; exit $$rc
	$(GO) test -race -count=1 -tags integration ./exporter/...

## e2e: real Kafka brokers, Streams/Connect/MirrorMaker 2 apps and the stock Java agent; records
## captures into a temporary directory (E2E_OUT to keep them) and evaluates them with lineage-eval
e2e: build
	E2E_SCENARIOS="$(E2E_SCENARIOS)" E2E_CONFIGS="$(E2E_CONFIGS)" e2e/bin/e2e.sh

## generate: re-run ocb on builder-config.yaml and copy its sources into cmd/otelcol-lineage
generate:
	$(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	rm -rf build/ocb && mkdir -p build/ocb
	$(GOBIN)/builder --config builder-config.yaml --skip-compilation
	cp build/ocb/components.go build/ocb/main.go build/ocb/main_others.go build/ocb/main_windows.go cmd/otelcol-lineage/
	$(GO) mod edit $$(awk -v self=$$($(GO) list -m) '/^require \(/{f=1;next} f&&/^\)/{exit} f&&$$1!=self{print "-require=" $$1 "@" $$2}' build/ocb/go.mod)
	$(GO) mod tidy

## check-generate: `make generate` must leave the tree as committed
check-generate: generate
	git diff --exit-code -- cmd/otelcol-lineage go.mod go.sum

## lint: formatting and vet (generated sources excluded from gofmt)
lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^cmd/otelcol-lineage/\(components\|main\|main_others\|main_windows\)\.go$$')); \
	if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi
	$(GO) vet ./...

## fuzz: run every fuzz target briefly (FUZZTIME=30s for longer)
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

## bench: replay >= 1M captured Java-agent spans per pipeline through bin/otelcol-lineage (pass-through,
## batch, groupbytrace, lineage) on 127.0.0.1 and print collector CPU/span, memory, latency and loss;
## docs/performance.md. Takes about 10 minutes; BENCH_FLAGS="-rate 20000 ..." (see -help)
.PHONY: bench
BENCH_FLAGS ?=
bench: build
	$(GO) build -o bin/lineage-bench ./cmd/lineage-bench
	bin/lineage-bench -collector $(BIN) $(BENCH_FLAGS)

## bench-store: the lineage store on SQLite and on PostgreSQL (e2e/bin/postgres.sh): ingestion rate,
## depth-10 lineage, FindEvents and topology over one million stored events (built once and kept
## under $${TMPDIR:-/tmp}/lineage-store-bench and a PostgreSQL schema); docs/performance.md
.PHONY: bench-store
bench-store:
	dsn=$$(e2e/bin/postgres.sh start) && export LINEAGE_TEST_POSTGRES_DSN=$$dsn && \
	  $(GO) test -run '^$$' -bench 'Write|Lineage|FindEvents' -benchtime 200x ./internal/lineagestore/sqlstore && \
	  $(GO) test -run '^$$' -bench 'Topology' -benchtime 5x ./internal/lineagestore/sqlstore

## ui: the web UI (web/, TypeScript) bundled by esbuild into internal/webui/dist, which the collector
## embeds; dist is committed, so `go build` needs no Node.js. Needs node 20+ and npm.
.PHONY: ui check-ui uitest
ui:
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	npm run --prefix web build

## check-ui: `make ui` must leave internal/webui/dist as committed
check-ui: ui
	git diff --exit-code -- internal/webui/dist
	@new=$$(git ls-files --others --exclude-standard -- internal/webui/dist); \
	if [ -n "$$new" ]; then echo "check-ui: not committed: $$new"; exit 1; fi

## uitest: the UI in headless chromium (playwright-core) against the real collector fed with
## recorded captures by lineage-replay (e2e/ui/run.sh); rewrites docs/screenshots
uitest:
	e2e/ui/run.sh

## docker: the collector image (needs a Docker engine; the build stage runs `make build`)
docker:
	docker build -t otelcol-lineage:dev .

clean:
	rm -rf bin build data
