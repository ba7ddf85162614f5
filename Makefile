# lxcrun — build, demo, test, install.
#
#   make            build ./lxcrun (static)
#   make demo       build, make a busybox bundle, run it (root)
#   make test       deps, build, vet, unit, integration, conformance, clients (root)
#   make generate   regenerate the JSON codecs (after changing a wire type)
#   make install    install ./lxcrun to $(DESTDIR)$(BINDIR)
#
# Everything can be overridden on the command line, e.g.
#   make build CGO_ENABLED=0     make install PREFIX=/usr

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
# Targets run one after another even under -j (test's order matters).
.NOTPARALLEL:

# `sudo make ...` resets PATH; Go lives in /usr/local/go on the CI machines.
export PATH := $(PATH):/usr/local/go/bin

GO          ?= go
CGO_ENABLED ?= 1
# urfave_cli_no_docs drops the man-page generator (blackfriday), whose package
# init alone cost more than every other package at start-up.
BUILDTAGS   ?= netgo osusergo urfave_cli_no_docs
VERSION     := $(shell cat VERSION 2>/dev/null || echo 0.0.0-dev)
COMMIT      := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) -extldflags -static

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/sbin
DESTDIR     ?=

BIN         := lxcrun
BUILD       := _build
HELPER      := $(BUILD)/ctrhelper
SPECPATCH   := $(BUILD)/specpatch
BUNDLE      := $(BUILD)/bundle
BUSYBOX     ?= /bin/busybox
DEMO_ARGS   := ["sh","-c","echo hello from lxcrun; uname -n"]

# Debian packages the build (cgo: libseccomp, static libc, pkg-config) and the
# tests (busybox rootfs, runc/crun to compare against, script, ip) need.
DEB_PKGS    := busybox-static libseccomp-dev gcc libc6-dev pkg-config \
               runc crun util-linux bsdutils iproute2

GOBIN       ?= $(shell $(GO) env GOPATH 2>/dev/null)/bin
STATICCHECK ?= $(GOBIN)/staticcheck

# Test packages: everything but the root-only end-to-end suites.
UNIT_PKGS    = $(shell $(GO) list ./... | grep -v -E '/(integration|conformance)(/|$$)')
INTEG_GO    := $(wildcard integration/*.go integration/*/*.go)
CONFORM_GO  := $(wildcard conformance/*.go conformance/*/*.go)

TEST_ENV     = LXCRUN_BIN=$(CURDIR)/$(BIN)

.PHONY: all build helper specpatch bundle demo run deps test vet unit \
        integration conformance lint install uninstall clean generate

all: build

build:
	CGO_ENABLED=$(CGO_ENABLED) $(GO) build -trimpath -tags "$(BUILDTAGS)" \
		-ldflags "$(LDFLAGS)" -o $(BIN) .

# Static helper the integration tests copy into their rootfs as /bin/ctrhelper.
helper:
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(HELPER) ./tools/ctrhelper

specpatch:
	@mkdir -p $(BUILD)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(SPECPATCH) ./tools/specpatch

# A busybox bundle: rootfs from Debian's busybox-static, config.json from
# `lxcrun spec`, patched to run without a terminal and print a line.
bundle: build specpatch
	@test -x $(BUSYBOX) || { echo "bundle: $(BUSYBOX) not found; run 'make deps' (busybox-static)" >&2; exit 1; }
	rm -rf $(BUNDLE)
	mkdir -p $(addprefix $(BUNDLE)/rootfs/,bin sbin usr/bin usr/sbin etc proc sys dev tmp root var run)
	install -m 0755 $(BUSYBOX) $(BUNDLE)/rootfs/bin/busybox
	@# Same links as `chroot rootfs /bin/busybox --install -s`, without needing root.
	@for p in $$($(BUSYBOX) --list-full); do \
		[ -e "$(BUNDLE)/rootfs/$$p" ] || [ -L "$(BUNDLE)/rootfs/$$p" ] || { mkdir -p "$$(dirname "$(BUNDLE)/rootfs/$$p")"; ln -s /bin/busybox "$(BUNDLE)/rootfs/$$p"; }; \
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > $(BUNDLE)/rootfs/etc/passwd
	printf 'root:x:0:\nnogroup:x:65534:\n' > $(BUNDLE)/rootfs/etc/group
	chmod 1777 $(BUNDLE)/rootfs/tmp
	./$(BIN) spec --bundle $(BUNDLE)
	$(SPECPATCH) -terminal=false -args '$(DEMO_ARGS)' $(BUNDLE)/config.json
	@echo "bundle: $(BUNDLE) ready"

demo: bundle
	@[ "$$(id -u)" = 0 ] || { echo "demo: needs root (sudo make demo)" >&2; exit 1; }
	./$(BIN) run --bundle $(BUNDLE) demo-$$$$

