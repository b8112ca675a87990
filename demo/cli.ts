#!/usr/bin/env node
/**
 * The `sharedref` command. `sharedref demo` runs the demo workload (demo.ts) and exits 0 when
 * its exactly-once check passed. Main thread.
 */
import { DEMO_USAGE, parseDemoArgs, runDemo } from './demo';

const [command = 'demo', ...rest] = process.argv.slice(2);
if (command === 'demo') {
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    process.exit(0);
  }
  let args;
  try {
    args = parseDemoArgs(rest);
  } catch (err) {
    process.stderr.write(`sharedref demo: ${(err as Error).message}\n`);
    process.exit(2);
  }
  runDemo(args).then(
    (summary) => process.exit(summary.everyValueDisposedExactlyOnce ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(
        `sharedref demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
} else if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`${DEMO_USAGE}\n`);
} else {
  process.stderr.write(`sharedref: unknown command ${JSON.stringify(command)}\n${DEMO_USAGE}\n`);
  process.exit(2);
}
