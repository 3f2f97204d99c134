import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type BuiltImage, ensureImages } from '../images/images.ts'
import { type Cluster, startCluster } from './cluster.ts'
import { demo, demoManifests } from './demo.ts'
import { waitFor } from './process.ts'
import { defaultBinDir } from './stack.ts'

const root = new URL('../..', import.meta.url).pathname

/** ClusterStackEnv is what tests and developers need to reach the cluster with Tollgate installed. */
export interface ClusterStackEnv {
  kubeconfig: string
  /** Holds kubectl and helm. */
  binDir: string
  dir: string
  /** Image references by name (operator, sidecar, redis, postgres, fake-provider, sample-app, ...). */
  images: Record<string, string>
  /** The `--set` flags that point the chart at the local images, for `helm upgrade` in tests. */
  imageValues: string[]
}

export interface ClusterStack {
  env: ClusterStackEnv
  cluster: Cluster
  pids(): number[]
  close(): Promise<void>
}

/**
 * startClusterStack builds (or reuses) the images, starts the real node with them, installs the
 * chart into tollgate-system with its defaults plus the local image names, deploys the demo (fake
 * provider, tenant, policy, sample app) and waits until the tenant's status shows spend.
 */
export async function startClusterStack(options: {
  dir: string
  binDir?: string
  log?: (line: string) => void
}): Promise<ClusterStack> {
  const { dir } = options
  const binDir = options.binDir ?? defaultBinDir()
  const log = options.log ?? (() => {})
  const t0 = Date.now()
  const step = (what: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`)
  const images = await ensureImages({ binDir, log })
  step('images ready')
  const cluster = await startCluster({
    dir,
    binDir,
    images: Object.values(images).map((image) => image.archive),
    sandboxImage: images.pause.ref,
    dnsImage: images.coredns.ref,
  })
  step('node Ready, cluster DNS up')
  try {
    const imageValues = chartImageValues(images)
    helm(binDir, cluster.kubeconfig, [
      'install',
      demo.release,
      join(root, 'charts/tollgate'),
      '--namespace',
      demo.systemNamespace,
      '--create-namespace',
      ...imageValues,
      '--wait',
      '--timeout=5m',
    ])
    step('chart installed')
    writeFileSync(
      join(dir, 'demo.yaml'),
      demoManifests({ fakeProvider: images['fake-provider'].ref, sampleApp: images['sample-app'].ref }),
    )
    cluster.kubectl('apply', '-f', join(dir, 'demo.yaml'))
    cluster.kubectl('wait', '--for=condition=Ready', `tenant/${demo.tenant}`, '--timeout=120s')
    cluster.kubectl('-n', demo.providerNamespace, 'rollout', 'status', `deployment/${demo.provider}`, '--timeout=120s')
    cluster.kubectl('-n', demo.namespace, 'rollout', 'status', `deployment/${demo.app}`, '--timeout=180s')
    step('demo deployed')
    await waitFor('spend in the demo tenant', async () => spendToday(cluster) > 0, 180_000)
    step(`spend in kubectl get tenants: $${spendToday(cluster)}`)
    const env: ClusterStackEnv = {
      kubeconfig: cluster.kubeconfig,
      binDir,
      dir,
      images: Object.fromEntries(Object.entries(images).map(([name, image]) => [name, image.ref])),
      imageValues,
    }
    writeFileSync(join(dir, 'env'), `KUBECONFIG=${env.kubeconfig}\nPATH=${binDir}:$PATH\n`)
    return { env, cluster, pids: () => cluster.pids().filter((pid): pid is number => pid !== undefined), close: () => cluster.close() }
  } catch (error) {
    await cluster.close()
    throw error
  }
}

/** chartImageValues points the chart's four images at the locally built ones. */
export function chartImageValues(images: Record<string, BuiltImage>): string[] {
  const set = (path: string, ref: string) => {
    const at = ref.lastIndexOf(':')
    return ['--set', `${path}.repository=${ref.slice(0, at)}`, '--set', `${path}.tag=${ref.slice(at + 1)}`]
  }
  return [
    ...set('operator.image', images.operator.ref),
    ...set('sidecar.image', images.sidecar.ref),
    ...set('redis.deploy.image', images.redis.ref),
    ...set('postgres.deploy.image', images.postgres.ref),
  ]
}

/** helm runs helm against the cluster. */
export function helm(binDir: string, kubeconfig: string, args: string[]): string {
  try {
    return execFileSync(join(binDir, 'helm'), ['--kubeconfig', kubeconfig, ...args], { stdio: 'pipe' }).toString()
  } catch (error) {
    throw new Error(`helm ${args.join(' ')}: ${(error as { stderr?: Buffer }).stderr?.toString().trim()}`)
  }
}

/** spendToday is the demo tenant's spend today as `kubectl get tenants` shows it. */
function spendToday(cluster: Cluster): number {
  const cost = cluster.kubectl(
    'get',
    'tenant',
    demo.tenant,
    '-o',
    'jsonpath={.status.usage[?(@.period=="day")].costUSD}',
  )
  return Number(cost || 0)
}
