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

/** AclNode is one Redis node's connection, as far as ACL commands go. */
export type AclNode = Pick<Redis, 'call'>

/**
 * TenantAclUsers keeps one Redis ACL user per tenant (`tenantAclRules`), with the passwords of
 * RedisPasswords, on every node `nodes()` names: ACL users are per node (a Redis Cluster does
 * not share them, and a replica must have them before a failover makes it the master). Changing
 * a user leaves its authenticated connections alone (Redis re-checks permissions per command,
 * and only removing a user closes them), so rotation never cuts a sidecar off; a sidecar uses its
 * newer password the next time it connects. A node that cannot be written fails the call, so
 * the reconcile retries; a node that joins or comes back is written when the operator sees it.
 */
export class TenantAclUsers {
  readonly #nodes: () => AclNode[]
  readonly #passwords: RedisPasswords
  /**
   * Rules last written per node connection and tenant by this process: GETUSER shows passwords
   * only as hashes. A new connection (a node back after a restart) has none, so it is written.
   */
  readonly #written = new WeakMap<AclNode, Map<string, string>>()
  /** Nodes that said they keep no ACL file: saving there is a wasted round trip per write. */
  readonly #cannotSave = new WeakSet<AclNode>()

  constructor(nodes: () => AclNode[], passwords: RedisPasswords) {
    this.#nodes = nodes
    this.#passwords = passwords
  }

  /** ensure makes the tenant's user match its rules and the current passwords on every node. Idempotent. */
  async ensure(tenant: string, now = new Date()): Promise<AclSync> {
    const name = tenantAclUser(tenant)
    const rules = tenantAclRules(tenant)
    const passwords = this.#passwords.accepted(tenant, now)
    const rotateInMs = this.#passwords.untilNextEpoch(now)
    const digest = JSON.stringify(rules)
    const written = await Promise.all(
      this.#nodes().map(async (node) => {
        const user = (await node.call('ACL', 'GETUSER', name)) as unknown[] | null
        const seen = this.#written.get(node)
        if (user && seen?.get(tenant) === digest && sameHashes(field(user, 'passwords'), passwords))
          return false
        await node.call('ACL', 'SETUSER', name, 'resetpass', ...rules, ...passwords.map((p) => `>${p}`))
        if (seen) seen.set(tenant, digest)
        else this.#written.set(node, new Map([[tenant, digest]]))
        await this.#save(node)
        return true
      }),
    )
    return { written: written.some(Boolean), rotateInMs }
  }

  /** remove deletes the tenant's user on every node; Redis closes the connections that used it. */
  async remove(tenant: string): Promise<void> {
    await Promise.all(
      this.#nodes().map(async (node) => {
        await node.call('ACL', 'DELUSER', tenantAclUser(tenant))
        this.#written.get(node)?.delete(tenant)
        await this.#save(node)
      }),
    )
  }

  /**
   * #save persists the users when the node keeps them in an ACL file; a node configured without
   * one loses them at restart, and the operator writes them again when it sees the node again.
   */
  async #save(node: AclNode): Promise<void> {
    if (this.#cannotSave.has(node)) return
    try {
      await node.call('ACL', 'SAVE')
    } catch (error) {
      if (!/not configured to use an ACL file/.test((error as Error).message)) throw error
      this.#cannotSave.add(node)
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
