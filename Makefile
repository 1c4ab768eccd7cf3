# modelpick — every target installs what it needs and says what is missing.
#   make reproduce   every table and figure on $(ASSETS) (default ../shared/assets)
#   make test        gofmt, vet, staticcheck, go mod tidy, unit + integration tests (integration needs $(ASSETS))
#   make smoke       a minimal end-to-end run of every experiment (< 5 minutes)
#   make measure     measure this device's costs again: rewrites the recorded profile in experiments/device/
#   make example     the full method on your own models and images (MODELS=spec.yaml IMAGES=DIR TEST_IMAGES=DIR)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export MODELPICK_ASSETS ?= $(abspath ../shared/assets)
export MODELPICK_CACHE ?= $(HOME)/.cache/modelpick
ORT_VERSION := 1.30.0
ORT_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
ORT_DEFAULT := $(MODELPICK_CACHE)/ort/$(ORT_VERSION)/linux-$(ORT_ARCH)/libonnxruntime.so.1
export MODELPICK_ORT_LIB ?= $(ORT_DEFAULT)
BIN := bin/modelpick
GO ?= go
# One log per checkout, so two checkouts testing at once do not share it.
MODELPICK_TESTLOG ?= $(MODELPICK_CACHE)/test-$(notdir $(CURDIR)).log
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help deps sysdeps ort gomod build test lint reproduce measure smoke report example clean

help:
	@echo "make reproduce  - run every experiment (experiments/*.yaml) on $(MODELPICK_ASSETS): results/, figures/, REPRODUCE.md"
	@echo "make measure    - measure this device's costs again and rewrite its recorded profile (experiments/device/, or DEVICE=FILE)"
	@echo "make smoke      - every experiment on 60 images per set, 3 folds (outputs under $(MODELPICK_CACHE)/smoke)"
	@echo "make report     - regenerate REPRODUCE.md from results/ (no computation)"
	@echo "make example    - the full method on your models and images: MODELS=SPEC.yaml IMAGES=DIR TEST_IMAGES=DIR [OUT=DIR] (experiments/examples)"
	@echo "make test       - gofmt, vet, staticcheck, go mod tidy and all tests (unit + integration on $(MODELPICK_ASSETS))"
	@echo "make build      - build $(BIN)"
	@echo "make lint       - go vet + staticcheck"
	@echo "make ort        - fetch the ONNX Runtime $(ORT_VERSION) library (npm package onnxruntime-node)"

deps: sysdeps ort gomod

# OpenCV (gocv) and libsvm come from Debian; install them when missing.
sysdeps:
	@if ! command -v go >/dev/null; then echo "missing: the Go toolchain (go 1.26+) is not on PATH" >&2; exit 1; fi
	@if pkg-config --exists opencv4 && [ -f /usr/include/libsvm/svm.h ]; then exit 0; fi; \
	echo "installing libopencv-dev libsvm-dev (Debian packages) ..." >&2; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	if ! command -v apt-get >/dev/null; then echo "missing: OpenCV 4 development files (pkg-config opencv4) and libsvm (libsvm/svm.h), and no apt-get to install them; install libopencv-dev and libsvm-dev with your package manager" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends libopencv-dev libsvm-dev pkg-config >/dev/null \
	  || { echo "missing: could not apt-get install libopencv-dev libsvm-dev (need root or sudo, and the Debian mirror)" >&2; exit 1; }; \
	pkg-config --exists opencv4 || { echo "missing: opencv4 still not found by pkg-config after install" >&2; exit 1; }

