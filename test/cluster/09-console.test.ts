import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { nanoToUsd } from '@tollgate/api'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStackEnv } from '../../hack/stack/cluster-stack.ts'
import { callFromApp, clusterEnv, demo, eventually, type Kube, kube, psql } from './support.ts'

// What a newcomer does after `npm run cluster:up`, as the README says: `kubectl tollgate dashboard`
// (a port-forward to the operator's console through the API server), sign in with the demo's
// console-admin token, see the demo tenant's spend by model and workload and a call arriving live;
// `kubectl tollgate usage` (a port-forward of its own) prints the ledger's numbers.

const root = new URL('../..', import.meta.url).pathname
const SCREENSHOTS = join(root, 'test-output', 'console')
const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium'

let env: ClusterStackEnv
let k: Kube
let token: string
let dashboard: ChildProcess | undefined
let consoleUrl: string
let browser: Browser | undefined

/** The plugin's environment: kubectl, and kubectl-tollgate on PATH, as .tollgate/cluster-env gives. */
const pluginEnv = () => ({
  ...process.env,
  KUBECONFIG: env.kubeconfig,
  PATH: `${join(root, 'node_modules/.bin')}:${env.binDir}:${process.env.PATH}`,
})

const plugin = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(env.binDir, 'kubectl'),
      ['tollgate', ...args],
      { env: pluginEnv() },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

beforeAll(async () => {
  env = await clusterEnv()
  k = kube(env)
  token = (await k('-n', demo.systemNamespace, 'create', 'token', demo.consoleUser)).trim()
  await mkdir(SCREENSHOTS, { recursive: true })
  // `kubectl tollgate dashboard` forwards a port and prints the URL once the console answers.
  const child = spawn(join(env.binDir, 'kubectl'), ['tollgate', 'dashboard', '--token', token], {
    env: pluginEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  dashboard = child
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const url = await eventually(
    () => out.match(/Tollgate console: (http:\/\/127\.0\.0\.1:\d+)\//)?.[1],
    60_000,
    `the dashboard URL (${out})`,
  )
  consoleUrl = url
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  dashboard?.kill('SIGINT')
  // the demo app was scaled down for the exact comparison
  await k?.('-n', demo.namespace, 'scale', `deployment/${demo.app}`, '--replicas=1')
})

const signIn = async () => {
  const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${consoleUrl}/sign-in`)
  await page.getByLabel('Bearer token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${consoleUrl}/tenants`)
  return page
}

describe('the console on the cluster, opened with kubectl tollgate dashboard', () => {
  it('shows the demo tenant’s spend by model and by workload', async () => {
    const page = await signIn()
    expect(await page.locator('table tbody tr').getByRole('rowheader').allTextContents()).toContain(
      demo.tenant,
    )
    await page.goto(`${consoleUrl}/tenants/${demo.tenant}`)
    const firstColumn = (id: string) => page.locator(`#${id} tbody tr > :first-child`).allTextContents()
    const models = await psql(k, `SELECT DISTINCT model FROM usage_hourly WHERE tenant = '${demo.tenant}'`)
    expect(models.length).toBeGreaterThan(0)
    expect((await firstColumn('by-model')).sort()).toEqual(models.map(([m]) => m).sort())
    expect(await firstColumn('by-workload')).toContain(`deployment/${demo.app}`)
    await page.screenshot({ path: join(SCREENSHOTS, 'cluster-tenant.png'), fullPage: true })
    await page.context().close()
  })

  it('shows a call from the demo app in the live feed', async () => {
    const page = await signIn()
    await page.goto(`${consoleUrl}/feed?tenant=${demo.tenant}`)
    await expect.poll(() => page.locator('#feed-state').textContent()).toContain('Following')
    const user = `newcomer-${Date.now()}`
    const [result] = await callFromApp(k, { provider: 'openai', user })
    expect(result?.status).toBe(200)
    // The row of this call (its end user is new), booked to the app's Deployment. The wait is
    // bounded: the sidecar's feed write, the console's read and the port-forward take well under it.
    const row = page.locator('table.feed tbody tr', { hasText: user })
    await row.waitFor({ timeout: 5_000 })
    expect(await row.locator('td').allTextContents()).toEqual(
      expect.arrayContaining([demo.tenant, 'call', `deployment/${demo.app}`, user, '200']),
    )
    await page.screenshot({ path: join(SCREENSHOTS, 'cluster-feed.png'), fullPage: true })
    await page.context().close()
  })
})

describe('kubectl tollgate usage on the cluster', () => {
  it('prints the ledger’s numbers for the demo tenant', { timeout: 120_000 }, async () => {
    // The app calls every few seconds; with it stopped the ledger settles and both must agree.
    await k('-n', demo.namespace, 'scale', `deployment/${demo.app}`, '--replicas=0')
    await k('-n', demo.namespace, 'wait', '--for=delete', 'pod', '-l', `app=${demo.app}`, '--timeout=60s')
    const ledger = async () => {
      const [[requests, input, output, cost] = []] = await psql(
        k,
        `SELECT sum(requests), sum(input_tokens), sum(output_tokens), sum(cost_nano) FROM usage_hourly WHERE tenant = '${demo.tenant}'`,
      )
      return ['TOTAL', requests, input, output, nanoToUsd(Number(cost))]
    }
    let last = { printed: [] as string[], ledger: [] as string[] }
    const agree = await eventually(
      async () => {
        // from the ledger's beginning: the default, the current UTC day, leaves out the hours
        // before a midnight that falls during the run (one CI run just after 00:00 UTC failed so)
        const run = await plugin('usage', demo.tenant, '--from', '2000-01-01', '--token', token)
        expect(run.stderr).toBe('')
        const printed = (run.stdout.trim().split('\n').at(-1) ?? '').trim().split(/\s+/)
        last = { printed, ledger: (await ledger()).map(String) }
        return JSON.stringify(last.printed) === JSON.stringify(last.ledger)
      },
      60_000,
      'kubectl tollgate usage and the ledger to agree',
      2_000,
    ).catch(() => false)
    expect(last.printed).toEqual(last.ledger)
    expect(agree).toBe(true)
    expect(Number(last.printed[1])).toBeGreaterThan(0)
  })
})
