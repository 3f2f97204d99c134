import type { TestProject } from 'vitest/node'
import { setupStack } from './global-stack.ts'

/** The `stack-cluster` project: the same stack with a three-master, three-replica Redis Cluster. */
export default (project: TestProject) => setupStack(project, 'cluster')
