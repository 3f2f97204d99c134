import { stringify } from 'yaml'

/** The demo's names: what `npm run cluster:up` deploys beside Tollgate, and the cluster tests use. */
export const demo = {
  systemNamespace: 'tollgate-system',
  release: 'tollgate',
  providerNamespace: 'llm-fake',
  provider: 'fake-provider',
  /** The key the fake provider accepts: the tenant's real key, which no app may ever hold. */
  providerKey: 'sk-tollgate-demo-3b8e0f2a',
  providerSecret: 'demo-provider-key',
  tenant: 'demo',
  namespace: 'demo',
  policy: 'demo-limits',
  /** The policy's tight limit: few calls to this model per minute, so a test meets it at once. */
  limitedModel: 'gpt-4o',
  /** The ServiceAccount whose token signs in to the console (get, list, patch on tenants). */
  consoleUser: 'console-admin',
  limitName: 'gpt4o-burst',
  limitedRequestsPerMinute: 3,
  app: 'sample-app',
} as const

/**
 * demoManifests are, as multi-document YAML for `kubectl apply`: `tenant`, the fake provider (a
 * Deployment and Service), the provider key in the operator's namespace, the tenant's namespace
 * opted in to injection, the Tenant and its RateLimitPolicy; and `app`, the sample app, to apply
 * once the Tenant is Ready (the webhook admits pods of a tenant it cannot serve yet without a
 * sidecar, and reports them unmediated).
 */
export function demoManifests(images: { fakeProvider: string; sampleApp: string }): {
  tenant: string
  app: string
} {
  const providerURL = `http://${demo.provider}.${demo.providerNamespace}.svc:8080`
  const labels = { app: demo.provider }
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  }
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: demo.providerNamespace } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: demo.provider, namespace: demo.providerNamespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'fake-provider',
                image: images.fakeProvider,
                imagePullPolicy: 'IfNotPresent',
                args: ['--host', '0.0.0.0', '--port', '8080', '--api-key', demo.providerKey],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
                securityContext: restricted,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: demo.provider, namespace: demo.providerNamespace },
      spec: { selector: labels, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: demo.providerSecret, namespace: demo.systemNamespace },
      stringData: { apiKey: demo.providerKey },
    },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: demo.namespace,
        // Pod Security baseline, as docs/security.md asks of tenant namespaces: no privileged,
        // hostPID or hostPath pod that could read the sidecar's memory.
        labels: { 'tollgate.dev/inject': 'enabled', 'pod-security.kubernetes.io/enforce': 'baseline' },
      },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: demo.tenant },
      spec: {
        tier: 'standard',
        namespaces: [demo.namespace],
        providers: ['openai', 'anthropic'].map((type) => ({
          name: type,
          type,
          baseURL: providerURL,
          credentialsSecretRef: { namespace: demo.systemNamespace, name: demo.providerSecret, key: 'apiKey' },
        })),
        models: { allow: ['gpt-4o*', 'claude-*'] },
        budgets: [
          { period: 'day', limitUSD: '5', timezone: 'UTC', alertAt: [0.8, 1.0] },
          { period: 'month', limitUSD: '100', timezone: 'UTC' },
        ],
        cache: { enabled: true, ttl: '1h' },
      },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'RateLimitPolicy',
      metadata: { name: demo.policy },
      spec: {
        targetRefs: [{ kind: 'Tenant', name: demo.tenant }],
        limits: [
          {
            name: demo.limitName,
            match: { providers: ['openai'], models: [demo.limitedModel] },
            requestsPerMinute: demo.limitedRequestsPerMinute,
          },
        ],
        failureMode: 'open',
      },
    },
  ]
  // Who a newcomer signs in to the console as: `kubectl -n tollgate-system create token console-admin`.
  docs.push(
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: demo.consoleUser, namespace: demo.systemNamespace },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'tollgate-console-admin' },
      rules: [{ apiGroups: ['tollgate.dev'], resources: ['tenants'], verbs: ['get', 'list', 'patch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'tollgate-console-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tollgate-console-admin' },
      subjects: [{ kind: 'ServiceAccount', name: demo.consoleUser, namespace: demo.systemNamespace }],
    },
  )
  const app = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: demo.app, namespace: demo.namespace, labels: { app: demo.app } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: demo.app } },
        template: {
          metadata: { labels: { app: demo.app } },
          spec: {
            terminationGracePeriodSeconds: 2,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'app',
                image: images.sampleApp,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'SAMPLE_INTERVAL_SECONDS', value: '3' },
                  // end users for the console's top users (OpenAI user, Anthropic metadata.user_id)
                  { name: 'SAMPLE_USERS', value: 'ana,ben,chen' },
                ],
                resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '160Mi' } },
                securityContext: restricted,
              },
            ],
          },
        },
      },
    },
  ]
  const yaml = (list: unknown[]) => list.map((doc) => stringify(doc)).join('---\n')
  return { tenant: yaml(docs), app: yaml(app) }
}
