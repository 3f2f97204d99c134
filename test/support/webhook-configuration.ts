/**
 * injectionWebhookConfiguration is the MutatingWebhookConfiguration that sends the creation of
 * pods in namespaces carrying `tollgate.dev/inject=enabled` and `labels` to an operator's
 * webhook on a loopback port (failurePolicy Fail), as the chart registers it for its Service.
 * It has no caBundle: the operator fills it in (`--webhook-config-name`).
 */
export const injectionWebhookConfiguration = (
  name: string,
  port: number,
  labels: Record<string, string>,
) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: { name },
  webhooks: [
    {
      name: 'namespace.inject.tollgate.dev',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      clientConfig: { url: `https://127.0.0.1:${port}/inject` },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchLabels: { 'tollgate.dev/inject': 'enabled', ...labels } },
    },
  ],
})
