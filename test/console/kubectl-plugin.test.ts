import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { nanoToUsd } from '@tollgate/api'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { kubectlOK } from '../support/kubectl.ts'
import { type Scenario, startScenario } from './scenario.ts'

// `kubectl tollgate ...`: the real kubectl finds the plugin (the npm bin kubectl-tollgate in
// node_modules/.bin) on PATH and runs it against the real stack; every figure is the ledger's.

const stack = inject('stack')
let s: Scenario

beforeAll(async () => {
  s = await startScenario(stack, 'plugin')
}, 180_000)

afterAll(async () => {
  await s?.close()
})

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** plugin runs `kubectl tollgate ARGS --url CONSOLE --token TOKEN` as a user would. */
const plugin = (args: string[], token: string, onStderr?: (text: string) => void): Promise<Run> =>
  new Promise((resolve) => {
    const child = execFile(
      join(stack.binDir, 'kubectl'),
      ['tollgate', ...args, '--url', s.consoleUrl, '--token', token],
      {
        env: {
          ...process.env,
          KUBECONFIG: stack.kubeconfig,
          PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${stack.binDir}:${process.env.PATH}`,
        },
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
    let seen = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      onStderr?.(seen)
    })
  })

const totals = async (where = '', params: unknown[] = []) => {
  const [row] = await s.ledger<{ cost: string; requests: string; input: string; output: string }>(
    `SELECT sum(cost_nano) AS cost, sum(requests) AS requests, sum(input_tokens) AS input, sum(output_tokens) AS output
     FROM usage_hourly WHERE tenant = $1 ${where}`,
    [s.tenant, ...params],
  )
  return [Number(row?.requests), Number(row?.input), Number(row?.output), nanoToUsd(Number(row?.cost))].map(
    String,
  )
}
const totalLine = (stdout: string) => (stdout.trim().split('\n').at(-1) as string).trim().split(/\s+/)

describe('kubectl tollgate', () => {
  it('kubectl finds the plugin on PATH', async () => {
    const help = await plugin(['--help'], s.tokens.reader)
    expect(help.stdout).toContain('Usage: kubectl tollgate COMMAND')
  })

  it('usage prints the ledger’s rows and the same total as the ledger', { timeout: 60_000 }, async () => {
    const run = await plugin(['usage', s.tenant], s.tokens.reader)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('WORKLOAD')
    expect(run.stdout).toContain('deployment/chat')
    expect(totalLine(run.stdout)).toEqual(['TOTAL', ...(await totals())])
  })

  it('usage filters as the export does, and -o csv is the export', { timeout: 120_000 }, async () => {
    const alice = await plugin(['usage', s.tenant, '--user', 'alice'], s.tokens.reader)
    expect(totalLine(alice.stdout)).toEqual(['TOTAL', ...(await totals(`AND end_user = $2`, ['alice']))])
    const model = await plugin(
      ['usage', s.tenant, '--model', 'gpt-4o', '--workload', 'deployment/chat'],
      s.tokens.reader,
    )
    expect(totalLine(model.stdout)).toEqual(['TOTAL', ...(await totals(`AND model = $2`, ['gpt-4o']))])
    const csv = await plugin(['usage', s.tenant, '-o', 'csv'], s.tokens.reader)
    expect(csv.stdout.split('\r\n')[0]).toContain('tenant,hour,provider,model,namespace,workload,user')
    const rows = await s.ledger('SELECT 1 FROM usage_hourly WHERE tenant = $1', [s.tenant])
    expect(csv.stdout.trim().split('\r\n')).toHaveLength(rows.length + 1)
  })

  it('usage of a tenant the user may not read fails with the operator’s reason', async () => {
    const run = await plugin(['usage', s.tenant], s.tokens.outsider)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `403: system:serviceaccount:default:${s.tenant}-outsider may not get tenants/${s.tenant}`,
    )
  })

  it('top follows the live feed and counts a call made while it runs', { timeout: 120_000 }, async () => {
    let following: () => void = () => {}
    const connected = new Promise<void>((resolve) => {
      following = resolve
    })
    const top = plugin(['top', s.tenant, '--for', '3s'], s.tokens.reader, (stderr) => {
      if (stderr.includes('following 1 feed(s)')) following()
    })
    // once the plugin follows the feed, a call arrives through it
    await connected
    await s.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'kubectl tollgate top' }],
      user: 'erin',
    })
    const run = await top
    expect(run.stderr).toBe('following 1 feed(s); Ctrl-C stops\n')
    const lines = run.stdout.trim().split('\n')
    expect(lines[0]?.split(/\s{2,}/)).toEqual([
      'TENANT',
      'WORKLOAD',
      'MODEL',
      'CALLS',
      'REFUSED',
      'CACHE HITS',
      'TOKENS',
      'COST USD',
    ])
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      [s.tenant, 'deployment/chat', 'gpt-4o-mini', '1'],
    ])
    await s.waitForLedger(7)
  })

  it('explain names the tenant, the workload, its limits and budgets and why calls were refused', {
    timeout: 60_000,
  }, async () => {
    const run = await plugin(['explain', 'chat-5d4f8-x2k9q', '-n', s.appNamespace], s.tokens.reader)
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain('Mediated:  yes')
    expect(run.stdout).toContain(`Tenant:    ${s.tenant} (tier pro)`)
    expect(run.stdout).toContain('Workload:  deployment/chat')
    expect(run.stdout).toContain(`Policies:  ${s.tenant}-gpt4o`)
    expect(run.stdout).toMatch(/Budgets: {3}day: \$[\d.]+ of \$10/)
    expect(run.stdout).toContain('Recent refusals of deployment/chat:')
    expect(run.stdout).toMatch(/gpt4o-per-minute.*429\s+gpt-4o/)
  })

  it('purge purges for a user who may patch the tenant and is refused for one who may not', {
    timeout: 60_000,
  }, async () => {
    const refused = await plugin(['purge', s.tenant], s.tokens.reader)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('may not patch tenants')
    const run = await plugin(['purge', s.tenant], s.tokens.purger)
    expect(run.code).toBe(0)
    const value = JSON.parse(await kubectlOK(stack, ['get', 'tenant', s.tenant, '-o', 'json'])).metadata
      .annotations['tollgate.dev/cache-purge']
    expect(run.stdout).toBe(`tenant ${s.tenant}: cache purged (tollgate.dev/cache-purge=${value})\n`)
  })

  it('dashboard prints the console’s URL once it answers', async () => {
    const run = await plugin(['dashboard'], s.tokens.reader)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Tollgate console: ${s.consoleUrl}/`)
  })
})
