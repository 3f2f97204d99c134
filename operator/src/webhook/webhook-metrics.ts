import { Counter, type Registry } from 'prom-client'
import { isProblem, type SkipReason } from './decide.ts'

/** AdmissionResult is the `result` label: what happened to one pod. */
export type AdmissionResult = 'injected' | 'ignored' | 'skipped' | 'denied'

/**
 * WebhookMetrics counts every pod the webhook saw, by result and reason. `skipped` and `denied`
 * are pods that wanted a sidecar and did not get one; the chart's PrometheusRule alerts on them.
 */
export class WebhookMetrics {
  readonly #admissions: Counter<'result' | 'reason'>

  constructor(registry: Registry) {
    this.#admissions = new Counter({
      name: 'tollgate_webhook_admissions_total',
      help: 'Pods seen by the injection webhook, by result (injected, ignored, skipped, denied) and reason.',
      labelNames: ['result', 'reason'],
      registers: [registry],
    })
  }

  /** injected counts a pod that got its sidecar. */
  injected() {
    this.#admissions.inc({ result: 'injected', reason: 'Injected' })
  }

  /** notInjected counts a pod that was left alone, as ignored, skipped or denied. */
  notInjected(reason: SkipReason, denied: boolean): AdmissionResult {
    const result: AdmissionResult = !isProblem(reason) ? 'ignored' : denied ? 'denied' : 'skipped'
    this.#admissions.inc({ result, reason })
    return result
  }
}
