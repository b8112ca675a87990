/**
 * CPU time by OS thread, for the macro benchmark: how much of the machine a run used, and where.
 * Linux only (`/proc/self/task/<tid>/schedstat`, nanoseconds on a CPU); elsewhere every function
 * answers null and the benchmark prints throughput alone.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Nanoseconds each thread of this process has spent on a CPU, by OS thread id; null off Linux. */
export function threadCpuNs(): Map<number, number> | null {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  const out = new Map<number, number>();
  for (const tid of tids) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      if (Number.isFinite(ns)) out.set(Number(tid), ns);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The OS thread id of the calling thread (main or worker); null off Linux. */
export function osThreadId(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** Cores each thread used over `seconds` of wall time, between two `threadCpuNs` readings. */
export function coresByThread(
  before: Map<number, number>,
  after: Map<number, number>,
  seconds: number,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [tid, ns] of after) out.set(tid, (ns - (before.get(tid) ?? 0)) / 1e9 / seconds);
  return out;
}
