import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto'
import type { CoreV1Api, V1OwnerReference, V1Secret } from '@kubernetes/client-node'
import { type ConfigKey, configKey } from '@tollgate/api'
import { isConflict, isNotFound } from '../runtime/kube.ts'

/** The Secret's keys: the Ed25519 key that signs configs, and the seed other keys derive from. */
const DATA = { signing: 'config-signing.pem', seed: 'seed' } as const

/** Purpose names a key derived from the seed, so one purpose's key says nothing about another's. */
export type KeyPurpose = 'redis-acl' | 'injection'

/**
 * OperatorKeys are the operator's own secrets, the same on every replica: the config signing key
 * and a seed from which the Redis passwords and the injection attestation key are derived (HKDF),
 * so replicas agree on them without storing each one.
 */
export interface OperatorKeys {
  signingKey: KeyObject
  /** The public half, as the exchange hands it to sidecars. */
  configKeys: ConfigKey[]
  derive(purpose: KeyPurpose): Buffer
}

/** operatorKeys builds OperatorKeys from a signing key and a seed (tests build them directly). */
export function operatorKeys(signingKey: KeyObject, seed: Buffer): OperatorKeys {
  return {
    signingKey,
    configKeys: [configKey(createPublicKey(signingKey))],
    derive: (purpose) => Buffer.from(hkdfSync('sha256', seed, '', `tollgate.dev/${purpose}`, 32)),
  }
}

/** generateOperatorKeys makes fresh keys (what a missing Secret is created with). */
export function generateOperatorKeys(): { signingKey: KeyObject; seed: Buffer } {
  return { signingKey: generateKeyPairSync('ed25519').privateKey, seed: randomBytes(32) }
}

/**
 * loadOperatorKeys reads the keys Secret in the operator's namespace, creating it when it is
 * missing. Replicas that start together race on the create; the API server lets one win and the
 * others read the winner's keys, so all of them sign and derive alike.
 */
export async function loadOperatorKeys(
  core: CoreV1Api,
  namespace: string,
  name: string,
  /** Set on the Secret when it is created, so it is garbage-collected with its owner (runtime/owner.ts). */
  owner?: V1OwnerReference,
): Promise<OperatorKeys> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await read(core, namespace, name)
    if (existing) return fromSecret(existing, `${namespace}/${name}`)
    const fresh = generateOperatorKeys()
    try {
      await core.createNamespacedSecret({ namespace, body: toSecret(namespace, name, fresh, owner) })
      return operatorKeys(fresh.signingKey, fresh.seed)
    } catch (error) {
      if (!isConflict(error)) throw new Error(`create Secret ${namespace}/${name}`, { cause: error })
    }
  }
  throw new Error(`Secret ${namespace}/${name}: created and gone again`)
}

async function read(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name })
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw new Error(`read Secret ${namespace}/${name}`, { cause: error })
  }
}

function fromSecret(secret: V1Secret, where: string): OperatorKeys {
  const pem = secret.data?.[DATA.signing]
  const seed = secret.data?.[DATA.seed]
  if (!pem || !seed) throw new Error(`Secret ${where} lacks ${DATA.signing} or ${DATA.seed}`)
  const signingKey = createPrivateKey(Buffer.from(pem, 'base64').toString('utf8'))
  if (signingKey.asymmetricKeyType !== 'ed25519')
    throw new Error(`Secret ${where}: ${DATA.signing} is not Ed25519`)
  const seedBytes = Buffer.from(seed, 'base64')
  if (seedBytes.length < 32) throw new Error(`Secret ${where}: ${DATA.seed} is shorter than 32 bytes`)
  return operatorKeys(signingKey, seedBytes)
}

function toSecret(
  namespace: string,
  name: string,
  keys: { signingKey: KeyObject; seed: Buffer },
  owner: V1OwnerReference | undefined,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'tollgate-operator', 'app.kubernetes.io/component': 'keys' },
      ...(owner && { ownerReferences: [owner] }),
    },
    data: {
      [DATA.signing]: Buffer.from(keys.signingKey.export({ type: 'pkcs8', format: 'pem' })).toString(
        'base64',
      ),
      [DATA.seed]: keys.seed.toString('base64'),
    },
  }
}
