import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import type { CompiledConfig } from './compiled-config.ts'
import type { ConfigKey } from './exchange.ts'

/**
 * SignedConfig is what the operator stores at `keys.config(tenant)`: the compiled config's JSON
 * text exactly as signed, and an Ed25519 signature over its UTF-8 bytes. Signing the text (not a
 * re-serialised object) means nothing has to be canonicalised: the sidecar verifies the bytes it
 * read and parses only what verified. Whoever can write the key but not sign (a client with the
 * operator's Redis password, a Redis restored from a backup of someone else's) cannot make a
 * sidecar take a config.
 */
export interface SignedConfig {
  /** Format of the envelope. */
  signed: 1
  /** ConfigKey id of the key that signed. */
  keyId: string
  /** The CompiledConfig as JSON text. */
  config: string
  /** Base64 Ed25519 signature of `config`. */
  signature: string
}

/** configKeyId names a public key: the first 16 hex digits of the SHA-256 of its SPKI DER. */
export function configKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16)
}

/** configKey is the exchange's description of a public key. */
export function configKey(publicKey: KeyObject): ConfigKey {
  return {
    id: configKeyId(publicKey),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** signConfig returns the text to store for a compiled config, signed with an Ed25519 private key. */
export function signConfig(config: CompiledConfig, privateKey: KeyObject): string {
  const text = JSON.stringify(config)
  const envelope: SignedConfig = {
    signed: 1,
    keyId: configKeyId(createPublicKey(privateKey)),
    config: text,
    signature: sign(null, Buffer.from(text), privateKey).toString('base64'),
  }
  return JSON.stringify(envelope)
}

/** ConfigSignatureError is a stored value that is not a config signed by a trusted key. */
export class ConfigSignatureError extends Error {
  override name = 'ConfigSignatureError'
}

/** trustedKeys turns the exchange's public keys into a lookup by id. */
export function trustedKeys(keys: readonly ConfigKey[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [k.id, createPublicKey(k.publicKey)]))
}

/**
 * openSignedConfig verifies a stored value and returns the config text that was signed; it throws
 * ConfigSignatureError for anything else (a bare config, an unknown key, a bad signature).
 */
export function openSignedConfig(raw: string, keys: ReadonlyMap<string, KeyObject>): string {
  let envelope: SignedConfig
  try {
    envelope = JSON.parse(raw)
  } catch {
    throw new ConfigSignatureError('stored config is not JSON')
  }
  if (envelope?.signed !== 1 || typeof envelope.config !== 'string' || typeof envelope.signature !== 'string')
    throw new ConfigSignatureError('stored config is not signed')
  const key = keys.get(envelope.keyId)
  if (!key) throw new ConfigSignatureError(`stored config is signed by unknown key ${String(envelope.keyId)}`)
  if (!verify(null, Buffer.from(envelope.config), key, Buffer.from(envelope.signature, 'base64')))
    throw new ConfigSignatureError('stored config signature does not verify')
  return envelope.config
}
