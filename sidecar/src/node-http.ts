import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'

/**
 * node:http through require(). An ESM `import ... from 'node:http'` builds the module's namespace,
 * which runs its lazy getters (WebSocket, MessageEvent...) and so loads Node's bundled undici and
 * fetch: about 10 MB of memory and tens of milliseconds of start for nothing the sidecar uses.
 * require() returns the same module without the namespace. Remove when Node stops doing that.
 */
export const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

/** ListenAddress is where a server listens. */
export interface ListenAddress {
  host: string
  port: number
}

/** listen starts a server on the address and resolves with where it listens; a bind error rejects. */
export function listen(server: Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}
