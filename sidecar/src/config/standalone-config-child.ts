import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ERRORS, type ErrorCode, TollgateError } from '../errors.ts'
import type { StandaloneConfig } from './standalone-config.ts'

const KEY_VARIABLES = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']

/**
 * loadStandaloneConfigInChild runs loadStandaloneConfig in a short-lived child process. Reading the
 * file needs the YAML parser, the CRD schemas, Ajv and the CEL interpreter once at start and never
 * again; loaded in the sidecar they would stay resident for its whole life (about 25 MB, next to
 * every pod of a developer's machine), while the child's memory goes back to the system when it
 * exits. The child also loads them while the sidecar loads its own modules, on another core.
 */
export function loadStandaloneConfigInChild(
  file: string,
  tenant: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<StandaloneConfig> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env }
  for (const name of KEY_VARIABLES) {
    if (env[name] === undefined) delete childEnv[name]
    else childEnv[name] = env[name]
  }
  const entry = fileURLToPath(new URL('./load-standalone-config.ts', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, file, tenant ?? ''], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.once('error', (cause) =>
      reject(
        new TollgateError('TOLLGATE_ERR_INVALID_CONFIG', `${file}: cannot start the config loader`, {
          cause,
        }),
      ),
    )
    child.once('close', (code) => {
      if (code === 0) {
        try {
          const loaded = JSON.parse(Buffer.concat(out).toString()) as Omit<StandaloneConfig, 'keys'> & {
            keys: Record<string, string>
          }
          resolve({ ...loaded, keys: new Map(Object.entries(loaded.keys)) })
        } catch (cause) {
          reject(
            new TollgateError('TOLLGATE_ERR_INVALID_CONFIG', `${file}: config loader sent no config`, {
              cause,
            }),
          )
        }
        return
      }
      const text = Buffer.concat(err).toString()
      let failure: { code?: string; message?: string } = {}
      try {
        failure = JSON.parse(text)
      } catch {
        failure = { message: text.trim().split('\n')[0] || `config loader exited with ${code}` }
      }
      const errorCode = (
        failure.code && failure.code in ERRORS ? failure.code : 'TOLLGATE_ERR_INVALID_CONFIG'
      ) as ErrorCode
      reject(new TollgateError(errorCode, failure.message ?? `${file}: invalid config`))
    })
  })
}
