import { mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort, ServerProcess, waitFor } from './process.ts'
import { closer, type Service } from './service.ts'

/** RedisService is a redis-server on loopback with no persistence. */
export interface RedisService extends Service {
  url: string
  port: number
}

/** startRedis starts redis-server on a free loopback port (or the given one) with data under dir. */
export async function startRedis(options: { dir: string; port?: number }): Promise<RedisService> {
  const port = options.port ?? (await freePort())
  mkdirSync(options.dir, { recursive: true })
  const server = new ServerProcess(
    'redis',
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', options.dir, '--save', '', '--appendonly', 'no'],
    join(options.dir, 'redis.log'),
  )
  const start = async () => {
    server.start()
    await waitFor('redis', () => ping(port), 20_000)
  }
  await start()
  const stop = () => server.stop()
  return {
    name: 'redis',
    url: `redis://127.0.0.1:${port}`,
    port,
    pids: () => [server.pid],
    start,
    stop,
    close: closer(stop, options.dir),
  }
}

/** ping sends a raw PING, so readiness needs no client library. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(1000, () => socket.destroy())
    socket.once('error', () => resolve(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'))
      socket.end()
    })
    socket.once('close', () => resolve(false))
  })
}
