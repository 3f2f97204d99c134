import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { nanoToUsd } from '@tollgate/api'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { kubectlOK } from '../support/kubectl.ts'
import { type Scenario, startScenario } from './scenario.ts'

// The console in a real browser: Debian's chromium, headless, driven by Playwright. Every number
// a page shows is checked against the ledger in Postgres; each page is saved as a screenshot under
// test-output/console/ for a person to look at.

const stack = inject('stack')
/** SCREENSHOTS is where a person finds what each page looked like (gitignored). */
const SCREENSHOTS = join(process.cwd(), 'test-output', 'console')
const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium'

let s: Scenario
let browser: Browser

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true })
  s = await startScenario(stack, 'browser')
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await s?.close()
})

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })

/** signIn opens the console, is sent to the sign-in page, and signs in with the token. */
async function signIn(token: string, name?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${s.consoleUrl}/`)
  expect(new URL(page.url()).pathname).toBe('/sign-in')
  if (name) await shot(page, name)
  await page.getByLabel('Bearer token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${s.consoleUrl}/tenants`)
  return page
}

const ledgerSum = async (where = '') => {
  const [row] = await s.ledger<{ cost: string; requests: string }>(
    `SELECT coalesce(sum(cost_nano), 0) AS cost, coalesce(sum(requests), 0) AS requests
     FROM usage_hourly WHERE tenant = $1 ${where}`,
    [s.tenant],
  )
  return { cost: Number(row?.cost), requests: Number(row?.requests) }
}

