import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { NetworkNamespace } from './netns.ts'
import { ServerProcess } from './process.ts'

/**
 * networkPolicyRBAC is the ClusterRole and binding of kube-router's user, system:kube-router. It
 * must be applied before kube-router starts: its informers give up after a minute without rights.
 */
export const networkPolicyRBAC = new URL('./manifests/kube-router-rbac.yaml', import.meta.url).pathname

/**
 * networkPolicyProcess is kube-router's firewall controller, and nothing else of kube-router, inside
 * the node's namespace: it enforces NetworkPolicies with iptables rules and ipsets, and both
 * belong to that namespace (ipsets are per network namespace like iptables), so they die with it.
 * It is a test enforcer for the real node only; the chart neither ships nor needs it.
 *
 * - Its router (BGP, CNI config, routes) and service proxy are off: the bridge CNI and kube-proxy
 *   do that, and those parts would write /etc/cni and /etc/iproute2 on the host.
 * - It needs no pod CIDR, which is as well: the Node's spec.podCIDR is empty (the kubelet's podCIDR
 *   setting counts only in standalone mode, and kube-controller-manager allocates none here). The
 *   firewall matches each pod's own address, read from its Pod. It finds its Node by
 *   --hostname-override (and exits if the Node is not registered yet) and takes the node address
 *   from it, to let the node reach its pods (probes, kube-apiserver's proxy).
 * - It calls `iptables`, `iptables-save` and `ipset` from PATH, as kube-proxy calls `iptables`, so
 *   both write the same backend (nf_tables on Debian 12); rules of the two backends would not see
 *   each other.
 * - The health port is off: kube-router serves it with http.DefaultServeMux on every address, and
 *   net/http/pprof is registered there, so any pod could read the process's memory profile.
 */
export function networkPolicyProcess(options: {
  dir: string
  binDir: string
  netns: NetworkNamespace
  nodeName: string
  serviceCIDR: string
  kubeconfig: string
}): ServerProcess {
  return new ServerProcess(
    'kube-router',
    ...options.netns.inside(join(options.binDir, 'kube-router'), [
      `--kubeconfig=${options.kubeconfig}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      `--hostname-override=${options.nodeName}`,
      `--service-cluster-ip-range=${options.serviceCIDR}`,
      '--health-port=0',
      '--metrics-port=0',
      '--v=1',
    ]),
    join(options.dir, 'kube-router.log'),
  )
}

/**
 * isEnforcing is true once kube-router has hooked its chains into the namespace's FORWARD chain,
 * which it does just before its first full sync; every later change of a Pod, Namespace or
 * NetworkPolicy syncs again, so a test still waits for a new policy to take effect.
 */
export function isEnforcing(netns: NetworkNamespace): boolean {
  try {
    const rules = execFileSync(...netns.inside('iptables', ['-t', 'filter', '-S', 'FORWARD']), {
      stdio: 'pipe',
    }).toString()
    return rules.includes('-j KUBE-ROUTER-FORWARD')
  } catch {
    return false
  }
}
