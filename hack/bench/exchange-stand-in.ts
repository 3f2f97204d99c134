// A stand-in for the operator's credential exchange, for `npm run bench` only: the bench runs
// without an API server, so it cannot run the real /exchange (which reviews tokens with one). It
// answers every POST with one CredentialResponse of the api/ types over HTTPS, so the sidecar
// starts in managed mode exactly as in a pod; what the bench measures is the sidecar's start and
// memory, not the exchange. Tests use the real exchange (test/support/exchange-fixture.ts).
import { createPublicKey, type KeyObject } from 'node:crypto'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { CredentialResponse } from '@tollgate/api/exchange.ts'
import { API_VERSION } from '@tollgate/api/resources.ts'
import { configKey } from '@tollgate/api/signed-config.ts'
import { createCA, issueServingCertificate } from '../../operator/src/webhook/webhook-pki.ts'

export interface ExchangeStandIn {
  url: string
  ca: string
  close(): Promise<void>
}

export async function startExchangeStandIn(opts: {
  tenant: string
  signingKey: KeyObject
  providers: CredentialResponse['providers']
  redis: CredentialResponse['redis']
}): Promise<ExchangeStandIn> {
  const now = new Date()
  const ca = createCA({ commonName: 'bench-exchange-ca', validForDays: 1, now })
  const pair = issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validForDays: 1,
    now,
  })
  const server = createServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    req.resume()
    const at = new Date()
    const body: CredentialResponse = {
      apiVersion: API_VERSION,
      kind: 'CredentialResponse',
      tenant: opts.tenant,
      providers: opts.providers,
      redis: opts.redis,
      configKeys: [configKey(createPublicKey(opts.signingKey))],
      issuedAt: at.toISOString(),
      refreshAfter: new Date(at.getTime() + 600_000).toISOString(),
      expiresAt: new Date(at.getTime() + 3_600_000).toISOString(),
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `https://127.0.0.1:${port}/exchange`,
    ca: ca.cert,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
