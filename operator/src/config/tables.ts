import { readFileSync } from 'node:fs'
import {
  compilePrice,
  DEFAULT_PRICES,
  DEFAULT_TIERS,
  type PriceRow,
  TIERS,
  type TierTable,
} from '@tollgate/api'
import { parse } from 'yaml'
import { ERROR_CODES, TollgateError } from '../errors.ts'

const LIMIT_FIELDS = ['requestsPerMinute', 'tokensPerMinute', 'tokensPerDay', 'concurrency'] as const

/**
 * parseTierTable reads a tier table override: a YAML map from tier name to limits. Tiers left
 * out keep their shipped defaults; a tier that is listed replaces its defaults whole, so a
 * limit can be removed by leaving it out.
 */
export function parseTierTable(text: string, source = 'tiers'): TierTable {
  const doc = parse(text) as unknown
  const table = (doc as { tiers?: unknown })?.tiers ?? doc
  if (!table || typeof table !== 'object' || Array.isArray(table))
    throw invalid(source, 'expected a map from tier name to limits')
  const result: TierTable = structuredClone(DEFAULT_TIERS)
  for (const [tier, limits] of Object.entries(table)) {
    if (!(TIERS as readonly string[]).includes(tier))
      throw invalid(source, `unknown tier ${JSON.stringify(tier)}; tiers are ${TIERS.join(', ')}`)
    if (limits !== null && (typeof limits !== 'object' || Array.isArray(limits)))
      throw invalid(source, `${tier}: expected a map of limits`)
    const entry: Record<string, number> = {}
    for (const [field, value] of Object.entries(limits ?? {})) {
      if (!(LIMIT_FIELDS as readonly string[]).includes(field))
        throw invalid(source, `${tier}.${field}: unknown limit; limits are ${LIMIT_FIELDS.join(', ')}`)
      if (!Number.isInteger(value) || (value as number) < 1)
        throw invalid(source, `${tier}.${field}: expected a positive integer`)
      entry[field] = value as number
    }
    result[tier as keyof TierTable] = entry
  }
  return result
}

/**
 * parsePriceTable reads a price table override: a YAML list of rows (`model`, `inputPerMTok`,
 * `outputPerMTok`, optional `cachedInputPerMTok`, USD per million tokens). It replaces the
 * shipped table whole, so a mounted file is the complete truth.
 */
export function parsePriceTable(text: string, source = 'prices'): PriceRow[] {
  const doc = parse(text) as unknown
  const rows = (doc as { prices?: unknown })?.prices ?? doc
  if (!Array.isArray(rows)) throw invalid(source, 'expected a list of price rows')
  return rows.map((row, i) => {
    const r = row as Record<string, unknown>
    if (typeof r?.model !== 'string' || r.model === '') throw invalid(source, `[${i}].model: required`)
    const price = (field: string, required: boolean) => {
      const value = r[field]
      if (value === undefined && !required) return undefined
      if (typeof value !== 'string' && typeof value !== 'number')
        throw invalid(source, `[${i}].${field}: expected a decimal USD amount`)
      return String(value)
    }
    const parsed: PriceRow = {
      model: r.model,
      inputPerMTok: price('inputPerMTok', true) as string,
      outputPerMTok: price('outputPerMTok', true) as string,
    }
    const cached = price('cachedInputPerMTok', false)
    if (cached !== undefined) parsed.cachedInputPerMTok = cached
    try {
      compilePrice(parsed)
    } catch (cause) {
      throw invalid(source, `[${i}]: ${(cause as Error).message}`)
    }
    return parsed
  })
}

/** Tables are the tier and price tables in force. */
export interface Tables {
  tiers: TierTable
  prices: PriceRow[]
}

/** loadTables reads the override files when given; otherwise the shipped defaults apply. */
export function loadTables(files: { tiers?: string; prices?: string }): Tables {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (cause) {
      throw new TollgateError(ERROR_CODES.INVALID_CONFIG, `cannot read ${file}`, { cause })
    }
  }
  return {
    tiers: files.tiers ? parseTierTable(read(files.tiers), files.tiers) : DEFAULT_TIERS,
    prices: files.prices ? parsePriceTable(read(files.prices), files.prices) : DEFAULT_PRICES,
  }
}

const invalid = (source: string, message: string) =>
  new TollgateError(ERROR_CODES.INVALID_CONFIG, `${source}: ${message}`)
