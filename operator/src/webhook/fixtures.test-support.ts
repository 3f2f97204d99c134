import type { V1Pod } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { Attestor } from './attestation.ts'
import { injectPod } from './inject.ts'
import { DEFAULT_INJECTION_CONFIG } from './injection-config.ts'
import type { OperatorSecrets } from './pod-refusals.ts'
import type { InjectionTrust } from './render.ts'
import type { NamespaceInfo } from './tenant-ownership.ts'

// Fixed inputs for the webhook's tests, so golden files stay byte-for-byte stable.

/** TEST_ATTESTOR signs with a fixed key (a real operator derives it from its seed). */
export const TEST_ATTESTOR = new Attestor(Buffer.alloc(32, 7))

/** TEST_OPERATOR is the operator namespace and own Secrets the golden cases assume. */
export const TEST_OPERATOR: OperatorSecrets = {
  namespace: 'tollgate-system',
  names: ['tollgate-operator-keys', 'tollgate-webhook-cert'],
}

/** TEST_TRUST is a stand-in exchange URL and CA bundle (not a real certificate). */
export const TEST_TRUST: InjectionTrust = {
  exchangeURL: 'https://tollgate.tollgate-system.svc:443/exchange',
  caBundle: '-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n',
}

/** readyTenant is a Ready Tenant that claims the namespaces and calls OpenAI. */
export const readyTenant = (name: string, namespaces: string[]): Tenant => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name },
  spec: { namespaces, providers: [{ name: 'openai', type: 'openai' }] },
  status: {
    conditions: [{ type: 'Ready', status: 'True', reason: 'x', message: '', lastTransitionTime: '' }],
  },
})

/** injectedPod is a pod as the webhook returns it (sidecar, token volume, attested record). */
export function injectedPod(original: V1Pod, namespace: NamespaceInfo, tenant: Tenant): V1Pod {
  const result = injectPod({
    pod: original,
    namespace: { ...namespace, labels: { ...namespace.labels, 'tollgate.dev/inject': 'enabled' } },
    tenants: [tenant],
    config: DEFAULT_INJECTION_CONFIG,
    trust: TEST_TRUST,
    attestor: TEST_ATTESTOR,
    operator: TEST_OPERATOR,
  })
  if (!result.decision.inject) throw new Error(`not injected: ${result.decision.message}`)
  return result.pod
}
