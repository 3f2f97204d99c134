import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type BuiltImage, ensureImages } from '../images/images.ts'
import { type Cluster, startCluster } from './cluster.ts'
import { demo, demoManifests } from './demo.ts'
import { waitFor } from './process.ts'
import { defaultBinDir } from './stack.ts'

const root = new URL('../..', import.meta.url).pathname

/** RUN_IMAGES are the images pods of the cluster stack run. */
const RUN_IMAGES = [
  'pause',
  'coredns',
  'operator',
  'sidecar',
  'redis',
  'postgres',
  'fake-provider',
  'sample-app',
]

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
  const ref = (name: string) => imageOf(images, name).ref
  step('images ready')
  const cluster = await startCluster({
    dir,
    binDir,
    // What pods run; the base images (debian, node) are only built FROM.
    images: RUN_IMAGES.map((name) => imageOf(images, name).archive),
    sandboxImage: ref('pause'),
    dnsImage: ref('coredns'),
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
    const manifests = demoManifests({ fakeProvider: ref('fake-provider'), sampleApp: ref('sample-app') })
    writeFileSync(join(dir, 'demo-tenant.yaml'), manifests.tenant)
    writeFileSync(join(dir, 'demo-app.yaml'), manifests.app)
    cluster.kubectl('apply', '-f', join(dir, 'demo-tenant.yaml'))
    cluster.kubectl('wait', '--for=condition=Ready', `tenant/${demo.tenant}`, '--timeout=120s')
    cluster.kubectl('apply', '-f', join(dir, 'demo-app.yaml'))
    cluster.kubectl(
      '-n',
      demo.providerNamespace,
      'rollout',
      'status',
      `deployment/${demo.provider}`,
      '--timeout=120s',
    )
    cluster.kubectl('-n', demo.namespace, 'rollout', 'status', `deployment/${demo.app}`, '--timeout=180s')
    step('demo deployed')
    await waitFor(
      'spend in the demo tenant',
      async () => spendToday(cluster) > 0,
      Number(process.env.TOLLGATE_SPEND_WAIT ?? 180_000),
    )
    step(`spend in kubectl get tenants: $${spendToday(cluster)}`)
    const env: ClusterStackEnv = {
      kubeconfig: cluster.kubeconfig,
      binDir,
      dir,
      images: Object.fromEntries(Object.entries(images).map(([name, image]) => [name, image.ref])),
      imageValues,
    }
    // node_modules/.bin: Node 24 and the kubectl plugin (kubectl tollgate)
    writeFileSync(
      join(dir, 'env'),
      `KUBECONFIG=${env.kubeconfig}\nPATH=${binDir}:${join(root, 'node_modules/.bin')}:$PATH\n`,
    )
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env))
    return {
      env,
      cluster,
      pids: () => cluster.pids().filter((pid): pid is number => pid !== undefined),
      close: () => cluster.close(),
    }
  } catch (error) {
    // TOLLGATE_KEEP_CLUSTER=1 leaves a cluster that failed to come up running, to look into it.
    if (!process.env.TOLLGATE_KEEP_CLUSTER) await cluster.close()
    throw error
  }
}

/** imageOf is the built image of that name; the catalogue (hack/images) must have it. */
const imageOf = (images: Record<string, BuiltImage>, name: string): BuiltImage => {
  const image = images[name]
  if (!image) throw new Error(`hack/images built no image named ${name}`)
  return image
}

/** chartImageValues points the chart's four images at the locally built ones. */
export function chartImageValues(images: Record<string, BuiltImage>): string[] {
  const set = (path: string, name: string) => {
    const { ref } = imageOf(images, name)
    const at = ref.lastIndexOf(':')
    return ['--set', `${path}.repository=${ref.slice(0, at)}`, '--set', `${path}.tag=${ref.slice(at + 1)}`]
  }
  return [
    ...set('operator.image', 'operator'),
    ...set('sidecar.image', 'sidecar'),
    ...set('redis.deploy.image', 'redis'),
    ...set('postgres.deploy.image', 'postgres'),
  ]
}

/** helm runs helm against the cluster. */
export function helm(binDir: string, kubeconfig: string, args: string[]): string {
  try {
    return execFileSync(join(binDir, 'helm'), ['--kubeconfig', kubeconfig, ...args], {
      stdio: 'pipe',
    }).toString()
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
