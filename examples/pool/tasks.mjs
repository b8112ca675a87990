// The same pool worker file as an ES module: its default export is the task table.
import { defineTasks, ExternRef } from 'sharedref/worker';

export default defineTasks({
  concat(ctx, a, b) {
    return ExternRef.new(ctx.store, String(a.dataSync()) + String(b.dataSync()));
  },
});
