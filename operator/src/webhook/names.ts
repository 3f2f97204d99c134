/** SIDECAR_CONTAINER is the name of the injected native sidecar. */
export const SIDECAR_CONTAINER = 'tollgate-sidecar'

/** TOKEN_VOLUME is the projected ServiceAccount token (audience tollgate.dev), mounted into the sidecar only. */
export const TOKEN_VOLUME = 'tollgate-token'

/** PLACEHOLDER_KEY is the API key apps get when they set none: SDKs refuse to start without one. */
export const PLACEHOLDER_KEY = 'tollgate-placeholder'

/** INJECT_ENABLED and INJECT_DISABLED are the values of the `tollgate.dev/inject` label. */
export const INJECT_ENABLED = 'enabled'
export const INJECT_DISABLED = 'disabled'
