import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NetworkNamespace } from './netns.ts'
import { ServerProcess } from './process.ts'

/**
 * kubeProxyProcess is kube-proxy in iptables mode inside the node's namespace: it makes ClusterIP
 * Services work, with its rules in that namespace's tables only. The conntrack settings are zero so
 * it leaves the machine-wide conntrack sysctls alone.
 */
export function kubeProxyProcess(options: {
  dir: string
  binDir: string
  netns: NetworkNamespace
  nodeName: string
  podCIDR: string
  kubeconfig: string
}): ServerProcess {
  const dir = join(options.dir, 'kube-proxy')
  mkdirSync(dir, { recursive: true })
  const config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: ${options.kubeconfig} }
clusterCIDR: ${options.podCIDR}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
`,
  )
  return new ServerProcess(
    'kube-proxy',
    ...options.netns.inside(join(options.binDir, 'kube-proxy'), [
      `--config=${config}`,
      `--hostname-override=${options.nodeName}`,
      '--v=1',
    ]),
    join(options.dir, 'kube-proxy.log'),
  )
}
