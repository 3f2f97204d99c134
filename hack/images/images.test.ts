import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyHash } from '../../test/fake-provider/fake-provider.ts'
import { type BuiltImage, buildImages, ensureImages, IMAGE_NAMES } from './images.ts'
import { OciArchive } from './oci-archive.ts'
import { ImageRunner, type RunOptions } from './run-image.ts'

// Every image really runs, without a cluster: runc on its root filesystem, read-only, as the
// image's user, without capabilities, with loopback as its only network (run-image.ts). The
// images are built first when their inputs changed (minutes), else reused (well under a second).
const root = new URL('../..', import.meta.url).pathname
let images: Record<string, BuiltImage>
let scratch: string
const runners = new Map<string, Promise<ImageRunner>>()

/** runner opens each image once for the whole file. */
const runner = (name: string) => {
  let opened = runners.get(name)
  if (!opened) {
    opened = ImageRunner.open(images[name] as BuiltImage)
    runners.set(name, opened)
  }
  return opened
}
const run = async (name: string, options: RunOptions = {}) => (await runner(name)).run(options)
const start = async (name: string, options: RunOptions = {}) => (await runner(name)).start(options)

beforeAll(async () => {
  images = await ensureImages({ log: (line) => console.error(`images: ${line}`) })
  scratch = await mkdtemp(join(tmpdir(), 'tollgate-images-'))
}, 60 * 60_000)
afterAll(async () => {
  for (const opened of runners.values()) await (await opened).close()
  await rm(scratch, { recursive: true, force: true })
})

describe('ensureImages', () => {
  it('builds every image into an OCI archive that names it, and reuses them when nothing changed', async () => {
    expect(Object.keys(images)).toEqual(IMAGE_NAMES)
    for (const image of Object.values(images)) {
      expect(image.ref).toMatch(new RegExp(`^localhost/tollgate/${image.name}:[0-9a-f]{12}$`))
      const archive = await OciArchive.open(image.archive)
      expect((await archive.image()).ref).toBe(image.ref) // what `ctr images import` names it
    }
    // The size is that of the unpacked layers (measured once, at build time; redis has two).
    const redis = images.redis as BuiltImage
    expect(redis.bytes).toBe(await (await OciArchive.open(redis.archive)).unpackedSize())
    const again = await buildImages()
    expect(again.filter((outcome) => outcome.built)).toEqual([])
    expect(again.map((outcome) => outcome.image)).toEqual(Object.values(images))
  })

  it('with only, returns those images and the ones they are built FROM', async () => {
    expect(Object.keys(await ensureImages({ only: ['operator', 'pause'] }))).toEqual([
      'debian',
      'node',
      'operator',
      'pause',
    ])
    await expect(ensureImages({ only: ['nginx'] })).rejects.toThrow(/unknown image nginx/)
  })
})

describe('node', () => {
  it('is Node 24 with npm and npx where node:24-slim has them', async () => {
    expect((await run('node', { args: ['node', '--version'] })).stdout).toMatch(/^v24\./)
    const npm = await run('node', {
      entrypoint: ['sh', '-c', 'readlink /usr/local/bin/npm && npm --version'],
    })
    expect(npm.stdout).toMatch(/^\.\.\/lib\/node_modules\/npm\/bin\/npm-cli\.js\n11\.\d+\.\d+\n$/)
  })
})

describe('operator', () => {
  it('runs as uid 65532 and prints its help on a read-only root', async () => {
    expect((await run('operator', { entrypoint: ['id', '-u'] })).stdout).toBe('65532\n')
    const help = await run('operator', { args: ['--help'] })
    expect(help).toMatchObject({ code: 0, stderr: '' })
    expect(help.stdout).toContain('tollgate-operator migrate up|down|status')
  })

  it('carries the SQL migrations where migrate.ts reads them', async () => {
    const files = (await readdir(join(root, 'operator/migrations'))).filter((f) => f.endsWith('.sql'))
    expect(files.length).toBeGreaterThan(0)
    const listed = await run('operator', {
      entrypoint: ['node', '--input-type=module', '-e'],
      args: [
        "const m = await import('./operator/src/store/migrate.ts'); console.log(m.migrationFiles().join())",
      ],
    })
    expect(listed.stdout.trim()).toBe(files.map((f) => f.replace(/\.sql$/, '')).join())
  })

  it('migrates the database of the postgres image', async () => {
    const postgres = await startPostgres()
    try {
      const database = 'postgres://tollgate:secret@127.0.0.1:5432/tollgate'
      const up = await run('operator', { args: ['migrate', 'up', '--database', database], network: postgres })
      expect(up).toMatchObject({ code: 0 })
      const status = await run('operator', {
        args: ['migrate', 'status', '--database', database],
        network: postgres,
      })
      expect(status.code).toBe(0)
      expect(status.stdout).toMatch(/initial/)
      expect(status.stdout).not.toMatch(/pending/i)
    } finally {
      await postgres.stop()
    }
  })
})

