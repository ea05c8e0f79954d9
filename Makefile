# clickstream: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/clickstream
LOG ?= testdata/logs/apache_logs

.PHONY: all build run test test-unit test-integration faults services services-down accuracy bench bench-pipeline fuzz vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/clickstream

## run: set up ClickHouse and GeoIP, start every stage with an embedded
## broker, replay the shipped access log, print a summary, keep serving.
run: build
	deploy/clickhouse/clickhouse.sh install
	deploy/clickhouse/clickhouse.sh start
	@if deploy/geoip/fetch.sh; then geo=var/geoip/GeoLite2-City.mmdb; else \
		geo=; echo "continuing without geo enrichment"; fi; \
	CLICKSTREAM_ENRICH_GEOIP_CITY=$$geo $(BIN) dev -config configs/dev.yaml -replay $(LOG)

## test: unit tests, then integration tests on a real Kafka broker and a
## real ClickHouse server, started when they are not running.
test: test-unit fuzz-short test-integration

test-unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-integration: services
	$(GO) test -tags integration -count=1 -p 1 -timeout 30m ./...

## faults: only the fault tests of cmd/clickstream, which test-integration
## runs too. They stop and start Kafka and ClickHouse with the deploy
## scripts, so on a shared machine point them at a second set of services
## (DEPLOY_VAR_DIR and the port variables of deploy/README.md).
faults: services
	$(GO) test -tags integration -count=1 -p 1 -timeout 20m -v -run '^(TestFault|TestReconcile)' ./cmd/clickstream

services:
	deploy/services.sh up

services-down:
	deploy/services.sh down

accuracy:
	$(GO) run ./cmd/clickstream accuracy -testdata testdata

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./enrich/... ./pkg/... ./sinks/...

## bench-pipeline: the throughput runs of docs/benchmarks.md, on the real
## broker and server: one and two workers against straight inserts, and the
## edge against nginx under wrk (apt-get install nginx wrk). On a shared
## machine point them at a second set of services, as for faults.
bench-pipeline: services
	CLICKSTREAM_BENCH=1 $(GO) test -tags integration -count=1 -p 1 -timeout 60m -v \
		-run '^TestBench(PipelineScale|EdgeAgainstNginx)$$' ./cmd/clickstream

FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 60s

## fuzz: run each fuzzer for FUZZTIME; fuzz-short is the bounded run of make test.
## fuzz-short skips minimizing new inputs, which otherwise took most of its
## 15 s, so the whole time goes to new inputs.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeHit -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./pkg/event
	$(GO) test -run '^$$' -fuzz FuzzParseCombined -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./pkg/replay

fuzz-short:
	$(MAKE) fuzz FUZZTIME=15s FUZZMINIMIZETIME=0

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
