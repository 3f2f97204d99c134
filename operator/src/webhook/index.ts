// The injection webhook's public surface for the rest of the operator.
export { type OperatorComponent, webhookComponents } from './components.ts'
export { type InjectionResult, injectPod } from './inject.ts'
export { DEFAULT_INJECTION_CONFIG, InjectionConfig, parseInjectionConfig } from './injection-config.ts'
export { collectMediation, MEDIATED_CONDITION, type MediationStatus, mediationStatus } from './mediation.ts'
export { MediationController } from './mediation-controller.ts'
export { type RunningWebhook, startWebhook, type WebhookOptions } from './start-webhook.ts'
export { isTenantReady, ownsNamespace, tenantsOwning } from './tenant-ownership.ts'
export { parseWebhookFlags, WEBHOOK_HELP, WEBHOOK_OPTIONS, type WebhookFlags } from './webhook-flags.ts'
