import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { chooseBuilder, engineDefaultBuilder, type BuilderChoice, type BuilderSetting, type EngineBuilder } from './builder-choice';
import { DEFAULT_BUILDER_NETWORK, isValidNetworkMode, runBuilderIntoRuntimeBuild } from './builder-run';
import { removeUntaggedImage, sweepLeftoverContainers } from './cleanup';
import { packContext } from './context';
import { registryCredentials, type RegistryCredentials } from './registry-auth';
import type { Engine } from './engine';
import { DockerceptionError, isConnectionError, messageOf, type Phase } from './errors';
import { buildImage, connectionLost, type BuildStep } from './image-build';
import type { Pair } from './pairs';
import { formatBytes, imageSize, type ImageSize } from './sizes';
import type { TarSummary } from './tar-gate';
import { examineImage, fileChanges, type Examination, type FileEntry, type Finding } from './doctor';
import { addPairBuild, buildBefore, growthSince, pairBuilds, pairKey, type Growth, type PairBuild } from './history';
import { engineIdOf, freshness, readRecord, recordsDir, sha256, writeRecord, type BuildInputs } from './up-to-date';

export type ProgressEvent =
  | { type: 'phase'; phase: Phase; message: string }
  | { type: 'step'; role: 'builder' | 'runtime'; step: BuildStep }
  | { type: 'log'; source: 'builder-build' | 'builder-stderr' | 'runtime-build'; line: string }
  | { type: 'finding'; finding: Finding };

export interface BuildOptions {
  /** Runtime image reference; the builder is tagged NAME-builder. Default: the pair's name. */
  tag?: string;
  /** Registry credentials for both builds' pulls. Default: read as the docker CLI reads them (config.json
   * auths, credential helpers) at the start of each build. */
  credentials?: RegistryCredentials;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  /** The engine's builder for both images: 'auto' (default) follows the engine and the Dockerfiles. */
  builder?: BuilderSetting;
  /** Run everything even when nothing changed since the tagged runtime image was built. */
  force?: boolean;
  /** Where the inputs of each build are recorded (default: recordsDir()). */
  recordsDir?: string;
  /**
   * The builder container's network (Docker's NetworkMode): 'none' (the default) gives its CMD, which only
   * writes a tar, no network at all; 'default', 'bridge', 'host' or a network's name give it one.
   */
  builderNetwork?: string;
  /** Bounds the builder container's run, in milliseconds (0 or undefined: no bound). */
  builderTimeoutMs?: number;
  /** Fail with SIZE_BUDGET, tagging nothing, when the runtime image is larger (bytes). */
  maxRuntimeSize?: number;
  /** Fail with SIZE_GROWTH, tagging nothing, when the runtime image grew more than this since the pair's last build (bytes). */
  maxGrowth?: number;
  /** Fail with DOCTOR, tagging nothing, when the doctor finds anything (default: findings are warnings). */
  strict?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: ProgressEvent) => void;
}

export interface BuildResult {
  ok: true;
  pair: Pair;
  builder: ImageSize;
  runtime: ImageSize;
  context: TarSummary;
  /** Which builder built both images, and why. */
  engineBuilder: BuilderChoice;
  /** Nothing changed since the tagged runtime image was built: the builder run and the runtime build were skipped. */
  upToDate: boolean;
  /** What the doctor found in the runtime image: each would (error) or may (warning) break `docker run`. */
  doctor: Finding[];
  /** What changed since the pair's build before this one; absent for a first build. */
  growth?: Growth;
  timings: { builderBuildMs: number; builderRunMs: number; runtimeBuildMs: number; totalMs: number };
}

