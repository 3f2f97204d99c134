import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  createInformers,
  type Informers,
  startInformers,
  stopInformers,
} from '../../operator/src/informers.ts'
import { createKubeClients, loadKubeConfig } from '../../operator/src/runtime/kube.ts'
import { kubectlOK } from '../support/kubectl.ts'
import { ensureNamespace, eventually, uniqueName } from './support.ts'

// The operator keeps in memory only the Secrets of its own namespace; it used to list and watch
// every Secret of the cluster. Two namespaces with Secrets, on the real API server.
const stack = inject('stack')
const own = uniqueName('own')
const other = uniqueName('other')
let informers: Informers

beforeAll(async () => {
  await ensureNamespace(stack.kubeconfig, own)
  await ensureNamespace(stack.kubeconfig, other)
  for (const ns of [own, other])
    await kubectlOK(stack, ['-n', ns, 'create', 'secret', 'generic', 'before', '--from-literal=k=v'])
  informers = createInformers({
    kube: createKubeClients(loadKubeConfig(stack.kubeconfig)),
    namespace: own,
    resyncMs: 600_000,
    backoff: { baseMs: 100, maxMs: 1_000 },
    logger: pino({ level: 'silent' }),
  })
  const abort = new AbortController()
  await startInformers(informers, abort.signal)
})

afterAll(async () => {
  if (informers) await stopInformers(informers)
})

describe("the operator's Secret informer", () => {
  it('lists and watches the Secrets of the operator namespace, and no other', async () => {
    for (const ns of [own, other])
      await kubectlOK(stack, ['-n', ns, 'create', 'secret', 'generic', 'after', '--from-literal=k=v'])
    await eventually(() => informers.secrets.get(`${own}/after`), 10_000, 'the new Secret of its namespace')
    const namespaces = new Set(informers.secrets.list().map((s) => s.metadata?.namespace))
    expect([...namespaces]).toEqual([own])
    expect(informers.secrets.get(`${other}/before`)).toBeUndefined()
    expect(informers.secrets.get(`${other}/after`)).toBeUndefined()
  })
})
