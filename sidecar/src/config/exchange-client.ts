import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import {
  type CredentialResponse,
  credentialRequest,
  parseCredentialResponse,
} from '@tollgate/api/exchange.ts'
import { TollgateError } from '../errors.ts'

// node:https through require() for the reason node-http.ts gives for node:http.
const https = createRequire(import.meta.url)('node:https') as typeof import('node:https')

/** ExchangeTarget is where and how the sidecar exchanges its token (all from the injected pod spec). */
export interface ExchangeTarget {
  /** `https://tollgate.tollgate-system.svc:443/exchange`. */
  url: string
  /** PEM bundle of the CA that issued the operator's serving certificate; nothing else is trusted. */
  ca: string
  /** The projected ServiceAccount token (audience tollgate.dev); kubelet rewrites it, so it is read each time. */
  tokenFile: string
  tenant: string
  timeoutMs?: number
}

/**
 * exchangeCredentials presents the pod's token to the operator and returns the material it
 * answers with. It throws TOLLGATE_ERR_EXCHANGE_FAILED with the operator's reason when refused,
 * and for anything else (no token file, TLS, timeout); the token never appears in an error.
 */
export async function exchangeCredentials(target: ExchangeTarget): Promise<CredentialResponse> {
  let token: string
  try {
    token = (await readFile(target.tokenFile, 'utf8')).trim()
  } catch (cause) {
    throw new TollgateError(
      'TOLLGATE_ERR_EXCHANGE_FAILED',
      `cannot read the token file ${target.tokenFile}`,
      {
        cause,
      },
    )
  }
  const body = JSON.stringify(credentialRequest(target.tenant))
  const { status, text } = await post(target, token, body)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  if (status !== 200) {
    const reason = (value as { error?: { code?: string; message?: string } })?.error
    throw new TollgateError(
      'TOLLGATE_ERR_EXCHANGE_FAILED',
      `the operator answered ${status}${reason ? ` ${reason.code}: ${reason.message}` : ''}`,
    )
  }
  try {
    return parseCredentialResponse(value, target.tenant)
  } catch (cause) {
    throw new TollgateError(
      'TOLLGATE_ERR_EXCHANGE_FAILED',
      'the operator answered with unusable credentials',
      {
        cause,
      },
    )
  }
}

function post(
  target: ExchangeTarget,
  token: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const fail = (cause: unknown) =>
      reject(new TollgateError('TOLLGATE_ERR_EXCHANGE_FAILED', `cannot reach ${target.url}`, { cause }))
    const req = https.request(
      target.url,
      {
        method: 'POST',
        ca: target.ca,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: target.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', fail)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', fail)
    req.end(body)
  })
}
