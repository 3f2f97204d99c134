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
 * startHttpServer serves a fixed table of routes (exact paths, GET and HEAD); anything else is
 * 404. Small on purpose: metrics, health and the usage API need nothing more.
 */
export async function startHttpServer(listen: string, routes: Record<string, Route>): Promise<HttpServer> {
  const { host, port } = parseListen(listen)
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const route = routes[url.pathname]
    if (!route) return send(response, 404, 'not found\n')
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, 'method not allowed\n')
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
