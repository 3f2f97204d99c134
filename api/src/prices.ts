import type { Price } from './compiled-config.ts'

/** PriceRow is a price as people write it: USD per million tokens, as decimal strings. */
export interface PriceRow {
  model: string
  inputPerMTok: string
  outputPerMTok: string
  cachedInputPerMTok?: string
}

/**
 * DEFAULT_PRICES are the list prices of current OpenAI and Anthropic models (USD per million
 * tokens, standard tier, no batch discount). Globs cover dated snapshots (`gpt-4o-2024-08-06`).
 * The operator can load another table from a mounted file; a Tenant can override single rows.
 */
export const DEFAULT_PRICES: PriceRow[] = [
  { model: 'gpt-5*', inputPerMTok: '1.25', cachedInputPerMTok: '0.125', outputPerMTok: '10' },
  { model: 'gpt-5-mini*', inputPerMTok: '0.25', cachedInputPerMTok: '0.025', outputPerMTok: '2' },
  { model: 'gpt-5-nano*', inputPerMTok: '0.05', cachedInputPerMTok: '0.005', outputPerMTok: '0.4' },
  { model: 'gpt-4.1*', inputPerMTok: '2', cachedInputPerMTok: '0.5', outputPerMTok: '8' },
  { model: 'gpt-4.1-mini*', inputPerMTok: '0.4', cachedInputPerMTok: '0.1', outputPerMTok: '1.6' },
  { model: 'gpt-4.1-nano*', inputPerMTok: '0.1', cachedInputPerMTok: '0.025', outputPerMTok: '0.4' },
  { model: 'gpt-4o*', inputPerMTok: '2.5', cachedInputPerMTok: '1.25', outputPerMTok: '10' },
  { model: 'gpt-4o-mini*', inputPerMTok: '0.15', cachedInputPerMTok: '0.075', outputPerMTok: '0.6' },
  { model: 'o3*', inputPerMTok: '2', cachedInputPerMTok: '0.5', outputPerMTok: '8' },
  { model: 'o4-mini*', inputPerMTok: '1.1', cachedInputPerMTok: '0.275', outputPerMTok: '4.4' },
  { model: 'text-embedding-3-small', inputPerMTok: '0.02', outputPerMTok: '0' },
  { model: 'text-embedding-3-large', inputPerMTok: '0.13', outputPerMTok: '0' },
  { model: 'claude-opus-4*', inputPerMTok: '15', cachedInputPerMTok: '1.5', outputPerMTok: '75' },
  { model: 'claude-opus-4-5*', inputPerMTok: '5', cachedInputPerMTok: '0.5', outputPerMTok: '25' },
  { model: 'claude-sonnet-4*', inputPerMTok: '3', cachedInputPerMTok: '0.3', outputPerMTok: '15' },
  { model: 'claude-haiku-4*', inputPerMTok: '1', cachedInputPerMTok: '0.1', outputPerMTok: '5' },
  { model: 'claude-3-5-haiku*', inputPerMTok: '0.8', cachedInputPerMTok: '0.08', outputPerMTok: '4' },
  { model: 'claude-3-7-sonnet*', inputPerMTok: '3', cachedInputPerMTok: '0.3', outputPerMTok: '15' },
]

/** NANO_PER_TOKEN_PER_USD_PER_MTOK: $1 per million tokens is 1,000 nano-dollars per token. */
const NANO_PER_TOKEN = 1_000

const perToken = (usdPerMTok: string) => {
  const value = Number(usdPerMTok)
  if (!Number.isFinite(value) || value < 0) throw new Error(`invalid price ${JSON.stringify(usdPerMTok)}`)
  return Math.round(value * NANO_PER_TOKEN)
}

/** compilePrice turns a row into per-token nano-dollar prices. */
export const compilePrice = (row: PriceRow): Price => ({
  model: row.model,
  inputNano: perToken(row.inputPerMTok),
  outputNano: perToken(row.outputPerMTok),
  cachedInputNano: perToken(row.cachedInputPerMTok ?? row.inputPerMTok),
})
