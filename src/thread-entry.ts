/**
 * Where the thread entry files are (`workers/*`), for the built package and for ts-node.
 * Any thread that starts one: the heap (coordinator), pools (pool workers), `Module.fromText`
 * (the WAT compiler thread).
 */
import { extname, join } from 'node:path';

/** The path and exec arguments of a thread entry file, for both the built and the ts-node layout. */
export function entryFile(name: string): { filename: string; execArgv: string[] | undefined } {
  const ext = extname(__filename);
  const filename = join(__dirname, '..', 'workers', `${name}${ext}`);
  const needsTsNode = ext === '.ts' && !process.execArgv.some((a) => a.includes('ts-node'));
  // Only the require: Node refuses process-wide flags (such as --expose-gc) in a worker's execArgv.
  return { filename, execArgv: needsTsNode ? ['--require', 'ts-node/register/transpile-only'] : undefined };
}
