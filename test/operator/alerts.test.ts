import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import type { Tenant } from '@tollgate/api'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { EventRecorder } from '../../operator/src/reconcile/events.ts'
import { AlertsStore } from '../../operator/src/store/alerts-store.ts'
import { Db } from '../../operator/src/store/db.ts'
import { migrate } from '../../operator/src/store/migrate.ts'
import { AlertTarget } from '../../operator/src/usage/alert-target.ts'
import { Alerter, type WebhookURL } from '../../operator/src/usage/alerter.ts'
import type { BudgetUsage } from '../../operator/src/usage/budget-state.ts'
import { periodBounds } from '../../operator/src/usage/periods.ts'
import { createDatabase } from '../support/postgres.ts'
import { eventually, uniqueName } from './support.ts'

// Budget alerts go where a Tenant author points them, and reach a receiver that was away. The attacks of issue 11: the cloud metadata
// address or a loopback service as the alert URL, and a receiver that never answers, which used
// to hold up the usage loop. The alerter runs with the real ledger tables (Postgres) and Events
// (API server); the receivers are real HTTP servers on loopback that count what reaches them.
const stack = inject('stack')
const logger = pino({ level: 'silent' })
let db: Db
let alerts: AlertsStore
let events: EventRecorder
const received: string[] = []
let receiver: Server
let silent: Server
const hung: IncomingMessage[] = []

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
}

beforeAll(async () => {
  const url = await createDatabase(stack.databaseUrl, 'alerts')
  await migrate({ url, direction: 'up', logger })
  db = new Db({ url, logger })
  alerts = new AlertsStore(db)
  const kc = new KubeConfig()
  kc.loadFromFile(stack.kubeconfig)
  events = new EventRecorder(kc.makeApiClient(CoreV1Api), logger)
  receiver = createServer((req, res) => {
    req.on('data', (chunk) => received.push(String(chunk)))
    req.on('end', () => res.end('ok'))
  })
  silent = createServer((req) => hung.push(req)) // takes the request and never answers
})

afterAll(async () => {
  receiver?.closeAllConnections()
  receiver?.close()
  silent?.closeAllConnections()
  silent?.close()
  await db?.close()
})

const tenant = (name: string): Tenant => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name, uid: '00000000-0000-0000-0000-000000000000' },
  spec: {
    providers: [{ name: 'openai', type: 'openai' }],
    budgets: [{ period: 'day', limitUSD: '1' }],
    // The URL itself comes from webhookURL below, as the operator reads it from this Secret.
    alerts: { webhookSecretRef: { namespace: 'tollgate-system', name: 'hook', key: 'url' } },
  },
})
const overBudget = (): BudgetUsage => ({
  bounds: periodBounds('day', 'UTC', new Date()),
  totals: { requests: 1, inputTokens: 1, outputTokens: 1, costNano: 2_000_000_000 },
  limitNano: 1_000_000_000,
  alertAt: [1],
})
/** alerter sends every alert to url; `only` limits the tenants it still knows (the others are gone). */
const alerter = (url: string, allowHosts: string[], timeoutMs = 2_000, only?: string) =>
  new Alerter({
    alerts,
    events,
    webhookURL: async (): Promise<WebhookURL> => ({ url }),
    target: new AlertTarget({ allowHosts, timeoutMs }),
    tenant: (name) => (only === undefined || name === only ? tenant(name) : undefined),
    logger,
    attempts: 2,
    retryBaseMs: 10,
  })
const lastError = async (name: string) =>
  (
    await db.query<{ last_error: string | null }>('SELECT last_error FROM alerts_sent WHERE tenant = $1', [
      name,
    ])
  ).rows[0]?.last_error

describe('budget alert delivery', () => {
  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['the cloud metadata address over https', 'https://169.254.169.254/latest/meta-data/'],
  ])('never sends to %s', async (_, url) => {
    const name = uniqueName('meta')
    const a = alerter(url, [])
    await a.check(tenant(name), overBudget())
    await a.close()
    expect(await lastError(name)).toMatch(/must use https|169.254.169.254: not a public address/)
  })

  it('never sends to a loopback service that is not listed, and does to one that is', async () => {
    const url = await listen(receiver)
    const refusedName = uniqueName('loop')
    const refused = alerter(url, [])
    await refused.check(tenant(refusedName), overBudget())
    await refused.close()
    expect(received).toEqual([])
    expect(await lastError(refusedName)).toMatch(/must use https/)
    const httpsUrl = url.replace('http:', 'https:')
    const refusedHttps = alerter(httpsUrl, [])
    const httpsName = uniqueName('loops')
    await refusedHttps.check(tenant(httpsName), overBudget())
    await refusedHttps.close()
    expect(received).toEqual([])
    expect(await lastError(httpsName)).toMatch(/127.0.0.1: not a public address/)

    const listed = alerter(url, ['127.0.0.1'])
    await listed.check(tenant(uniqueName('relay')), overBudget())
    await listed.close()
    expect(received.join('')).toContain('has used up its $1 day budget')
  })

  it('returns at once while a receiver never answers, and records the failure after the deadline', async () => {
    const url = await listen(silent)
    const name = uniqueName('slow')
    const a = alerter(url, ['127.0.0.1'], 500)
    const started = performance.now()
    await a.check(tenant(name), overBudget())
    expect(performance.now() - started).toBeLessThan(300)
    await eventually(() => hung.length > 0, 5_000, 'the receiver to get the request')
    await a.close()
    expect(await lastError(name)).toBeTruthy()
  })

  it('keeps trying a receiver that is down, well past four tries, which then gets it once, with an idempotency key', async () => {
    let refusals = 6
    const seen: { key: string | undefined; body: string }[] = []
    const flaky = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        if (refusals-- > 0) {
          res.statusCode = 503
          return void res.end('down')
        }
        seen.push({ key: req.headers['idempotency-key'] as string | undefined, body })
        res.end('ok')
      })
    })
    const url = await listen(flaky)
    try {
      const name = uniqueName('flaky')
      // The outbox also holds the alerts of the tests above, which this one must not send here.
      const a = alerter(url, ['127.0.0.1'], 2_000, name)
      await a.check(tenant(name), overBudget())
      // What the usage loop does at each flush: a round over the outbox.
      await eventually(
        () => {
          a.deliver()
          return seen.length > 0
        },
        20_000,
        'the alert delivered',
        50,
      )
      await a.close()
      const { rows } = await db.query<{ id: string; attempts: number }>(
        'SELECT id, attempts FROM alerts_sent WHERE tenant = $1 AND notified AND delivered_at IS NOT NULL',
        [name],
      )
      expect(rows[0]?.attempts).toBe(7)
      expect(seen).toEqual([
        {
          key: `tollgate-alert-${rows[0]?.id}`,
          body: expect.stringContaining('has used up its $1 day budget'),
        },
      ])
    } finally {
      flaky.closeAllConnections()
      flaky.close()
    }
  })
})
