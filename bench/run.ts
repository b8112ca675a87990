/**
 * `npm run bench [-- --quick]`: runs the benchmarks, prints one table (operation, median, p10–p90,
 * baseline and its median, ratio, target, verdict) and writes bench/results/latest.json.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fmt } from './lib/measure';
import { runMicro } from './micro/core';
import { runWasm } from './micro/wasm';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const started = Date.now();
  const progress = (msg: string): void => void process.stderr.write(`  … ${msg} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  const rows = [...(await runMicro(quick, progress)), ...(await runWasm(quick, progress))];
  const out = rows.map((r) => {
    const ratio = r.baselineSample === null ? null : r.sample.median / r.baselineSample.median;
    const pass = ratio === null ? r.sample.median <= r.target : ratio <= r.target;
    return { ...r, ratio, pass };
  });
  const table = out.map((r) => ({
    id: r.id,
    median: fmt(r.sample.median),
    'p10–p90': `${fmt(r.sample.p10)} – ${fmt(r.sample.p90)}`,
    baseline: r.baseline,
    'baseline median': r.baselineSample === null ? '' : fmt(r.baselineSample.median),
    ratio: r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    target: r.baselineSample === null ? `≤ ${fmt(r.target)}` : `≤ ${r.target}×`,
    verdict: r.pass ? 'pass' : 'MISS',
  }));
  console.table(table);
  const json = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) },
    node: process.version,
    quick,
    rows: out.map((r) => ({
      id: r.id,
      median: r.sample.median,
      unit: 'ns',
      p10: r.sample.p10,
      p90: r.sample.p90,
      baseline: r.baseline,
      baselineMedian: r.baselineSample?.median ?? null,
      ratio: r.ratio,
      target: r.target,
      pass: r.pass,
    })),
  };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  process.stderr.write(`wrote bench/results/latest.json in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
