import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SoakReport } from './report.ts'

// The CI soak: `npm run soak` for two minutes (its own stack, so the faults touch no other test),
// lean on load so that it leaves the other test files room on two cores.
const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'tollgate-soak-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const soak = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(root, 'node_modules/.bin/node'),
      ['hack/soak/main.ts', ...args],
      { cwd: root, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

describe('npm run soak', () => {
  it('loses and double-counts nothing over two minutes of faults, and nothing hangs', async () => {
    const json = join(dir, 'report.json')
    const { code, stdout, stderr } = await soak([
      '--duration',
      '2m',
      '--workers',
      '2',
      '--pause',
      '100ms',
      '--json',
      json,
    ])
    const report = JSON.parse(readFileSync(json, 'utf8')) as SoakReport
    console.log(stdout)
    expect(report.problems, stderr.slice(-4000)).toEqual([])
    expect(code).toBe(0)
    expect(report).toMatchObject({ pass: true, lost: 0, doubleCounted: 0, ledgerSettled: true })
    expect(report.outcomes).toMatchObject({ failed: 0, hung: 0 })
    // Every kind of load happened, and every kind of fault at least twice, each recovered.
    for (const outcome of ['ok', 'cache-hit', 'aborted', 'rejected'] as const)
      expect(report.outcomes[outcome], outcome).toBeGreaterThan(0)
    for (const [kind, n] of Object.entries(report.faultsByKind)) expect(n, kind).toBeGreaterThanOrEqual(2)
    for (const [kind, ms] of Object.entries(report.longestRecoveryMs)) expect(ms, kind).not.toBeNull()
    // The ledger agrees with the provider's own tally, call for call and token for token.
    for (const s of report.series) {
      expect(s.ledger.requests, `${s.tenant}/${s.provider}`).toBe(s.client.calls)
      if (s.tokensMatch !== 'not compared') expect(s.tokensMatch, `${s.tenant}/${s.provider}`).toBe(true)
    }
  }, 420_000)
})
