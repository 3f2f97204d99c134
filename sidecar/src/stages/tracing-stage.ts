import type { Stage } from '../stage.ts'
import type { Tracing } from '../telemetry/tracing.ts'

/**
 * tracingStage opens one CLIENT span per call with the GenAI semantic-convention attributes and
 * hands its `traceparent` to the upstream request. Without tracing it is not in the chain at all
 * (the app's own `traceparent` then passes through unchanged).
 */
export const tracingStage = (tracing: Tracing | undefined): Stage =>
  tracing
    ? (next) =>
        async function tracingStage(ctx) {
          const span = tracing.startSpan(ctx.req.headers)
          ctx.traceHeaders = span.propagation
          try {
            await next(ctx)
          } finally {
            const operation = ctx.endpoint?.operation
            const usage = ctx.usage
            const counted = usage.inputTokens > 0 || usage.outputTokens > 0
            span.end(
              operation
                ? `${operation} ${ctx.model ?? ''}`.trim()
                : `${ctx.req.method} ${ctx.provider?.name ?? 'tollgate'}`,
              {
                'gen_ai.operation.name': operation,
                'gen_ai.provider.name':
                  ctx.provider && ctx.provider.type !== 'openai-compatible'
                    ? ctx.provider.type
                    : ctx.provider?.name,
                'gen_ai.request.model': ctx.model,
                'gen_ai.response.model': ctx.responseModel,
                'gen_ai.usage.input_tokens': counted ? usage.inputTokens : undefined,
                'gen_ai.usage.output_tokens': counted ? usage.outputTokens : undefined,
                'gen_ai.usage.cached_input_tokens': usage.cachedInputTokens || undefined,
                'gen_ai.usage.reasoning_tokens': usage.reasoningTokens || undefined,
                'http.response.status_code': ctx.status || undefined,
                'tollgate.request_id': ctx.requestId,
                'tollgate.provider': ctx.provider?.name,
                'tollgate.cost_nano_usd': ctx.costNano || undefined,
                'tollgate.stream': ctx.stream,
                'error.type': ctx.error?.code ?? (ctx.status >= 400 ? String(ctx.status) : undefined),
              },
              ctx.error?.code ?? (ctx.status >= 500 ? `HTTP ${ctx.status}` : undefined),
            )
          }
        }
    : (next) => next