describe('the console', () => {
  it('signs in with a bearer token and shows the tenants the user may read, with the ledger’s spend', async () => {
    const page = await signIn(s.tokens.purger, 'sign-in')
    const rows = page.locator('table tbody tr')
    await expect.poll(() => rows.count()).toBe(1)
    const row = rows.first()
    expect(await row.getByRole('rowheader').textContent()).toBe(s.tenant)
    const total = await ledgerSum()
    expect(await row.locator(`[data-spend="${s.tenant}"]`).textContent()).toBe(`$${nanoToUsd(total.cost)}`)
    // the other tenant is not this user's to see
    expect(await page.content()).not.toContain(s.other)
    await shot(page, 'tenants')
    await page.context().close()
  })

  it('a wrong token stays on the sign-in page with the reason', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${s.consoleUrl}/sign-in`)
    await page.getByLabel('Bearer token').fill('not-a-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid')
    await context.close()
  })

  it('shows the tenant’s spend, by model, workload and user, refusals and sidecars as the ledger holds them', async () => {
    const page = await signIn(s.tokens.reader)
    await page.goto(`${s.consoleUrl}/tenants/${s.tenant}`)
    const total = await ledgerSum()
    expect(await page.locator('#total-spend').textContent()).toBe(`$${nanoToUsd(total.cost)}`)
    expect(await page.locator('#total-calls').textContent()).toBe(String(total.requests))
    const tableOf = async (id: string) =>
      page
        .locator(`#${id} tbody tr`)
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 3).map((c) => c.textContent)))
    for (const [id, column] of [
      ['by-model', 'model'],
      ['by-workload', 'workload'],
      ['by-namespace', 'namespace'],
    ] as const) {
      const rows = await s.ledger<{ key: string; cost: string; requests: string }>(
        `SELECT ${column} AS key, sum(cost_nano) AS cost, sum(requests) AS requests FROM usage_hourly
         WHERE tenant = $1 GROUP BY 1`,
        [s.tenant],
      )
      expect((await tableOf(id)).sort(), id).toEqual(
        rows.map((r) => [r.key, `$${nanoToUsd(Number(r.cost))}`, String(Number(r.requests))]).sort(),
      )
    }
    expect((await tableOf('by-workload')).map((r) => r[0])).toEqual(['deployment/chat'])
    expect((await tableOf('top-users')).map((r) => r[0]).sort()).toEqual(['alice', 'bob', 'carol'])
    const saved = await s.ledger<{ saved: string }>(
      'SELECT sum(cache_saved_nano) AS saved FROM usage_hourly WHERE tenant = $1',
      [s.tenant],
    )
    expect(await page.locator('#cache-saved').textContent()).toBe(`$${nanoToUsd(Number(saved[0]?.saved))}`)
    await expect
      .poll(async () => {
        await page.reload()
        return page.locator('#recent-refusals tbody th').allTextContents()
      })
      .toEqual([expect.stringContaining('gpt4o-per-minute')])
    // the charts were drawn by Chart.js from the page's data
    expect(
      await page.evaluate(() =>
        ['chart-spend', 'chart-model', 'chart-workload'].map(
          (id) =>
            (globalThis as unknown as { Chart: { getChart(id: string): unknown } }).Chart.getChart(id) !==
            undefined,
        ),
      ),
    ).toEqual([true, true, true])
    await shot(page, 'tenant')
    await page.context().close()
  })

  it('shows a call made during the test in the live feed, within a bounded wait', async () => {
    const page = await signIn(s.tokens.reader)
    await page.goto(`${s.consoleUrl}/feed?tenant=${s.tenant}`)
    await expect.poll(() => page.locator('#feed-state').textContent()).toContain('Following')
    const user = `dave-${Date.now()}`
    await s.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `live ${user}` }],
      user,
    })
    // from the SDK's answer to the row on the page: the sidecar's feed write (100 ms batches) and
    // the console's read (every 250 ms) take well under a second; the wait is bounded at one
    await page.locator('table.feed tbody tr', { hasText: user }).waitFor({ timeout: 1_000 })
    const row = page.locator('table.feed tbody tr', { hasText: user })
    expect(await row.locator('td').allTextContents()).toEqual([
      expect.any(String),
      s.tenant,
      'call',
      'gpt-4o-mini',
      'deployment/chat',
      user,
      '200',
      expect.stringMatching(/^\d+\/\d+$/),
      expect.stringMatching(/^\$/),
    ])
    await shot(page, 'feed')
    await s.waitForLedger(7)
    await page.context().close()
  })

  it('purges the cache for a user who may patch the tenant, as that user', async () => {
    const page = await signIn(s.tokens.purger)
    await page.goto(`${s.consoleUrl}/tenants/${s.tenant}`)
    await page.getByRole('button', { name: `Purge ${s.tenant}'s cache` }).click()
    await expect.poll(() => page.locator('#purge-result').textContent()).toContain('Purged')
    const annotations = JSON.parse(await kubectlOK(stack, ['get', 'tenant', s.tenant, '-o', 'json'])).metadata
      .annotations
    expect(annotations['tollgate.dev/cache-purge']).toContain(
      `by system:serviceaccount:default:${s.tenant}-purger`,
    )
    await shot(page, 'purge-allowed')
    await page.context().close()
  })

  it('offers no purge to a user who may only read the tenant, and refuses it when sent anyway', async () => {
    const before = JSON.parse(await kubectlOK(stack, ['get', 'tenant', s.tenant, '-o', 'json'])).metadata
      .annotations?.['tollgate.dev/cache-purge']
    const page = await signIn(s.tokens.reader)
    await page.goto(`${s.consoleUrl}/tenants/${s.tenant}`)
    expect(await page.getByRole('button', { name: /Purge/ }).count()).toBe(0)
    expect(await page.locator('#purge-not-allowed').textContent()).toContain('patch')
    const status = await page.evaluate(
      async (tenant) =>
        (
          await fetch(`/api/v1/analytics/purge?tenant=${tenant}`, {
            method: 'POST',
            headers: { 'x-tollgate-console': '1' },
          })
        ).status,
      s.tenant,
    )
    expect(status).toBe(403)
    const after = JSON.parse(await kubectlOK(stack, ['get', 'tenant', s.tenant, '-o', 'json'])).metadata
      .annotations?.['tollgate.dev/cache-purge']
    expect(after).toBe(before)
    await shot(page, 'purge-refused')
    await page.context().close()
  })

  it('downloads the CSV export with the ledger’s rows', async () => {
    const page = await signIn(s.tokens.reader)
    await page.goto(`${s.consoleUrl}/tenants/${s.tenant}`)
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the CSV export' }).click(),
    ])
    const csv = await (await import('node:fs/promises')).readFile((await download.path()) as string, 'utf8')
    const [header, ...lines] = csv.trim().split('\r\n')
    const columns = (header as string).split(',')
    const cost = lines.reduce((sum, l) => sum + Number(l.split(',')[columns.indexOf('cost_nano')]), 0)
    expect(cost).toBe((await ledgerSum()).cost)
    expect(columns).toEqual(expect.arrayContaining(['workload', 'user']))
    await page.context().close()
  })

  it('is usable with the keyboard: the token field focused, Enter signs in, a skip link first', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${s.consoleUrl}/sign-in`)
    const focused = () =>
      page.evaluate(() => {
        const active = (
          globalThis as unknown as { document: { activeElement: { id: string; textContent: string } | null } }
        ).document.activeElement
        return { id: active?.id, text: active?.textContent }
      })
    expect((await focused()).id).toBe('token')
    await page.keyboard.type(s.tokens.reader)
    await page.keyboard.press('Enter')
    await page.waitForURL(`${s.consoleUrl}/tenants`)
    await page.keyboard.press('Tab')
    expect((await focused()).text).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect((await focused()).id).toBe('main')
    expect(await page.locator('html').getAttribute('lang')).toBe('en')
    expect(await page.locator('table caption').first().textContent()).toBe('Tenants you may read')
    await context.close()
  })
})