describe('sidecar, fake-provider and sample-app', () => {
  it('the sidecar runs as uid 65532 and starts from the compile cache baked for it, writing nothing', async () => {
    expect((await run('sidecar', { entrypoint: ['id', '-u'] })).stdout).toBe('65532\n')
    const help = await run('sidecar', { args: ['--help'], env: { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: tollgate-sidecar/)
    expect(help.stderr).toContain('V8 code cache for ESM file:///app/sidecar/src/flags.ts was accepted')
  })

  it('an app in the sample-app image calls the fake provider image through the sidecar image', async () => {
    const config = join(scratch, 'tollgate.yaml')
    await writeFile(
      config,
      `apiVersion: tollgate.dev/v1alpha1
kind: Tenant
metadata: { name: images }
spec:
  tier: standard
  providers:
    - { name: openai, type: openai, baseURL: "http://127.0.0.1:8080" }
    - { name: anthropic, type: anthropic, baseURL: "http://127.0.0.1:8080" }
`,
    )
    const key = 'sk-fake-images-test'
    // One pod: the provider, the sidecar and the app share a network namespace.
    const fake = await start('fake-provider', {
      args: ['--host', '127.0.0.1', '--port', '8080', '--api-key', key],
    })
    try {
      await fake.waitFor(/fake provider listening on/)
      const sidecar = await start('sidecar', {
        args: ['--config', '/etc/tollgate/tollgate.yaml'],
        env: { OPENAI_API_KEY: key, ANTHROPIC_API_KEY: key },
        files: { '/etc/tollgate/tollgate.yaml': config },
        network: fake,
      })
      try {
        await sidecar.waitFor(/tollgate-sidecar listening/)
        const app = {
          network: fake,
          env: {
            OPENAI_BASE_URL: 'http://127.0.0.1:4141/openai/v1',
            ANTHROPIC_BASE_URL: 'http://127.0.0.1:4141/anthropic',
            OPENAI_API_KEY: 'placeholder',
            ANTHROPIC_API_KEY: 'placeholder',
          },
        }
        const calls: { usage: { inputTokens: number; outputTokens: number } }[] = []
        for (const args of [
          ['--provider', 'openai', '--stream'],
          ['--provider', 'anthropic'],
        ]) {
          const result = await run('sample-app', { ...app, args: ['once', ...args] })
          expect(result.code).toBe(0)
          calls.push(JSON.parse(result.stdout))
        }
        expect(calls).toMatchObject([
          { provider: 'openai', stream: true, status: 200, error: null },
          { provider: 'anthropic', stream: false, status: 200, error: null },
        ])
        const tally = await run('fake-provider', {
          network: fake,
          entrypoint: ['node', '-e'],
          args: ["fetch('http://127.0.0.1:8080/_fake/usage').then((r) => r.text()).then(console.log)"],
        })
        const sum = (field: 'inputTokens' | 'outputTokens') =>
          calls.reduce((total, call) => total + call.usage[field], 0)
        expect(JSON.parse(tally.stdout)).toMatchObject({
          keys: [
            {
              keyHash: keyHash(key),
              last4: key.slice(-4),
              calls: 2,
              inputTokens: sum('inputTokens'),
              outputTokens: sum('outputTokens'),
            },
          ],
        })
      } finally {
        await sidecar.stop()
      }
    } finally {
      await fake.stop()
    }
  })

  it('the sample app prints an error as JSON and exits 0 when nothing answers', async () => {
    const result = await run('sample-app', {
      args: ['once', '--provider', 'openai', '--model', 'gpt-4o-mini'],
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', OPENAI_API_KEY: 'placeholder' },
    })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 0,
      model: 'gpt-4o-mini',
      error: { type: 'APIConnectionError' },
    })
  })
})

