import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { operatorAclRules } from '@tollgate/api'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { parseCli } from '../operator/src/cli.ts'
import { parseInjectionConfig } from '../operator/src/webhook/injection-config.ts'
import { kubectl, kubectlOK } from './support/kubectl.ts'

// The Helm chart, checked the way a cluster would: helm lint, helm template against golden files
// (UPDATE_GOLDEN=1 rewrites them), the values schema, and a server-side dry run of every rendered
// manifest against the real API server of the shared stack.
const stack = inject('stack')
const root = new URL('..', import.meta.url).pathname
const chart = join(root, 'charts/tollgate')
const golden = join(root, 'test/testdata/chart')
const update = process.env.UPDATE_GOLDEN === '1'
// helm built with `go install` carries no cluster version, so it defaults to an old one.
const KUBE_VERSION = '1.33.0'

const VALUES = {
  default: [] as string[],
  full: ['-f', join(chart, 'ci/full-values.yaml')],
}

function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(stack.binDir, 'helm'), args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** generatedPassword is the bundled Redis's operator password, new on every install. */
const generatedPassword = (manifests: string) => /redis-password: "([A-Za-z0-9]+)"/.exec(manifests)?.[1]

/** withoutGeneratedPassword stands a placeholder in for it, so golden files stay stable. */
function withoutGeneratedPassword(manifests: string): string {
  const password = generatedPassword(manifests)
  return password ? manifests.replaceAll(password, '<generated>') : manifests
}

const template = (namespace: string, extra: string[]) =>
  helm(['template', 'tollgate', chart, '-n', namespace, '--kube-version', KUBE_VERSION, ...extra])

