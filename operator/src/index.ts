export { parseCli, type RunConfig } from './cli.ts'
export { runOperator } from './commands/run.ts'
export * from './operator.ts'
