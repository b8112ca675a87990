/**
 * `sharedref/worker`: what a pool worker file imports. Re-exports only.
 */
export { defineTasks } from './pool/worker-runtime';
export type { Task, TaskContext, TaskTable } from './pool/worker-runtime';
export { ExternRef } from './store/extern-ref';
export { Store } from './store/store';
export { Rooted, ManuallyRooted, RootScope, RootBase } from './store/roots';
export { SharedRefError, ErrorCode } from './errors';