describe('redis', () => {
  it('is Debian redis-server, and serves as the chart runs it: an ACL file, AOF, uid 999, read-only root, /data writable', async () => {
    expect((await run('redis', { args: ['redis-server', '--version'] })).stdout).toMatch(
      /^Redis server v=7\./,
    )
    const admin = 'REDISCLI_AUTH=pw redis-cli --user tollgate-operator'
    const checks = [
      // What the chart's init container writes before Redis starts.
      "printf 'user default off\\nuser tollgate-operator on >pw ~* &* +@all\\n' > /data/users.acl",
      'docker-entrypoint.sh "$@" >/dev/null &',
      `until [ "$(${admin} ping 2>/dev/null)" = PONG ]; do sleep 0.1; done`,
      'redis-cli ping 2>&1 | grep -o NOAUTH | head -1',
      `${admin} config get protected-mode | tail -1`,
      `${admin} config get appendonly | tail -1`,
      'id -u',
    ].join('\n')
    const served = await run('redis', {
      entrypoint: ['sh', '-c', checks, 'sh'],
      // the chart's args
      args: [
        ...['--aclfile', '/data/users.acl', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
        ...['--maxmemory', '192mb', '--maxmemory-policy', 'volatile-lru'],
      ],
      writable: ['/data'],
    })
    expect(served).toMatchObject({ code: 0, stdout: 'NOAUTH\nno\nyes\n999\n' })
  })
})

describe('postgres', () => {
  it('initialises PGDATA as the official image does, answers pg_isready, and wants the password over TCP', async () => {
    expect((await run('postgres', { args: ['postgres', '--version'] })).stdout).toMatch(
      /^postgres \(PostgreSQL\) 15\./,
    )
    const postgres = await startPostgres()
    try {
      const psql = (password: string) =>
        `PGPASSWORD=${password} psql -h 127.0.0.1 -U tollgate -d tollgate -Atc 'select current_user, current_database()' 2>&1`
      const checks = await run('postgres', {
        network: postgres,
        entrypoint: ['sh', '-c', `id -u; ${psql('secret')}; ${psql('wrong')}; echo "exit $?"`],
      })
      expect(checks.stdout).toMatch(/^70\ntollgate\|tollgate\n.*password authentication failed.*\nexit 2\n$/)
      const ready = await run('postgres', {
        network: postgres,
        entrypoint: ['pg_isready', '-h', '127.0.0.1', '-U', 'tollgate', '-d', 'tollgate'],
      })
      expect(ready.code).toBe(0)
    } finally {
      await postgres.stop()
    }
  })
})

describe('pause and coredns', () => {
  it('pause is PID 1 of its container and ends cleanly on SIGTERM', async () => {
    expect((await run('pause', { args: ['-v'] })).stdout).toBe('tollgate-pause 1\n')
    const pause = await start('pause')
    const stopped = await pause.stop()
    expect(stopped).toMatchObject({ code: 0, stderr: '' })
  })

  it('coredns answers DNS queries', async () => {
    expect((await run('coredns', { args: ['-version'] })).stdout).toMatch(/CoreDNS-1\.12\.1/)
    const corefile = join(scratch, 'Corefile')
    await writeFile(corefile, '.:1053 {\n  hosts {\n    10.0.0.7 tollgate.test\n  }\n}\n')
    const dns = await start('coredns', {
      args: ['-conf', '/etc/coredns/Corefile'],
      files: { '/etc/coredns/Corefile': corefile },
    })
    try {
      await dns.waitFor(/CoreDNS-1\.12\.1/)
      const resolver = `const r = new (await import('node:dns')).promises.Resolver(); r.setServers(['127.0.0.1:1053']);
        console.log((await r.resolve4('tollgate.test')).join())`
      const answer = await run('node', {
        network: dns,
        args: ['node', '--input-type=module', '-e', resolver],
      })
      expect(answer.stdout).toBe('10.0.0.7\n')
    } finally {
      await dns.stop()
    }
  })
})

/** startPostgres starts the postgres image as the chart does (its variables, volumes and uid). */
async function startPostgres() {
  const postgres = await start('postgres', {
    env: {
      POSTGRES_USER: 'tollgate',
      POSTGRES_DB: 'tollgate',
      POSTGRES_PASSWORD: 'secret',
      PGDATA: '/var/lib/postgresql/data/pgdata',
    },
    writable: ['/var/lib/postgresql/data', '/var/run/postgresql'],
  })
  await postgres.waitFor(/database system is ready to accept connections/)
  return postgres
}
