// Builds planned pairs, `jobs` at a time, each after the pairs it needs; a failure skips only the pairs
// that need it (or, with failFast, stops the run); a cancel stops every running build, which removes
// what it made (the pipeline's own cleanup). Plain Node: the CLI and the extension both drive it.
import * as os from 'node:os';
import type { BuildOptions, BuildResult, ProgressEvent } from '../pipeline';
import type { Engine } from '../engine';
import { DockerceptionError, messageOf, type ErrorCode, type Phase } from '../errors';
import type { Pair } from '../pairs';
import { buildPair, splitReference } from '../pipeline';
import type { ImageSize } from '../sizes';
import { assignEngines } from './engines';
import type { PlannedPair } from './plan';

export type PairResult = 'built' | 'up to date' | 'failed' | 'skipped';

export interface PairOutcome {
  pair: Pair;
  runtimeTag: string;
  result: PairResult;
  builder?: ImageSize;
  runtime?: ImageSize;
  /** Milliseconds from this pair's start to its end (0 when skipped). */
  ms: number;
  /** Why a pair failed. */
  error?: { code: ErrorCode; message: string; phase: Phase };
  /** Why a pair was skipped: a pair it needs did not build, --fail-fast, or a cancel. */
  reason?: string;
  /** Names of the pairs it needs. */
  needs: string[];
  /** The doctor's findings on the runtime image (reported, not refused). */
  findings: number;
  /** The engine that built it (or would have), by the name it was given, when the run used several. */
  engine?: string;
}

/** One of the engines a Build All spreads its pairs over, by the name the user gave it (a docker context). */
export interface NamedEngine {
  name: string;
  engine: Engine;
}

export interface BuildAllOptions {
  /** Builds running at once (≥ 1). */
  jobs: number;
  /** Stop at the first failure: cancel the running builds, start no more. */
  failFast?: boolean;
  /** Cancels every running build and starts no more. */
  signal?: AbortSignal;
  /** Everything but tag, signal and onEvent for one pair's buildPair. */
  buildOptions?: (planned: PlannedPair) => Omit<BuildOptions, 'tag' | 'signal' | 'onEvent'>;
  onStart?: (planned: PlannedPair) => void;
  onEvent?: (planned: PlannedPair, event: ProgressEvent) => void;
  onFinish?: (outcome: PairOutcome, done: number, total: number) => void;
  /** The build of one pair (tests replace it); default buildPair. */
  build?: (engine: Engine, pair: Pair, options: BuildOptions) => Promise<BuildResult>;
  /**
   * Several engines: each group of pairs tied by their needs is built on one of them (assignEngines), with
   * `jobs` builds at once on each. The engine given to buildAll is then not used.
   */
  engines?: readonly NamedEngine[];
}

/**
 * The default --jobs and why: two builds per CPU, at least 2 and at most 8. A pair's build is mostly waiting
 * on the engine (container create/start/remove, image commit, the tar streaming through), so one build per
 * CPU leaves CPUs idle; past 8 the engine's own locks (layer store, container creation) serialise them.
 */
export function defaultJobs(cpus = os.availableParallelism?.() ?? os.cpus().length): { jobs: number; why: string } {
  const jobs = Math.max(2, Math.min(8, 2 * cpus));
  return {
    jobs,
    why: `${jobs} at once: two per CPU (${cpus} here), between 2 and 8, because a build mostly waits on the engine (containers, image commits, the tar stream)`,
  };
}

/** The id of the image a tag names now, or undefined. */
async function imageIdOf(engine: Engine, tag: string): Promise<string | undefined> {
  try {
    return (await engine.docker.getImage(tag).inspect()).Id;
  } catch {
    return undefined;
  }
}

/**
 * A cancelled Build All leaves the tags as they were: the builder image a cancelled pair tagged during this
 * run is untagged (or its tag goes back to the image it named before).
 */
async function restoreTag(engine: Engine, tag: string, before: string | undefined): Promise<void> {
  const now = await imageIdOf(engine, tag);
  if (now === undefined || now === before) return;
  const { repo, tag: version } = splitReference(tag);
  try {
    if (before !== undefined) await engine.docker.getImage(before).tag({ repo, tag: version });
    else await engine.docker.getImage(tag).remove({ noprune: false });
  } catch {
    // The image is in use or gone: leave it; the run's report still says the pair was cancelled.
  }
}

