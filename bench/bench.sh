#!/usr/bin/env bash
# bench/bench.sh — what `make bench` runs (see bench/README.md).
#
#   bench/bench.sh deps      install the Debian packages the benchmark needs
#   bench/bench.sh run       build the driver, run it, check the budgets
#   bench/bench.sh profile   where the time of `run true` goes (strace, perf)
#
# `run` expects LXCRUN_BIN (the Makefile passes ./lxcrun, freshly built).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
export PATH="$PATH:/usr/local/go/bin"

# The runtimes to compare, the tools the driver and profile use, busybox for
# the rootfs, and what `make build` needs (cgo + static libseccomp).
PKGS=(runc crun time strace linux-perf busybox-static
      libseccomp-dev gcc libc6-dev pkg-config)

deps() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then echo "bench: deps present"; return; fi
	echo "bench: installing ${missing[*]}"
	[ "$(id -u)" = 0 ] || { echo "bench: need root to install ${missing[*]}" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	local opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
	apt-get "${opts[@]}" update -qq || echo "bench: apt-get update failed; trying the cached lists" >&2
	apt-get "${opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

driver() {
	mkdir -p _build bench/out
	CGO_ENABLED=0 "$GO" build -trimpath -o _build/benchdriver ./bench/driver
}

run() {
	[ "$(id -u)" = 0 ] || { echo "bench: needs root (sudo make bench)" >&2; exit 1; }
	: "${LXCRUN_BIN:?set LXCRUN_BIN to the lxcrun binary}"
	driver
	local rc=0
	# The driver cleans up after itself, on ^C too (it is the one that
	# knows what it made); bash only waits for it.
	LXCRUN_BIN="$LXCRUN_BIN" ./_build/benchdriver || rc=$?
	[ "$rc" -ne 130 ] || exit 130
	echo "bench: budgets (bench/budget_test.go)"
	LXCRUN_BIN="$LXCRUN_BIN" CGO_ENABLED=0 "$GO" test -count=1 -v -run 'Budget' ./bench/ || rc=1
	exit "$rc"
}

# A profile of `run true` per runtime (bench/out/profile/, see
# bench/driver/profile.go), with an unstripped lxcrun so perf has symbols.
profile() {
	[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
	driver
	make --no-print-directory build BIN=_build/lxcrun-prof LDFLAGS='-extldflags -static'
	LXCRUN_BIN=$PWD/_build/lxcrun-prof exec ./_build/benchdriver profile
}

case "${1:-run}" in
deps) deps ;;
run) run ;;
profile) profile ;;
*) echo "usage: $0 deps|run|profile" >&2; exit 2 ;;
esac