run: demo

# Install missing Debian packages. Quiet and offline-safe: apt is only
# touched when something is missing.
deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install$$missing" >&2; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt_opts="-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0"; \
	apt-get $$apt_opts update -qq || echo "deps: apt-get update failed; trying the cached package lists" >&2; \
	apt-get $$apt_opts install -y -qq --no-install-recommends $$missing >/dev/null; \
	echo "deps: done"

test: deps build vet unit integration conformance clients

vet:
	CGO_ENABLED=$(CGO_ENABLED) $(GO) vet -tags "$(BUILDTAGS)" ./...

# LXCRUN_BIN lets bench/budget_test.go check the binary size and package-init
# budgets (deterministic, unlike timings).
unit: build
	$(TEST_ENV) CGO_ENABLED=$(CGO_ENABLED) $(GO) test -count=1 -tags "$(BUILDTAGS)" $(UNIT_PKGS)

ifeq ($(strip $(INTEG_GO)),)
integration:
	@echo "integration: skipped (no Go files in integration/ yet)"
else
integration: build helper
	$(TEST_ENV) LXCRUN_CTRHELPER=$(CURDIR)/$(HELPER) LXCRUN_BUSYBOX=$(BUSYBOX) \
		CGO_ENABLED=$(CGO_ENABLED) $(GO) test -count=1 -v -timeout 30m ./integration/
endif

# Real clients (podman, containerd+ctr, Docker, CRI+crictl) driving lxcrun by
# path; scripts/clients-deps.sh installs them (a few minutes on a fresh
# machine). clients-runc runs the same scenarios against runc.
.PHONY: clients clients-runc
clients: build
	scripts/clients-deps.sh
	LXCRUN_CLIENT_TESTS=1 $(TEST_ENV) LXCRUN_BUSYBOX=$(BUSYBOX) CGO_ENABLED=$(CGO_ENABLED) \
		$(GO) test -count=1 -v -timeout 25m ./integration/clients/

clients-runc: build
	scripts/clients-deps.sh
	LXCRUN_CLIENT_TESTS=1 LXCRUN_CLIENT_RUNTIME=runc LXCRUN_BUSYBOX=$(BUSYBOX) CGO_ENABLED=$(CGO_ENABLED) \
		$(GO) test -count=1 -v -timeout 25m ./integration/clients/

ifeq ($(strip $(CONFORM_GO)),)
conformance:
	@echo "conformance: skipped (no Go files in conformance/ yet)"
else
conformance: build
	$(TEST_ENV) CGO_ENABLED=$(CGO_ENABLED) $(GO) test -count=1 -v -timeout 40m ./conformance/...
endif

.PHONY: bench
# Side-by-side start-up benchmark of lxcrun, runc and crun (root; ~1 min).
# BENCH_RUNS=20 BENCH_WARMUP=3 BENCH_CONC=50 BENCH_CONC_RUNS=5; see bench/README.md.
# Writes bench/out/results.txt and results.json.
bench:
	bench/bench.sh deps
	$(MAKE) --no-print-directory build
	LXCRUN_BIN=$(CURDIR)/$(BIN) GO=$(GO) bench/bench.sh run

# Regenerate the JSON codecs of libstart's wire types (libstart/codec.go)
# after changing one of them; the generator comes from the module proxy.
generate:
	cd libstart && $(GO) generate ./

lint:
	@files=$$(find . -name '*.go' -not -path './_build/*' -not -path './vendor/*'); \
	bad=$$(gofmt -l $$files); \
	if [ -n "$$bad" ]; then echo "lint: not gofmt'ed:"; echo "$$bad"; exit 1; fi; \
	echo "lint: gofmt ok"
	CGO_ENABLED=$(CGO_ENABLED) $(GO) vet -tags "$(BUILDTAGS)" ./...
	@if [ ! -x "$(STATICCHECK)" ]; then \
		echo "lint: installing staticcheck into $(GOBIN)"; \
		GOBIN="$(GOBIN)" $(GO) install honnef.co/go/tools/cmd/staticcheck@latest \
			|| echo "lint: cannot install staticcheck (module proxy unreachable?); skipping it"; \
	fi; \
	if [ -x "$(STATICCHECK)" ]; then \
		echo "CGO_ENABLED=$(CGO_ENABLED) $(STATICCHECK) -tags \"$(BUILDTAGS)\" ./..."; \
		CGO_ENABLED=$(CGO_ENABLED) "$(STATICCHECK)" -tags "$(BUILDTAGS)" ./...; \
	fi

install:
	@test -x $(BIN) || { echo "install: ./$(BIN) not built; run 'make' first" >&2; exit 1; }
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/$(BIN)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN)

clean:
	rm -rf $(BIN) $(BUILD)
