/**
 * The package entries' exports as a plain object (`src/index.ts`, `src/worker.ts`).
 *
 * TypeScript compiles each `export { X } from './x'` into a getter on the module's exports
 * object (to keep the binding live), and twenty-odd getters put that object into V8's dictionary
 * mode. Code compiled by TypeScript to CommonJS calls `sharedref_1.ExternRef.fromRaw(…)`, which
 * then paid a dictionary lookup and a getter call on every use: 6 ns of a 38 ns fromRaw+unroot
 * (median of five runs against the same loop with `ExternRef` in a local). None of these bindings
 * is ever reassigned, so each entry replaces its exports with a copy whose properties are plain
 * values (a spread makes a fast-mode object), keeping the `__esModule` marker.
 */
export function plainExports(exportsObject: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = { ...exportsObject };
  Object.defineProperty(plain, '__esModule', { value: true });
  return plain;
}
