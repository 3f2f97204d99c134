import { beforeAll, describe, expect, it } from 'vitest'
import { appPods, clusterEnv, demo, type Kube, kube, podsOf } from './support.ts'

// The operator and the sidecar as the chart runs them: non-root, read-only root filesystem, no
// capabilities, and still working (Node's compile cache and temp files go to the writable /tmp).

let k: Kube
beforeAll(async () => {
  k = kube(await clusterEnv())
})

const node = (namespace: string, pod: string, container: string, script: string) =>
  k('-n', namespace, 'exec', pod, '-c', container, '--', 'node', '-e', script)

const probe = `
const fs = require('node:fs')
let rootWritable = true
try { fs.writeFileSync('/tollgate-probe', 'x') } catch (e) { rootWritable = e.code !== 'EROFS' }
const cache = process.env.NODE_COMPILE_CACHE
console.log(JSON.stringify({
  uid: process.getuid(), gid: process.getgid(), rootWritable,
  tmpWritable: (() => { try { fs.writeFileSync('/tmp/probe', 'x'); fs.rmSync('/tmp/probe'); return true } catch { return false } })(),
  cache, cacheFiles: cache && fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).length : 0,
}))`

describe('the containers as the chart runs them', () => {
  it.each([
    ['operator', async () => ({ namespace: demo.systemNamespace, pod: (await podsOf(k, 'operator'))[0].metadata.name, container: 'operator' })],
    ['sidecar', async () => ({ namespace: demo.namespace, pod: (await appPods(k))[0] as string, container: 'tollgate-sidecar' })],
  ])('%s: runs as uid 65532 on a read-only root filesystem, with a working compile cache', async (_name, locate) => {
    const { namespace, pod, container } = await locate()
    const spec = (await k.json('-n', namespace, 'get', 'pod', pod)).spec
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === container)
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })
    const seen = JSON.parse(await node(namespace, pod, container, probe))
    expect(seen).toMatchObject({ uid: 65532, gid: 65532, rootWritable: false, tmpWritable: true })
    expect(seen.cache).toMatch(/^\/tmp\//)
    expect(seen.cacheFiles).toBeGreaterThan(0)
  })
})
