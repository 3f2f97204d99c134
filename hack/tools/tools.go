//go:build tools

// Package tools pins the commands that hack/ builds, so `go mod tidy` keeps their dependencies:
// the control plane of the loopback stack (kube-apiserver, kubectl) and the real node of the
// cluster stack (kubelet, kube-controller-manager, kube-scheduler, kube-proxy).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
