// The soak's report: the figures, and the verdict with every reason it failed.
import { FAULT_KINDS, type FaultKind, type FaultRecord } from './faults.ts'
import type { SeriesCheck } from './ledger-check.ts'
import type { CallRecord, LoadTally, Outcome } from './load.ts'

export interface SoakReport {
  durationMs: number
  redis: string
  calls: number
  outcomes: Record<Outcome, number>
  faults: FaultRecord[]
  faultsByKind: Record<FaultKind, number>
  /** Per kind, the longest recovery in ms; null when one did not recover within the bound. */
  longestRecoveryMs: Record<FaultKind, number | null>
  series: SeriesCheck[]
  lost: number
  doubleCounted: number
  ledgerSettled: boolean
  /** The first failed or hung calls, for the log. */
  failures: CallRecord[]
  problems: string[]
  pass: boolean
}

const OUTCOMES: Outcome[] = ['ok', 'cache-hit', 'aborted', 'rejected', 'refused', 'failed', 'hung']

export function buildReport(input: {
  durationMs: number
  redis: string
  tally: LoadTally
  faults: FaultRecord[]
  series: SeriesCheck[]
  ledgerSettled: boolean
  minPerKind: number
}): SoakReport {
  const { tally, faults, series } = input
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>
  for (const m of tally.counts.values()) for (const [o, n] of m) outcomes[o] += n
  const faultsByKind = Object.fromEntries(
    FAULT_KINDS.map((k) => [k, faults.filter((f) => f.kind === k).length]),
  ) as Record<FaultKind, number>
  const longestRecoveryMs = Object.fromEntries(
    FAULT_KINDS.map((k) => {
      const of = faults.filter((f) => f.kind === k)
      return [
        k,
        of.some((f) => f.recoveryMs === undefined) ? null : Math.max(0, ...of.map((f) => f.recoveryMs ?? 0)),
      ]
    }),
  ) as Record<FaultKind, number | null>
  const lost = series.reduce((s, c) => s + c.lost + c.providerLost, 0)
  const doubleCounted = series.reduce((s, c) => s + c.doubleCounted + c.providerDoubleCounted, 0)
  const problems: string[] = []
  if (!input.ledgerSettled) problems.push('the ledger did not settle after the load stopped')
  if (lost > 0) problems.push(`${lost} calls lost (made or served, missing from the ledger)`)
  if (doubleCounted > 0) problems.push(`${doubleCounted} calls double-counted in the ledger`)
  for (const c of series)
    if (c.tokensMatch === false)
      problems.push(
        `tokens of ${c.tenant}/${c.provider}: ledger ${c.ledger.inputTokens} in / ${c.ledger.outputTokens} out, provider ${c.fake.inputTokens} / ${c.fake.outputTokens}`,
      )
  if (outcomes.failed > 0)
    problems.push(`${outcomes.failed} calls got an answer their failureMode does not promise`)
  if (outcomes.hung > 0) problems.push(`${outcomes.hung} calls hung (no answer within the deadline)`)
  for (const k of FAULT_KINDS) {
    if (faultsByKind[k] < input.minPerKind)
      problems.push(`${k} was faulted ${faultsByKind[k]} times, fewer than ${input.minPerKind}`)
    if (longestRecoveryMs[k] === null) problems.push(`a ${k} fault did not recover within the bound`)
  }
  return {
    durationMs: input.durationMs,
    redis: input.redis,
    calls: tally.total,
    outcomes,
    faults,
    faultsByKind,
    longestRecoveryMs,
    series,
    lost,
    doubleCounted,
    ledgerSettled: input.ledgerSettled,
    failures: tally.failures.slice(0, 20),
    problems,
    pass: problems.length === 0,
  }
}

const seconds = (ms: number | null) => (ms === null ? 'not recovered' : `${(ms / 1000).toFixed(1)} s`)

/** formatReport renders the report for a terminal. */
export function formatReport(r: SoakReport): string {
  const o = r.outcomes
  const lines = [
    `soak: ${(r.durationMs / 1000).toFixed(0)} s of load, redis ${r.redis}, 2 sidecars, 2 operators`,
    `calls made: ${r.calls} (ok ${o.ok}, cache hits ${o['cache-hit']}, aborted ${o.aborted}, 429 ${o.rejected}, 503 budget closed ${o.refused}, failed ${o.failed}, hung ${o.hung})`,
    `faults injected: ${Object.entries(r.faultsByKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `longest recovery: ${Object.entries(r.longestRecoveryMs)
      .map(([k, ms]) => `${k} ${seconds(ms)}`)
      .join(', ')}`,
    'ledger against client and provider (per tenant/provider):',
    '  series                         client  ledger  hits c/l   provider f/l   input tokens f/l     output tokens f/l',
  ]
  for (const c of r.series) {
    const upstream = c.ledger.requests - c.ledger.cacheHits - c.client.rejected - c.client.refused
    lines.push(
      `  ${`${c.tenant}/${c.provider}`.padEnd(30)} ${String(c.client.calls).padStart(6)}  ${String(c.ledger.requests).padStart(6)}  ${`${c.client.cacheHits}/${c.ledger.cacheHits}`.padStart(9)}  ${`${c.fake.calls}/${upstream}`.padStart(13)}  ${`${c.fake.inputTokens}/${c.ledger.inputTokens}`.padStart(17)}  ${`${c.fake.outputTokens}/${c.ledger.outputTokens}`.padStart(19)}${c.tokensMatch === 'not compared' ? '  (aborted: billed at the estimate)' : ''}`,
    )
  }
  lines.push(`lost calls: ${r.lost}, double-counted calls: ${r.doubleCounted}`)
  for (const f of r.failures)
    lines.push(
      `  failed: ${f.tenant} ${f.kind} ${f.outcome} at ${new Date(f.startMs).toISOString().slice(11, 23)}: ${f.detail}`,
    )
  lines.push(r.pass ? 'soak: PASS' : `soak: FAIL\n${r.problems.map((p) => `  - ${p}`).join('\n')}`)
  return lines.join('\n')
}
