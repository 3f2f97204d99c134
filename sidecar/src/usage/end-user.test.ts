import { describe, expect, it } from 'vitest'
import { requestEndUser } from './end-user.ts'

describe('requestEndUser', () => {
  it.each([
    ['OpenAI user', { user: 'alice' }, 'alice'],
    ['OpenAI safety_identifier before user', { user: 'alice', safety_identifier: 'h-123' }, 'h-123'],
    ['Anthropic metadata.user_id', { metadata: { user_id: 'carol' } }, 'carol'],
    ['none', { model: 'gpt-4o' }, ''],
    ['not a string', { user: 42 }, ''],
    ['trimmed, | and control characters replaced', { user: ' a|b\nc ' }, 'a_b_c'],
    ['cut at 128 characters', { user: 'x'.repeat(300) }, 'x'.repeat(128)],
  ])('%s', (_, json, expected) => {
    expect(requestEndUser(json as Record<string, unknown>)).toBe(expected)
  })
})
