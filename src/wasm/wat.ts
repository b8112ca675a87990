/**
 * WAT text to Wasm binary, synchronously, through the `wabt` package.
 *
 * wabt can only be initialised asynchronously, but `Module.fromText` is synchronous (as
 * Wasmtime's `Module::new`). So each thread that needs it starts one small compiler thread and
 * blocks on a shared word while that thread compiles: the caller posts the text, waits, and reads
 * the answer with `receiveMessageOnPort`. The compiler thread is unreferenced, so it never keeps
 * a process alive. Nothing is cached here: `Module.fromText` caches the compiled module, binary
 * included, under its text (module-cache.ts).
 *
 * Rejected: making `fromText` async. Every caller would need `await`, and so would
 * `linker.instantiate` if it accepted a pending module.
 */
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type wabtInit from 'wabt';
import { InternalError } from '../errors';
import { createSignalLink, linkWait, signalArm, signalPeerExited, signalRaise } from '../shared/mailbox';
import { entryFile } from '../thread-entry';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;

interface CompilerLink {
  readonly port: MessagePort;
  readonly flag: Int32Array;
}

type WatReply = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly message: string };

let compiler: { worker: Worker; port: MessagePort; flag: Int32Array } | null = null;

/** Longest wait for the compiler thread (it only ever waits for wabt, which never blocks). */
const COMPILE_TIMEOUT_MS = 60_000;

function startCompiler(): NonNullable<typeof compiler> {
  const { port1, port2 } = new MessageChannel();
  const flag = createSignalLink();
  const { filename, execArgv } = entryFile('wat-compiler');
  const link: CompilerLink = { port: port2, flag };
  const worker = new Worker(filename, { workerData: link, transferList: [port2], execArgv, name: 'sharedref-wat' });
  worker.unref();
  port1.unref();
  return { worker, port: port1, flag };
}

/**
 * The proposals `Module.fromText` enables in wabt: every one that Node 20's V8 (11.3) validates
 * without flags. Left out, because V8 11.3 rejects them without a flag: extended constant
 * expressions, relaxed SIMD, 64-bit and multiple memories, typed function references and Wasm GC.
 */
export const WAT_FEATURES = Object.freeze({
  reference_types: true,
  threads: true,
  bulk_memory: true,
  multi_value: true,
  tail_call: true,
  simd: true,
  exceptions: true,
  sign_extension: true,
  sat_float_to_int: true,
  mutable_globals: true,
});

/** Compiles WAT text (with `WAT_FEATURES`) to a Wasm binary; throws `SyntaxError` with wabt's message. */
export function watToBinary(text: string): Uint8Array {
  compiler ??= startCompiler();
  signalArm(compiler.flag, 0);
  compiler.port.postMessage(text);
  const waited = linkWait(compiler.flag, COMPILE_TIMEOUT_MS);
  if (waited !== 'signalled') {
    const why = waited === 'gone' ? 'exited' : `did not answer within ${COMPILE_TIMEOUT_MS} ms`;
    if (waited === 'gone') compiler = null; // the next call starts a new one
    throw new InternalError(`Module.fromText: the WAT compiler thread ${why}`);
  }
  const got = receiveMessageOnPort(compiler.port);
  const reply = got?.message as WatReply | undefined;
  if (reply === undefined) {
    throw new InternalError('Module.fromText: the WAT compiler thread signalled without a reply');
  }
  if (!reply.ok) throw new SyntaxError(`Module.fromText: ${reply.message}`);
  return reply.bytes;
}

/** The compiler thread's loop (runs in workers/wat-compiler). */
export function serveWat(link: CompilerLink): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ready = (require('wabt') as typeof wabtInit)() as Promise<Wabt>;
  // A caller blocked in `watToBinary` gives up at once instead of at its deadline.
  process.once('exit', () => signalPeerExited(link.flag));
  link.port.on('message', (text: string) => {
    void ready.then((wabt) => {
      let reply: WatReply;
      try {
        const mod = wabt.parseWat('module.wat', text, WAT_FEATURES);
        try {
          // No mod.validate(): wabt's validator ignores the threads feature (it rejects shared
          // memories); V8 validates when it compiles the binary.
          mod.resolveNames();
          reply = { ok: true, bytes: mod.toBinary({}).buffer };
        } finally {
          mod.destroy();
        }
      } catch (err) {
        reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
      link.port.postMessage(reply);
      signalRaise(link.flag, 0);
    });
  });
}
