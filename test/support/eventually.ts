/** Truthy is T without its falsy members. */
export type Truthy<T> = Exclude<T, false | '' | 0 | null | undefined>

/** eventually polls until fn returns a truthy value (or stops throwing), or fails after timeoutMs. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
  intervalMs = 100,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value) return value as Truthy<T>
      last = undefined
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last })
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
