import { execFile } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { OPERATOR_ACL_USER } from '@tollgate/api/redis-acl.ts'
import { killGroup, ServerProcess, waitFor } from './process.ts'
import { STACK_ADMIN_USER, usersAcl } from './redis.ts'
import { closer, type Service } from './service.ts'

const run = promisify(execFile)

/**
 * CLUSTER_NODE_TIMEOUT_MS is how long a master may not answer before its replica takes over.
 * Short, so that failover tests finish quickly; production clusters keep Redis's 15 s.
 */
export const CLUSTER_NODE_TIMEOUT_MS = 1_000

/** RedisClusterNode is one redis-server of the cluster, which a test may stop and start again. */
export interface RedisClusterNode {
  port: number
  /** pid while it runs. */
  readonly pid: number | undefined
  start(): Promise<void>
  stop(): Promise<void>
  /** kill ends the node with SIGKILL, as a crash does: nothing is flushed or handed over. */
  kill(): Promise<void>
  /**
   * forgetSavedUsers rewrites the stopped node's ACL file with the stack's users only, as a node
   * without a kept ACL file starts: the tenant users the operator saved there are gone.
   */
  forgetSavedUsers(): void
}

/**
 * RedisClusterService is a Redis Cluster of three masters with one replica each, from Debian's
 * redis-server on loopback, with the single node's ACL setup (redis.ts) on every node: the
 * default user off, the operator's user and the stack admin. Replicas replicate as the admin.
 */
export interface RedisClusterService extends Service {
  /** url is the operator's user at one seed node; clients discover the other nodes. */
  url: string
  adminUrl: string
  /** sidecarUrl names no user, as for a single node. */
  sidecarUrl: string
  port: number
  nodes: RedisClusterNode[]
  /** admin runs redis-cli as the admin against one node, e.g. `cluster info`. */
  admin(port: number, ...args: string[]): Promise<string>
  /** stable resolves once every node agrees the cluster is ok and every replica is in sync. */
  stable(timeoutMs?: number): Promise<void>
  /**
   * owner is the port of the master that serves a key's slot as the node at `via` sees it
   * (CLUSTER NODES), and the ports of that master's replicas.
   */
  owner(key: string, via: number): Promise<{ master: number; replicas: number[] } | undefined>
  /** addNode starts one more node and joins it as a replica (redis-cli --cluster add-node). */
  addNode(): Promise<RedisClusterNode>
}

/**
 * clusterPort is a loopback port free to listen on, with its cluster bus port (port + 10000) free
 * too. Both lie below Linux's ephemeral range (32768 and up): a port the kernel handed out
 * (`freePort`) could be taken between the check and the node's bind by any outgoing connection's
 * local port, and the bus port of one was, failing the node's start.
 */
async function clusterPort(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + randomInt(2_700)
    if (!taken.includes(port) && (await canListen(port)) && (await canListen(port + 10_000))) return port
  }
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

/**
 * startRedisCluster starts six nodes under dir (free loopback ports), joins them with
 * `redis-cli --cluster create` (three masters, one replica each) and waits until the cluster is
 * stable. As with startRedis, the ACL files are written once, so tenant users saved with ACL
 * SAVE survive a node's restart; nodes.conf keeps each node's place in the cluster.
 */
