// The end of a Build All: one table for people, one JSON array for programs.
import { formatBytes } from '../sizes';
import type { PairOutcome } from './run';

/** A pair's push at the end of a Build All with --push: the digest and what a pull downloads. */
export interface OutcomePush {
  canonical: string;
  digest: string;
  /** Undefined when the registry could not be read from this machine. */
  pullSize?: number;
}

/** How many times smaller the runtime image is than its builder: 1151, 16.2, 1.6 (undefined without both sizes). */
export function timesSmaller(outcome: PairOutcome): number | undefined {
  const b = outcome.builder?.size;
  const r = outcome.runtime?.size;
  if (!b || !r) return undefined;
  const ratio = b / r;
  return ratio >= 100 ? Math.round(ratio) : Math.round(ratio * 10) / 10;
}

/**
 * One row per pair: pair, result, builder size, runtime size, times smaller, time; then the reasons. With
 * `pushes` (a Build All with --push, by pair folder) a 'pull' column after 'runtime': the pushed image's
 * compressed size, what a pull downloads.
 */
export function outcomeTable(outcomes: readonly PairOutcome[], pushes?: ReadonlyMap<string, OutcomePush>): string {
  // With several engines (--engines), which one built each pair.
  const engines = outcomes.some((o) => o.engine);
  const rows = [['pair', 'result', ...(engines ? ['engine'] : []), 'builder', 'runtime', ...(pushes ? ['pull'] : []), 'smaller', 'time']];
  for (const o of outcomes) {
    const ratio = timesSmaller(o);
    const pushed = pushes?.get(o.pair.dir);
    rows.push([
      o.pair.name,
      o.result,
      ...(engines ? [o.engine ?? '-'] : []),
      o.builder ? formatBytes(o.builder.size) : '-',
      o.runtime ? formatBytes(o.runtime.size) : '-',
      ...(pushes ? [pushed?.pullSize !== undefined ? formatBytes(pushed.pullSize) : pushed ? '?' : '-'] : []),
      ratio === undefined ? '-' : `${ratio}×`,
      o.result === 'skipped' && o.ms === 0 ? '-' : `${(o.ms / 1000).toFixed(1)} s`,
    ]);
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  const right = new Set(['builder', 'runtime', 'pull', 'smaller', 'time'].map((name) => rows[0].indexOf(name)).filter((col) => col >= 0));
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
  const shipped = pushes ? outcomes.flatMap((o) => (pushes.has(o.pair.dir) ? [`${o.pair.name}: pushed ${pushes.get(o.pair.dir)?.canonical}`] : [])) : [];
  return [...lines, '', `${outcomes.length} pair(s): ${counts.join(', ')}`, ...notes, ...shipped].join('\n');
}

/** The JSON element for one pair (the CLI's --json prints an array of these). */
export function outcomeJson(o: PairOutcome): Record<string, unknown> {
  return shippedOutcomeJson(o, undefined);
}

/** outcomeJson with the pair's push (--push): digest, canonical name and pull size (null when unknown). */
export function shippedOutcomeJson(o: PairOutcome, push: OutcomePush | undefined): Record<string, unknown> {
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
    ...(o.engine ? { engine: o.engine } : {}),
    ...(push ? { digest: push.digest, canonical: push.canonical, pullSize: push.pullSize ?? null } : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  };
}
