import type { V1Pod } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { SERVICE_ACCOUNT_MOUNT_PATH } from './attestation.ts'
import { injectedPod, readyTenant, TEST_ATTESTOR } from './fixtures.test-support.ts'

/** injected is the pod as the webhook returns it. */
const injected = (): V1Pod =>
  injectedPod(
    { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    { name: 'acme-prod', labels: {} },
    readyTenant('acme', ['acme-prod']),
  )

/**
 * stored is what a real API server keeps of it: the ServiceAccount admission plugin, re-run after
 * the webhook changed the pod, mounts its token volume into every container, the sidecar too, and
 * defaulting fills in the projected volumes' mode.
 */
function stored(pod: V1Pod): V1Pod {
  const out = structuredClone(pod)
  const spec = out.spec as NonNullable<V1Pod['spec']>
  spec.volumes = [
    ...(spec.volumes ?? []).map((v) =>
      v.projected ? { ...v, projected: { defaultMode: 420, ...v.projected } } : v,
    ),
    {
      name: 'kube-api-access-x7k2p',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    },
  ]
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    c.volumeMounts = [
      ...(c.volumeMounts ?? []),
      { name: 'kube-api-access-x7k2p', mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true },
    ]
  }
  return out
}

const sidecar = (pod: V1Pod) => pod.spec?.initContainers?.find((c) => c.name === 'tollgate-sidecar')

describe('Attestor', () => {
  it('verifies the injected sidecar of a pod as the API server stores it', () => {
    expect(TEST_ATTESTOR.verify(stored(injected()), 'acme-prod')?.tenant).toBe('acme')
  })

  it.each([
    ['another image', (p: V1Pod) => Object.assign(sidecar(p) ?? {}, { image: 'evil:1' })],
    [
      'another exchange URL',
      (p: V1Pod) => sidecar(p)?.env?.push({ name: 'TOLLGATE_EXCHANGE_URL', value: 'x' }),
    ],
    [
      'a volume of its author mounted over the code',
      (p: V1Pod) => {
        p.spec?.volumes?.push({ name: 'code', emptyDir: {} })
        sidecar(p)?.volumeMounts?.push({ name: 'code', mountPath: '/app' })
      },
    ],
    [
      'its own volume at the service account path',
      (p: V1Pod) => {
        const mount = sidecar(p)?.volumeMounts?.find((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)
        p.spec?.volumes?.push({ name: 'mine', emptyDir: {} })
        Object.assign(mount ?? {}, { name: 'mine' })
      },
    ],
  ])('refuses a stored pod whose sidecar has %s', (_, change) => {
    const pod = stored(injected())
    change(pod)
    expect(TEST_ATTESTOR.verify(pod, 'acme-prod')).toBeUndefined()
  })

  it('refuses the pod in another namespace', () => {
    expect(TEST_ATTESTOR.verify(stored(injected()), 'acme-staging')).toBeUndefined()
  })
})
