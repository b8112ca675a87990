/**
 * sharedref for AssemblyScript guests: `import { clone, drop, eq, is_null, strong_count } from "sharedref/assembly"`.
 * See `sharedref.ts` beside this file and docs/guests.md.
 */
export { clone, drop, eq, is_null, strong_count } from "./sharedref";
