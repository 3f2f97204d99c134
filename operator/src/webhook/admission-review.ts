import type { V1Pod } from '@kubernetes/client-node'

/** AdmissionReview is admission.k8s.io/v1 AdmissionReview, the parts the webhook reads and writes. */
export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1'
  kind: 'AdmissionReview'
  request?: AdmissionRequest
  response?: AdmissionResponse
}

export interface AdmissionRequest {
  uid: string
  kind: { group: string; version: string; kind: string }
  resource: { group: string; version: string; resource: string }
  subResource?: string
  name?: string
  namespace?: string
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
  object?: V1Pod
  dryRun?: boolean
}

export interface AdmissionResponse {
  uid: string
  allowed: boolean
  patchType?: 'JSONPatch'
  /** base64 of the JSON text of the RFC 6902 patch. */
  patch?: string
  warnings?: string[]
  status?: { code: number; reason?: string; message: string }
}

/** isAdmissionReview checks the envelope before anything reads it. */
export function isAdmissionReview(value: unknown): value is AdmissionReview & { request: AdmissionRequest } {
  const review = value as AdmissionReview | undefined
  return (
    review?.apiVersion === 'admission.k8s.io/v1' &&
    review.kind === 'AdmissionReview' &&
    typeof review.request?.uid === 'string'
  )
}
