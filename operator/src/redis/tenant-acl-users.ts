import { createHash } from 'node:crypto'
import { tenantAclRules, tenantAclUser } from '@tollgate/api'
import type { Redis } from 'ioredis'
import type { RedisPasswords } from './redis-passwords.ts'

/** AclSync says what ensure did and when the passwords rotate next. */
export interface AclSync {
  written: boolean
  rotateInMs: number
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * TenantAclUsers keeps one Redis ACL user per tenant (`tenantAclRules`), with the passwords of
 * RedisPasswords. Changing a user leaves its authenticated connections alone (Redis re-checks
 * permissions per command, and only removing a user closes them), so rotation never cuts a
 * sidecar off; a sidecar uses its newer password the next time it connects.
 */
export class TenantAclUsers {
  readonly #redis: Pick<Redis, 'call'>
  readonly #passwords: RedisPasswords
  /** Rules last written per tenant by this process: GETUSER shows passwords only as hashes. */
  readonly #written = new Map<string, string>()
  /** False once Redis said it keeps no ACL file: then saving is a wasted round trip per write. */
  #canSave = true

  constructor(redis: Pick<Redis, 'call'>, passwords: RedisPasswords) {
    this.#redis = redis
    this.#passwords = passwords
  }

  /** ensure makes the tenant's user match its rules and the current passwords. Idempotent. */
  async ensure(tenant: string, now = new Date()): Promise<AclSync> {
    const name = tenantAclUser(tenant)
    const rules = tenantAclRules(tenant)
    const passwords = this.#passwords.accepted(tenant, now)
    const rotateInMs = this.#passwords.untilNextEpoch(now)
    const user = (await this.#redis.call('ACL', 'GETUSER', name)) as unknown[] | null
    const digest = JSON.stringify(rules)
    if (user && this.#written.get(tenant) === digest && sameHashes(field(user, 'passwords'), passwords))
      return { written: false, rotateInMs }
    await this.#redis.call('ACL', 'SETUSER', name, 'resetpass', ...rules, ...passwords.map((p) => `>${p}`))
    this.#written.set(tenant, digest)
    await this.#save()
    return { written: true, rotateInMs }
  }

  /** remove deletes the tenant's user; Redis closes the connections that used it. */
  async remove(tenant: string): Promise<void> {
    await this.#redis.call('ACL', 'DELUSER', tenantAclUser(tenant))
    this.#written.delete(tenant)
    await this.#save()
  }

  /**
   * #save persists the users when Redis keeps them in an ACL file; a Redis configured without one
   * loses them at restart, and the operator writes them again when it reconnects.
   */
  async #save(): Promise<void> {
    if (!this.#canSave) return
    try {
      await this.#redis.call('ACL', 'SAVE')
    } catch (error) {
      if (!/not configured to use an ACL file/.test((error as Error).message)) throw error
      this.#canSave = false
    }
  }
}

function field(user: unknown[], name: string): unknown {
  const at = user.indexOf(name)
  return at === -1 ? undefined : user[at + 1]
}

function sameHashes(stored: unknown, passwords: string[]): boolean {
  if (!Array.isArray(stored)) return false
  const want = passwords.map(sha256).sort()
  const have = (stored as string[]).map(String).sort()
  return want.length === have.length && want.every((h, i) => h === have[i])
}
