#!/bin/bash
# Install what the real-client integration tests (integration/clients) need:
# podman + conmon + netavark, containerd + ctr, Docker (docker.io), umoci and
# skopeo to build images without a registry, the CNI plugins, iptables, script(1),
# and crictl (not in Debian: built with `go install` into a cache directory).
#
# Idempotent and quiet: apt is touched only when a package is missing, crictl is
# built only when the cached binary is missing. No daemon is started: package
# maintainer scripts are kept from starting services while we install.
#
#   scripts/clients-deps.sh            install what is missing
#   CRICTL_DIR=/some/dir scripts/...   where crictl goes (default below)
#
# Prints the crictl path on its last line ("crictl: /path").
set -euo pipefail

export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

CRICTL_VERSION=${CRICTL_VERSION:-v1.34.0}
CRICTL_DIR=${CRICTL_DIR:-/var/tmp/lxcrun-clients/bin}

PKGS=(
	podman conmon netavark aardvark-dns uidmap catatonit
	containerd
	docker.io tini
	umoci skopeo
	containernetworking-plugins iptables iproute2
	bsdutils util-linux
	busybox-static runc crun
)

if [ "$(id -u)" != 0 ]; then
	echo "clients-deps: must run as root" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "clients-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
	# Keep maintainer scripts (containerd, docker.io) from starting daemons with
	# the machine's default configuration: the tests start their own, privately.
	policy=/usr/sbin/policy-rc.d
	own_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 0755 "$policy"
		own_policy=1
	fi
	trap '[ -n "$own_policy" ] && rm -f "$policy"' EXIT
	apt-get "${apt_opts[@]}" update -qq ||
		echo "clients-deps: apt-get update failed; trying the cached package lists" >&2
	if ! apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" > /tmp/clients-deps-apt.log 2>&1; then
		tail -n 30 /tmp/clients-deps-apt.log >&2
		echo "clients-deps: apt-get install failed (full log: /tmp/clients-deps-apt.log)" >&2
		exit 1
	fi
	echo "clients-deps: packages installed"
else
	echo "clients-deps: packages present"
fi

crictl="$CRICTL_DIR/crictl"
if [ ! -x "$crictl" ]; then
	echo "clients-deps: building crictl $CRICTL_VERSION into $CRICTL_DIR"
	mkdir -p "$CRICTL_DIR"
	# The module proxy here serves only some cri-tools versions (v1.34.0 works
	# against containerd 1.6's CRI v1 API).
	if ! GOBIN="$CRICTL_DIR" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
		go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" > /tmp/clients-deps-crictl.log 2>&1; then
		tail -n 30 /tmp/clients-deps-crictl.log >&2
		echo "clients-deps: go install crictl failed" >&2
		exit 1
	fi
fi
echo "crictl: $crictl"
