import { stringify } from 'yaml'
import type { StackEnv } from '../../hack/stack/stack.ts'
import { kubectlOK } from './kubectl.ts'

/** Rule is one RBAC PolicyRule. */
export type Rule = Record<string, string[]>

/**
 * serviceAccountToken creates (or updates) a ServiceAccount in `default` bound to a ClusterRole of
 * exactly `rules`, and returns a token of it: a real caller whose rights the API server decides,
 * for the operator's HTTP surfaces that check TokenReview and SubjectAccessReview.
 */
export async function serviceAccountToken(stack: StackEnv, name: string, rules: Rule[]): Promise<string> {
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
    },
  ]
  await kubectlOK(stack, ['apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'))
  return (await kubectlOK(stack, ['create', 'token', name, '-n', 'default', '--duration', '1h'])).trim()
}

/** metricsToken is a token allowed to `get` the non-resource URL /metrics, as Prometheus needs. */
export const metricsToken = (stack: StackEnv) =>
  serviceAccountToken(stack, 'tollgate-test-metrics-reader', [
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ])
