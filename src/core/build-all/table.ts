// The end of a Build All: one table for people, one JSON array for programs.
import { formatBytes } from '../sizes';
import type { PairOutcome } from './run';

/** How many times smaller the runtime image is than its builder: 1151, 16.2, 1.6 (undefined without both sizes). */
export function timesSmaller(outcome: PairOutcome): number | undefined {
  const b = outcome.builder?.size;
  const r = outcome.runtime?.size;
  if (!b || !r) return undefined;
  const ratio = b / r;
  return ratio >= 100 ? Math.round(ratio) : Math.round(ratio * 10) / 10;
}

/** One row per pair: pair, result, builder size, runtime size, times smaller, time; then the reasons. */
export function outcomeTable(outcomes: readonly PairOutcome[]): string {
  const rows = [['pair', 'result', 'builder', 'runtime', 'smaller', 'time']];
  for (const o of outcomes) {
    const ratio = timesSmaller(o);
    rows.push([
      o.pair.name,
      o.result,
      o.builder ? formatBytes(o.builder.size) : '-',
      o.runtime ? formatBytes(o.runtime.size) : '-',
      ratio === undefined ? '-' : `${ratio}×`,
      o.result === 'skipped' && o.ms === 0 ? '-' : `${(o.ms / 1000).toFixed(1)} s`,
    ]);
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  const right = new Set([2, 3, 4, 5]);
  const lines = rows.map((row) =>
    row
      .map((cell, col) => (right.has(col) ? cell.padStart(widths[col]) : cell.padEnd(widths[col])))
      .join('  ')
      .trimEnd(),
  );
  const notes = outcomes
    .filter((o) => o.error || o.reason)
    .map((o) => `${o.pair.name}: ${o.error ? `${o.error.code}: ${o.error.message.split('\n')[0]}` : o.reason}`);
  const counts = (['built', 'up to date', 'failed', 'skipped'] as const)
    .map((r) => [r, outcomes.filter((o) => o.result === r).length] as const)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${n} ${r}`);
  return [...lines, '', `${outcomes.length} pair(s): ${counts.join(', ')}`, ...notes].join('\n');
}

/** The JSON element for one pair (the CLI's --json prints an array of these). */
export function outcomeJson(o: PairOutcome): Record<string, unknown> {
  return {
    pair: o.pair.name,
    dir: o.pair.dir,
    tag: o.runtimeTag,
    result: o.result,
    builder: o.builder ? { tag: o.builder.tag, id: o.builder.id, size: o.builder.size } : null,
    runtime: o.runtime ? { tag: o.runtime.tag, id: o.runtime.id, size: o.runtime.size } : null,
    timesSmaller: timesSmaller(o) ?? null,
    ms: o.ms,
    needs: o.needs,
    findings: o.findings,
    ...(o.error ? { error: o.error } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  };
}
