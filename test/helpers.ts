/** Shared test helpers: error-code assertions and the host module's path. */
import { expect } from 'chai';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Absolute path of the test host module. */
export const hostModule = join(__dirname, 'fixtures', 'host-module.ts');

/** Asserts that `fn` throws an error whose `code` is `code`; returns the error. */
export function throwsCode(fn: () => unknown, code: string): Error & { code: string } {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a throw with code ${code}`).to.be.instanceOf(Error);
  expect((caught as { code?: unknown }).code).to.equal(code);
  return caught as Error & { code: string };
}

/** Asserts that `p` rejects with an error whose `code` is `code`; returns the error. */
export async function rejectsCode(p: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a rejection with code ${code}`).to.be.instanceOf(Error);
  expect((caught as { code?: unknown }).code).to.equal(code);
  return caught as Error & { code: string };
}

/** Waits until `check()` is true, polling; fails after `ms` (for effects that happen on another thread). */
export async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export { seeded } from './fixtures/prng';

/** Absolute path of the test task module for pools. */
export const tasksFile = join(__dirname, 'fixtures', 'tasks.ts');

const started = new Set<Worker>();

/**
 * Starts the TypeScript worker `file` (test/fixtures/workers) with `options`. Every worker a test
 * starts this way is terminated by `stopWorkers()`, which the suites call in `afterEach`, so a
 * failed assertion never leaves one running.
 */
export function startWorker(file: string, options: WorkerOptions = {}): Worker {
  const worker = new Worker(join(__dirname, 'fixtures', 'workers', 'boot.js'), {
    ...options,
    argv: [join(__dirname, 'fixtures', 'workers', file)],
  });
  started.add(worker);
  worker.once('exit', () => started.delete(worker));
  return worker;
}

/** Terminates every worker `startWorker` started that is still running. */
export async function stopWorkers(): Promise<void> {
  const running = [...started];
  started.clear();
  await Promise.all(running.map((w) => w.terminate()));
}

/** The first message `worker` posts; rejects with its error if it fails first. */
export function firstMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited (code ${code}) before posting`)));
  });
}
