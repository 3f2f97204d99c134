/**
 * backoffDelay is "full jitter" exponential backoff: a uniformly random wait in
 * [0, min(maxMs, baseMs * 2^retry)], retry counting from 0. Spreading retries over the whole
 * range keeps many clients that failed together from retrying together.
 */
export function backoffDelay(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(retry, 30))
  return Math.floor(random() * (ceiling + 1))
}
