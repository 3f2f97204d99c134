// `npm run cluster:up` / `npm run cluster:down`: Tollgate as deployed, on a real one-node cluster
// under .tollgate/cluster/ (or STATE/cluster/ with `--state STATE`). up builds or reuses the images,
// starts the node, installs the chart and the demo (fake provider, tenant `demo`, a policy, the
// sample app), waits for spend in `kubectl get tenants` and writes STATE/cluster-env (and
// cluster/env.json, the ClusterStackEnv); everything keeps running after this command exits, and a
// second up reuses it. down stops it all and removes what it left behind. The test run boots its
// cluster with this command in a child process (test/setup/global-cluster.ts).
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { sweepCluster } from './stack/cluster.ts'
import { startClusterStack } from './stack/cluster-stack.ts'
import { demo } from './stack/demo.ts'
import { defaultBinDir } from './stack/stack.ts'

const stateFlag = process.argv.indexOf('--state')
const state =
  stateFlag > 0 ? (process.argv[stateFlag + 1] as string) : new URL('../.tollgate/', import.meta.url).pathname
const dir = join(state, 'cluster')
const envFile = join(state, 'cluster-env')

async function up(): Promise<void> {
  if (existsSync(envFile) && answers()) {
    console.log(`already up; set -a; . ${envFile}; set +a   (npm run cluster:down to stop)`)
    return
  }
  await sweepCluster(dir)
  rmSync(dir, { recursive: true, force: true })
  const started = Date.now()
  await startClusterStack({ dir, log: (line) => console.log(line) })
  copyFileSync(join(dir, 'env'), envFile)
  console.log(
    `\ncluster up in ${((Date.now() - started) / 1000).toFixed(0)} s; ${readFileSync(envFile, 'utf8').trim().replace(/\n/g, ' ')}`,
  )
  console.log(`use it with: set -a; . ${envFile}; set +a; kubectl get tenants`)
  console.log(
    `the console: kubectl tollgate dashboard (port-forwards to svc/${demo.release} and prints the URL), then sign in with the token of
  kubectl -n ${demo.systemNamespace} create token ${demo.consoleUser} --duration 8h
kubectl tollgate usage ${demo.tenant} --token "$(kubectl -n ${demo.systemNamespace} create token ${demo.consoleUser})" prints the same numbers`,
  )
}

async function down(): Promise<void> {
  await sweepCluster(dir)
  rmSync(dir, { recursive: true, force: true })
  rmSync(envFile, { force: true })
  console.log('cluster down')
}

/** answers is true when the cluster of a previous up still serves its API. */
function answers(): boolean {
  try {
    const readyz = execFileSync(
      join(defaultBinDir(), 'kubectl'),
      ['--kubeconfig', join(dir, 'kubeconfig'), '--request-timeout=5s', 'get', '--raw', '/readyz'],
      { stdio: 'pipe' },
    )
    return readyz.toString().trim() === 'ok'
  } catch {
    return false
  }
}

const command = process.argv[2]
if (command === 'up') await up()
else if (command === 'down') await down()
else {
  console.error('usage: node hack/cluster.ts up|down [--state DIR]')
  process.exit(2)
}
