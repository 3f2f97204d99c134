import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** OperatorMetrics are the operator's Prometheus metrics, all on one registry (prefix `tollgate_operator_`). */
export interface OperatorMetrics {
  registry: Registry
  reconciles: Counter<'controller' | 'result'>
  reconcileErrors: Counter<'controller' | 'code'>
  reconcileDuration: Histogram<'controller'>
  queueDepth: Gauge<'controller'>
  queueAdds: Counter<'controller'>
  queueRetries: Counter<'controller'>
  informerRestarts: Counter<'resource' | 'reason'>
  informerRelists: Counter<'resource' | 'reason'>
  leader: Gauge
  leaderTransitions: Counter
  configWrites: Counter<'result'>
  usageFlushes: Counter<'result'>
  ledgerRowsSkipped: Counter
  usageFlushDuration: Histogram
  alertsSent: Counter<'result'>
}

/** createMetrics builds a fresh registry (one per operator instance, so tests can run several). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'tollgate_operator_' })
  const registers = [registry]
  const p = 'tollgate_operator_'
  return {
    registry,
    reconciles: new Counter({
      name: `${p}reconcile_total`,
      help: 'Reconciles by controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: `${p}reconcile_errors_total`,
      help: 'Failed reconciles by controller and error code.',
      labelNames: ['controller', 'code'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: `${p}reconcile_duration_seconds`,
      help: 'Time one reconcile took.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: `${p}workqueue_depth`,
      help: 'Keys waiting in the work queue.',
      labelNames: ['controller'],
      registers,
    }),
    queueAdds: new Counter({
      name: `${p}workqueue_adds_total`,
      help: 'Keys added to the work queue.',
      labelNames: ['controller'],
      registers,
    }),
    queueRetries: new Counter({
      name: `${p}workqueue_retries_total`,
      help: 'Keys queued again after a failure.',
      labelNames: ['controller'],
      registers,
    }),
    informerRestarts: new Counter({
      name: `${p}informer_restarts_total`,
      help: 'Watches restarted after an error, by resource and reason.',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    informerRelists: new Counter({
      name: `${p}informer_relists_total`,
      help: 'Full lists, by resource and reason (start, gone, periodic, error).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    leader: new Gauge({
      name: `${p}leader`,
      help: '1 while this replica holds the leader lease.',
      registers,
    }),
    leaderTransitions: new Counter({
      name: `${p}leader_transitions_total`,
      help: 'Times this replica became or stopped being the leader.',
      registers,
    }),
    configWrites: new Counter({
      name: `${p}config_writes_total`,
      help: 'Compiled configs by result (written, unchanged).',
      labelNames: ['result'],
      registers,
    }),
    usageFlushes: new Counter({
      name: `${p}usage_flushes_total`,
      help: 'Per-tenant usage flushes into the ledger by result.',
      labelNames: ['result'],
      registers,
    }),
    ledgerRowsSkipped: new Counter({
      name: `${p}ledger_rows_skipped_total`,
      help: 'Usage rows the ledger cannot hold (a name its key refuses, a counter out of range), skipped and logged.',
      registers,
    }),
    usageFlushDuration: new Histogram({
      name: `${p}usage_flush_duration_seconds`,
      help: 'Time one usage flush round over all tenants took.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    alertsSent: new Counter({
      name: `${p}alerts_total`,
      help: 'Budget alert webhook tries by result (delivered; retried: tried again later; failed: given up).',
      labelNames: ['result'],
      registers,
    }),
  }
}
