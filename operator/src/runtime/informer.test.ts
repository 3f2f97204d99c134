import { randomBytes } from 'node:crypto'
import type { V1ConfigMap } from '@kubernetes/client-node'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Informer } from './informer.ts'
import { createKubeClients, type ListPage, listAll, loadKubeConfig } from './kube.ts'

const stack = inject('stack')
const kube = createKubeClients(loadKubeConfig(stack.kubeconfig))
const namespace = `informer-${randomBytes(3).toString('hex')}`
const until = async (fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 50))
  return fn()
}

let informer: Informer<V1ConfigMap>
const seen: string[] = []

beforeAll(async () => {
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } })
  await kube.core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'before' }, data: { v: '1' } },
  })
  informer = new Informer<V1ConfigMap>({
    resource: 'configmaps',
    list: () =>
      listAll(
        (page) => kube.core.listNamespacedConfigMap({ namespace, ...page }) as Promise<ListPage<V1ConfigMap>>,
        2,
      ),
    watch: kube.watch,
    watchPath: `/api/v1/namespaces/${namespace}/configmaps`,
    resyncMs: 1_500,
    backoff: { baseMs: 50, maxMs: 500 },
    logger: pino({ level: 'silent' }),
  })
  informer.on({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (old, o) =>
      seen.push(
        `${old.metadata?.resourceVersion === o.metadata?.resourceVersion ? 'resync' : 'update'} ${o.metadata?.name}`,
      ),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  })
  informer.start()
  await informer.waitForSync()
})

afterAll(() => informer?.stop())

describe('Informer on a real API server', () => {
  it('lists (across pages), then watches adds, updates and deletes', async () => {
    expect(seen).toContain('add before')
    expect(informer.get(`${namespace}/before`)?.data).toEqual({ v: '1' })
    for (const name of ['a', 'b', 'c']) {
      await kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { v: '1' } } })
    }
    await kube.core.replaceNamespacedConfigMap({
      name: 'a',
      namespace,
      body: { metadata: { name: 'a' }, data: { v: '2' } },
    })
    await kube.core.deleteNamespacedConfigMap({ name: 'b', namespace })
    expect(await until(() => seen.includes('delete b'))).toBe(true)
    expect(seen).toEqual(expect.arrayContaining(['add a', 'add b', 'add c', 'update a']))
    expect(informer.get(`${namespace}/a`)?.data).toEqual({ v: '2' })
    expect(informer.get(`${namespace}/b`)).toBeUndefined()
    expect(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(['a', 'before', 'c'])
  })

  it('re-lists periodically and re-delivers every object as a resync', async () => {
    const before = seen.filter((s) => s === 'resync c').length
    expect(await until(() => seen.filter((s) => s === 'resync c').length > before)).toBe(true)
  })

  it('re-lists at once when the API server answers 410 Gone to its watch', async () => {
    // The first list reports a resourceVersion long compacted away, as a list would whose
    // version expired before its watch began; the API server answers that watch with 410 Gone.
    const lines: { msg?: string }[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
    let lists = 0
    const gone = new Informer<V1ConfigMap>({
      resource: 'configmaps',
      list: async () => {
        const page = await kube.core.listNamespacedConfigMap({ namespace })
        lists++
        return {
          items: page.items,
          resourceVersion: lists === 1 ? '1' : (page.metadata?.resourceVersion ?? ''),
        }
      },
      watch: kube.watch,
      watchPath: `/api/v1/namespaces/${namespace}/configmaps`,
      resyncMs: 600_000,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      logger,
    })
    const added: string[] = []
    gone.on({ add: (o) => added.push(o.metadata?.name ?? '') })
    gone.start()
    try {
      expect(await until(() => lists >= 2)).toBe(true)
      expect(lines.map((l) => l.msg)).toContain('watch expired (410 Gone): re-listing')
      expect(lines.map((l) => l.msg)).not.toContain('informer failed: restarting with backoff')
      // and it watches again from the fresh list
      await kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after-gone' } } })
      expect(await until(() => added.includes('after-gone'))).toBe(true)
    } finally {
      await gone.stop()
    }
  })
})
