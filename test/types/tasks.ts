/**
 * A pool worker file, for the type tests only (its type is what `heap.createPool<typeof tasks>`
 * reads). As a CommonJS worker file would: `export =` of `defineTasks`.
 */
import {
  defineTasks,
  ExternRef,
  type InPlace,
  type ManuallyRooted,
  type RootBase,
  type Rooted,
  type TaskContext,
} from '../../src/worker';
import type { HostFile } from './host';

/** A task's parameter with a root inside a plain object. */
interface Visit {
  session: Rooted<{ id: string; hits: number }>;
  at: Date;
}

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
  // Roots inside objects, arrays of objects, tuples, Maps and Sets, as the pool delivers them.
  visit(_ctx: TaskContext, visit: Visit, optional?: { note?: Rooted<string> }): string {
    return visit.session.dataSync().id + (optional?.note?.dataSync() ?? '');
  },
  nested(
    _ctx: TaskContext,
    list: readonly { name: string; root: Rooted<number> }[],
    deep: { a: { b: [Rooted<string>, number] } },
    byName: Map<string, Rooted<number>>,
    seen: ReadonlySet<Rooted<string>>,
    keyed: ReadonlyMap<Rooted<string>, { at: Date }>,
  ): number {
    return list.length + deep.a.b[1] + byName.size + seen.size + keyed.size;
  },
  base(_ctx: TaskContext, any: RootBase<string>): string {
    return any.typeOf();
  },
  // A value built in place by newWith, used through call.
  write(_ctx: TaskContext, file: Rooted<InPlace<HostFile>>, text: string): Promise<number> {
    return file.call('write', text);
  },
});
