// The CLI's shipping commands: `push [DIR]`, `build --push` / `build --tag` templates, `build --all --push`
// and `inspect --pull-size`. A thin adapter over src/core/ship: it reads the options, prints progress to
// stderr and the result to stdout (or one JSON value with --json).
import {
  DockerceptionError,
  buildPair,
  connectEngine,
  describeContext,
  engineIdOf,
  estimatePullSize,
  expandTags,
  formatBytes,
  isShipError,
  isTemplate,
  lastPairPush,
  namingRoot,
  pairAt,
  pairKey,
  pushableRefs,
  recordsDir,
  registryCredentials,
  shipPair,
  sizeTable,
  tagImage,
  tagVariables,
  tagVariablesSync,
  templatesNeedGit,
  type BuildOptions,
  type BuildResult,
  type Engine,
  type NamingRoot,
  type Pair,
  type ProgressEvent,
  type PushEvent,
  type RegistryCredentials,
  type ShipPairResult,
} from '../core';
import { type PlannedPair } from '../core/build-all';
import { withDiagnosticLines } from './diagnostic-lines';

/** What the shipping commands take from src/cli.ts, so that the build options, names and Ctrl-C are handled one way. */
export interface CliParts {
  usageError(message: string): Error;
  sharedOptions(values: Record<string, unknown>): Omit<BuildOptions, 'tag' | 'signal' | 'onEvent'>;
  progressPrinter(): (event: ProgressEvent) => void;
  allPrinter(width: number): (planned: PlannedPair, event: ProgressEvent) => void;
  refuseCollision(pair: Pair, runtimeTag: string, root: NamingRoot): Promise<void>;
  cancellable<T>(abort: AbortController, message: string, body: () => Promise<T>): Promise<T>;
  defaultRoot(): Promise<string>;
  /** "Since the build of …" and the largest file changes, as 'build' prints them. */
  growthText(growth: NonNullable<BuildResult['growth']>, limit: number): string;
}

/**
 * Whether a 'build' is this file's: it pushes, or its --tag is more than one plain name for one pair (several
 * tags, a template, or any --tag with --all). A build with one plain --tag stays 'build's own.
 */
export function isShipBuild(values: Record<string, unknown>): boolean {
  const tags = tagTemplates(values);
  return Boolean(values.push || values['push-builder'] || (tags.length > 0 && (values.all || tags.length > 1 || tags.some(isTemplate))));
}

/** The --tag values as given (repeatable). */
export function tagTemplates(values: Record<string, unknown>): string[] {
  const tag = values.tag as string | string[] | undefined;
  return tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
}

