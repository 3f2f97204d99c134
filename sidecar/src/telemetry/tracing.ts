import type { IncomingHttpHeaders } from 'node:http'

/** SpanAttributes are the attributes the sidecar sets: GenAI semantic conventions plus HTTP. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>

/** CallSpan is the one CLIENT span of one call. */
export interface CallSpan {
  /** headers to send upstream so the provider call joins the trace (`traceparent`, `tracestate`). */
  readonly propagation: Record<string, string>
  end(name: string, attributes: SpanAttributes, error: string | undefined): void
}

/** Tracing starts spans; it exists only when an exporter is configured (see tracingEnabled). */
export interface Tracing {
  startSpan(headers: IncomingHttpHeaders): CallSpan
  shutdown(): Promise<void>
}

/**
 * tracingEnabled reads the standard variables. Unlike the SDK's own default (OTLP to localhost),
 * the sidecar traces only when told where to: OTEL_TRACES_EXPORTER other than `none`, or an OTLP
 * endpoint. Otherwise, and whenever OTEL_SDK_DISABLED=true, the SDK is never even loaded, so it
 * costs neither start time nor memory nor work per request.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  const exporters =
    env.OTEL_TRACES_EXPORTER?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? []
  if (exporters.includes('none')) return false
  return exporters.length > 0 || !!env.OTEL_EXPORTER_OTLP_ENDPOINT || !!env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
}

/** startTracing loads and starts the OpenTelemetry SDK when enabled; undefined otherwise. */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined
  const { startOtelTracing } = await import('./otel-tracing.ts')
  return startOtelTracing()
}
