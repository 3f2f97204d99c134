import type { Condition } from '@tollgate/api'

/** ConditionInput is a condition without its transition time, which setCondition manages. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>

/**
 * setCondition returns a new list with the condition set. lastTransitionTime changes only when
 * the status flips, as metav1.Condition requires; reason and message just update.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  next: ConditionInput,
  now: string,
): Condition[] {
  const current = list?.find((c) => c.type === next.type)
  const lastTransitionTime = current && current.status === next.status ? current.lastTransitionTime : now
  const condition: Condition = { ...next, lastTransitionTime }
  const others = (list ?? []).filter((c) => c.type !== next.type)
  return [...others, condition].sort((a, b) => ORDER(a.type) - ORDER(b.type) || a.type.localeCompare(b.type))
}

/** findCondition returns the condition of a type, if set. */
export const findCondition = (list: readonly Condition[] | undefined, type: string) =>
  list?.find((c) => c.type === type)

const KNOWN = ['Ready', 'Accepted', 'Synced', 'Suspended', 'BudgetNearLimit', 'BudgetExceeded', 'Conflicted']
const ORDER = (type: string) => {
  const i = KNOWN.indexOf(type)
  return i === -1 ? KNOWN.length : i
}
