// A pool worker file: every export of defineTasks is a task; ctx.store is this worker's store.
const { defineTasks, ExternRef } = require('sharedref/worker');

module.exports = defineTasks({
  // The seed's host-string concat: roots arrive as roots, and a returned root travels back.
  concat(ctx, a, b) {
    return ExternRef.new(ctx.store, String(a.dataSync()) + String(b.dataSync()));
  },
});
