import type { ConfigSource } from '../config/config-source.ts'
import { endpointOf } from '../endpoints.ts'
import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

/**
 * routeStage takes the config in force and picks the provider from the first path segment:
 * `/openai/v1/chat/completions` goes to provider `openai` with path `/v1/chat/completions`.
 */
export const routeStage =
  (source: ConfigSource): Stage =>
  (next) =>
    async function routeStage(ctx) {
      const config = source.current()
      if (!config) {
        throw new TollgateError(
          'TOLLGATE_ERR_CONFIG_UNAVAILABLE',
          `no config loaded yet for tenant ${source.tenant}`,
          {
            headers: { 'retry-after': '1' },
          },
        )
      }
      ctx.config = config
      const url = ctx.req.url ?? '/'
      let end = 1
      while (end < url.length) {
        const c = url.charCodeAt(end)
        if (c === 0x2f || c === 0x3f) break
        end++
      }
      const name = url.slice(1, end)
      const provider = config.providers.get(name)
      if (!provider) {
        const known = [...config.providers.keys()].join(', ')
        throw new TollgateError(
          'TOLLGATE_ERR_UNKNOWN_PROVIDER',
          `no provider "${name}" for tenant ${config.compiled.tenant}; call /<provider>/... with one of: ${known}`,
        )
      }
      ctx.provider = provider
      const rest = url.slice(end)
      ctx.path = rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest
      ctx.endpoint = endpointOf(provider.type, ctx.req.method, ctx.path)
      await next(ctx)
    }
