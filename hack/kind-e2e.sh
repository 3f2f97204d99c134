#!/usr/bin/env bash
# End-to-end run on a real cluster, for people with a container engine: creates a kind cluster,
# builds and loads the operator, sidecar and fake-provider images, installs the chart, deploys the
# fake provider and a sample app in an opted-in namespace, and checks that the app's calls went
# through the sidecar and were governed (a 429 from the tenant's limit, spend in the Tenant status).
#
# Needs: docker (with a running engine), kind, kubectl, helm. It cannot run where no container
# engine runs, such as the machines this project is developed and tested on; the test suite
# covers the same path there against a real kube-apiserver without a kubelet (test/webhook.test.ts).
#
#   hack/kind-e2e.sh            # create, test, delete the cluster
#   KEEP=1 hack/kind-e2e.sh     # leave the cluster up afterwards to look around
set -euo pipefail

cluster=${TOLLGATE_KIND_CLUSTER:-tollgate-e2e}
tag=e2e
root=$(cd "$(dirname "$0")/.." && pwd)
ns_system=tollgate-system
ns_app=acme-e2e
ns_fake=llm-fake

say() { printf '\n== %s\n' "$*"; }
die() { printf 'kind-e2e: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
docker info >/dev/null 2>&1 || die "no container engine answers (docker info failed); this script needs one"

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    say "cluster $cluster kept (kind delete cluster --name $cluster)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

say "cluster"
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
kubectl config use-context "kind-$cluster" >/dev/null

say "images"
docker build -f "$root/Dockerfile.operator" -t "tollgate-operator:$tag" "$root"
docker build -f "$root/Dockerfile.sidecar" -t "tollgate-sidecar:$tag" "$root"
docker build -f "$root/hack/images/fake-provider/Dockerfile" -t "tollgate-fake-provider:$tag" "$root"
for image in tollgate-operator tollgate-sidecar tollgate-fake-provider; do
  kind load docker-image --name "$cluster" "$image:$tag"
done

say "chart"
helm upgrade --install tollgate "$root/charts/tollgate" -n "$ns_system" --create-namespace \
  --set operator.image.repository=tollgate-operator --set operator.image.tag=$tag \
  --set operator.image.pullPolicy=Never \
  --set sidecar.image.repository=tollgate-sidecar --set sidecar.image.tag=$tag \
  --set sidecar.image.pullPolicy=Never \
  --wait --timeout 5m
kubectl -n "$ns_system" rollout status deployment/tollgate --timeout=180s

say "fake provider"
kubectl create namespace "$ns_fake" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: fake-provider, namespace: $ns_fake }
spec:
  replicas: 1
  selector: { matchLabels: { app: fake-provider } }
  template:
    metadata: { labels: { app: fake-provider } }
    spec:
      containers:
        - name: fake
          image: tollgate-fake-provider:$tag
          imagePullPolicy: Never
          args: [--host, 0.0.0.0, --port, "8080", --api-key, sk-fake-e2e]
          ports: [{ containerPort: 8080 }]
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: fake-provider, namespace: $ns_fake }
spec:
  selector: { app: fake-provider }
  ports: [{ port: 8080, targetPort: 8080 }]
EOF
kubectl -n "$ns_fake" rollout status deployment/fake-provider --timeout=120s

say "tenant"
kubectl -n "$ns_system" create secret generic fake-key --from-literal=apiKey=sk-fake-e2e \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $ns_app
  labels: { tollgate.dev/inject: enabled }
---
apiVersion: tollgate.dev/v1alpha1
kind: Tenant
metadata: { name: acme-e2e }
spec:
  tier: standard
  namespaces: [$ns_app]
  limits: { requestsPerMinute: 3 }
  providers:
    - name: openai
      type: openai
      baseURL: http://fake-provider.$ns_fake.svc:8080
      credentialsSecretRef: { namespace: $ns_system, name: fake-key, key: apiKey }
  budgets:
    - { period: day, limitUSD: "5" }
EOF
kubectl wait --for=condition=Ready tenant/acme-e2e --timeout=120s

say "sample app"
# A Job: its native sidecar stops by itself when the app container is done.
kubectl apply -f - <<EOF
apiVersion: batch/v1
kind: Job
metadata: { name: calls, namespace: $ns_app }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: app
          image: node:24-slim
          command:
            - node
            - -e
            - |
              for (let i = 1; i <= 5; i++) {
                const res = await fetch(process.env.OPENAI_BASE_URL + '/chat/completions', {
                  method: 'POST',
                  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
                  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello ' + i }] }),
                })
                console.log('status', res.status)
              }
EOF
kubectl -n "$ns_app" wait --for=condition=complete job/calls --timeout=180s
pod=$(kubectl -n "$ns_app" get pods -l job-name=calls -o jsonpath='{.items[0].metadata.name}')

say "checks"
sidecar=$(kubectl -n "$ns_app" get pod "$pod" -o jsonpath='{.spec.initContainers[0].name}')
[ "$sidecar" = tollgate-sidecar ] || die "the app pod has no tollgate-sidecar init container"
base=$(kubectl -n "$ns_app" get pod "$pod" -o jsonpath='{.spec.containers[0].env[?(@.name=="OPENAI_BASE_URL")].value}')
[ "$base" = http://127.0.0.1:4141/openai/v1 ] || die "OPENAI_BASE_URL is $base"
statuses=$(kubectl -n "$ns_app" logs "$pod" -c app | awk '/^status/ { print $2 }' | tr '\n' ' ')
echo "statuses: $statuses"
[ "$(echo "$statuses" | grep -o 200 | wc -l)" -eq 3 ] || die "expected 3 calls to pass the 3/min limit"
[ "$(echo "$statuses" | grep -o 429 | wc -l)" -eq 2 ] || die "expected 2 calls refused with 429"
for _ in $(seq 1 60); do
  spend=$(kubectl get tenant acme-e2e -o jsonpath='{.status.usage[?(@.period=="day")].costUSD}')
  [ -n "$spend" ] && [ "$spend" != 0 ] && break
  sleep 2
done
kubectl get tenants
if [ -z "$spend" ] || [ "$spend" = 0 ]; then die "no spend in the Tenant status after 2 minutes"; fi
say "ok: calls went through the sidecar, the limit answered 429, spend today is \$$spend"