/** Splits "repo:tag" (a registry port's colon is not a tag separator). */
export function splitReference(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

/** The builder's tag for a runtime reference, as the seed's script names it: NAME-builder. */
export function builderTagFor(runtimeRef: string): string {
  const { repo, tag } = splitReference(runtimeRef);
  return `${repo}-builder:${tag}`;
}

const REFERENCE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

export function isValidReference(ref: string): boolean {
  return REFERENCE.test(ref);
}

function cancelled(phase: Phase): DockerceptionError {
  return new DockerceptionError(
    'CANCELLED',
    `The build was cancelled during the ${phase.replace('-', ' ')}. Nothing was tagged and the builder container was removed.`,
    phase,
  );
}

/** The names a build uses, checked before anything runs. */
function namesFor(pair: Pair, options: BuildOptions): { runtimeTag: string; builderTag: string; builderNetwork: string } {
  const runtimeTag = options.tag ?? pair.name;
  if (!isValidReference(runtimeTag)) {
    throw new DockerceptionError(
      'NO_PAIR',
      `'${runtimeTag}' is not a valid image name: use lower-case letters, digits and . _ - (e.g. 'my-app' or 'my-app:1.0').`,
      'discover',
    );
  }
  const builderNetwork = options.builderNetwork ?? DEFAULT_BUILDER_NETWORK;
  if (!isValidNetworkMode(builderNetwork)) {
    throw new DockerceptionError(
      'NO_PAIR',
      `'${builderNetwork}' is not a network for the builder: use none (the default), default, bridge, host or the name of a network ('docker network ls').`,
      'discover',
    );
  }
  return { runtimeTag, builderTag: builderTagFor(runtimeTag), builderNetwork };
}

async function readRuntimeDockerfile(pair: Pair): Promise<Buffer> {
  try {
    return await fs.readFile(pair.runtimeDockerfile);
  } catch (error) {
    throw new DockerceptionError(
      'NO_PAIR',
      `${pair.runtimeDockerfile} could not be read (${messageOf(error)}); the runtime build needs it when the builder's tar has no Dockerfile. Restore it, then build again.`,
      'discover',
      { cause: error },
    );
  }
}

const relative = (file: string) => path.relative(process.cwd(), file) || file;

/**
 * The seed's `docker build -t NAME-builder .; docker run NAME-builder | docker build -t NAME -`, through
 * the Engine API and streamed: the builder's stdout goes straight into the runtime build's request body
 * through the TarGate, which checks it and holds its end back until the builder's exit code is known.
 * The runtime image is built untagged and tagged only when everything succeeded; the builder container
 * is always removed. When nothing changed since the tagged runtime image was built, only the (cached)
 * builder build runs.
 */
export async function buildPair(engine: Engine, pair: Pair, options: BuildOptions = {}): Promise<BuildResult> {
  const { docker } = engine;
  const emit = options.onEvent ?? (() => undefined);
  const { runtimeTag, builderTag, builderNetwork } = namesFor(pair, options);
  let phase: Phase = 'builder-build';
  const started = Date.now();

  // One controller for the whole run: the caller's cancel and our own failures both end every request.
  const abort = new AbortController();
  const onCallerAbort = () => abort.abort(cancelled(phase));
  if (options.signal?.aborted) throw cancelled(phase);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    const engineId = engineIdOf(docker); // asked now, needed after the builder build
    engineId.catch(() => undefined);
    const choice = await chooseEngineBuilder(docker, pair, options.builder ?? 'auto');
    emit({ type: 'phase', phase, message: `Building with ${choice.builder === 'buildkit' ? 'BuildKit' : 'the legacy builder'}: ${choice.reason}` });
    const credentials = options.credentials ?? (await registryCredentials());
    for (const problem of credentials.problems) emit({ type: 'log', source: 'builder-build', line: `Registry credentials: ${problem}` });
    const builderId = await buildBuilderImage(docker, pair, builderTag, choice.builder, { ...options, credentials }, abort.signal, emit);
    const builderBuildMs = Date.now() - started;

    const fallbackDockerfile = await readRuntimeDockerfile(pair);
    const records = options.recordsDir ?? recordsDir();
    const inputs: BuildInputs = {
      engineId: await engineId,
      builderImageId: builderId,
      builder: choice.builder,
      buildArgs: options.buildArgs ?? {},
      runtimeDockerfileSha256: sha256(fallbackDockerfile),
      builderNetwork,
    };
    if (!options.noCache && !options.force) {
      // Like a cached RUN: the builder's CMD would write the same output from the same inputs.
      const fresh = await freshness(docker, records, runtimeTag, inputs);
      if (fresh.upToDate) {
        emit({
          type: 'phase',
          phase: 'tag',
          message: `Up to date: ${runtimeTag} was built from the same builder image, Dockerfile.run, build args, builder and network; nothing to run (--force runs it anyway)`,
        });
        const [builder, runtime] = await imageSizes(docker, builderId, builderTag, fresh.record.runtimeId, runtimeTag);
        const builds = await pairBuilds(records, pairKey(inputs.engineId, pair.dir, runtimeTag));
        const since = buildBefore(builds, runtime.id);
        const doctor = fresh.record.doctor ?? [];
        for (const finding of doctor) emit({ type: 'finding', finding });
        return {
          ok: true,
          pair,
          builder,
          runtime,
          context: fresh.record.context,
          engineBuilder: choice,
          upToDate: true,
          doctor,
          growth: since && since.runtimeId !== runtime.id ? await growthSince(records, since, runtime.id, runtime.size) : undefined,
          timings: { builderBuildMs, builderRunMs: 0, runtimeBuildMs: 0, totalMs: Date.now() - started },
        };
      }
      emit({ type: 'phase', phase, message: `Building the runtime image: ${fresh.reason}` });
    }

    phase = 'builder-run';
    emit({ type: 'phase', phase, message: `Running ${builderTag}; its stdout is the runtime build context` });
    const run = await runBuilderIntoRuntimeBuild(docker, builderId, {
      builder: choice.builder,
      fallbackDockerfile,
      network: builderNetwork,
      abort,
      timeoutMs: options.builderTimeoutMs,
      buildArgs: options.buildArgs,
      noCache: options.noCache,
      runtimeDockerfileHint: `${relative(pair.runtimeDockerfile)} (or the Dockerfile your builder writes into its tar)`,
      credentials,
      onPhase: (next, message) => {
        phase = next;
        emit({ type: 'phase', phase, message });
      },
      emit,
    });

    phase = 'doctor';
    emit({ type: 'phase', phase, message: 'Checking the runtime image: what it runs, what that needs, what changed' });
    const key = pairKey(inputs.engineId, pair.dir, runtimeTag);
    let builder: ImageSize, runtime: ImageSize, exam: Examination, since: PairBuild | undefined;
    try {
      [builder, runtime] = await imageSizes(docker, builderId, builderTag, run.runtimeId, runtimeTag);
      exam = await examineImage(docker, run.runtimeId);
      for (const finding of exam.findings) emit({ type: 'finding', finding });
      since = (await pairBuilds(records, key)).filter((b) => b.runtimeId !== run.runtimeId).at(-1);
      const previous = since && (await readRecord(records, since.runtimeId));
      await guardRuntime(docker, runtime, exam, since && { build: since, files: previous?.files }, options);
      // A cancel that came while the image was being checked: it is not tagged.
      if (abort.signal.aborted) throw abort.signal.reason;
    } catch (error) {
      await removeUntaggedImage(docker, run.runtimeId);
      throw error;
    }

    phase = 'tag';
    const { repo, tag } = splitReference(runtimeTag);
    await docker.getImage(run.runtimeId).tag({ repo, tag });
    emit({ type: 'phase', phase, message: `Tagged ${runtimeTag}` });
    const recordedAt = new Date().toISOString();
    await writeRecord(records, {
      inputs,
      runtimeId: run.runtimeId,
      context: run.summary,
      recordedAt,
      runtimeSize: runtime.size,
      files: exam.files,
      filesTruncated: exam.truncated,
      doctor: exam.findings,
    }).catch(() => undefined);
    await addPairBuild(records, key, { runtimeId: run.runtimeId, size: runtime.size, recordedAt }).catch(() => undefined);
    return {
      ok: true,
      pair,
      builder,
      runtime,
      context: run.summary,
      engineBuilder: choice,
      upToDate: false,
      doctor: exam.findings,
      growth: since ? await growthSince(records, since, run.runtimeId, runtime.size) : undefined,
      timings: { builderBuildMs, builderRunMs: run.builderRunMs, runtimeBuildMs: run.runtimeBuildMs, totalMs: Date.now() - started },
    };
  } catch (error) {
    throw asBuildError(error, phase, abort.signal);
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** The builder image, from the pair's folder packed as the docker CLI would send it; meanwhile, builder
 * containers a killed run left behind are removed. */
async function buildBuilderImage(
  docker: Docker,
  pair: Pair,
  builderTag: string,
  builder: EngineBuilder,
  options: BuildOptions,
  signal: AbortSignal,
  emit: (event: ProgressEvent) => void,
): Promise<string> {
  const sweep = sweepLeftoverContainers(docker)
    .catch(() => 0)
    .then((swept) => {
      if (swept > 0) emit({ type: 'phase', phase: 'builder-build', message: `Removed ${swept} builder container(s) an earlier, killed run left behind` });
    });
  emit({ type: 'phase', phase: 'builder-build', message: `Building the builder image ${builderTag} from ${pair.dir}` });
  const id = await buildImage(docker, packContext(pair.dir), {
    role: 'builder',
    builder,
    tag: builderTag,
    buildArgs: options.buildArgs,
    noCache: options.noCache,
    signal,
    dockerfileHint: relative(pair.builderDockerfile),
    credentials: options.credentials,
    onStep: (step) => emit({ type: 'step', role: 'builder', step }),
    onLine: (line) => emit({ type: 'log', source: 'builder-build', line }),
  });
  await sweep;
  return id;
}

async function imageSizes(docker: Docker, builderId: string, builderTag: string, runtimeId: string, runtimeTag: string): Promise<[ImageSize, ImageSize]> {
  const [builder, runtime] = await Promise.all([imageSize(docker, builderId, builderTag), imageSize(docker, runtimeId, runtimeTag)]);
  if (!builder || !runtime) throw new Error('an image the engine just built or reported is gone');
  return [builder, runtime];
}

/**
 * The checks a runtime image must pass to be tagged: the size budget, the growth budget, and with
 * `strict` the doctor. A refused image is removed.
 */
async function guardRuntime(
  docker: Docker,
  runtime: ImageSize,
  exam: Examination,
  previous: { build: PairBuild; files?: FileEntry[] } | undefined,
  options: BuildOptions,
): Promise<void> {
  const refuse = async (error: DockerceptionError) => {
    await removeUntaggedImage(docker, runtime.id);
    throw error;
  };
  const { maxRuntimeSize, maxGrowth } = options;
  if (maxRuntimeSize !== undefined && runtime.size > maxRuntimeSize) {
    await refuse(
      new DockerceptionError(
        'SIZE_BUDGET',
        `The runtime image is ${formatBytes(runtime.size)}, over the budget of ${formatBytes(maxRuntimeSize)}; it was not tagged. ` +
          `Make it smaller (see 'dockerception inspect' for its layers and largest files) or raise the budget.`,
        'tag',
      ),
    );
  }
  if (maxGrowth !== undefined && previous && runtime.size - previous.build.size > maxGrowth) {
    const changes = previous.files
      ? fileChanges(previous.files, exam.files)
          .filter((c) => c.delta > 0)
          .slice(0, 5)
      : [];
    const largest = changes.length > 0 ? ` Largest growth: ${changes.map((c) => `+${formatBytes(c.delta)} ${c.path}`).join(', ')}.` : '';
    await refuse(
      new DockerceptionError(
        'SIZE_GROWTH',
        `The runtime image is ${formatBytes(runtime.size)}, ${formatBytes(runtime.size - previous.build.size)} more than the pair's last build ` +
          `(${formatBytes(previous.build.size)}, ${previous.build.recordedAt}), over the allowed growth of ${formatBytes(maxGrowth)}; it was not tagged.${largest} ` +
          `Find what grew ('dockerception inspect --diff' after a build without --max-growth), or raise --max-growth.`,
        'tag',
      ),
    );
  }
  if (options.strict && exam.findings.length > 0) {
    await refuse(
      new DockerceptionError(
        'DOCTOR',
        `The doctor found ${exam.findings.length} problem(s) in the runtime image, so it was not tagged (strict mode):\n` +
          exam.findings.map((f) => `  - ${f.code}: ${f.message}`).join('\n') +
          `\nFix them, or build without --strict (dockerception.doctor.strict) to tag it with these as warnings.`,
        'doctor',
      ),
    );
  }
}

/** Any failure as a DockerceptionError of the phase the user is watching. */
function asBuildError(error: unknown, phase: Phase, signal: AbortSignal): DockerceptionError {
  if (signal.aborted && signal.reason instanceof DockerceptionError) return signal.reason;
  // The runtime build's request is open during the builder run too: a broken connection then belongs
  // to the phase the user is watching.
  if (error instanceof DockerceptionError && error.code === 'ENGINE_UNREACHABLE' && error.phase !== phase) return connectionLost(phase, error.cause ?? error);
  if (error instanceof DockerceptionError) return error;
  if (isConnectionError(error)) return connectionLost(phase, error);
  return new DockerceptionError(
    phase === 'builder-build' ? 'BUILDER_BUILD_FAILED' : 'RUNTIME_BUILD_FAILED',
    `The ${phase.replace('-', ' ')} failed: ${messageOf(error)}. Build again; if it persists, check 'docker info' and the engine's log.`,
    phase,
    { cause: error },
  );
}

/** The builder for both images: the setting, the engine's default, and what the pair's Dockerfiles use. */
async function chooseEngineBuilder(docker: Docker, pair: Pair, setting: BuilderSetting): Promise<BuilderChoice> {
  const [engineDefault, builderText, runtimeText] = await Promise.all([
    engineDefaultBuilder(docker),
    fs.readFile(pair.builderDockerfile, 'utf8').catch(() => ''),
    fs.readFile(pair.runtimeDockerfile, 'utf8').catch(() => ''),
  ]);
  return chooseBuilder(setting, engineDefault, [
    { label: 'the builder Dockerfile', text: builderText },
    { label: 'Dockerfile.run', text: runtimeText },
  ]);
}
