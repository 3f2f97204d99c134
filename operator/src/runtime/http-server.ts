import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Route answers one path; it may be async. */
export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => void | Promise<void>

/** parseListen splits `host:port` (`[::1]:8080`, `127.0.0.1:0`) for `server.listen`. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen)
  if (!match) throw new Error(`invalid listen address ${JSON.stringify(listen)}: expected HOST:PORT`)
  const port = Number(match[3])
  if (port > 65_535) throw new Error(`invalid port in ${JSON.stringify(listen)}`)
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port }
}

/** HttpServer is a started server and the address it listens on. */
export interface HttpServer {
  server: Server
  url: string
  close(): Promise<void>
}

/**
 * Methods routes one path by method: a path whose table has `POST` takes POST too (the console's
 * sign-in and purge); GET answers HEAD.
 */
export interface Methods {
  GET?: Route
  POST?: Route
}

/**
 * startHttpServer serves a fixed table of routes (exact paths, or prefixes written `/path/*`, the
 * longest first; GET and HEAD, and POST where a Methods table has it); anything else is 404.
 * Small on purpose: metrics, health, the usage and analytics APIs and the console need no more.
 */
export async function startHttpServer(
  listen: string,
  routes: Record<string, Route | Methods>,
): Promise<HttpServer> {
  const { host, port } = parseListen(listen)
  const prefixes = Object.keys(routes)
    .filter((p) => p.endsWith('/*'))
    .map((p) => p.slice(0, -1))
    .sort((a, b) => b.length - a.length)
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const prefix = prefixes.find((p) => url.pathname.startsWith(p))
    const entry = routes[url.pathname] ?? (prefix === undefined ? undefined : routes[`${prefix}*`])
    if (!entry) return send(response, 404, 'not found\n')
    const method = request.method === 'HEAD' ? 'GET' : request.method
    const route =
      typeof entry === 'function' ? (method === 'GET' ? entry : undefined) : entry[method as keyof Methods]
    if (!route) return send(response, 405, 'method not allowed\n')
    try {
      await route(request, response, url)
    } catch (error) {
      if (!response.headersSent) send(response, 500, `${(error as Error).message}\n`)
      else response.destroy()
    }
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** send writes a plain-text or JSON answer. */
export function send(response: ServerResponse, status: number, body: string | object, type?: string): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`
  response.writeHead(status, {
    'content-type': type ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json'),
    'content-length': Buffer.byteLength(text),
  })
  response.end(text)
}
