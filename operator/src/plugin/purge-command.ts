import type { ConsoleClient } from './console-client.ts'

/** purgeCommand purges a tenant's cache as the user (who must be allowed to patch the Tenant). */
export async function purgeCommand(client: ConsoleClient, tenant: string): Promise<string> {
  const answer = await client.json<{ purged: string }>(
    `/api/v1/analytics/purge?tenant=${encodeURIComponent(tenant)}`,
    { method: 'POST' },
  )
  return `tenant ${tenant}: cache purged (tollgate.dev/cache-purge=${answer.purged})\n`
}
