/**
 * The built package for the tests that need it (the examples run `require('sharedref')`, which
 * resolves to dist/; the package test packs it). Test process only.
 *
 * `buildPackage()` runs `npm run prepack`, the script `npm pack` runs: dist/ removed, then built
 * (tsc, then the ES module entries). It runs once per test process, because a build costs 5–10 s
 * of CPU and several test files need one; each of them awaits the same promise in its `before`.
 * Running the real script, rather than tsc alone, is what proves that `npm pack` on a clean clone
 * builds everything the package lists. Rejected: building inside each test file (three builds in
 * one `npm test`), and committing dist/ (it drifts from the sources).
 */
import { execFile } from 'node:child_process';
import { basename, join } from 'node:path';

/** The repository's root. */
export const repo = join(__dirname, '..');

/** npm's command line: the npm that runs this test (its `npm-cli.js`) when known, else `npm` on the PATH. */
export function npmCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  if (cli !== undefined && basename(cli) === 'npm-cli.js') return [process.execPath, [cli]];
  return ['npm', []];
}

/**
 * The environment for a child npm or node: this one without what `npm test` sets for its own
 * script (`npm_config_local_prefix` would point a nested `npm install` at this repository), and
 * without the test runner's ts-node settings and debug mode. User settings (`npm_config_cache`,
 * `npm_config_registry`, proxies) stay.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    const npmOwn = k.startsWith('npm_') && !k.startsWith('npm_config_');
    const npmScope = ['npm_config_local_prefix', 'npm_config_prefix', 'npm_config_global'].includes(k);
    if (npmOwn || npmScope || k === 'init_cwd' || k === 'node_options') continue;
    if (k.startsWith('ts_node_') || k === 'sharedref_debug') continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command; resolves with its stdout, rejects with its output when it fails. */
export function run(
  file: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: childEnv(), timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err === null) resolve({ stdout, stderr });
        else
          reject(new Error(`${[file, ...args].join(' ')} failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`));
      },
    );
  });
}

let built: Promise<void> | null = null;

/** Builds dist/ as `npm pack` would (`npm run prepack`), once per test process. */
export function buildPackage(): Promise<void> {
  if (built === null) {
    const [npm, pre] = npmCommand();
    built = run(npm, [...pre, 'run', 'prepack', '--silent'], { cwd: repo }).then(() => undefined);
    built.catch(() => (built = null)); // a failed build is tried again by the next caller
  }
  return built;
}
