// Running the tools that make images (buildah, mmdebstrap, gcc, strip, npm), with their output in
// a log file and a clear error naming the command and the end of that output when one fails.
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'

/** CommandOptions say where a command's output goes. */
export interface CommandOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Every output line is appended here. */
  logFile?: string
  /** Called with every output line (stdout and stderr). */
  onLine?: (line: string) => void
}

/** runCommand runs a command to its end and returns its stdout; a non-zero exit throws with the output's last lines. */
export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<string> {
  const { logFile, onLine } = options
  if (logFile) appendFileSync(logFile, `$ ${command} ${args.join(' ')}\n`)
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const stdout: Buffer[] = []
    const tail: string[] = []
    let partial = ''
    const onOutput = (chunk: Buffer) => {
      if (logFile) appendFileSync(logFile, chunk)
      const lines = (partial + chunk.toString('utf8')).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        tail.push(line)
        if (tail.length > 25) tail.shift()
        onLine?.(line)
      }
    }
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk)
      onOutput(chunk)
    })
    child.stderr.on('data', onOutput)
    child.once('error', (cause) => reject(new Error(`${command}: could not start`, { cause })))
    child.once('close', (code, signal) => {
      if (partial) tail.push(partial)
      if (code === 0) return resolve(Buffer.concat(stdout).toString('utf8'))
      const where = logFile ? ` (full log: ${logFile})` : ''
      reject(
        new Error(
          `${command} ${args.slice(0, 3).join(' ')} … failed (${signal ?? `exit ${code}`})${where}:\n${tail.join('\n')}`,
        ),
      )
    })
  })
}
