import { OTHER_END_USER, USAGE_COUNTERS } from '@tollgate/api'
import type { UsageRow } from '../redis/usage-counters.ts'

/**
 * capEndUsers keeps at most `cap` distinct end users in one tenant's hour and counts the calls of
 * the rest as `other`, merging the rows that then share a series and instance. `known` are the
 * users the ledger already holds for the hour: they keep their rows, and new users are admitted
 * in name order while there is room, so every flush of the same hour decides alike (the cap
 * never frees room within an hour). A cap of 0 drops the dimension (every user is '').
 */
export function capEndUsers(rows: UsageRow[], known: ReadonlySet<string>, cap: number): UsageRow[] {
  const admitted = new Set<string>()
  for (const user of known) if (user !== '' && user !== OTHER_END_USER) admitted.add(user)
  const fresh = [...new Set(rows.map((r) => r.user ?? ''))]
    .filter((u) => u !== '' && u !== OTHER_END_USER && !admitted.has(u))
    .sort()
  for (const user of fresh) {
    if (admitted.size >= cap) break
    admitted.add(user)
  }
  const out = new Map<string, UsageRow>()
  for (const row of rows) {
    const named = row.user ?? ''
    const user = cap === 0 || named === '' ? '' : admitted.has(named) ? named : OTHER_END_USER
    const id = `${row.provider}|${row.model}|${row.namespace}|${row.workload ?? ''}|${user}|${row.instance ?? ''}`
    const into = out.get(id)
    if (!into) {
      out.set(id, { ...row, user, counters: { ...row.counters } })
      continue
    }
    for (const c of USAGE_COUNTERS) into.counters[c] += row.counters[c]
  }
  return [...out.values()]
}
