// After the load: the ledger (Postgres usage_hourly) against the client's calls and the fake
// provider's own tally of calls and tokens, per tenant and provider.
import pg from 'pg'
import { keyHash } from '../../test/fake-provider/fake-provider.ts'
import type { LoadTally } from './load.ts'
import type { SoakSystem } from './system.ts'
import { SOAK_PROVIDERS, type SoakProvider } from './tenants.ts'

export interface LedgerTotals {
  requests: number
  cacheHits: number
  errors: number
  inputTokens: number
  outputTokens: number
}

/** SeriesCheck is one tenant and provider: the three counts and what they say. */
export interface SeriesCheck {
  tenant: string
  provider: SoakProvider
  client: { calls: number; ok: number; cacheHits: number; aborted: number; rejected: number; refused: number }
  ledger: LedgerTotals
  fake: { calls: number; inputTokens: number; outputTokens: number }
  /** Calls the client made that the ledger lacks, and the ledger has beyond them. */
  lost: number
  doubleCounted: number
  /** Calls the provider served that the ledger lacks (or has too many of): requests less cache hits and refusals. */
  providerLost: number
  providerDoubleCounted: number
  /** false when the ledger's tokens differ from the provider's (aborted streams are billed at their estimate by design, so not compared). */
  tokensMatch: boolean | 'not compared'
}

const ZERO: LedgerTotals = { requests: 0, cacheHits: 0, errors: 0, inputTokens: 0, outputTokens: 0 }

/** readLedger sums the ledger per tenant and provider over all hours. */
export async function readLedger(databaseUrl: string, tenants: string[]): Promise<Map<string, LedgerTotals>> {
  const client = new pg.Client({ connectionString: databaseUrl })
  client.on('error', () => {})
  await client.connect()
  try {
    const { rows } = await client.query<Record<string, string>>(
      `SELECT tenant, provider, sum(requests) AS requests, sum(cache_hits) AS cache_hits, sum(errors) AS errors,
              sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
       FROM usage_hourly WHERE tenant = ANY($1) GROUP BY tenant, provider`,
      [tenants],
    )
    return new Map(
      rows.map((r) => [
        `${r.tenant}|${r.provider}`,
        {
          requests: Number(r.requests),
          cacheHits: Number(r.cache_hits),
          errors: Number(r.errors),
          inputTokens: Number(r.input_tokens),
          outputTokens: Number(r.output_tokens),
        },
      ]),
    )
  } finally {
    await client.end()
  }
}

/**
 * settledLedger waits until the ledger has stopped changing (the sidecars wrote their last usage,
 * the leader flushed it) for stableMs, within boundMs, and returns it.
 */
export async function settledLedger(
  system: SoakSystem,
  stableMs: number,
  boundMs: number,
): Promise<{ ledger: Map<string, LedgerTotals>; settled: boolean }> {
  const names = system.tenants.map((t) => t.name)
  const deadline = Date.now() + boundMs
  let last = ''
  let since = Date.now()
  let ledger = new Map<string, LedgerTotals>()
  while (Date.now() < deadline) {
    try {
      ledger = await readLedger(system.stack.env.databaseUrl, names)
      const text = JSON.stringify([...ledger].sort())
      if (text !== last) {
        last = text
        since = Date.now()
      } else if (Date.now() - since >= stableMs) return { ledger, settled: true }
    } catch {
      // Postgres or the leader still coming back
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  return { ledger, settled: false }
}

/** checkSeries compares, for every tenant and provider, the client's calls, the ledger and the fake. */
export function checkSeries(
  system: SoakSystem,
  tally: LoadTally,
  ledger: Map<string, LedgerTotals>,
): SeriesCheck[] {
  const byKey = new Map(system.fake.usage().map((u) => [u.keyHash, u]))
  return system.tenants.flatMap((t) =>
    (Object.keys(SOAK_PROVIDERS) as SoakProvider[]).map((provider): SeriesCheck => {
      const seen = tally.calls(t.name, provider)
      const n = (o: Parameters<typeof seen.get>[0]) => seen.get(o) ?? 0
      let calls = 0
      for (const v of seen.values()) calls += v
      const client = {
        calls,
        ok: n('ok'),
        cacheHits: n('cache-hit'),
        aborted: n('aborted'),
        rejected: n('rejected'),
        refused: n('refused'),
      }
      const l = ledger.get(`${t.name}|${provider}`) ?? ZERO
      const f = byKey.get(keyHash(t.keys[provider]))
      const fake = {
        calls: f?.calls ?? 0,
        inputTokens: f?.inputTokens ?? 0,
        outputTokens: f?.outputTokens ?? 0,
      }
      // What the ledger says reached the provider: its requests less those the sidecar answered itself.
      const upstream = l.requests - l.cacheHits - client.rejected - client.refused
      return {
        tenant: t.name,
        provider,
        client,
        ledger: l,
        fake,
        lost: Math.max(0, client.calls - l.requests),
        doubleCounted: Math.max(0, l.requests - client.calls),
        providerLost: Math.max(0, fake.calls - upstream),
        providerDoubleCounted: Math.max(0, upstream - fake.calls),
        tokensMatch:
          provider === 'aborts'
            ? 'not compared'
            : l.inputTokens === fake.inputTokens && l.outputTokens === fake.outputTokens,
      }
    }),
  )
}