export async function startRedisCluster(options: { dir: string }): Promise<RedisClusterService> {
  mkdirSync(options.dir, { recursive: true })
  const operator = { user: OPERATOR_ACL_USER, password: randomBytes(16).toString('hex') }
  const admin = { user: STACK_ADMIN_USER, password: randomBytes(16).toString('hex') }
  const ports: number[] = []
  while (ports.length < 6) ports.push(await clusterPort(ports))
  const cli = async (port: number, ...args: string[]) => {
    const { stdout } = await run(
      'redis-cli',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '--user',
        admin.user,
        '--pass',
        admin.password,
        '--no-auth-warning',
        ...args,
      ],
      { timeout: 30_000 },
    )
    return stdout
  }
  const nodes = ports.map((port) =>
    clusterNode(join(options.dir, `node-${port}`), port, operator, admin, cli),
  )
  const started = await Promise.allSettled(nodes.map((n) => n.start()))
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.stop()))
  }
  try {
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    await cli(
      ports[0] as number,
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    )
  } catch (error) {
    await stopAll()
    throw new Error('create the Redis cluster', { cause: error })
  }
  const stable = (timeoutMs = 60_000) => waitFor('redis cluster', () => isStable(nodes, cli), timeoutMs)
  await stable().catch(async (error) => {
    await stopAll()
    throw error
  })
  const seed = ports[0] as number
  const urlFor = ({ user, password }: { user: string; password: string }) =>
    `redis://${user}:${password}@127.0.0.1:${seed}`
  return {
    name: 'redis-cluster',
    url: urlFor(operator),
    adminUrl: urlFor(admin),
    sidecarUrl: `redis://127.0.0.1:${seed}`,
    port: seed,
    nodes,
    admin: cli,
    stable,
    addNode: async () => {
      const port = await clusterPort(ports)
      ports.push(port)
      const node = clusterNode(join(options.dir, `node-${port}`), port, operator, admin, cli)
      nodes.push(node)
      await node.start()
      await cli(seed, '--cluster', 'add-node', `127.0.0.1:${port}`, `127.0.0.1:${seed}`, '--cluster-slave')
      return node
    },
    owner: async (key, via) => {
      const slot = Number((await cli(via, 'cluster', 'keyslot', key)).trim())
      return ownerOf(await cli(via, 'cluster', 'nodes'), slot)
    },
    pids: () => nodes.map((n) => n.pid),
    start: async () => {
      await Promise.all(nodes.map((n) => n.start()))
      await stable()
    },
    stop: stopAll,
    close: closer(stopAll, options.dir),
  }
}

function clusterNode(
  dir: string,
  port: number,
  operator: { password: string },
  admin: { user: string; password: string },
  cli: (port: number, ...args: string[]) => Promise<string>,
): RedisClusterNode {
  mkdirSync(dir, { recursive: true })
  const aclFile = join(dir, 'users.acl')
  const writeAcl = () => writeFileSync(aclFile, usersAcl(operator.password, admin.password), { mode: 0o600 })
  writeAcl()
  const server = new ServerProcess(
    `redis-${port}`,
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--aclfile',
      aclFile,
      '--save',
      '',
      '--appendonly',
      'no',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(CLUSTER_NODE_TIMEOUT_MS),
      // A master would wait up to 10 s for its replicas at shutdown; the stack stops them all at once.
      '--shutdown-timeout',
      '0',
      '--masteruser',
      admin.user,
      '--masterauth',
      admin.password,
    ],
    join(dir, 'redis.log'),
  )
  return {
    port,
    get pid() {
      return server.pid
    },
    start: async () => {
      server.start()
      await waitFor(`redis ${port}`, async () => (await cli(port, 'ping')).trim() === 'PONG', 20_000)
    },
    stop: () => server.stop(),
    forgetSavedUsers: () => {
      if (server.running) throw new Error(`redis ${port} is running: stop it before rewriting its ACL file`)
      writeAcl()
    },
    kill: async () => {
      if (server.pid) killGroup(server.pid, 'SIGKILL')
      await server.stop()
    },
  }
}

/** ownerOf reads CLUSTER NODES: the connected master serving slot, and its replicas. */
export function ownerOf(nodes: string, slot: number): { master: number; replicas: number[] } | undefined {
  const lines = nodes
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
  const port = (address: string) => Number(address.split('@')[0]?.split(':').at(-1))
  const master = lines.find(
    ([, , flags, , , , , link, ...slots]) =>
      flags?.includes('master') &&
      !flags.includes('fail') &&
      link === 'connected' &&
      slots.some((range) => {
        const [from, to = from] = range.split('-').map(Number)
        return from !== undefined && to !== undefined && slot >= from && slot <= to
      }),
  )
  if (!master) return undefined
  const replicas = lines.filter(([, , flags, of]) => flags?.includes('slave') && of === master[0])
  return { master: port(master[1] as string), replicas: replicas.map((r) => port(r[1] as string)) }
}

/**
 * isStable: every node reports cluster_state:ok and knows all the others, all 16384 slots are
 * served, and every replica's link to its master is up (so a failover finds the data there).
 */
async function isStable(
  nodes: RedisClusterNode[],
  cli: (port: number, ...args: string[]) => Promise<string>,
): Promise<boolean> {
  for (const node of nodes) {
    const info = await cli(node.port, 'cluster', 'info')
    if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false
    if (!new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(info)) return false
    const replication = await cli(node.port, 'info', 'replication')
    if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false
  }
  return true
}
