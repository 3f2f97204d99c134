/** FailureKind is an outcome a policy can name in `circuitBreaker.on` and `retry.on`. */
export type FailureKind = '5xx' | '429' | 'timeout' | 'connect'

/**
 * OutcomeKind is how one upstream attempt ended. `success` is any answer that is not a failure
 * kind, 4xx included (the provider is healthy; the request was wrong). `aborted` means the client
 * went away before an outcome: it says nothing about the provider.
 */
export type OutcomeKind = 'success' | FailureKind | 'aborted'

/** classifyStatus maps an HTTP status of the provider's answer to an outcome. */
export const classifyStatus = (status: number): OutcomeKind =>
  status === 429 ? '429' : status >= 500 ? '5xx' : 'success'
