import { defineConfig } from 'vitest/config'

// One run starts one control plane (etcd, kube-apiserver, Redis, Postgres) in the global setup and
// shares it with every test file through `inject('stack')`; tests isolate themselves by naming
// (unique tenant names, namespaces, databases), never by starting their own servers.
export default defineConfig({
  test: {
    include: ['{api,operator,sidecar,test,hack}/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'hack/tools/**'],
    globalSetup: ['test/setup/global-stack.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
})
