import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NetworkNamespace } from './netns.ts'
import { ServerProcess } from './process.ts'

const cgroupFS = '/sys/fs/cgroup'

/** NodeSettings are what the node agents share. */
export interface NodeSettings {
  dir: string
  binDir: string
  netns: NetworkNamespace
  nodeName: string
  podCIDR: string
  clusterDNS: string
  /** The cgroup (in every hierarchy) that holds all pods of this node, so nothing else is touched. */
  cgroupRoot: string
  containerdSocket: string
  kubeconfig: string
  /** The kubelet's serving certificate and the CA its clients present certificates from. */
  serving: { cert: string; key: string }
  clientCA: string
}

/**
 * kubeletProcess writes the KubeletConfiguration and returns the kubelet, not yet started. Facts of
 * this machine it encodes: cgroup v1 (1.33 only warns), cgroupfs (no systemd), swap not refused,
 * image garbage collection that never removes the locally built images, and no real DNS for pods.
 */
export function kubeletProcess(node: NodeSettings): ServerProcess {
  const dir = join(node.dir, 'kubelet')
  mkdirSync(join(dir, 'pod-logs'), { recursive: true })
  const resolvConf = join(dir, 'resolv.conf')
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\n')
  makeCgroupRoot(node.cgroupRoot)
  const config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${node.cgroupRoot}
failSwapOn: false
containerRuntimeEndpoint: unix://${node.containerdSocket}
address: ${node.netns.nodeIP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: ${node.clientCA} }
authorization: { mode: AlwaysAllow }
tlsCertFile: ${node.serving.cert}
tlsPrivateKeyFile: ${node.serving.key}
clusterDomain: cluster.local
clusterDNS: [${node.clusterDNS}]
resolvConf: ${resolvConf}
podCIDR: ${node.podCIDR}
podLogsDir: ${join(dir, 'pod-logs')}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1% }
shutdownGracePeriod: 0s
`,
  )
  return new ServerProcess(
    'kubelet',
    ...node.netns.inside(join(node.binDir, 'kubelet'), [
      `--config=${config}`,
      `--kubeconfig=${node.kubeconfig}`,
      `--root-dir=${join(dir, 'root')}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--hostname-override=${node.nodeName}`,
      `--node-ip=${node.netns.nodeIP}`,
      '--v=1',
    ]),
    join(node.dir, 'kubelet.log'),
  )
}

/** cgroupHierarchies lists the mounted cgroup hierarchies (v1 controllers and the v2 mount). */
function cgroupHierarchies(): string[] {
  if (!existsSync(cgroupFS)) return []
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n')
  return mounts
    .map((line) => line.split(' '))
    .filter(
      ([, target, type]) => target?.startsWith(`${cgroupFS}/`) && (type === 'cgroup' || type === 'cgroup2'),
    )
    .map(([, target]) => target as string)
}

/** makeCgroupRoot creates the node's cgroup in every hierarchy: the kubelet refuses a missing one. */
function makeCgroupRoot(root: string): void {
  for (const hierarchy of cgroupHierarchies()) mkdirSync(join(hierarchy, root), { recursive: true })
}

/** cgroupPids lists the processes in the node's cgroups: every container of every pod. */
export function cgroupPids(root: string): number[] {
  const pids = new Set<number>()
  const walk = (path: string) => {
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n'))
        if (line) pids.add(Number(line))
      for (const entry of readdirSync(path, { withFileTypes: true }))
        if (entry.isDirectory()) walk(join(path, entry.name))
    } catch {
      // removed while we looked
    }
  }
  for (const hierarchy of cgroupHierarchies()) walk(join(hierarchy, root))
  return [...pids]
}

/** removeCgroupRoot removes the node's cgroups, deepest first; each must be empty by then. */
export function removeCgroupRoot(root: string): void {
  const remove = (path: string) => {
    if (!existsSync(path)) return
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (entry.isDirectory()) remove(join(path, entry.name))
    try {
      rmdirSync(path)
    } catch {
      // still has a process; the caller reports what is left
    }
  }
  for (const hierarchy of cgroupHierarchies()) remove(join(hierarchy, root))
}
