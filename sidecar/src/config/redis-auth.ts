import type { Redis } from 'ioredis'

/**
 * authenticate sets the Redis user clients log in with, and connects those that wait for one.
 * ioredis reads `options.username`/`password` at every (re)connect, so a rotated password takes
 * effect at the next reconnect; connections already open stay as they are (Redis does not log
 * them out when a user's passwords change).
 */
export function authenticate(clients: readonly Redis[], user: { username: string; password: string }): void {
  for (const client of clients) {
    client.options.username = user.username
    client.options.password = user.password
    if (client.status === 'wait') client.connect().catch(() => {})
  }
}

/** hasCredentials is true for a Redis URL that names a user or password. */
export const hasCredentials = (url: string) => {
  try {
    const parsed = new URL(url)
    return parsed.username !== '' || parsed.password !== ''
  } catch {
    return false
  }
}
