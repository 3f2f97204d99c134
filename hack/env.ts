// `npm run env:up` / `npm run env:down`: a local stack for development under .tollgate/.
// up starts etcd, kube-apiserver, Redis and Postgres on free loopback ports, installs the CRDs and
// writes .tollgate/env; the servers keep running after this command exits. down stops them all.
// TOLLGATE_REDIS=cluster makes the Redis a three-master, three-replica Redis Cluster.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { killGroup, pidsUsing } from './stack/process.ts'
import { startStack } from './stack/stack.ts'

const dir = new URL('../.tollgate/', import.meta.url).pathname
const pidFile = `${dir}pids`

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function up(): Promise<void> {
  if (existsSync(pidFile)) {
    const pids = readPids()
    if (pids.some(alive)) {
      console.log(`already up; endpoints in ${dir}env (npm run env:down to stop)`)
      return
    }
  }
  rmSync(dir, { recursive: true, force: true })
  const redis = process.env.TOLLGATE_REDIS ?? 'single'
  if (redis !== 'single' && redis !== 'cluster') {
    console.error(`TOLLGATE_REDIS must be single or cluster, not ${JSON.stringify(redis)}`)
    process.exit(2)
  }
  const stack = await startStack({ dir, redisMode: redis })
  writeFileSync(pidFile, `${stack.pids().join('\n')}\n`)
  console.log(readFileSync(`${dir}env`, 'utf8').trim())
  console.log(`\nsource it with: set -a; . ${dir}env; set +a`)
}

async function down(): Promise<void> {
  // The pid file names the servers; the /proc scan also finds any a failed `up` left behind.
  const pids = [...new Set([...(existsSync(pidFile) ? readPids() : []), ...pidsUsing(dir)])].filter(alive)
  for (const pid of pids) signal(pid, 'SIGTERM')
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100)
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  console.log(pids.length ? `stopped ${pids.length} processes` : 'nothing was running')
}

/** signal reaches a server's whole process group, and the process itself when it leads none. */
function signal(pid: number, name: NodeJS.Signals): void {
  killGroup(pid, name)
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

function readPids(): number[] {
  return readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number)
}

const command = process.argv[2]
if (command === 'up') await up()
else if (command === 'down') await down()
else {
  console.error('usage: node hack/env.ts up|down')
  process.exit(2)
}