/** A ShipError as the CLI says it (exit 130 when cancelled, else 1); anything else is src/cli.ts's to say. */
export async function sayingShipErrors(json: boolean, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!isShipError(error)) throw error;
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() })}\n`);
    process.stderr.write(`\ndockerception: ${error.code}: ${error.message}\n`);
    return error.code === 'CANCELLED' ? 130 : 1;
  }
}

/** Push progress on stderr, a line per layer step; "pushing" at most every 2 s per layer. */
export function pushPrinter(prefix = ''): (event: PushEvent) => void {
  const lastPushing = new Map<string, number>();
  return (event) => {
    if (event.kind === 'preparing' || event.kind === 'waiting') return;
    if (event.kind === 'pushing') {
      const now = Date.now();
      if (now - (lastPushing.get(event.layer) ?? 0) < 2000) return;
      lastPushing.set(event.layer, now);
      const of = event.total && event.total >= event.current ? ` of ${formatBytes(event.total)}` : '';
      process.stderr.write(`${prefix}  ${event.layer}: pushing, ${formatBytes(event.current)}${of} sent\n`);
      return;
    }
    process.stderr.write(event.kind === 'start' ? `${prefix}==> ${event.message}\n` : `${prefix}  ${event.message}\n`);
  };
}

/** "127.0.0.1:5000/app@sha256:…  1.9 MB to pull (as :1.4, :latest)": one line per image pushed. */
function shippedLines(shipped: ShipPairResult): string[] {
  const byImage = new Map<string, ShipPairResult['pushed']>();
  for (const p of shipped.pushed) byImage.set(p.canonical, [...(byImage.get(p.canonical) ?? []), p]);
  const kept = shipped.notPushed.length > 0 ? [`not pushed: ${shipped.notPushed.join(', ')} (no registry in the name: it stays on the engine)`] : [];
  return [...byImage]
    .map(([canonical, refs]) => {
      const p = refs[0];
      const pull = p.pullSize !== undefined ? `${formatBytes(p.pullSize)} to pull` : `pull size unknown: ${p.pullSizeUnknown}`;
      const tags = refs.map((r) => r.ref.slice(r.ref.lastIndexOf(':') > r.ref.lastIndexOf('/') ? r.ref.lastIndexOf(':') : r.ref.length));
      return `${canonical}  ${pull}${p.role === 'builder' ? ', the builder' : ''} (as ${tags.map((t) => t || ':latest').join(', ')})`;
    })
    .concat(kept);
}

function shippedJson(shipped: ShipPairResult): Record<string, unknown> {
  return {
    notPushed: shipped.notPushed,
    ref: shipped.main.ref,
    digest: shipped.main.digest,
    canonical: shipped.main.canonical,
    pullSize: shipped.main.pullSize ?? null,
    pushed: shipped.pushed.map((p) => ({
      ref: p.ref,
      role: p.role,
      digest: p.digest,
      canonical: p.canonical,
      pullSize: p.pullSize ?? null,
      layers: p.layers,
      ms: p.elapsedMs,
    })),
  };
}

/** The references a pair ships as: each --tag template expanded with the pair's variables (none given: `fallback`). */
export async function refsFor(pair: Pair, templates: readonly string[], fallback: string): Promise<string[]> {
  if (templates.length === 0) return [fallback];
  // git runs only when a template names ${gitSha} or ${gitBranch} (two processes, ~25 ms, on every push otherwise).
  const vars = templatesNeedGit(templates) ? await tagVariables(pair.dir, pair.name) : tagVariablesSync(pair.dir, pair.name, templates);
  return expandTags(templates, vars);
}

/** `dockerception push [DIR]`: the pair's runtime image (the first --tag's image if the engine has it, else the pair's own tag) under every --tag. */
export async function pushCommand(dir: string | undefined, values: Record<string, unknown>, json: boolean, parts: CliParts): Promise<number> {
  for (const option of ['all', 'jobs', 'only', 'exclude', 'push']) {
    if (values[option] !== undefined) throw parts.usageError(`--${option} does not go with 'push' ('build --all --push' builds and pushes every pair)`);
  }
  return sayingShipErrors(json, async () => {
    const root = await namingRoot(dir ?? '.');
    const pair = await pairAt(dir ?? '.', { root: root.root });
    const refs = await refsFor(pair, tagTemplates(values), pair.name);
    const engine = await connectEngine({ host: values.host as string | undefined });
    const has = async (ref: string) =>
      engine.docker
        .getImage(ref)
        .inspect()
        .then(() => true)
        .catch(() => false);
    const [present, credentials] = await Promise.all([has(refs[0]), registryCredentials()]);
    const source = present ? refs[0] : pair.name;
    const abort = new AbortController();
    const shipped = await parts.cancellable(abort, 'Cancelling the push: the registry gets no manifest, so no tag moves there...', () =>
      shipPair(engine, {
        pairDir: pair.dir,
        pairName: pair.name,
        runtimeTag: source,
        refs,
        pushBuilder: Boolean(values['push-builder']),
        credentials,
        signal: abort.signal,
        onEvent: pushPrinter(),
      }),
    );
    if (shipped.recordProblem) process.stderr.write(`${shipped.recordProblem}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, pair: pair.name, dir: pair.dir, image: source, ...shippedJson(shipped) })}\n`);
    else process.stdout.write(`${shippedLines(shipped).join('\n')}\n`);
    return 0;
  });
}

/** Pushes one built pair, saying it on stderr; the credentials are read once per command. */
export function shipper(engine: Engine, values: Record<string, unknown>) {
  let credentials: Promise<RegistryCredentials> | undefined;
  return async (pair: Pair, runtimeTag: string, refs: readonly string[], signal: AbortSignal, prefix = ''): Promise<ShipPairResult> =>
    shipPair(engine, {
      pairDir: pair.dir,
      pairName: pair.name,
      runtimeTag,
      refs,
      pushBuilder: Boolean(values['push-builder']),
      credentials: await (credentials ??= registryCredentials()),
      signal,
      onEvent: pushPrinter(prefix),
    });
}

/**
 * `build [DIR] --tag T… [--push]`: the pair is built under the first tag (templates expanded), then given the
 * others; with --push, every one of them is pushed. One JSON object with --json: the build's result and `push`.
 */
export async function shipBuild(dir: string | undefined, values: Record<string, unknown>, json: boolean, parts: CliParts): Promise<number> {
  for (const option of ['jobs', 'fail-fast', 'only', 'exclude', 'engines']) {
    if (values[option] !== undefined) throw parts.usageError(`--${option} goes with 'build --all'`);
  }
  if (values['push-builder'] && !values.push) throw parts.usageError('--push-builder goes with --push');
  return sayingShipErrors(json, async () => {
    const shared = parts.sharedOptions(values);
    const root = await namingRoot(dir ?? '.');
    const pair = await pairAt(dir ?? '.', { root: root.root });
    const refs = await refsFor(pair, tagTemplates(values), pair.name);
    // With --push, refused before the build when no tag names a registry.
    if (values.push) pushableRefs(refs, pair.name);
    await parts.refuseCollision(pair, refs[0], root);
    const engine = await connectEngine({ host: values.host as string | undefined });
    const push = shipper(engine, values);
    const abort = new AbortController();
    return parts.cancellable(abort, 'Cancelling: stopping the builder (or the push) and removing what it made...', async () => {
      // The problem matcher's FILE:LINE lines, as a plain 'build' prints them (the VS Code task runs either).
      const result = await withDiagnosticLines(pair, parts.progressPrinter(), (onEvent) =>
        buildPair(engine, pair, { ...shared, tag: refs[0], signal: abort.signal, onEvent }),
      );
      if (!json) printBuild(result, parts);
      let shipped: ShipPairResult | undefined;
      if (values.push) shipped = await push(pair, refs[0], refs, abort.signal);
      else if (refs.length > 1) await tagImage(engine, refs[0], refs.slice(1));
      if (shipped?.recordProblem) process.stderr.write(`${shipped.recordProblem}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ ...result, tags: refs, ...(shipped ? { push: shippedJson(shipped) } : {}) })}\n`);
      else if (shipped) {
        const pull = shipped.main.pullSize;
        process.stdout.write(
          `\n${shippedLines(shipped).join('\n')}\n${pull !== undefined ? `runtime ${formatBytes(result.runtime.size)}, ${formatBytes(pull)} to pull\n` : ''}`,
        );
      } else if (refs.length > 1) process.stdout.write(`\nAlso tagged ${refs.slice(1).join(', ')}\n`);
      return 0;
    });
  });
}

/** A single build's summary, as 'build' prints it. */
function printBuild(result: BuildResult, parts: CliParts): void {
  process.stderr.write(`\n${describeContext(result.context)}; ${(result.timings.totalMs / 1000).toFixed(1)} s in all.\n`);
  if (result.doctor.length > 0) process.stderr.write(`Doctor: ${result.doctor.length} finding(s) above; the image was tagged (--strict refuses it).\n`);
  process.stderr.write('\n');
  process.stdout.write(`${sizeTable(result.builder, result.runtime)}\n`);
  if (result.growth) process.stdout.write(`\n${parts.growthText(result.growth, 10)}\n`);
}

/**
 * `inspect [DIR] --pull-size`: what a pull of the runtime image downloads. Estimated by compressing its layers
 * the way the engine pushes them; the pushed figure too when this machine recorded a push of this very image.
 */
export async function pullSizeCommand(dir: string, values: Record<string, unknown>, json: boolean): Promise<number> {
  return sayingShipErrors(json, async () => {
    const pair = await pairAt(dir);
    const tag = tagTemplates(values).at(-1) ?? pair.name;
    const engine = await connectEngine({ host: values.host as string | undefined });
    const image = await engine.docker
      .getImage(tag)
      .inspect()
      .catch(() => undefined);
    if (!image) {
      throw new DockerceptionError('NO_PAIR', `The engine has no image tagged ${tag}: build the pair first ('dockerception build ${dir}').`, 'inspect');
    }
    // The pushed record is looked up (GET /info for the engine's id, then a file) while the layers compress.
    const [estimate, pushed] = await Promise.all([
      estimatePullSize(engine, tag),
      engineIdOf(engine.docker)
        .then((id) => lastPairPush(recordsDir(), pairKey(id, pair.dir, tag), image.Id))
        .catch(() => undefined),
    ]);
    if (json) {
      process.stdout.write(
        `${JSON.stringify({
          tag,
          id: image.Id,
          size: image.Size,
          pullSize: pushed?.pullSize ?? estimate.pullSize,
          pullSizeSource: pushed?.pullSize !== undefined ? 'pushed' : 'estimate',
          estimate,
          pushed: pushed ?? null,
        })}\n`,
      );
      return 0;
    }
    process.stdout.write(
      `runtime ${tag}: ${formatBytes(image.Size)}, about ${formatBytes(estimate.pullSize)} to pull (estimated: its ${estimate.layers.length} layer(s) gzipped as the engine pushes them, in ${(estimate.elapsedMs / 1000).toFixed(1)} s)\n`,
    );
    for (const layer of estimate.layers) {
      process.stdout.write(`  ${formatBytes(layer.compressed).padStart(9)} ← ${formatBytes(layer.uncompressed).padStart(9)}  ${layer.id}\n`);
    }
    if (pushed?.pullSize !== undefined) {
      process.stdout.write(`Pushed ${pushed.pushedAt} as ${pushed.canonical}: ${formatBytes(pushed.pullSize)} to pull, as the registry's manifest states\n`);
    }
    return 0;
  });
}
