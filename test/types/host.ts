/**
 * A host module, for the type tests only (its types are what `Heap.create<typeof host>` reads).
 */

/** A value that cannot leave the coordinator: built in place, used through `call`. */
export class HostFile {
  #open = true;
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  write(text: string): number {
    return this.#open ? text.length : 0;
  }
  async size(): Promise<bigint> {
    return 0n;
  }
  /** A method whose result is a class instance: it arrives as a plain object. */
  stat(): HostFile {
    return this;
  }
  close(): void {
    this.#open = false;
  }
}

export function file(path: string): HostFile {
  return new HostFile(path);
}

export async function openLater(path: string, mode: 'r' | 'w' = 'r'): Promise<HostFile> {
  return new HostFile(`${path}:${mode}`);
}

export function counter(): Map<string, number> {
  return new Map();
}

/** Not a factory: not a function. */
export const VERSION = 1;
