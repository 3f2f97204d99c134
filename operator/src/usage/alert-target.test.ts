import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCA, issueServingCertificate } from '../webhook/webhook-pki.ts'
import { AlertTarget, isPublicAddress } from './alert-target.ts'

describe('isPublicAddress', () => {
  it.each([
    ['93.184.216.34', true],
    ['2606:2800:220:1:248:1893:25c8:1946', true],
    ['169.254.169.254', false], // cloud metadata
    ['127.0.0.1', false],
    ['127.9.9.9', false],
    ['::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['10.96.0.1', false], // a Service IP
    ['172.20.3.4', false],
    ['192.168.1.1', false],
    ['100.64.0.10', false],
    ['0.0.0.0', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected)
  })
})

describe('AlertTarget', () => {
  // A receiver on loopback that counts connections: refused URLs must never reach it.
  const now = new Date()
  const ca = createCA({ commonName: 'alert-test-ca', validForDays: 1, now })
  const pair = issueServingCertificate(ca, {
    dnsNames: ['rebind.test'],
    ipAddresses: ['127.0.0.1'],
    validForDays: 1,
    now,
  })
  let connections = 0
  const receiver = createServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('ok'))
  receiver.on('secureConnection', () => connections++)
  receiver.on('connection', () => connections++)
  let port = 0
  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    port = (receiver.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())))

  const target = (allowHosts: string[] = [], resolve?: (host: string) => Promise<string[]>) =>
    new AlertTarget({ allowHosts, timeoutMs: 2_000 }, resolve)

  it.each([
    ['http://hooks.example.com/x', /must use https/],
    ['https://169.254.169.254/latest/meta-data/', /169.254.169.254: not a public address/],
    ['https://127.0.0.1:PORT/hook', /127.0.0.1: not a public address/],
    ['https://[::1]:PORT/hook', /::1: not a public address/],
    ['https://user:pw@hooks.example.com/x', /must not carry credentials/],
    ['ftp://hooks.example.com/x', /must use https/],
  ])('refuses %s without connecting', async (url, message) => {
    const before = connections
    await expect(target().post(url.replace('PORT', String(port)), { text: 'x' })).rejects.toThrow(message)
    expect(connections).toBe(before)
  })

  it('refuses a name that resolves to an internal address', async () => {
    const before = connections
    const t = target([], async () => ['93.184.216.34', '127.0.0.1'])
    await expect(t.post(`https://hooks.example.com:${port}/x`, {})).rejects.toThrow(/resolves to 127.0.0.1/)
    expect(connections).toBe(before)
  })

  it('refuses a name that resolves to a public address when checked and to loopback when connecting', async () => {
    let lookups = 0
    const t = target([], async () => (lookups++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']))
    const before = connections
    await expect(t.post(`https://rebind.test:${port}/x`, {})).rejects.toThrow(/not a public address/)
    expect(lookups).toBeGreaterThanOrEqual(2)
    expect(connections).toBe(before)
    await t.close()
  })

  it('delivers to a listed host, over http too, and follows no redirect', async () => {
    const plain = (await import('node:http')).createServer((req, res) => {
      if (req.url === '/moved') res.writeHead(302, { location: 'http://169.254.169.254/' }).end()
      else res.end('ok')
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const plainPort = (plain.address() as AddressInfo).port
    const t = target(['127.0.0.1'])
    try {
      expect(await t.post(`http://127.0.0.1:${plainPort}/hook`, { text: 'x' })).toBe(200)
      expect(await t.post(`http://127.0.0.1:${plainPort}/moved`, { text: 'x' })).toBe(302)
    } finally {
      await t.close()
      plain.close()
    }
  })
})
