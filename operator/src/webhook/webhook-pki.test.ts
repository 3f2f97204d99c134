import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { coversNames, createCA, isIssuedBy, issueServingCertificate, needsRenewal } from './webhook-pki.ts'

const now = new Date('2026-11-23T12:00:00Z')
const day = 86_400_000

describe('webhook PKI', () => {
  const ca = createCA({ commonName: 'tollgate-webhook-ca', validForDays: 3650, now })
  const serving = issueServingCertificate(ca, {
    dnsNames: ['tollgate-webhook.tollgate-system.svc', 'localhost'],
    ipAddresses: ['127.0.0.1'],
    validForDays: 365,
    now,
  })

  it('issues a serving certificate signed by the CA, for the requested names', () => {
    expect(isIssuedBy(serving.cert, ca.cert)).toBe(true)
    const other = createCA({ commonName: 'someone-else', validForDays: 10, now })
    expect(isIssuedBy(serving.cert, other.cert)).toBe(false)
    const cert = new X509Certificate(serving.cert)
    expect(cert.subjectAltName).toBe(
      'DNS:tollgate-webhook.tollgate-system.svc, DNS:localhost, IP Address:127.0.0.1',
    )
    expect(cert.ca).toBe(false)
    expect(new X509Certificate(ca.cert).ca).toBe(true)
    expect(coversNames(serving.cert, ['tollgate-webhook.tollgate-system.svc'])).toBe(true)
    expect(coversNames(serving.cert, ['tollgate-webhook.other.svc'])).toBe(false)
  })

  it.each([
    [0, false],
    [200, false],
    [250, true],
    [366, true],
  ])('needs renewal %i days after issue: %s', (days, expected) => {
    expect(needsRenewal(serving.cert, new Date(now.getTime() + days * day))).toBe(expected)
  })

  it('serves TLS that a client trusting only the CA accepts', async () => {
    const server = createServer(serving, (_req, res) => res.end('ok'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost' }, (res) => {
          let text = ''
          res.on('data', (c) => {
            text += c
          })
          res.on('end', () => resolve(text))
        })
        req.on('error', reject)
        req.end()
      })
      expect(body).toBe('ok')
    } finally {
      server.close()
    }
  })
})
