import { join } from 'node:path'
import type { ClusterCerts } from './certs.ts'
import type { NetworkNamespace } from './netns.ts'
import { ServerProcess } from './process.ts'

/**
 * controllerProcesses are kube-controller-manager (namespaces, garbage collection, ReplicaSets,
 * ServiceAccounts and their tokens, EndpointSlices, certificate signing) and kube-scheduler, inside
 * the node's namespace, each with its own kubeconfig. One replica each, so no leader election.
 */
export function controllerProcesses(options: {
  dir: string
  binDir: string
  netns: NetworkNamespace
  certs: ClusterCerts
  kubeconfigs: { controllerManager: string; scheduler: string }
  serviceCIDR: string
}): ServerProcess[] {
  const { dir, binDir, netns, certs, kubeconfigs } = options
  const auth = (kubeconfig: string) => [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
  ]
  return [
    new ServerProcess(
      'kube-controller-manager',
      ...netns.inside(join(binDir, 'kube-controller-manager'), [
        ...auth(kubeconfigs.controllerManager),
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${certs.serviceAccountKey}`,
        `--root-ca-file=${certs.caCert}`,
        `--cluster-signing-cert-file=${certs.caCert}`,
        `--cluster-signing-key-file=${certs.caKey}`,
        `--service-cluster-ip-range=${options.serviceCIDR}`,
        '--v=1',
      ]),
      join(dir, 'kube-controller-manager.log'),
    ),
    new ServerProcess(
      'kube-scheduler',
      ...netns.inside(join(binDir, 'kube-scheduler'), [...auth(kubeconfigs.scheduler), '--v=1']),
      join(dir, 'kube-scheduler.log'),
    ),
  ]
}
