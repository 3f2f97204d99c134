import { Attestor } from './attestation.ts'
import type { OperatorSecrets } from './pod-refusals.ts'
import type { InjectionTrust } from './render.ts'

// Fixed inputs for the webhook's tests, so golden files stay byte-for-byte stable.

/** TEST_ATTESTOR signs with a fixed key (a real operator derives it from its seed). */
export const TEST_ATTESTOR = new Attestor(Buffer.alloc(32, 7))

/** TEST_OPERATOR is the operator namespace and own Secrets the golden cases assume. */
export const TEST_OPERATOR: OperatorSecrets = {
  namespace: 'tollgate-system',
  names: ['tollgate-operator-keys', 'tollgate-webhook-cert'],
}

/** TEST_TRUST is a stand-in exchange URL and CA bundle (not a real certificate). */
export const TEST_TRUST: InjectionTrust = {
  exchangeURL: 'https://tollgate.tollgate-system.svc:443/exchange',
  caBundle: '-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n',
}
