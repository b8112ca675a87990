/**
 * The demo: the seed's host-string workload (`new` and `concat` of host strings through raw
 * handles) on one heap, with a live progress line and a summary that checks every value was
 * disposed exactly once. Main thread.
 */
import { ExternRef } from './store/extern-ref';
import { Heap } from './heap';

/** Options of `sharedref demo`. */
export interface DemoArgs {
  /** Seconds to run. Default 5. */
  readonly duration: number;
  /** Host strings kept live at once. Default 2000. */
  readonly objects: number;
  /** Print the summary as JSON. */
  readonly json: boolean;
}

/** Parses `--duration S --objects N --json`; throws with a message naming the bad flag. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let duration = 5;
  let objects = 2000;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${flag} needs a positive number, received ${argv[i]}`);
      return v;
    };
    if (flag === '--duration') duration = num();
    else if (flag === '--objects') objects = Math.floor(num());
    else if (flag === '--json') json = true;
    else throw new TypeError(`unknown option ${flag} (known: --duration S, --objects N, --json)`);
  }
  return { duration, objects, json };
}

/** Runs the demo; resolves true when every check passed. */
export async function runDemo(args: DemoArgs): Promise<boolean> {
  const heap = await Heap.create({ capacity: Math.max(4096, args.objects * 4) });
  const store = heap.store;
  const started = performance.now();
  const deadline = started + args.duration * 1000;
  const live: number[] = [];
  let ops = 0;
  let lastPrint = 0;
  const pauses: number[] = [];
  const tty = process.stdout.isTTY && !args.json;
  try {
    while (performance.now() < deadline) {
      store.scope(() => {
        for (let k = 0; k < 200; k++) {
          // host-string "new": a fresh string; "concat": read two by raw handle, store the join.
          const a = ExternRef.new(store, `s${ops}`);
          const pick = live.length > 0 ? ExternRef.fromRaw(store, live[ops % live.length]!) : a;
          const joined = ExternRef.new(store, `${String(a.dataSync()).slice(0, 8)}+${String(pick!.dataSync()).slice(0, 8)}`);
          const keep = joined.toManuallyRooted();
          if (live.length < args.objects) live.push(keep.intoRaw());
          else {
            const slot = ops % live.length;
            ExternRef.fromOwnedRaw(store, live[slot]!)!.unroot();
            live[slot] = keep.intoRaw();
          }
          ops += 2;
        }
      });
      if (ops % 20_000 === 0) pauses.push((await heap.gc()).pauseMs);
      const now = performance.now();
      if (tty && now - lastPrint > 250) {
        lastPrint = now;
        const s = heap.stats();
        process.stdout.write(`\r${((now - started) / 1000).toFixed(1)} s  ${Math.round(ops / ((now - started) / 1000))} ops/s  live ${s.live}  collections ${s.collections}   `);
      }
      await new Promise((r) => setImmediate(r));
    }
    for (const raw of live) ExternRef.fromOwnedRaw(store, raw)!.unroot();
    pauses.push((await heap.gc()).pauseMs);
  } finally {
    if (tty) process.stdout.write('\n');
  }
  const seconds = (performance.now() - started) / 1000;
  const stats = heap.stats();
  await heap.close();
  const after = heap.stats();
  pauses.sort((a, b) => a - b);
  const q = (p: number): number => pauses[Math.min(pauses.length - 1, Math.floor(p * pauses.length))] ?? 0;
  const exactlyOnce = after.disposed === after.created && after.live === 0;
  const summary = {
    seconds: Number(seconds.toFixed(2)),
    opsPerSecond: Math.round(ops / seconds),
    created: after.created,
    disposed: after.disposed,
    liveBeforeClose: stats.live,
    collections: stats.collections,
    pauseP50Ms: Number(q(0.5).toFixed(3)),
    pauseP99Ms: Number(q(0.99).toFixed(3)),
    everyValueDisposedExactlyOnce: exactlyOnce,
  };
  if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    process.stdout.write('\nsharedref demo — host strings through raw handles (main thread)\n');
    for (const [k, v] of Object.entries(summary)) process.stdout.write(`  ${k.padEnd(32)} ${v}\n`);
  }
  return exactlyOnce;
}
