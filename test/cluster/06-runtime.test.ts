import type { V1Container, V1Pod } from '@kubernetes/client-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { appPods, clusterEnv, demo, eventually, type Kube, kube, nameOf, podsOf, running } from './support.ts'

// The operator and the sidecar as the chart runs them: non-root, read-only root filesystem, no
// capabilities, and still working. Node's compile cache is baked into the image at build time
// (NODE_COMPILE_CACHE under /app), so nothing is written at start; the operator's only writable
// place is the chart's /tmp emptyDir, and the sidecar has none at all.

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})

/** probe runs in the container and reports who it runs as and where it can write. */
const probe = `
const fs = require('node:fs')
const writable = (path) => { try { fs.writeFileSync(path, 'x'); fs.rmSync(path); return true } catch { return false } }
const cache = process.env.NODE_COMPILE_CACHE
console.log(JSON.stringify({
  uid: process.getuid(), gid: process.getgid(),
  rootWritable: writable('/tollgate-probe'), appWritable: writable('/app/tollgate-probe'), tmpWritable: writable('/tmp/tollgate-probe'),
  cache, cacheFiles: cache && fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).length : 0,
}))`

// A running operator pod: an earlier file's leader may still be shutting down, or its successor starting.
const operatorPod = () =>
  eventually(
    async () => nameOf((await podsOf(k, 'operator')).find(running)),
    60_000,
    'a running operator pod',
    500,
  )
const appPod = async () => (await appPods(k))[0] as string

describe('the containers as the chart runs them', () => {
  it.each([
    ['operator', demo.systemNamespace, operatorPod, 'operator', true],
    ['sidecar', demo.namespace, appPod, 'tollgate-sidecar', false],
  ] as const)(
    '%s: uid 65532, read-only root filesystem, compile cache baked in',
    async (_name, namespace, locate, container, tmpWritable) => {
      const pod = await locate()
      const { spec } = await k.json<V1Pod>('-n', namespace, 'get', 'pod', pod)
      const containers: V1Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]
      expect(containers.find((c) => c.name === container)?.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      })
      const seen = JSON.parse(
        await k('-n', namespace, 'exec', pod, '-c', container, '--', 'node', '-e', probe),
      )
      expect(seen).toMatchObject({
        uid: 65532,
        gid: 65532,
        rootWritable: false,
        appWritable: false,
        tmpWritable,
      })
      expect(seen.cache).toBe('/app/.node-compile-cache')
      expect(seen.cacheFiles).toBeGreaterThan(0)
    },
  )
})
