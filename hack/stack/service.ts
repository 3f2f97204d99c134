import { rmSync } from 'node:fs'

/** Service is a server of the local stack that a test can stop and start again on the same port with its data kept. */
export interface Service {
  name: string
  start(): Promise<void>
  stop(): Promise<void>
  /** kill ends the server at once (SIGKILL), as a crash does; start() brings it back. Fault tests only. */
  kill?(): Promise<void>
  /** close stops the server and deletes its data. */
  close(): Promise<void>
  /** pids of the running processes, for env:down. */
  pids(): (number | undefined)[]
}

/** closer makes close() from stop() and the service's data directory. */
export const closer = (stop: () => Promise<void>, dir: string) => async () => {
  await stop()
  rmSync(dir, { recursive: true, force: true })
}
