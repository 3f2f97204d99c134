import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { makeClusterCerts } from './certs.ts'
import { startContainerd } from './containerd.ts'
import { type ControlPlane, renderKubeconfig, startControlPlane } from './control-plane.ts'
import { controllerProcesses } from './controllers.ts'
import { kubeProxyProcess } from './kube-proxy.ts'
import { cgroupPids, kubeletProcess, removeCgroupRoot } from './kubelet.ts'
import { createNetworkNamespace, removeNetworkNamespace } from './netns.ts'
import { isEnforcing, networkPolicyProcess, networkPolicyRBAC } from './network-policy.ts'
import { freePort, pidsUsing, type ServerProcess, waitFor } from './process.ts'
import type { Service } from './service.ts'

/**
 * The node's addresses. They exist only inside the node's network namespace: the host has no route
 * to them but its default one, so it must never connect to them.
 */
const NODE_IP = '10.254.254.2'
const POD_CIDR = '10.244.0.0/24'
const SERVICE_CIDR = '10.96.0.0/24'
const CLUSTER_DNS = '10.96.0.10'
const NODE_NAME = 'node-1'

/**
 * Cluster is a real one-node Kubernetes: control plane, containerd, kubelet, kube-proxy, kube-router's
 * NetworkPolicy enforcer, CoreDNS.
 */
export interface Cluster extends Service {
  /** A kubeconfig for the host, through the loopback forwarder, user in system:masters. */
  kubeconfig: string
  url: string
  nodeName: string
  /** kubectl runs kubectl against the cluster and returns its stdout. */
  kubectl(...args: string[]): string
  /** importImages loads OCI archives into the node's containerd. */
  importImages(archives: string[]): void
}

/** identity names the namespace and cgroup of the cluster in dir, so a sweep finds them from dir alone. */
const identity = (dir: string) => {
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 8)
  return { netns: `tollgate-${id}`, cgroupRoot: `/tollgate-${id}`, cniNetwork: `tollgate-${id}` }
}

/**
 * startCluster starts a real single-node cluster with all state under dir, imports the given image
 * archives, and waits until the node is Ready and cluster DNS answers. `sandboxImage` and
 * `dnsImage` are references among the imported images. On failure it sweeps what it started.
 */
export async function startCluster(options: {
  dir: string
  binDir: string
  images: string[]
  sandboxImage: string
  dnsImage: string
  port?: number
}): Promise<Cluster> {
  const { dir, binDir } = options
  mkdirSync(dir, { recursive: true })
  try {
    return await start({ ...options, dir, binDir })
  } catch (error) {
    await sweepCluster(dir)
    throw error
  }
}

