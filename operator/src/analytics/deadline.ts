import { type ErrorCode, TollgateError } from '../errors.ts'

/**
 * withDeadline rejects with `code` when `work` has not settled within `ms`, and wraps its own
 * rejection in the same code: a store that is away answers the console and the analytics API
 * with a defined 503, never a request that hangs on reconnects.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  code: ErrorCode,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TollgateError(code, `${what}: no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, late])
  } catch (cause) {
    if (cause instanceof TollgateError && cause.code === code) throw cause
    throw new TollgateError(code, `${what}: ${(cause as Error).message}`, { cause })
  } finally {
    clearTimeout(timer)
  }
}
