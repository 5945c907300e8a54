#!/usr/bin/env bash
# Installs what ferry's cluster tests need and builds the genuine upstream
# kube-apiserver, kube-controller-manager, kube-scheduler and kubelet v1.20.2
# (and the pause program of the sandbox image) from Debian bookworm's
# `kubernetes` source package, once per machine. Nodes run Debian's containerd
# and runc; images are served by Debian's docker-registry (the CNCF
# distribution registry); see ../shared/notes/nodes.md.
#
# The binaries are cached outside the repository, keyed by version, in
# ${FERRY_K8S_CACHE:-$HOME/.cache/ferry}/k8s-v1.20.2/. A second run finds them
# and returns at once. etcd comes from Debian's `etcd-server`, kubectl (for
# the benchmark baseline only) from `kubernetes-client` when none is installed.
#
# The vendored github.com/modern-go/reflect2 v1.0.1 breaks under Go >= 1.18
# (the apiserver crashes on any pretty-printed response), so it is replaced by
# Debian's v1.0.2 before building; see ../shared/notes/test-clusters.md.
set -euo pipefail

VERSION=1.20.2
CACHE="${FERRY_K8S_CACHE:-$HOME/.cache/ferry}/k8s-v$VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet pause)

log() { echo "install-k8s: $*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

have_binaries() {
  for bin in "${BINARIES[@]}"; do [ -x "$CACHE/$bin" ] || return 1; done
}

enable_deb_src() {
  grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && return 0
  log "enabling deb-src for bookworm"
  cat > /etc/apt/sources.list.d/ferry-debsrc.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq
}

replace_reflect2() {
  local vendored=vendor/github.com/modern-go/reflect2
  cp "$vendored/BUILD" "$1/reflect2.BUILD"
  rm -rf "$vendored"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$vendored"
  cp "$1/reflect2.BUILD" "$vendored/BUILD"
}

build() {
  apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev
  enable_deb_src
  BUILD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ferry-k8s-build.XXXXXX")"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  local work="$BUILD_DIR"
  log "building ${BINARIES[*]} v$VERSION in $work (about 20 minutes on 2 cores)"
  (
    cd "$work"
    apt-get source --download-only kubernetes >/dev/null 2>&1
    tar xzf kubernetes_*.orig.tar.gz
    cd "kubernetes-$VERSION"
    replace_reflect2 "$work"
    mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
    mkdir -p "$work/home"
    GOPATH=$PWD/.go CGO_ENABLED=0 HOME="$work/home" \
      make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet" \
      >"$work/build.log" 2>&1 \
      || { tail -40 "$work/build.log" >&2; exit 1; }
    mkdir -p "$CACHE.partial"
    gcc -Os -static -DVERSION=v3.4.1 -o "$CACHE.partial/pause" build/pause/linux/pause.c
    strip "$CACHE.partial/pause"
    for bin in "${BINARIES[@]}"; do
      [ "$bin" = pause ] || cp "_output/local/bin/linux/amd64/$bin" "$CACHE.partial/"
    done
  )
  rm -rf "$CACHE" && mv "$CACHE.partial" "$CACHE"
}

# Nodes: containerd, runc, the CNI loopback plugin, util-linux (unshare, nsenter, mount).
# Images: docker-registry (a loopback registry), busybox-static (the busybox image), skopeo (reads OCI archives).
# Cut-over (ferry-cutover): PowerDNS with its sqlite3 backend (weighted DNS through its API), HAProxy (runtime weights),
# Prometheus (query gates), BIND 9 (RFC 2136 updates signed with TSIG). Volume benchmarks (scripts/bench-volumes.sh): restic and rsync, the mover's baselines.
apt_install etcd-server openssl ca-certificates containerd runc containernetworking-plugins \
  busybox-static docker-registry skopeo util-linux pdns-server pdns-backend-sqlite3 sqlite3 haproxy prometheus \
  bind9 restic rsync
command -v kubectl >/dev/null 2>&1 || apt_install kubernetes-client
if have_binaries; then
  log "cached: $CACHE"
else
  mkdir -p "$(dirname "$CACHE")"
  build
  log "built: $CACHE"
fi
