import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { OPERATOR_ACL_USER, operatorAclRules } from '@tollgate/api/redis-acl.ts'
import { freePort, ServerProcess, waitFor } from './process.ts'
import { closer, type Service } from './service.ts'

/** STACK_ADMIN_USER is the stack's Redis admin, for tests that list or kill clients, flush, or read any key. */
export const STACK_ADMIN_USER = 'tollgate-admin'

/**
 * RedisService is a redis-server on loopback with no persistence that, like the chart's, answers
 * only to users with a password: the default user is off.
 */
export interface RedisService extends Service {
  kill(): Promise<void>
  /** url is the operator's: its own user with operatorAclRules, `redis://tollgate-operator:P@127.0.0.1:port`. */
  url: string
  /** adminUrl may do anything (`~* &* +@all`); only tests that inspect or clean up what is not theirs use it. */
  adminUrl: string
  /** sidecarUrl names no user: a managed sidecar logs in with the tenant user its exchange hands out. */
  sidecarUrl: string
  port: number
}

/**
 * startRedis starts redis-server on a free loopback port (or the given one) with data under dir.
 * Passwords are new for every call. The ACL file is written once, before the first start, so
 * that a stop and start keeps the tenant users the operator saved into it (ACL SAVE), as a Redis
 * with an ACL file does.
 */
export async function startRedis(options: { dir: string; port?: number }): Promise<RedisService> {
  const port = options.port ?? (await freePort())
  mkdirSync(options.dir, { recursive: true })
  const operator = { user: OPERATOR_ACL_USER, password: randomBytes(16).toString('hex') }
  const admin = { user: STACK_ADMIN_USER, password: randomBytes(16).toString('hex') }
  const aclFile = join(options.dir, 'users.acl')
  writeFileSync(aclFile, usersAcl(operator.password, admin.password), { mode: 0o600 })
  const server = new ServerProcess(
    'redis',
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      options.dir,
      '--aclfile',
      aclFile,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    join(options.dir, 'redis.log'),
  )
  const start = async () => {
    server.start()
    await waitFor('redis', () => ping(port, admin), 20_000)
  }
  await start()
  const stop = () => server.stop()
  const urlFor = ({ user, password }: { user: string; password: string }) =>
    `redis://${user}:${password}@127.0.0.1:${port}`
  return {
    name: 'redis',
    url: urlFor(operator),
    adminUrl: urlFor(admin),
    sidecarUrl: `redis://127.0.0.1:${port}`,
    port,
    pids: () => [server.pid],
    start,
    stop,
    kill: () => server.kill(),
    close: closer(stop, options.dir),
  }
}

/**
 * usersAcl is the ACL file: the users of docs/chart-changes-issue-11.md section 5 (the chart's
 * two, and an admin the chart has no need of). Tenant users are the operator's to create.
 */
export const usersAcl = (operatorPassword: string, adminPassword: string) =>
  [
    'user default off',
    `user ${OPERATOR_ACL_USER} >${operatorPassword} ${operatorAclRules().join(' ')}`,
    `user ${STACK_ADMIN_USER} on >${adminPassword} ~* &* +@all`,
    '',
  ].join('\n')

/**
 * ping logs in as the admin and sends a raw PING, so readiness needs no client library. (The
 * passwords are hex, so the inline protocol carries them as they are.)
 */
function ping(port: number, admin: { user: string; password: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setTimeout(1000, () => socket.destroy())
    socket.once('error', () => resolve(false))
    socket.once('connect', () => socket.write(`AUTH ${admin.user} ${admin.password}\r\nPING\r\n`))
    socket.on('data', (data) => {
      answer += data.toString()
      if (answer.split('\r\n').length < 3) return // one reply per command; wait for both
      resolve(answer === '+OK\r\n+PONG\r\n')
      socket.end()
    })
    socket.once('close', () => resolve(false))
  })
}
