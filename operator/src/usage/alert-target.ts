import { lookup as dnsLookup } from 'node:dns/promises'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { Agent, request } from 'undici'
import { ERROR_CODES, TollgateError } from '../errors.ts'

/**
 * NOT_PUBLIC are the addresses an alert is never sent to unless its host is listed: loopback,
 * link-local (169.254.169.254 is the cloud metadata service), private and shared ranges (where
 * pods, Services and nodes live), and the reserved ones. A Tenant author picks the URL; without
 * this, the operator would POST from inside the cluster to whatever it names.
 */
const NOT_PUBLIC = (() => {
  const list = new BlockList()
  for (const [net, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 3],
  ] as const)
    list.addSubnet(net, prefix, 'ipv4')
  for (const [net, prefix] of [
    ['::', 127],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const)
    list.addSubnet(net, prefix, 'ipv6')
  return list
})()

/** isPublicAddress is true for an address outside every range in NOT_PUBLIC (mapped IPv4 included). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const ip = mapped?.[1] ?? address
  const family = isIP(ip)
  if (family === 0) return false
  return !NOT_PUBLIC.check(ip, family === 4 ? 'ipv4' : 'ipv6')
}

/** AlertTargetPolicy is what the operator's flags say about alert destinations. */
export interface AlertTargetPolicy {
  /** Hosts that may be reached over http and at non-public addresses (an in-cluster relay). */
  allowHosts: string[]
  /** The whole delivery, connect to last byte. */
  timeoutMs: number
}

/** Resolve returns every address of a host name. */
export type Resolve = (host: string) => Promise<string[]>

const systemResolve: Resolve = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address)

const refused = (message: string) => new TollgateError(ERROR_CODES.ALERT_TARGET_REFUSED, message)

/**
 * AlertTarget delivers budget alerts to the URLs Tenants name, and only where it may: https (http
 * only to listed hosts), every resolved address public (unless the host is listed), checked both
 * before the request and again when the connection is made, from the same answer the socket then
 * uses, so a name that re-resolves to an internal address (DNS rebinding) is caught. No redirects
 * are followed (a 3xx is a failed delivery), and the whole delivery has a deadline.
 */
export class AlertTarget {
  readonly #policy: AlertTargetPolicy
  readonly #resolve: Resolve
  readonly #agent: Agent

  constructor(policy: AlertTargetPolicy, resolve: Resolve = systemResolve) {
    this.#policy = { ...policy, allowHosts: policy.allowHosts.map((h) => h.toLowerCase()) }
    this.#resolve = resolve
    this.#agent = new Agent({
      connect: { lookup: this.#guardedLookup, timeout: Math.min(policy.timeoutMs, 5_000) },
      keepAliveTimeout: 1_000,
    })
  }

  /** check refuses a URL the operator must not send to; it resolves the host to do so. */
  async check(text: string): Promise<URL> {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw refused('the alert webhook URL is not a URL')
    }
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
    const listed = this.#policy.allowHosts.includes(host)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && listed))
      throw refused(
        `alert webhooks must use https (http only to the hosts of --alert-allow-hosts), not ${url.protocol}`,
      )
    if (url.username || url.password) throw refused('the alert webhook URL must not carry credentials')
    if (!listed) await this.#publicAddresses(host)
    return url
  }

  /**
   * post checks the URL and POSTs the JSON body with the given headers (an idempotency key); it
   * resolves with the status, throws on failure.
   */
  async post(text: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
    const url = await this.check(text)
    const response = await request(url, {
      method: 'POST',
      dispatcher: this.#agent,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: this.#policy.timeoutMs,
      bodyTimeout: this.#policy.timeoutMs,
      signal: AbortSignal.timeout(this.#policy.timeoutMs),
    })
    await response.body.dump()
    return response.statusCode
  }

  async close(): Promise<void> {
    await this.#agent.close()
  }

  async #publicAddresses(host: string): Promise<string[]> {
    if (isIP(host) !== 0) {
      if (!isPublicAddress(host))
        throw refused(`alert webhooks are not sent to ${host}: not a public address`)
      return [host]
    }
    let addresses: string[]
    try {
      addresses = await this.#resolve(host)
    } catch (cause) {
      throw new TollgateError(ERROR_CODES.ALERT_DELIVERY, `cannot resolve the alert webhook host`, { cause })
    }
    const internal = addresses.find((a) => !isPublicAddress(a))
    if (addresses.length === 0 || internal)
      throw refused(
        `alert webhooks are not sent to ${host}: it resolves to ${internal ?? 'nothing'}, not a public address`,
      )
    return addresses
  }

  /** #guardedLookup is the socket's own name lookup: the addresses it connects to are the checked ones. */
  #guardedLookup: LookupFunction = (hostname, options, callback) => {
    const host = hostname.toLowerCase()
    const answer = this.#policy.allowHosts.includes(host) ? this.#resolve(host) : this.#publicAddresses(host)
    answer.then(
      (addresses) => {
        const all = addresses.map((address) => ({ address, family: isIP(address) }))
        if (options.all) callback(null, all)
        else callback(null, all[0]?.address ?? '', all[0]?.family ?? 4)
      },
      (error) => callback(error as NodeJS.ErrnoException, '', 4),
    )
  }
}
