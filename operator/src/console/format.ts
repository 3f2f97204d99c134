import { nanoToUsd } from '@tollgate/api'

/** usd shows nano-dollars as `$1.234567` (the ledger's precision, trailing zeros cut). */
export const usd = (nano: number): string => `$${nanoToUsd(nano)}`

/** count shows an integer with thousands separators. */
export const count = (n: number): string => n.toLocaleString('en-US')

/** percent shows a fraction as `12.5%`. */
export const percent = (f: number): string => `${(f * 100).toFixed(1)}%`

/** dimension shows an empty dimension value ('' in the ledger) as what it means. */
export const dimension = (value: string, none = '(none)'): string => (value === '' ? none : value)
