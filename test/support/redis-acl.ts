import { randomBytes } from 'node:crypto'
import { OPERATOR_ACL_USER, operatorAclRules } from '@tollgate/api'
import { Redis } from 'ioredis'
import type { RedisService } from '../../hack/stack/redis.ts'
import { privateRedis } from './redis.ts'

/** LockedRedis is a private Redis that, like the chart's, answers only to users with a password. */
export interface LockedRedis {
  server: RedisService
  /** `redis://127.0.0.1:port`: no user, no password. */
  url: string
  /** The operator's own user, with the rules the chart gives it (operatorAclRules). */
  operatorUrl: string
  /** urlFor a user and password. */
  urlFor(user: string, password: string): string
}

/**
 * lockedRedis starts a private redis-server with the ACLs a deployment runs with: the default
 * user switched off, the operator's user with its rules. Tenant users are what the operator
 * creates itself. (The shared stack's Redis is not locked down yet: hack/stack/redis.ts belongs to
 * the test-stack work, and docs/chart-changes-issue-11.md says what it must run with.)
 */
export async function lockedRedis(): Promise<LockedRedis> {
  const server = await privateRedis()
  const password = randomBytes(16).toString('hex')
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 })
  try {
    await admin.call('ACL', 'SETUSER', OPERATOR_ACL_USER, 'reset', ...operatorAclRules(), `>${password}`)
    await admin.call('ACL', 'SETUSER', 'default', 'off')
  } finally {
    admin.disconnect()
  }
  const urlFor = (user: string, pass: string) =>
    `redis://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${server.port}`
  return { server, url: server.url, operatorUrl: urlFor(OPERATOR_ACL_USER, password), urlFor }
}
