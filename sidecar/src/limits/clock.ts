/** Clock returns the current time in epoch milliseconds; tests inject a fixed or stepped one. */
export type Clock = () => number

/** systemClock is the wall clock. */
export const systemClock: Clock = () => Date.now()
