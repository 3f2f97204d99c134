#!/usr/bin/env bash
# Builds the Kubernetes binaries from the published k8s.io/kubernetes module (hack/tools): the
# loopback stack's kube-apiserver and kubectl, and the real node's kubelet,
# kube-controller-manager, kube-scheduler and kube-proxy; CoreDNS, helm and kube-router (the
# node's NetworkPolicy enforcer, hack/stack/network-policy.ts) with `go install`. All go into a
# cache outside the work tree. A binary already in the cache is reused, so only the
# first run pays for the build (about 25 minutes on 2 cores).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
k8s_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$here/tools/go.mod")
helm_version=v3.18.6
coredns_version=v1.12.1
# The module proxy serves kube-router v2.1.0 only; it has published security advisories, which is
# acceptable for a test node in a namespace with no route out, not for anything else.
kube_router_version=v2.1.0
bin_dir=${TOLLGATE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/bin}
mkdir -p "$bin_dir"
# One build at a time: parallel test runs share the cache.
exec 9>"$bin_dir/.lock"
flock 9

minor=${k8s_version#v1.}; minor=${minor%%.*}
pkg_flags() {
  local pkg=$1
  printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=1970-01-01T00:00:00Z ' \
    "$pkg" "$k8s_version" "$pkg" "$pkg" "$minor" "$pkg" "$pkg"
}
ldflags="-s -w $(pkg_flags k8s.io/component-base/version) $(pkg_flags k8s.io/client-go/pkg/version)"

for cmd in kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy; do
  out="$bin_dir/$cmd-$k8s_version"
  if [ ! -x "$out" ]; then
    echo "building $cmd $k8s_version (first run only; takes minutes)" >&2
    (cd "$here/tools" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$out.tmp" "$out"
  fi
  ln -sf "$out" "$bin_dir/$cmd"
done

# go_install NAME MODULE/CMD VERSION: a released command, built once into the cache.
go_install() {
  local name=$1 pkg=$2 version=$3 out="$bin_dir/$1-$3"
  if [ ! -x "$out" ]; then
    echo "building $name $version (first run only)" >&2
    GOBIN="$bin_dir/.$name-$version" CGO_ENABLED=0 go install -trimpath -ldflags '-s -w' "$pkg@$version"
    mv "$bin_dir/.$name-$version/$name" "$out"
    rmdir "$bin_dir/.$name-$version"
  fi
  ln -sf "$out" "$bin_dir/$name"
}
go_install helm helm.sh/helm/v3/cmd/helm "$helm_version"
go_install coredns github.com/coredns/coredns "$coredns_version"
# Pure Go: it drives iptables and ipset through their commands, so CGO_ENABLED=0 builds it.
go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$kube_router_version"
echo "$bin_dir"