# ONNX Runtime's shared library from the onnxruntime-node npm package (it
# carries linux x64 and arm64 builds). Set MODELPICK_ORT_LIB to use your own
# build (e.g. CUDA or TensorRT on a Jetson) and this step is skipped.
ort:
	@if [ -f "$(MODELPICK_ORT_LIB)" ]; then exit 0; fi; \
	if [ "$(MODELPICK_ORT_LIB)" != "$(ORT_DEFAULT)" ]; then echo "missing: MODELPICK_ORT_LIB=$(MODELPICK_ORT_LIB) does not exist" >&2; exit 1; fi; \
	command -v npm >/dev/null || { echo "missing: npm (needed once to fetch onnxruntime-node@$(ORT_VERSION)); install nodejs+npm or set MODELPICK_ORT_LIB" >&2; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	echo "fetching onnxruntime-node@$(ORT_VERSION) (113 MB) for libonnxruntime ..." >&2; \
	(cd $$tmp && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null) \
	  || { echo "missing: npm could not fetch onnxruntime-node@$(ORT_VERSION)" >&2; exit 1; }; \
	tar -xzf $$tmp/onnxruntime-node-$(ORT_VERSION).tgz -C $$tmp package/bin/napi-v6/linux/$(ORT_ARCH)/libonnxruntime.so.1; \
	mkdir -p $(dir $(ORT_DEFAULT)); \
	mv $$tmp/package/bin/napi-v6/linux/$(ORT_ARCH)/libonnxruntime.so.1 $(ORT_DEFAULT); \
	echo "ONNX Runtime library: $(ORT_DEFAULT)" >&2

gomod:
	@$(GO) mod download || { echo "missing: Go modules could not be downloaded (is the Go module proxy reachable?)" >&2; exit 1; }

build: deps
	$(GO) build -o $(BIN) ./cmd/modelpick

# Tests: unit tests build their own tiny models and images; integration tests
# read $(MODELPICK_ASSETS) and fail when it is missing. The last line counts
# every test and subtest that ran.
test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$($(GO) mod tidy -diff)" || { echo "go mod tidy needed:"; $(GO) mod tidy -diff; exit 1; }
	@mkdir -p $(MODELPICK_CACHE)
	@$(GO) test -count=1 -v -timeout 30m ./... 2>&1 | tee $(MODELPICK_TESTLOG) | grep -v '^=== \(RUN\|PAUSE\|CONT\)' ; \
	status=$${PIPESTATUS[0]}; \
	pass=$$(grep -c -- '--- PASS' $(MODELPICK_TESTLOG) || true); \
	fail=$$(grep -c -- '--- FAIL' $(MODELPICK_TESTLOG) || true); \
	skip=$$(grep -c -- '--- SKIP' $(MODELPICK_TESTLOG) || true); \
	echo "tests: $$pass passed, $$fail failed, $$skip skipped"; \
	exit $$status

lint: deps
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The main job: every experiment spec through the cached pipeline (cache in
# $(MODELPICK_CACHE)/pipeline, never in the repository), then REPRODUCE.md.
# Only missing stages run: a second `make reproduce` with nothing changed
# computes nothing. VERIFY=1 re-runs every cached stage and fails on any
# output that differs (nondeterminism). Costs (latency, extraction time)
# are read from the device's recorded profile, DEVICE (default: the one
# *.json in experiments/device/), never measured: `make measure` measures
# them again and rewrites it (run it on a quiet machine; commit the file).
VERIFY ?=
DEVICE ?=
reproduce: build
	@test -d "$(MODELPICK_ASSETS)" || { echo "missing: shared assets at $(MODELPICK_ASSETS) (set MODELPICK_ASSETS)" >&2; exit 1; }
	$(BIN) reproduce $(if $(VERIFY),-verify) $(if $(DEVICE),-device $(DEVICE))

measure: build
	@test -d "$(MODELPICK_ASSETS)" || { echo "missing: shared assets at $(MODELPICK_ASSETS) (set MODELPICK_ASSETS)" >&2; exit 1; }
	@echo "load average before measuring: $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (measure on a quiet machine)" >&2
	$(BIN) reproduce -measure $(if $(DEVICE),-device $(DEVICE))
	@echo "checking that a recorded run finds everything it needs in the new profile ..." >&2
	$(BIN) reproduce -quiet $(if $(DEVICE),-device $(DEVICE))

smoke: build
	@test -d "$(MODELPICK_ASSETS)" || { echo "missing: shared assets at $(MODELPICK_ASSETS) (set MODELPICK_ASSETS)" >&2; exit 1; }
	$(BIN) reproduce -smoke -quiet

report: build
	$(BIN) report

# The full method (profile, Algorithm 1, the paper's premodel, cascades and
# committees, the frontier figure, a report) on your own model spec and two
# labelled image folders, one to train on and one to test on: the specs of
# experiments/examples, latencies measured on this machine as they run.
OUT ?= example-out
example: build
	@test -n "$(MODELS)" -a -n "$(IMAGES)" -a -n "$(TEST_IMAGES)" || { echo "usage: make example MODELS=SPEC.yaml IMAGES=TRAIN_DIR TEST_IMAGES=TEST_DIR [OUT=DIR]" >&2; exit 2; }
	MODELS=$(abspath $(MODELS)) IMAGES=$(abspath $(IMAGES)) TEST_IMAGES=$(abspath $(TEST_IMAGES)) \
	  $(BIN) reproduce -dir experiments/examples -live -results $(OUT)/results -figures $(OUT)/figures -out $(OUT)/REPORT.md

clean:
	rm -rf bin
