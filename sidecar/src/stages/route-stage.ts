import type { ConfigSource } from '../config/config-source.ts'
import { normalisePath } from '../endpoints/normalise-path.ts'
import { resolveEndpoint } from '../endpoints/resolve-endpoint.ts'
import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

/**
 * routeStage takes the config in force, picks the provider from the first path segment
 * (`/openai/v1/chat/completions` goes to provider `openai`), normalises the rest of the path once
 * (the form both decided on and sent upstream; 400 when ambiguous) and looks it up in the
 * provider's endpoint table: a model call, a free call, or a refusal (404 unknown, 403 disabled).
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
      const normalised = normalisePath(url.slice(end))
      if (!normalised.ok) {
        throw new TollgateError('TOLLGATE_ERR_INVALID_PATH', `the path is ambiguous: ${normalised.problem}`)
      }
      ctx.path = normalised.path + normalised.query
      const { headers } = ctx.req
      const hasBody =
        headers['transfer-encoding'] !== undefined ||
        (headers['content-length'] !== undefined && headers['content-length'] !== '0')
      const endpoint = resolveEndpoint(provider, ctx.req.method ?? 'GET', normalised.path, hasBody)
      if (endpoint instanceof TollgateError) throw endpoint
      ctx.endpoint = endpoint
      await next(ctx)
    }