/** Runs the plan; resolves with one outcome per pair in the plan's order (never rejects for a pair's failure). */
export async function buildAll(engine: Engine, plan: readonly PlannedPair[], options: BuildAllOptions): Promise<PairOutcome[]> {
  const jobs = Math.max(1, Math.floor(options.jobs));
  const build = options.build ?? buildPair;
  const stop = new AbortController();
  let stopReason: string | undefined;
  const onCancel = () => {
    stopReason ??= 'cancelled before it finished';
    stop.abort();
  };
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener('abort', onCancel, { once: true });

  const outcomes = new Map<string, PairOutcome>();
  const needNames = (p: PlannedPair) => p.needs.map((n) => n.pair.name);
  const pending = [...plan];
  const running = new Set<Promise<void>>();
  let done = 0;
  // One engine, or each pair's own among several; `jobs` at once on each.
  const several = options.engines && options.engines.length > 0 ? options.engines : undefined;
  const assigned = several ? assignEngines(plan, several.length) : plan.map(() => 0);
  const engineIndex = new Map(plan.map((p, i) => [p.pair.dir, assigned[i]]));
  const engineOf = (p: PlannedPair) => (several ? several[engineIndex.get(p.pair.dir) ?? 0] : { name: '', engine });
  const busy = new Array<number>(several?.length ?? 1).fill(0);

  const finish = (outcome: PairOutcome) => {
    if (several) outcome.engine = several[engineIndex.get(outcome.pair.dir) ?? 0].name;
    outcomes.set(outcome.pair.dir, outcome);
    done++;
    options.onFinish?.(outcome, done, plan.length);
  };
  const skip = (p: PlannedPair, reason: string) =>
    finish({ pair: p.pair, runtimeTag: p.runtimeTag, result: 'skipped', ms: 0, reason, needs: needNames(p), findings: 0 });

  const runOne = async (p: PlannedPair): Promise<void> => {
    options.onStart?.(p);
    const started = Date.now();
    const { engine } = engineOf(p);
    // What the builder tag names before this pair's build, for a cancel to put back; asked beside the build
    // (which tags it only after its builder build, long after this answers), not before it.
    const builderBefore = imageIdOf(engine, p.builderTag);
    const signal = stop.signal;
    try {
      const result = await build(engine, p.pair, {
        ...options.buildOptions?.(p),
        tag: p.runtimeTag,
        signal,
        onEvent: options.onEvent && ((event) => options.onEvent?.(p, event)),
      });
      finish({
        pair: p.pair,
        runtimeTag: p.runtimeTag,
        result: result.upToDate ? 'up to date' : 'built',
        builder: result.builder,
        runtime: result.runtime,
        ms: Date.now() - started,
        needs: needNames(p),
        findings: result.doctor.length,
      });
    } catch (error) {
      const known =
        error instanceof DockerceptionError
          ? error
          : new DockerceptionError('RUNTIME_BUILD_FAILED', `Unexpected failure: ${messageOf(error)}. Please report it with the output above.`, 'tag');
      if (known.code === 'CANCELLED' && stop.signal.aborted) {
        await restoreTag(engine, p.builderTag, await builderBefore);
        finish({ pair: p.pair, runtimeTag: p.runtimeTag, result: 'skipped', ms: Date.now() - started, reason: stopReason, needs: needNames(p), findings: 0 });
        return;
      }
      finish({ pair: p.pair, runtimeTag: p.runtimeTag, result: 'failed', ms: Date.now() - started, error: known.toJSON(), needs: needNames(p), findings: 0 });
      if (options.failFast && !stop.signal.aborted) {
        stopReason = `--fail-fast stopped the run when ${p.pair.name} failed`;
        stop.abort();
      }
    }
  };

  for (;;) {
    // Start what can start: every need built (or up to date); skip what can never start.
    for (let i = 0; i < pending.length;) {
      const p = pending[i];
      if (stop.signal.aborted) {
        pending.splice(i, 1);
        skip(p, `not started: ${stopReason}`);
        continue;
      }
      const blocked = p.needs.map((n) => outcomes.get(n.pair.dir)).find((o) => o && (o.result === 'failed' || o.result === 'skipped'));
      if (blocked) {
        pending.splice(i, 1);
        const how = blocked.result === 'failed' ? 'failed' : 'was skipped';
        skip(p, `needs ${blocked.pair.name}, which ${how}`);
        i = 0; // a skip may block pairs already passed over
        continue;
      }
      const ready = p.needs.every((n) => outcomes.has(n.pair.dir));
      const slot = engineIndex.get(p.pair.dir) ?? 0;
      if (ready && busy[slot] < jobs) {
        pending.splice(i, 1);
        busy[slot]++;
        const task: Promise<void> = runOne(p).finally(() => {
          busy[slot]--;
          running.delete(task);
        });
        running.add(task);
        continue;
      }
      i++;
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  // Only a need outside the plan could leave a pair here; say so rather than drop it.
  for (const p of pending)
    skip(
      p,
      `not started: it needs ${p.needs
        .filter((n) => !outcomes.has(n.pair.dir))
        .map((n) => n.pair.name)
        .join(', ')}, which this run did not build`,
    );
  options.signal?.removeEventListener('abort', onCancel);
  return plan.map((p) => outcomes.get(p.pair.dir) as PairOutcome);
}