async function start(options: Parameters<typeof startCluster>[0]): Promise<Cluster> {
  const { dir, binDir } = options
  const id = identity(dir)
  const netns = createNetworkNamespace(id.netns, NODE_IP, SERVICE_CIDR)
  const certs = makeClusterCerts(join(dir, 'pki'), {
    nodeName: NODE_NAME,
    nodeIP: NODE_IP,
    apiserverSANs: [
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'IP:127.0.0.1',
      `IP:${NODE_IP}`,
      `IP:${SERVICE_CIDR.replace(/0\/\d+$/, '1')}`,
    ],
  })
  const cniConfDir = join(dir, 'cni')
  mkdirSync(cniConfDir, { recursive: true })
  writeFileSync(join(cniConfDir, '10-tollgate.conflist'), renderCNI(id.cniNetwork, join(dir, 'cni-ipam')))

  const containerd = await startContainerd({
    dir: join(dir, 'containerd'),
    netns,
    sandboxImage: options.sandboxImage,
    cniConfDir,
  })
  containerd.importImages(options.images)
  const controlPlane: ControlPlane = await startControlPlane({
    dir: join(dir, 'control-plane'),
    binDir,
    port: options.port ?? (await freePort()),
    cluster: { netns, certs, serviceCIDR: SERVICE_CIDR },
  })
  // The node's components talk to kube-apiserver inside the namespace.
  const kubeconfigFor = (name: string, pair: { cert: string; key: string }) => {
    const path = join(dir, `${name}.kubeconfig`)
    writeFileSync(path, renderKubeconfig('https://127.0.0.1:6443', certs.caCert, pair.cert, pair.key))
    return path
  }
  const agents: ServerProcess[] = [
    ...controllerProcesses({
      dir,
      binDir,
      netns,
      certs,
      kubeconfigs: {
        controllerManager: kubeconfigFor('controller-manager', certs.controllerManager),
        scheduler: kubeconfigFor('scheduler', certs.scheduler),
      },
      serviceCIDR: SERVICE_CIDR,
    }),
    kubeletProcess({
      dir,
      binDir,
      netns,
      nodeName: NODE_NAME,
      podCIDR: POD_CIDR,
      clusterDNS: CLUSTER_DNS,
      cgroupRoot: id.cgroupRoot,
      containerdSocket: containerd.socket,
      kubeconfig: kubeconfigFor('kubelet', certs.kubelet),
      serving: certs.kubeletServing,
      clientCA: certs.caCert,
    }),
    kubeProxyProcess({
      dir,
      binDir,
      netns,
      nodeName: NODE_NAME,
      podCIDR: POD_CIDR,
      kubeconfig: kubeconfigFor('kube-proxy', certs.kubeProxy),
    }),
  ]
  // kube-router exits when its Node is not registered yet, so it starts once the node is Ready.
  const enforcer = networkPolicyProcess({
    dir,
    binDir,
    netns,
    nodeName: NODE_NAME,
    serviceCIDR: SERVICE_CIDR,
    kubeconfig: kubeconfigFor('kube-router', certs.kubeRouter),
  })
  const kubectl = (...args: string[]) => {
    try {
      return execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', controlPlane.kubeconfig, ...args], {
        stdio: 'pipe',
        maxBuffer: 64 << 20,
      }).toString()
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
      throw new Error(`kubectl ${args.join(' ')}: ${stderr}`)
    }
  }
  kubectl('apply', '-f', networkPolicyRBAC)
  const startAgents = async () => {
    for (const agent of agents) agent.start()
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        const stopped = agents.find((agent) => !agent.running)
        if (stopped) throw new Error(`${stopped.name} exited; see ${join(dir, `${stopped.name}.log`)}`)
        return (
          kubectl(
            'get',
            'node',
            NODE_NAME,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ) === 'True'
        )
      },
      120_000,
    )
    enforcer.start()
    await waitFor(
      'kube-router enforcing NetworkPolicies',
      async () => {
        if (!enforcer.running) throw new Error(`kube-router exited; see ${join(dir, 'kube-router.log')}`)
        return isEnforcing(netns)
      },
      60_000,
    )
    await waitFor(
      'the default ServiceAccount',
      async () => kubectl('-n', 'default', 'get', 'serviceaccount', 'default') !== '',
      60_000,
    )
  }
  await startAgents()
  const dns = readFileSync(new URL('./manifests/coredns.yaml', import.meta.url), 'utf8')
    .replaceAll('@IMAGE@', options.dnsImage)
    .replaceAll('@CLUSTER_DNS@', CLUSTER_DNS)
  writeFileSync(join(dir, 'coredns.yaml'), dns)
  kubectl('apply', '-f', join(dir, 'coredns.yaml'))
  kubectl('-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s')
  writeFileSync(join(dir, 'kubeconfig'), readFileSync(controlPlane.kubeconfig))

  const processes = [...agents, enforcer, containerd.process]
  const stop = async () => {
    await enforcer.stop()
    for (const agent of agents) await agent.stop()
    await controlPlane.stop()
    await containerd.process.stop()
  }
  return {
    name: 'cluster',
    kubeconfig: join(dir, 'kubeconfig'),
    url: controlPlane.url,
    nodeName: NODE_NAME,
    kubectl,
    importImages: containerd.importImages,
    pids: () => [...processes.map((p) => p.pid), ...controlPlane.pids()],
    start: async () => {
      containerd.process.start()
      await controlPlane.start()
      await startAgents()
    },
    stop,
    close: async () => {
      await sweepCluster(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** renderCNI is a bridge network with host-local addresses and a route to Services only: no default route. */
function renderCNI(network: string, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge: 'tg0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR }]],
            routes: [{ dst: SERVICE_CIDR }],
            dataDir: ipamDir,
          },
        },
      ],
    },
    null,
    2,
  )
}

