import { endUserId } from '@tollgate/api/redis-keys.ts'

/**
 * requestEndUser is the end user a request body names, for the usage's user dimension: OpenAI's
 * `safety_identifier` (which replaces `user`), else `user`, else Anthropic's `metadata.user_id`;
 * '' when it names none. Cleaned by endUserId.
 */
export function requestEndUser(json: Record<string, unknown> | undefined): string {
  if (!json) return ''
  const metadata = json.metadata
  const anthropic =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as { user_id?: unknown }).user_id
      : undefined
  for (const value of [json.safety_identifier, json.user, anthropic]) {
    const id = endUserId(value)
    if (id !== '') return id
  }
  return ''
}
