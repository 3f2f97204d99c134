// Child-process entry of loadStandaloneConfigInChild: prints the loaded config as JSON on stdout,
// or `{code, message}` on stderr with exit code 1.
import module from 'node:module'

module.enableCompileCache?.()
const { loadStandaloneConfig } = await import('./standalone-config.ts')
const [file = '', tenant = ''] = process.argv.slice(2)
try {
  const loaded = await loadStandaloneConfig(file, tenant || undefined, process.env)
  process.stdout.write(JSON.stringify({ ...loaded, keys: Object.fromEntries(loaded.keys) }))
} catch (error) {
  const { code, message } = error as { code?: string; message?: string }
  process.stderr.write(JSON.stringify({ code, message: message ?? String(error) }))
  process.exitCode = 1
}
