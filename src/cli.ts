#!/usr/bin/env node
/**
 * The `sharedref` command. `sharedref demo` runs the demo workload and prints what the heap did.
 * Main thread; the demo itself lives in `src/demo.ts`.
 */
import { runDemo, parseDemoArgs } from './demo';

const [command = 'demo', ...rest] = process.argv.slice(2);
if (command === 'demo') {
  let args;
  try {
    args = parseDemoArgs(rest);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  runDemo(args).then(
    (ok) => process.exit(ok ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
} else if (command === '--help' || command === 'help') {
  process.stdout.write('usage: sharedref demo [--duration S] [--objects N] [--json]\n');
} else {
  process.stderr.write(`unknown command ${JSON.stringify(command)}; try: sharedref demo\n`);
  process.exit(2);
}
