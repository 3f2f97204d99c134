import { type ChildProcess, spawn } from 'node:child_process'
import { KubeConfig } from '@kubernetes/client-node'

/** PluginError is a failure to tell the user in one line (exit 1). */
export class PluginError extends Error {}

/** ConsoleTarget says where the console is and how to reach it. */
export interface ConsoleTarget {
  /** --url / TOLLGATE_CONSOLE_URL; otherwise a port-forward to the Service. */
  url?: string
  /** The operator's namespace and Service (chart: tollgate-system, tollgate), and its console port. */
  namespace: string
  service: string
  port: number
  /** --token / TOLLGATE_TOKEN; otherwise the kubeconfig user's token. */
  token?: string
  kubectl: string
}

/**
 * ConsoleClient calls the operator's console API as the user: with a bearer token that the
 * operator checks with a TokenReview, so what the plugin shows is what the user's RBAC allows.
 * Without --url it runs `kubectl port-forward` to the operator's Service for as long as it lives.
 */
export class ConsoleClient {
  readonly #target: ConsoleTarget
  #forward: ChildProcess | undefined
  #base: Promise<string> | undefined

  constructor(target: ConsoleTarget) {
    this.#target = target
  }

  /** token is the bearer token the plugin sends. */
  token(): string {
    if (this.#target.token) return this.#target.token
    const kc = new KubeConfig()
    kc.loadFromDefault()
    const token = kc.getCurrentUser()?.token
    if (token) return token
    throw new PluginError(
      'no bearer token: pass --token "$(kubectl create token NAME)" or set TOLLGATE_TOKEN (your kubeconfig user has none)',
    )
  }

  /** base is the console's URL, starting the port-forward on first use. */
  base(): Promise<string> {
    this.#base ??= this.#target.url
      ? Promise.resolve(this.#target.url.replace(/\/$/, ''))
      : this.#portForward()
    return this.#base
  }

  async #portForward(): Promise<string> {
    const { kubectl, namespace, service, port } = this.#target
    const child = spawn(kubectl, ['port-forward', '-n', namespace, `svc/${service}`, `:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#forward = child
    return new Promise((resolve, reject) => {
      let err = ''
      child.stdout?.on('data', (chunk: Buffer) => {
        const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(chunk.toString())
        if (match) resolve(`http://127.0.0.1:${match[1]}`)
      })
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString()
      })
      child.on('exit', (code) =>
        reject(
          new PluginError(
            `kubectl port-forward to svc/${service} in ${namespace} failed (${code}): ${err.trim()}`,
          ),
        ),
      )
      child.on('error', (error) => reject(new PluginError(`cannot run ${kubectl}: ${error.message}`)))
    })
  }

  /** request calls a path of the console API; a refusal becomes a PluginError with the operator's message. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${await this.base()}${path}`
    let response: Response
    try {
      response = await fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${this.token()}`, ...(init.headers ?? {}) },
      })
    } catch (error) {
      throw new PluginError(`cannot reach the console at ${url}: ${(error as Error).message}`)
    }
    if (!response.ok) {
      const text = await response.text()
      let message = text.trim()
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message
      } catch {}
      throw new PluginError(`${response.status}: ${message}`)
    }
    return response
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T
  }

  close(): void {
    this.#forward?.kill()
  }
}
