import type { IncomingHttpHeaders } from 'node:http'
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { NodeSDK } from '@opentelemetry/sdk-node'
import type { CallSpan, SpanAttributes, Tracing } from './tracing.ts'

/**
 * startOtelTracing starts the OpenTelemetry NodeSDK for traces only (metrics are Prometheus on the
 * admin port; no auto-instrumentation: the sidecar makes exactly one span per call itself). The
 * exporter, endpoint, protocol, sampler and resource come from the standard OTEL_* variables.
 */
export function startOtelTracing(): Tracing {
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'tollgate-sidecar',
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  })
  sdk.start()
  const tracer = trace.getTracer('tollgate-sidecar')
  return {
    startSpan(headers: IncomingHttpHeaders): CallSpan {
      const parent = propagation.extract(ROOT_CONTEXT, headers)
      const span = tracer.startSpan('gen_ai', { kind: SpanKind.CLIENT }, parent)
      const carrier: Record<string, string> = {}
      propagation.inject(trace.setSpan(parent, span), carrier)
      return {
        propagation: carrier,
        end(name: string, attributes: SpanAttributes, error: string | undefined) {
          span.updateName(name)
          for (const [key, value] of Object.entries(attributes))
            if (value !== undefined) span.setAttribute(key, value)
          if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error })
          span.end()
        },
      }
    },
    async shutdown() {
      await context.with(ROOT_CONTEXT, () => sdk.shutdown())
    },
  }
}
