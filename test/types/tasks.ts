/**
 * A pool worker file, for the type tests only (its type is what `heap.createPool<typeof tasks>`
 * reads). As a CommonJS worker file would: `export =` of `defineTasks`.
 */
import { defineTasks, ExternRef, type ManuallyRooted, type Rooted, type TaskContext } from '../../src/worker';

export = defineTasks({
  concat(ctx: TaskContext, a: Rooted<string>, b: Rooted<string>): Rooted<string> {
    return ExternRef.new(ctx.store, a.dataSync() + b.dataSync());
  },
  async count(_ctx: TaskContext, items: readonly Rooted<unknown>[], limit?: number): Promise<number> {
    return Math.min(items.length, limit ?? Infinity);
  },
  keep(ctx: TaskContext, text: string): { kept: ManuallyRooted<string>; at: Date } {
    return { kept: ExternRef.newManuallyRooted(ctx.store, text), at: new Date() };
  },
  ping(): 'pong' {
    return 'pong';
  },
});
