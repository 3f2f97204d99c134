import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmdirSync } from 'node:fs'

/**
 * NetworkNamespace is where the node's daemons and every pod live: loopback, a veth pair with
 * both ends inside that carries the node's address (this kernel has no `dummy` links), and later
 * the pods' bridge. It has no link to the host and no default route, so no process in it can send
 * a packet off the machine, and the host never routes to its addresses: the host reaches it only
 * through processes that enter it (nsenter), never by connecting to a node or pod address.
 */
export interface NetworkNamespace {
  name: string
  /** The bind mount that `nsenter --net=` enters. */
  path: string
  nodeIP: string
  /** inside wraps a command so that it runs in the namespace. */
  inside(command: string, args: string[]): [string, string[]]
  /** remove deletes the namespace; what still runs in it keeps it alive but unreachable. */
  remove(): void
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' })

/**
 * createNetworkNamespace makes the namespace `name` (or adopts it when it exists, for a restart).
 * serviceCIDR is routed onto the node's own link: the node's processes (kube-apiserver calling a
 * webhook, say) connect to Service addresses, and the kernel must find a route before kube-proxy's
 * rules rewrite the destination to a pod. The link's peer is in the namespace too, so a packet
 * no rule rewrites goes nowhere.
 */
export function createNetworkNamespace(name: string, nodeIP: string, serviceCIDR: string): NetworkNamespace {
  const path = `/run/netns/${name}`
  if (!existsSync(path)) ip('netns', 'add', name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  try {
    ip('-n', name, 'link', 'show', 'node0')
  } catch {
    ip('-n', name, 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0-stub')
    ip('-n', name, 'addr', 'add', `${nodeIP}/32`, 'dev', 'node0')
    ip('-n', name, 'link', 'set', 'node0-stub', 'up')
    ip('-n', name, 'link', 'set', 'node0', 'up')
    ip('-n', name, 'route', 'add', serviceCIDR, 'dev', 'node0', 'src', nodeIP)
  }
  const inside = (command: string, args: string[]): [string, string[]] => [
    'nsenter',
    [`--net=${path}`, '--', command, ...args],
  ]
  // Pods reach Services through the bridge; forwarding stays a setting of this namespace only.
  execFileSync(...inside('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']), { stdio: 'pipe' })
  return { name, path, nodeIP, inside, remove: () => removeNetworkNamespace(name) }
}

/** removeNetworkNamespace deletes the namespace if it exists, and /run/netns once it is empty. */
export function removeNetworkNamespace(name: string): void {
  if (existsSync(`/run/netns/${name}`)) ip('netns', 'del', name)
  // `ip netns add` made /run/netns a shared bind mount; undo it when no namespace is left.
  if (existsSync('/run/netns') && readdirSync('/run/netns').length === 0) {
    try {
      execFileSync('umount', ['/run/netns'], { stdio: 'pipe' })
    } catch {
      // not a mount point: someone else made the folder
    }
    rmdirSync('/run/netns')
  }
}