describe('the Helm chart', () => {
  it('ships exactly the CRDs in crds/ (after `npm run crds`, copy them: cp crds/*.yaml charts/tollgate/crds/)', () => {
    const files = readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml'))
    expect(readdirSync(join(chart, 'crds')).sort()).toEqual(files.sort())
    for (const file of files) {
      expect(readFileSync(join(chart, 'crds', file), 'utf8'), file).toBe(
        readFileSync(join(root, 'crds', file), 'utf8'),
      )
    }
  })

  it.each(Object.entries(VALUES))('passes helm lint with the %s values', async (_, values) => {
    const result = await helm(['lint', chart, '--strict', '--kube-version', KUBE_VERSION, ...values])
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed')
    expect(result.code).toBe(0)
  })

  it.each(Object.entries(VALUES))('renders the %s values as in its golden file', async (name, values) => {
    const result = await template('tollgate-system', values)
    expect(result.stderr).toBe('')
    const rendered = withoutGeneratedPassword(result.stdout)
    const file = join(golden, `${name}.yaml`)
    if (update) writeFileSync(file, rendered)
    expect(rendered).toBe(readFileSync(file, 'utf8'))
  })

  it('generates a new Redis password for each install and uses it everywhere', async () => {
    const passwords = await Promise.all(
      [1, 2].map(async () => generatedPassword((await template('t', [])).stdout)),
    )
    expect(passwords[0]).toMatch(/^[A-Za-z0-9]{32}$/)
    expect(passwords[1]).not.toBe(passwords[0])
    const docs = parseAllDocuments((await template('t', [])).stdout).map((d) => d.toJS())
    const secret = docs.find((d) => d?.kind === 'Secret' && d.metadata.name === 'tollgate-connections')
    const password = secret.stringData['redis-password']
    expect(secret.stringData['redis-url']).toBe(
      `redis://tollgate-operator:${password}@tollgate-redis.t.svc:6379`,
    )
  })

  it("gives the bundled Redis's operator user exactly the rules the operator's contract names", async () => {
    const docs = parseAllDocuments((await template('t', [])).stdout).map((d) => d.toJS())
    const redis = docs.find((d) => d?.kind === 'StatefulSet' && d.metadata.name === 'tollgate-redis')
    const script: string = redis.spec.template.spec.initContainers[0].command[2]
    expect(script).toContain(`echo "user tollgate-operator >$PASSWORD ${operatorAclRules().join(' ')}"`)
    expect(script).toContain("echo 'user default off'")
    expect(redis.spec.template.spec.containers[0].args.slice(0, 2)).toEqual(['--aclfile', '/data/users.acl'])
  })

  it('has a golden file for each values file and no other', () => {
    expect(readdirSync(golden).sort()).toEqual(
      Object.keys(VALUES)
        .map((n) => `${n}.yaml`)
        .sort(),
    )
  })

  it.each([
    [
      ['--set', 'webhook.failurePolicy=Sometimes'],
      "at '/webhook/failurePolicy': value must be one of 'Ignore', 'Fail'",
    ],
    [['--set', 'operator.replicas=0'], "at '/operator/replicas'"],
    [['--set', 'redis.url=http://redis:6379'], "at '/redis/url'"],
    [['--set', 'sidecar.logLevel=loud'], "at '/sidecar/logLevel'"],
    [['--set', 'sidecar.leaseFraction=0.9'], "at '/sidecar/leaseFraction'"],
    [['--set', 'tiers.platinum.requestsPerMinute=5'], "at '/tiers'"],
    [['--set', 'operator.replica=2'], "additional properties 'replica' not allowed"],
    [['--set', 'metrics.prometheusRule.budgetNearRatio=1.5'], "at '/metrics/prometheusRule/budgetNearRatio'"],
    [['--set', 'sidecar.redis.url=redis://u:p@redis:6379'], "at '/sidecar/redis/url'"],
    [['--set', 'exchange.ttl=soon'], "at '/exchange/ttl'"],
    [['--set', 'redis.mode=sentinel'], "at '/redis/mode'"],
    // trusting a proxy's user headers needs the NetworkPolicy that lets only the proxy in
    [['--set', 'console.authProxy.enabled=true'], "at '/console/from'"],
    [['--set', 'console.port=0'], "at '/console/port'"],
  ])('refuses bad values at install: %j', async (args, message) => {
    const result = await template('tollgate-system', args)
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain(message)
  })

  it.each([
    [
      ['--set', 'redis.deploy.enabled=false'],
      'redis: set redis.url or redis.existingSecret.name, or keep redis.deploy.enabled=true',
    ],
    [
      ['--set', 'redis.url=redis://a:6379', '--set', 'redis.existingSecret.name=s'],
      'redis: set redis.url or redis.existingSecret.name, not both',
    ],
    [
      ['--set', 'redis.existingSecret.name=s'],
      "sidecar.redis.url: with redis.existingSecret, give the sidecars' Redis address (host and port, no password)",
    ],
    [
      ['--set', 'redis.mode=cluster'],
      "redis.mode=cluster: the bundled Redis is a single node; give the cluster's seed in redis.url or redis.existingSecret",
    ],
    [
      ['--set', 'postgres.deploy.enabled=false'],
      'postgres: set postgres.url or postgres.existingSecret.name, or keep postgres.deploy.enabled=true',
    ],
  ])('fails with one clear line when the connections do not add up: %j', async (args, message) => {
    const result = await template('tollgate-system', args)
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain(message)
  })

  it('points operator and sidecars at a Redis Cluster with redis.mode=cluster, and says nothing of it by default', async () => {
    const render = async (args: string[]) => {
      const docs = parseAllDocuments((await template('tollgate-system', args)).stdout).map((d) => d.toJS())
      const configMap = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'tollgate-config')
      const deployment = docs.find((d) => d?.kind === 'Deployment' && d.metadata.name === 'tollgate')
      const args_: string[] = deployment.spec.template.spec.containers[0].args
      const env = {
        TOLLGATE_REDIS_URL: 'redis://r',
        TOLLGATE_DATABASE_URL: 'postgres://p',
        POD_NAMESPACE: 'ns',
      }
      return {
        injection: parseInjectionConfig(configMap.data['injection.yaml']),
        config: parseCli(args_, env) as { redisMode: string },
      }
    }
    const cluster = await render([
      '--set',
      'redis.url=redis://tollgate-operator:pw@redis-cluster.db:6379',
      '--set',
      'redis.mode=cluster',
    ])
    expect(cluster.config.redisMode).toBe('cluster')
    expect(cluster.injection.redis).toEqual({ url: 'redis://redis-cluster.db:6379', mode: 'cluster' })
    const single = await render([])
    expect(single.config.redisMode).toBe('single')
    expect(single.injection.redis.mode).toBeUndefined()
  })

  it.each(Object.entries(VALUES))(
    'gives the operator an injection config and a command line it accepts (%s values)',
    async (name, values) => {
      const docs = parseAllDocuments((await template('tollgate-system', values)).stdout).map((d) => d.toJS())
      const configMap = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'tollgate-config')
      const injection = parseInjectionConfig(configMap.data['injection.yaml'])
      expect(injection.image).toMatch(/tollgate-sidecar:/)
      expect(injection.leaseFraction).toBe(name === 'full' ? 0.05 : 0.02)
      const deployment = docs.find((d) => d?.kind === 'Deployment' && d.metadata.name === 'tollgate')
      const args: string[] = deployment.spec.template.spec.containers[0].args
      // The operator's own command-line parser, with the environment the Deployment sets.
      const env = {
        TOLLGATE_REDIS_URL: 'redis://r',
        TOLLGATE_DATABASE_URL: 'postgres://p',
        POD_NAMESPACE: 'tollgate-system',
      }
      const config = parseCli(args, env)
      expect(config).toMatchObject({
        command: 'run',
        metricsListen: '0.0.0.0:8080',
        healthListen: '0.0.0.0:8081',
        leaseName: 'tollgate',
        webhook: {
          port: 9443,
          webhookConfigName: 'tollgate',
          serviceName: 'tollgate',
          certSecret: 'tollgate-webhook-cert',
          namespace: 'tollgate-system',
          injectionConfigFile: '/etc/tollgate/injection.yaml',
        },
      })
    },
  )

  describe('rendered manifests on the real API server', () => {
    beforeAll(async () => {
      await kubectlOK(stack, ['apply', '--server-side', '-f', join(root, 'test/fixtures/chart-crds.yaml')])
      await kubectlOK(stack, [
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/servicemonitors.monitoring.coreos.com',
        'crd/podmonitors.monitoring.coreos.com',
        'crd/prometheusrules.monitoring.coreos.com',
        'crd/issuers.cert-manager.io',
        'crd/certificates.cert-manager.io',
      ])
    })

    it.each(Object.entries(VALUES))(
      'pass kubectl apply --dry-run=server with the %s values',
      async (_, values) => {
        const namespace = `chart-${randomUUID().slice(0, 8)}`
        await kubectlOK(stack, ['create', 'namespace', namespace])
        const rendered = await template(namespace, ['--include-crds', ...values])
        expect(rendered.code).toBe(0)
        const result = await kubectl(stack, ['apply', '--dry-run=server', '-f', '-'], rendered.stdout)
        expect(result.stderr).toBe('')
        expect(result.code).toBe(0)
        const kinds = result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split('/')[0])
        expect(kinds).toContain('deployment.apps')
        expect(kinds).toContain('mutatingwebhookconfiguration.admissionregistration.k8s.io')
      },
    )
  })
})
