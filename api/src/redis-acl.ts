import { channels, keys, PREFIX } from './redis-keys.ts'

/**
 * The Redis ACLs, part of the key layout contract: the operator creates one user per tenant with
 * exactly these rules (and rotating passwords), and uses a user of its own. A sidecar that
 * authenticates as its tenant's user reaches that tenant's counters, spend, usage and cache, reads
 * (never writes) its config, hears its own channel and nothing of any other tenant.
 */

/** OPERATOR_ACL_USER is the operator's own Redis user (its password comes with its Redis URL). */
export const OPERATOR_ACL_USER = 'tollgate-operator'

/** tenantAclUser is the name of a tenant's Redis user. */
export const tenantAclUser = (tenant: string) => `tollgate-tenant-${tenant}`

/**
 * SIDECAR_COMMANDS are the commands the sidecar sends, and those its Lua scripts call (Redis checks
 * commands inside scripts too). No SCAN, KEYS or RANDOMKEY: key permissions do not filter the key
 * names those return. No SPUBLISH: only the operator announces configs. Config changes come over
 * sharded pub/sub (SSUBSCRIBE) on one node and on a cluster alike; a cluster client also asks
 * for the slot map (CLUSTER SLOTS) and follows ASK redirections while a slot migrates (ASKING).
 */
export const SIDECAR_COMMANDS = [
  'get',
  'set',
  'del',
  'mget',
  'exists',
  'incrby',
  'pexpire',
  'hset',
  'xadd',
  'hgetall',
  'hdel',
  'sadd',
  'zadd',
  'zcard',
  'zscore',
  'zrem',
  'zremrangebyscore',
  'time',
  'multi',
  'exec',
  'discard',
  'eval',
  'evalsha',
  'ssubscribe',
  'sunsubscribe',
  'cluster|slots',
  'asking',
  'ping',
  'client|setname',
  'quit',
] as const

/**
 * tenantAclRules are the ACL SETUSER rules of a tenant's user, without passwords. Writable keys are
 * listed by kind because the config key shares the tenant's prefix and must stay read-only
 * (`%R~`); the operator's bookkeeping (`config:version`, `cache-purge`) is not reachable at all.
 */
export function tenantAclRules(tenant: string): string[] {
  const prefix = keys.tenantPrefix(tenant)
  return [
    'on',
    'resetkeys',
    'resetchannels',
    'clearselectors',
    '-@all',
    ...SIDECAR_COMMANDS.map((c) => `+${c}`),
    ...['limit', 'spend', 'usage', 'cache', 'deferred', 'events', 'heartbeat'].map(
      (kind) => `~${prefix}${kind}:*`,
    ),
    `%R~${keys.config(tenant)}`,
    `&${channels.config(tenant)}`,
  ]
}

/**
 * operatorAclRules are the rules of the operator's own user (for the chart and the test stack):
 * every Tollgate key and channel, no dangerous command but INFO (client ready checks) and the ACL
 * subcommands it manages tenant users with. ACL SETUSER makes this user as strong as an admin of
 * the Redis; docs/security.md says so.
 */
export const operatorAclRules = (): string[] => [
  'on',
  `~${PREFIX}*`,
  `&${PREFIX}*`,
  '+@all',
  '-@dangerous',
  '+info',
  '+acl|setuser',
  '+acl|deluser',
  '+acl|getuser',
  '+acl|save',
]
