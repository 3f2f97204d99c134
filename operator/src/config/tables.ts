import { readFileSync } from 'node:fs'
import {
  compilePrice,
  DEFAULT_PRICES,
  DEFAULT_TIERS,
  PRICE_FIELDS,
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
 * `outputPerMTok`, and optionally `provider`, the other token classes of PRICE_FIELDS, `perImage`
 * and `longContext`, as PriceRow describes them; USD as decimal strings). It replaces the shipped
 * table whole, so a mounted file is the complete truth.
 */
export function parsePriceTable(text: string, source = 'prices'): PriceRow[] {
  const doc = parse(text) as unknown
  const rows = (doc as { prices?: unknown })?.prices ?? doc
  if (!Array.isArray(rows)) throw invalid(source, 'expected a list of price rows')
  return rows.map((row, i) => {
    const r = row as Record<string, unknown>
    if (typeof r?.model !== 'string' || r.model === '') throw invalid(source, `[${i}].model: required`)
    const price = (field: string, value: unknown, required: boolean) => {
      if (value === undefined && !required) return undefined
      if (typeof value !== 'string' && typeof value !== 'number')
        throw invalid(source, `[${i}].${field}: expected a decimal USD amount`)
      return String(value)
    }
    const parsed: PriceRow = {
      model: r.model,
      inputPerMTok: price('inputPerMTok', r.inputPerMTok, true) as string,
      outputPerMTok: price('outputPerMTok', r.outputPerMTok, true) as string,
    }
    if (r.provider !== undefined) {
      if (r.provider !== 'openai' && r.provider !== 'anthropic')
        throw invalid(source, `[${i}].provider: expected openai or anthropic`)
      parsed.provider = r.provider
    }
    for (const field of PRICE_FIELDS) {
      const value = price(field, r[field], false)
      if (value !== undefined) parsed[field] = value
    }
    if (r.perImage !== undefined) {
      if (r.perImage === null || typeof r.perImage !== 'object')
        throw invalid(source, `[${i}].perImage: expected a map of image kinds to USD`)
      parsed.perImage = Object.fromEntries(
        Object.entries(r.perImage).map(([k, v]) => [k, price(`perImage.${k}`, v, true) as string]),
      )
    }
    if (r.longContext !== undefined) {
      const l = r.longContext as Record<string, unknown>
      if (typeof l?.aboveInputTokens !== 'number')
        throw invalid(source, `[${i}].longContext.aboveInputTokens: required`)
      parsed.longContext = {
        aboveInputTokens: l.aboveInputTokens,
        inputPerMTok: price('longContext.inputPerMTok', l.inputPerMTok, true) as string,
        outputPerMTok: price('longContext.outputPerMTok', l.outputPerMTok, true) as string,
      }
      for (const field of ['cachedInputPerMTok', 'cacheWrite5mPerMTok', 'cacheWrite1hPerMTok'] as const) {
        const value = price(`longContext.${field}`, l[field], false)
        if (value !== undefined) parsed.longContext[field] = value
      }
    }
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
