import { isModelName } from '@tollgate/api/model-name.ts'
import { requestModel } from '../endpoints/request-model.ts'
import { TollgateError } from '../errors.ts'
import type { Stage } from '../stage.ts'

/**
 * tenantStage applies the tenant's own rules: a suspended tenant gets 403 for every call; a model
 * call must name a model (400) that the sidecar can count (400: characters, length), that the
 * tenant's allow/deny globs admit (403) and that has a price (403 under `unpricedModels: deny`);
 * a background Response is refused (403) unless the provider governs them. A free call that names
 * a model is held to the same name and allow/deny rules.
 */
export const tenantStage = (): Stage => (next) =>
  async function tenantStage(ctx) {
    const { config, provider, endpoint } = ctx
    if (!config || !provider || !endpoint) throw new Error('tenantStage runs after routeStage')
    const tenant = config.compiled.tenant
    if (config.compiled.suspended) {
      throw new TollgateError('TOLLGATE_ERR_TENANT_SUSPENDED', `tenant ${tenant} is suspended`)
    }
    const found = requestModel(endpoint, ctx.json, ctx.form, ctx.batchModel)
    if (found instanceof TollgateError) throw found
    const model = found
    if (model === undefined) {
      if (endpoint.kind === 'model' || endpoint.requiresModel) {
        // a path governed by estimate only because the table does not know it: say how to pass it
        const hint =
          endpoint.name === 'allowed'
            ? `; if ${ctx.req.method} ${ctx.path.split('?')[0]} costs nothing, list it in spec.providers[].endpoints.allow of provider ${provider.name} with as: free`
            : ''
        throw new TollgateError('TOLLGATE_ERR_MODEL_REQUIRED', `the request body must name a model${hint}`, {
          param: 'model',
        })
      }
      await next(ctx)
      return
    }
    if (!isModelName(model)) {
      throw new TollgateError(
        'TOLLGATE_ERR_INVALID_MODEL',
        `the model name is not one the sidecar accepts: at most 256 letters, digits and ._:/@+- (got ${model.length} characters)`,
        { param: 'model' },
      )
    }
    if (!config.modelAllowed(model)) {
      throw new TollgateError(
        'TOLLGATE_ERR_MODEL_NOT_ALLOWED',
        `model ${model} is not allowed for tenant ${tenant}`,
        {
          param: 'model',
        },
      )
    }
    ctx.model = model
    if (endpoint.kind === 'model') {
      if (
        endpoint.background &&
        ctx.json?.background === true &&
        provider.endpoints.backgroundResponses !== 'govern'
      ) {
        throw new TollgateError(
          'TOLLGATE_ERR_ENDPOINT_DISABLED',
          `a background Response runs after this call ends, out of sight of the sidecar's limits. Set ` +
            `spec.providers[].endpoints.backgroundResponses: govern on provider ${provider.name} to charge each its estimate when it is submitted.`,
          { param: 'background' },
        )
      }
      const price = config.priceOf(provider.type, model)
      if (!price) {
        throw new TollgateError(
          'TOLLGATE_ERR_MODEL_UNPRICED',
          `model ${model} has no price, so budgets cannot count it; add its list price to spec.pricing of tenant ${tenant}, ` +
            'or set spec.unpricedModels: estimate to charge it the highest rates of its provider',
          { param: 'model' },
        )
      }
      const fee = config.compiled.unpricedFees === 'allow' ? undefined : unpricedFee(provider.type, ctx.json)
      if (fee) {
        throw new TollgateError(
          'TOLLGATE_ERR_FEE_UNPRICED',
          `${fee} is billed at rates the price table does not hold, so budgets cannot count it; call without it, ` +
            `or set spec.unpricedFees: allow on tenant ${tenant} to serve such calls counting their tokens only`,
          { param: fee.split(':')[0] },
        )
      }
      ctx.price = price
    }
    await next(ctx)
  }

/** Tool types whose use costs nothing beyond the tokens of the call. */
const TOKEN_ONLY_TOOLS = new Set([
  'function',
  'custom',
  'mcp',
  'local_shell',
  'shell',
  'apply_patch',
  'computer_use_preview',
])
/** Anthropic server tools priced by the table (web search) or costing only their tokens. */
const PRICED_ANTHROPIC_TOOL = /^(web_search|web_fetch|tool_search|memory|text_editor|bash|computer)_/

/**
 * unpricedFee names a fee a call asks for that the price table has no rates for: Anthropic's
 * fast mode (`speed: fast`) and code execution, OpenAI's priority processing (`service_tier:
 * priority`), the chat search options and the built-in tools of the Responses API that bill per
 * call or per session (web and file search, code interpreter, image generation...).
 */
function unpricedFee(type: string, body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return undefined
  const tools = Array.isArray(body.tools) ? (body.tools as { type?: unknown }[]) : []
  if (type === 'anthropic') {
    if (body.speed === 'fast') return 'speed: fast'
    for (const tool of tools) {
      const t = typeof tool?.type === 'string' ? tool.type : 'custom'
      if (t !== 'custom' && !PRICED_ANTHROPIC_TOOL.test(t)) return `tools: ${t}`
    }
    return undefined
  }
  if (type !== 'openai') return undefined
  if (body.service_tier === 'priority') return 'service_tier: priority'
  if (body.web_search_options !== undefined) return 'web_search_options'
  for (const tool of tools) {
    const t = typeof tool?.type === 'string' ? tool.type : 'function'
    if (!TOKEN_ONLY_TOOLS.has(t)) return `tools: ${t}`
  }
  return undefined
}
