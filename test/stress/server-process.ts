/**
 * The server soak's handle on the example server's process (test/fixtures/soak-server.js):
 * forks it, sends it messages and waits for its replies, one at a time, each bounded.
 *
 * Runs in the soak's process (test/stress/server-soak.ts). The child is forked with an IPC
 * channel, `--expose-gc` (it collects its V8 heap before each sample), and the environment of a
 * child the tests start (`childEnv`: no ts-node, no debug mode), so that it runs the built
 * package as a user's server would. A reply of type `error`, or the child's exit, fails the
 * reply awaited then, with the child's last output.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { childEnv, repo } from '../build';

const serverFile = join(repo, 'test', 'fixtures', 'soak-server.js');

/** Longest wait for a reply from the server process (its start, a sample, its stop). */
const SERVER_REPLY_MS = 60_000;

/** A message from the server process: `{ t: 'listening' | 'sample' | 'closed' | 'error', ... }`. */
export type ServerMessage = Record<string, unknown>;

/** The example server in a child process. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;
  #waiting: ((msg: ServerMessage) => void) | null = null;
  #fail: ((err: Error) => void) | null = null;
  #output = '';

  /** Forks the server with `options` for `startServer` (port 0 is added: any free port). */
  constructor(options: Record<string, unknown>) {
    this.#child = fork(serverFile, [], {
      cwd: repo,
      env: { ...childEnv(), SOAK_SERVER_OPTIONS: JSON.stringify(options) },
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#exited = once(this.#child, 'exit');
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-8192);
    };
    this.#child.stdout!.on('data', keep);
    this.#child.stderr!.on('data', keep);
    this.#child.on('message', (msg: ServerMessage) => {
      if (msg.t === 'error') this.#fail?.(new Error(`the server process failed: ${String(msg.message)}`));
      else this.#waiting?.(msg);
    });
    this.#child.once('exit', (code, signal) =>
      this.#fail?.(new Error(`the server process exited (code ${code}, signal ${signal}):\n${this.#output}`)),
    );
  }

  /** Sends `msg` (if any) and waits for the next reply of type `t`, at most SERVER_REPLY_MS. */
  ask(t: string, msg?: ServerMessage): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`the server process did not answer ${t} within ${SERVER_REPLY_MS} ms`)),
        SERVER_REPLY_MS,
      );
      const done = (err: Error | null, reply?: ServerMessage): void => {
        clearTimeout(timer);
        this.#waiting = null;
        this.#fail = null;
        if (err === null) resolve(reply!);
        else reject(err);
      };
      this.#waiting = (reply) => {
        if (reply.t === t) done(null, reply);
      };
      this.#fail = (err) => done(err);
      if (msg !== undefined) this.#child.send(msg);
    });
  }

  /** Waits for the process to exit (SIGKILL after `ms`). */
  async exit(ms: number): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), ms);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Kills the process now, if it still runs. */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}
