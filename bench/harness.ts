import { performance } from 'node:perf_hooks';

/** One comparison: our work against a baseline doing the same job, measured in the same process. */
export interface BenchRow {
  /** What is compared, e.g. "seed 500,000 rows into orders". */
  name: string;
  baseline: string;
  baselineMs: number;
  candidateMs: number;
  /** Goal as text, e.g. "<= 1.2x"; the ratio is candidate / baseline. */
  goal?: string;
  /** Whether the goal was met, when it can be judged. */
  met?: boolean;
  note?: string;
  /** What the two figures measure when not milliseconds (the fields keep their names). */
  unit?: 'MB';
}

export interface BenchEnv {
  /** Server every bench uses (DATABASE_URL, else the machine's Postgres). */
  databaseUrl: string;
  log: (line: string) => void;
}

export type Bench = (env: BenchEnv) => Promise<BenchRow[]>;

/** Wall time of one call, in ms. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median wall time of `runs` calls (after one warm-up unless disabled). */
export async function timeMedian(fn: () => Promise<unknown>, runs = 3, warmup = true): Promise<number> {
  if (warmup) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function ratio(row: BenchRow): number {
  return row.baselineMs > 0 ? row.candidateMs / row.baselineMs : NaN;
}

export function renderBenchTable(rows: BenchRow[], header: string): string {
  const fmt = (value: number, unit: BenchRow['unit']) =>
    unit === 'MB' ? `${value.toFixed(0)} MB` : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
  const lines = [
    header,
    '',
    '| comparison | baseline | baseline time | migration-ci | ratio | goal | met |',
    '| --- | --- | ---: | ---: | ---: | --- | :-: |',
    ...rows.map(
      (r) =>
        `| ${r.name}${r.note ? ` (${r.note})` : ''} | ${r.baseline} | ${fmt(r.baselineMs, r.unit)} | ${fmt(r.candidateMs, r.unit)} | ${ratio(r).toFixed(2)}x | ${r.goal ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : 'no'} |`,
    ),
  ];
  return lines.join('\n');
}
