import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort, ServerProcess, waitFor } from './process.ts'
import { closer, type Service } from './service.ts'

/** PostgresService is a throw-away Postgres cluster on loopback, tuned for speed over durability. */
export interface PostgresService extends Service {
  kill(): Promise<void>
  url: string
  port: number
}

/** postgresBinDir finds Debian's versioned Postgres binaries (initdb and postgres are not on PATH). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const version of versions) {
    const dir = join(root, version, 'bin')
    if (existsSync(join(dir, 'initdb'))) return dir
  }
  throw new Error('postgresql is not installed: apt-get install -y postgresql')
}

/** Postgres refuses to run as root, so as root it runs as the `postgres` user Debian's package creates. */
const asUser = (command: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', command, ...args]]
    : [command, args]

/** startPostgres initialises a cluster under dir (once) and starts it on a free loopback port. */
export async function startPostgres(options: { dir: string; port?: number }): Promise<PostgresService> {
  const port = options.port ?? (await freePort())
  const bin = postgresBinDir()
  const data = join(options.dir, 'data')
  mkdirSync(options.dir, { recursive: true })
  if (process.getuid?.() === 0) chownSync(options.dir, uid('postgres'), gid('postgres'))
  if (!existsSync(join(data, 'PG_VERSION'))) {
    const [cmd, args] = asUser(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
    ])
    execFileSync(cmd, args, { stdio: 'pipe' })
  }
  const [cmd, args] = asUser(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${options.dir}`,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ])
  const server = new ServerProcess('postgres', cmd, args, join(options.dir, 'postgres.log'))
  const start = async () => {
    server.start()
    await waitFor('postgres', () => acceptsConnections(bin, port), 30_000)
  }
  await start()
  const stop = () => server.stop()
  return {
    name: 'postgres',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    pids: () => [server.pid],
    start,
    stop,
    kill: () => server.kill(),
    close: closer(stop, options.dir),
  }
}

async function acceptsConnections(bin: string, port: number): Promise<boolean> {
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
  if (!open) return false
  try {
    execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const uid = (user: string) => Number(execFileSync('id', ['-u', user]).toString().trim())
const gid = (user: string) => Number(execFileSync('id', ['-g', user]).toString().trim())
