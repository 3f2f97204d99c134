import type { DestinationStream, Logger } from 'pino'
import type { ConfigSource } from './config/config-source.ts'
import { loadStandaloneConfigInChild } from './config/standalone-config-child.ts'
import type { SidecarOptions } from './flags.ts'
import type { MemoryUsageRecorder, UsageRecorder } from './usage/usage-recorder.ts'

/** Sidecar is a running sidecar: its addresses, parts tests look at, and shutdown. */
export interface Sidecar {
  proxyUrl: string
  adminUrl: string
  log: Logger
  config: ConfigSource
  usage: UsageRecorder
  /** Set in standalone mode without Redis. */
  memoryUsage: MemoryUsageRecorder | undefined
  /** shutdown drains calls in flight up to the deadline, flushes usage and stops everything. */
  shutdown(deadlineMs?: number): Promise<void>
}

/**
 * startSidecar starts a sidecar from its options (see assembleSidecar). A `--config` file is read
 * first, in a child process, so that it is validated while this process loads the proxy itself.
 * It throws TOLLGATE_ERR_INVALID_CONFIG before listening when the config cannot be used.
 */
export async function startSidecar(
  options: SidecarOptions,
  env: NodeJS.ProcessEnv = process.env,
  logDestination?: DestinationStream,
): Promise<Sidecar> {
  const standalone = options.configFile
    ? loadStandaloneConfigInChild(options.configFile, options.tenant, env)
    : undefined
  // handled in assembleSidecar; this keeps a failure from counting as unhandled meanwhile
  standalone?.catch(() => {})
  const { assembleSidecar } = await import('./assemble.ts')
  return assembleSidecar(options, env, logDestination, standalone)
}