/**
 * sweepCluster stops everything the cluster in dir runs and removes what it left on the machine:
 * processes (found from dir, the namespace and the node's cgroups, so a sweep also finds what a
 * crashed run left), mounts, cgroups, the network namespace (and with it every iptables rule and
 * ipset the node made: kube-proxy's and kube-router's live in that namespace only) and the files
 * containerd and the kubelet keep at fixed paths. dir itself stays.
 */
export async function sweepCluster(dir: string): Promise<void> {
  const id = identity(dir)
  const netnsPath = `/run/netns/${id.netns}`
  const ours = () => [...new Set([...pidsUsing(dir), ...pidsUsing(netnsPath), ...cgroupPids(id.cgroupRoot)])]
  // The kubelet first, so it restarts no container while the rest goes.
  await terminate(ours().filter((pid) => comm(pid) === 'kubelet'))
  await terminate(cgroupPids(id.cgroupRoot), 'SIGKILL')
  await terminate(ours())
  for (const target of mountsUnder([dir]).sort().reverse()) {
    try {
      execFileSync('umount', ['-l', target], { stdio: 'pipe' })
    } catch {
      // gone with its parent
    }
  }
  removeCgroupRoot(id.cgroupRoot)
  removeNetworkNamespace(id.netns)
  // libcni caches a result per sandbox and network (ours, and containerd's cni-loopback) here.
  const sandboxes = listDir(join(dir, 'containerd/root/io.containerd.grpc.v1.cri/sandboxes'))
  for (const [folder, keep] of [
    [
      '/var/lib/cni/results',
      (name: string) => !name.startsWith(`${id.cniNetwork}-`) && !sandboxes.some((s) => name.includes(s)),
    ],
    ['/var/log/containers', (name: string) => !linksInto(join('/var/log/containers', name), dir)],
  ] as const) {
    if (!existsSync(folder)) continue
    for (const name of readdirSync(folder)) if (!keep(name)) unlinkSync(join(folder, name))
  }
  // Empty folders containerd 1.6, the kubelet and libcni make at fixed paths, only when empty.
  for (const folder of [
    '/var/lib/cni/results',
    '/var/lib/cni',
    '/var/log/containers',
    '/var/log/pods',
    '/run/containerd/s',
    '/run/containerd/runc/k8s.io',
    '/run/containerd/runc',
    '/run/containerd/fifo',
    '/run/containerd',
  ]) {
    try {
      if (existsSync(folder) && readdirSync(folder).length === 0) rmSync(folder, { recursive: true })
    } catch {
      // in use by something else
    }
  }
  const left = ours()
  if (left.length > 0) throw new Error(`cluster sweep: processes still running: ${left.join(' ')}`)
}

/**
 * terminate signals pids and waits until each has exited (a zombie counts as exited), killing
 * what is left after graceMs. A sweep needs no graceful shutdown: kube-apiserver, for one, waits
 * many seconds for watches of pods that are already gone.
 */
async function terminate(pids: number[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  const send = (s: NodeJS.Signals) => {
    for (const pid of pids.filter(alive)) {
      try {
        process.kill(pid, s)
      } catch {
        // gone already
      }
    }
  }
  send(signal)
  for (let i = 0; i < graceMs / 100 && pids.some(alive); i++) await sleep(100)
  send('SIGKILL')
  for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(100)
}

/** alive is false for a process that is gone or a zombie (PID 1 here reaps orphans only every few seconds). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/** mountsUnder lists the mount points below any of the folders, from this process's mount table. */
function mountsUnder(folders: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((target): target is string => !!target && folders.some((f) => target.startsWith(`${f}/`)))
}

const listDir = (path: string) => (existsSync(path) ? readdirSync(path) : [])

const linksInto = (path: string, dir: string) => {
  try {
    return readlinkSync(path).startsWith(dir)
  } catch {
    return false
  }
}
