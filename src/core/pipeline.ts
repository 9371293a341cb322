import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { chooseBuilder, engineDefaultBuilder, type BuilderChoice, type EngineBuilder } from './builder-choice';
import type { BuildOptions, BuildResult, ProgressEvent, Strictness } from './build-types';
import { builderFacts, builderInputsDigest, ContextDigest, contextDigest, type BuilderFacts } from './builder-inputs';
import { DEFAULT_BUILDER_NETWORK, isValidNetworkMode, runBuilderIntoRuntimeBuild } from './builder-run';
import { removeUntaggedImage, sweepLeftoverContainers } from './cleanup';
import { packContext } from './context';
import { imageReferences, platformArgs } from './dockerfile-refs';
import { engineVersion } from './engine/connect';
import { examineBuilt, examineImage, fileChanges, type Examination, type FileEntry, type Finding } from './doctor';
import type { Engine } from './engine';
import { DockerceptionError, isConnectionError, messageOf, type Phase } from './errors';
import { addPairBuild, buildBefore, growthSince, pairBuilds, pairKey, type Growth, type PairBuild } from './history';
import { buildImage, connectionLost } from './image-build';
import type { Pair } from './pairs';
import { registriesToAskFor, registryCredentials, type RegistryCredentials } from './registry-auth';
import { formatBytes, imageSize, type ImageSize } from './sizes';
import type { ContextListing, TarSummary } from './tar-gate';
import { engineIdOf, freshness, taggedRecord, imageIds, readRecord, recordsDir, sha256, writeRecord, type BuildInputs, type BuildRecord } from './up-to-date';

export type { BuildOptions, BuildResult, ProgressEvent, Strictness } from './build-types';

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

/** Dockerfile.run's content; undefined when it is missing (a builder that writes its own Dockerfile needs none). */
async function readRuntimeDockerfile(pair: Pair): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(pair.runtimeDockerfile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DockerceptionError(
      'NO_PAIR',
      `${pair.runtimeDockerfile} could not be read (${messageOf(error)}); the runtime build needs it when the builder's tar has no Dockerfile. Restore it, then build again.`,
      'discover',
      { cause: error },
    );
  }
}

/** A pair's file for people: relative to the working folder when it is inside it (the CLI run in a repository),
 * else absolute (an editor's extension host, whose working folder is not the workspace). */
const relative = (file: string) => {
  const cwd = process.cwd();
  const inside = path.relative(cwd, file);
  return inside && !inside.startsWith('..') && !path.isAbsolute(inside) && path.dirname(cwd) !== cwd ? inside : file;
};

/** Bump when the doctor's rules change: findings a record holds from older rules are made again. */
export const DOCTOR_RULES = 2;

/** One build of one pair: what every step reads, and the phase the user is watching. */
interface Run {
  readonly docker: Docker;
  readonly pair: Pair;
  readonly options: BuildOptions;
  readonly emit: (event: ProgressEvent) => void;
  /** The caller's cancel and our own failures both end every request through it. */
  readonly abort: AbortController;
  readonly started: number;
  readonly runtimeTag: string;
  readonly builderTag: string;
  readonly builderNetwork: string;
  readonly records: string;
  /** The engine's id (GET /info, 20-60 ms here, and /version for a client connectEngine did not make), asked
   * on first use: not before the builder build is sent, so that the engine answers the requests the build
   * waits for first. */
  readonly engineId: Promise<string>;
  phase: Phase;
  enter(phase: Phase, message: string): void;
}

/** The runtime image that will carry the tag: just built from the builder's output, or found up to date. */
interface Produced {
  runtimeId: string;
  context: TarSummary;
  inputs: BuildInputs;
  upToDate: boolean;
  /** The record the up-to-date image was found by. */
  record?: BuildRecord;
  /** The digest of everything the builder build read (undefined: unknown, or decided by the engine). */
  builderInputs?: string;
  /** Both images as the up-to-date check just inspected them (builder, runtime): not asked again. */
  sizes?: [ImageSize, ImageSize];
  /** Every image the runtime Dockerfile read, with its id (undefined when that Dockerfile is unknown). */
  runtimeImages?: Record<string, string>;
  /** Why runtimeImages is unknown, for the next build's reason. */
  runtimeImagesUnknown?: string;
  builderRunMs: number;
  runtimeBuildMs: number;
  /** The builder container's removal, under way (a new image). */
  removed?: Promise<void>;
  /** A new image: what the doctor lists it from without an export (the Dockerfile the engine read, the
   * context the gate saw, BuildKit's automatic ARGs). */
  built?: { dockerfile?: string; listing?: ContextListing; automatic?: Record<string, string> };
}

/** What the checks found in that image. */
interface Checked {
  builder: ImageSize;
  runtime: ImageSize;
  exam: Examination;
  /** The doctor ran now (a new image, or findings recorded by older rules). */
  examinedNow: boolean;
  /** The pair's build this image is compared with. */
  since?: PairBuild;
}

/**
 * The seed's `docker build -t NAME-builder .; docker run NAME-builder | docker build -t NAME -`, through
 * the Engine API and streamed: the builder's stdout goes straight into the runtime build's request body
 * through the TarGate, which checks it and holds its end back until the builder's exit code is known.
 * Every path to the tag — a new runtime image or one found up to date — goes through the same checks
 * (the doctor's strictness, the size and growth budgets); a new image is tagged only when they pass, and
 * the builder container is always removed.
 */
export async function buildPair(engine: Engine, pair: Pair, options: BuildOptions = {}): Promise<BuildResult> {
  const run = startRun(engine.docker, pair, options);
  const onCallerAbort = () => run.abort.abort(cancelled(run.phase));
  if (options.signal?.aborted) throw cancelled(run.phase);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let removal: Promise<void> | undefined;
  try {
    // Independent: the builder to use, and (only for the registries the pair's Dockerfiles name and the
    // engine lacks) the credentials, which only the builds need: a pair up to date does not wait for them.
    const credentials = (async () => {
      const asked = (options.credentials ?? (await registryCredentials())).only(
        await registriesToAskFor(run.docker, [pair.builderDockerfile, pair.runtimeDockerfile], options.buildArgs),
      );
      for (const problem of asked.problems) run.emit({ type: 'log', source: 'builder-build', line: `Registry credentials: ${problem}` });
      return asked;
    })();
    credentials.catch(() => undefined);
    const choice = await chooseEngineBuilder(run);
    const known = builderInputs(run, choice.builder); // never rejects: an error is a reason to build
    const fast = await upToDateWithoutBuilderBuild(run, choice.builder, known);
    const { builderId, builderBuildMs, produced } =
      typeof fast === 'string' ? await buildAndRun(run, choice.builder, await credentials, await known, fast) : fast;
    removal = produced.removed;
    const checked = await check(run, builderId, produced);
    await tag(run, produced);
    const growth = await record(run, produced, checked);
    await removal;
    return {
      ok: true,
      pair,
      builder: checked.builder,
      runtime: checked.runtime,
      context: produced.context,
      engineBuilder: choice,
      upToDate: produced.upToDate,
      doctor: checked.exam.findings,
      growth,
      timings: { builderBuildMs, builderRunMs: produced.builderRunMs, runtimeBuildMs: produced.runtimeBuildMs, totalMs: Date.now() - run.started },
    };
  } catch (error) {
    await removal;
    throw asBuildError(error, run.phase, run.abort.signal);
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function startRun(docker: Docker, pair: Pair, options: BuildOptions): Run {
  const { runtimeTag, builderTag, builderNetwork } = namesFor(pair, options);
  const emit = options.onEvent ?? (() => undefined);
  let engineId: Promise<string> | undefined;
  const run: Run = {
    docker,
    pair,
    options,
    emit,
    abort: new AbortController(),
    started: Date.now(),
    runtimeTag,
    builderTag,
    builderNetwork,
    records: options.recordsDir ?? recordsDir(),
    get engineId() {
      if (!engineId) {
        engineId = engineIdOf(docker);
        engineId.catch(() => undefined);
      }
      return engineId;
    },
    phase: 'builder-build',
    enter(phase, message) {
      run.phase = phase;
      emit({ type: 'phase', phase, message });
    },
  };
  return run;
}

/** The builder for both images: the setting, the engine's default, and what the pair's Dockerfiles use. */
async function chooseEngineBuilder(run: Run): Promise<BuilderChoice> {
  const [engineDefault, builderText, runtimeText] = await Promise.all([
    engineDefaultBuilder(run.docker),
    fs.readFile(run.pair.builderDockerfile, 'utf8').catch(() => ''),
    fs.readFile(run.pair.runtimeDockerfile, 'utf8').catch(() => ''),
  ]);
  const choice = chooseBuilder(run.options.builder ?? 'auto', engineDefault, [
    { label: 'the builder Dockerfile', text: builderText },
    { label: 'Dockerfile.run', text: runtimeText },
  ]);
  run.enter('builder-build', `Building with ${choice.builder === 'buildkit' ? 'BuildKit' : 'the legacy builder'}: ${choice.reason}`);
  return choice;
}

/** What the builder build reads besides its context (src/core/builder-inputs.ts) but the engine's id, which
 * is asked apart (GET /info, 20-60 ms here) and added where a digest is made (onEngine); or why the engine
 * decides the builder build's result at build time. */
type KnownInputs = { facts: Omit<BuilderFacts, 'engineId'> } | { never: string };

async function builderInputs(run: Run, builder: EngineBuilder): Promise<KnownInputs> {
  try {
    const [text, version] = await Promise.all([
      fs.readFile(run.pair.builderDockerfile, 'utf8'),
      builder === 'buildkit' ? engineVersion(run.docker) : undefined,
    ]);
    const known = await builderFacts(run.docker, text, {
      engineId: '', // replaced by onEngine before any digest
      builder,
      buildArgs: run.options.buildArgs ?? {},
      network: run.builderNetwork,
      automatic: version ? platformArgs(version.Os ?? 'linux', version.Arch ?? '') : undefined,
    });
    if ('never' in known) return known;
    const { engineId: _, ...facts } = known.facts;
    return { facts };
  } catch (error) {
    return { never: `what the builder build reads could not be known (${messageOf(error)})` };
  }
}

function onEngine(facts: Omit<BuilderFacts, 'engineId'>, engineId: string): BuilderFacts {
  return { ...facts, engineId };
}

/** The images to tag and check, and how long the builder build took (0: none). */
interface Made {
  builderId: string;
  builderBuildMs: number;
  produced: Produced;
}

/**
 * Up to date without a builder build: the digest of everything the builder build would read equals the
 * record's, the builder tag still names the recorded builder image, and everything the normal check asks
 * (runtime tag, Dockerfile.run, build args, builder, network, engine, runtime images) holds. Else why not,
 * said for the normal path's message.
 */
const BUILDER_INPUTS_CHANGED = "the builder's context, Dockerfile, build args or images differ from the recorded build's";

async function upToDateWithoutBuilderBuild(run: Run, builder: EngineBuilder, knownAsked: Promise<KnownInputs>): Promise<Made | string> {
  const { docker, pair, options } = run;
  if (options.force) return '--force builds everything';
  if (options.noCache) return '--no-cache builds everything';
  // Everything below is asked at once, beside the builder's inputs; the answers are then taken in order.
  const [known, context, builderImage, runtimeDockerfile, read] = await Promise.all([
    knownAsked,
    contextDigest(pair.dir).catch((error: unknown) => new Error(messageOf(error))),
    imageSize(docker, run.builderTag).catch(() => undefined),
    fs.readFile(pair.runtimeDockerfile).catch(() => undefined),
    taggedRecord(docker, run.records, run.runtimeTag),
  ]);
  if ('never' in known) return known.never;
  if (context instanceof Error) return `the builder's context could not be read (${context.message})`;
  if (!builderImage) return `no image is tagged ${run.builderTag}`;
  const builderTagged = builderImage.id;
  if (!runtimeDockerfile) return `${relative(pair.runtimeDockerfile)} could not be read`;
  // Decided without the engine's id when it can be: nothing tagged, no record, or builder inputs other than
  // the record's even on the record's own engine (another engine is a change too), so the build starts
  // while GET /info is still out. The answer is the one the full comparison below gives.
  if ('reason' in read) return read.reason;
  if (read.record.builderInputs && read.record.builderInputs !== builderInputsDigest(context, onEngine(known.facts, read.record.inputs.engineId))) {
    return BUILDER_INPUTS_CHANGED;
  }
  const engineId = await run.engineId;
  const digest = builderInputsDigest(context, onEngine(known.facts, engineId));
  const inputs: BuildInputs = {
    engineId,
    builderImageId: builderTagged,
    builder,
    buildArgs: options.buildArgs ?? {},
    runtimeDockerfileSha256: sha256(runtimeDockerfile),
    builderNetwork: run.builderNetwork,
  };
  const fresh = await freshness(docker, run.records, run.runtimeTag, inputs, read);
  if (!fresh.upToDate) return fresh.reason;
  const { record, tagged } = fresh;
  if (!record.builderInputs) return "the record of the tagged image has no digest of the builder's inputs (made by an older Dockerception)";
  if (record.builderInputs !== digest) return BUILDER_INPUTS_CHANGED;
  run.enter(
    'tag',
    `Up to date: ${run.runtimeTag} was built from the same builder image, Dockerfile.run, build args, builder, network and base images; nothing to run (--force runs it anyway) ` +
      `(no builder build: its context, Dockerfile, build args and images are as recorded, and ${run.builderTag} is the recorded image)`,
  );
  return {
    builderId: builderTagged,
    builderBuildMs: 0,
    produced: {
      runtimeId: record.runtimeId,
      context: record.context,
      inputs,
      upToDate: true,
      record,
      builderInputs: digest,
      sizes: [builderImage, { tag: run.runtimeTag, ...tagged }],
      runtimeImages: record.runtimeImages,
      builderRunMs: 0,
      runtimeBuildMs: 0,
    },
  };
}

/**
 * The normal path: the builder build (a cached one when its inputs did not change), then the runtime image
 * found up to date or made from the builder's output. The digest of what was sent is kept for the record
 * when the builder's images did not move during the build.
 */
async function buildAndRun(run: Run, builder: EngineBuilder, credentials: RegistryCredentials, known: KnownInputs, why: string): Promise<Made> {
  const sent = new ContextDigest();
  const building = buildBuilderImage(run, builder, credentials, sent);
  void run.engineId; // asked beside the builder build: needed once it ends
  const builderId = await building;
  const builderBuildMs = Date.now() - run.started;
  const produced = await reuseOrRun(run, builder, builderId, credentials, why);
  const context = sent.digest();
  if (context && 'facts' in known) {
    const [again, engineId] = await Promise.all([builderInputs(run, builder), run.engineId]);
    const before = builderInputsDigest(context, onEngine(known.facts, engineId));
    if ('facts' in again && builderInputsDigest(context, onEngine(again.facts, engineId)) === before) produced.builderInputs = before;
  }
  return { builderId, builderBuildMs, produced };
}

/** The builder image, from the pair's folder packed as the docker CLI would send it (seen by `sent` on the
 * way); meanwhile, builder containers a killed run left behind are removed. */
async function buildBuilderImage(run: Run, builder: EngineBuilder, credentials: RegistryCredentials, sent: ContextDigest): Promise<string> {
  const { docker, pair, options, emit } = run;
  const sweep = sweepLeftoverContainers(docker)
    .catch(() => 0)
    .then((swept) => {
      if (swept > 0) emit({ type: 'phase', phase: 'builder-build', message: `Removed ${swept} builder container(s) an earlier, killed run left behind` });
    });
  run.enter('builder-build', `Building the builder image ${run.builderTag} from ${pair.dir}`);
  const id = await buildImage(docker, packContext(pair.dir, undefined, sent), {
    role: 'builder',
    builder,
    tag: run.builderTag,
    buildArgs: options.buildArgs,
    noCache: options.noCache,
    signal: run.abort.signal,
    dockerfileHint: relative(pair.builderDockerfile),
    credentials,
    onStep: (step) => emit({ type: 'step', role: 'builder', step }),
    onLine: (line) => emit({ type: 'log', source: 'builder-build', line }),
  });
  await sweep;
  return id;
}

/**
 * The runtime image: the tagged one when nothing it was made from changed (like a cached RUN: the builder's
 * CMD would write the same output from the same inputs), else built now from the builder's output.
 */
async function reuseOrRun(run: Run, builder: EngineBuilder, builderId: string, credentials: RegistryCredentials, why: string): Promise<Produced> {
  const { docker, pair, options } = run;
  const fallbackDockerfile = await readRuntimeDockerfile(pair);
  const buildArgs = options.buildArgs ?? {};
  const inputs: BuildInputs = {
    engineId: await run.engineId,
    builderImageId: builderId,
    builder,
    buildArgs,
    runtimeDockerfileSha256: fallbackDockerfile ? sha256(fallbackDockerfile) : 'missing',
    builderNetwork: run.builderNetwork,
  };
  // BuildKit's automatic platform ARGs come from the engine's version: asked beside the up-to-date check.
  const versionAsked = builder === 'buildkit' ? engineVersion(docker).catch(() => undefined) : Promise.resolve(undefined);
  if (!options.noCache && !options.force) {
    const fresh = await freshness(docker, run.records, run.runtimeTag, inputs);
    if (fresh.upToDate) {
      run.enter(
        'tag',
        `Up to date: ${run.runtimeTag} was built from the same builder image, Dockerfile.run, build args, builder, network and base images; nothing to run (--force runs it anyway). ` +
          `The builder build ran (cached) because ${why}`,
      );
      const { record } = fresh;
      return {
        runtimeId: record.runtimeId,
        context: record.context,
        inputs,
        upToDate: true,
        record,
        runtimeImages: record.runtimeImages,
        builderRunMs: 0,
        runtimeBuildMs: 0,
      };
    }
    run.enter('builder-build', `Building the runtime image: ${fresh.reason}`);
  }
  // The images the runtime Dockerfile reads, by id as the build will see them: Dockerfile.run's asked now,
  // those of a Dockerfile the builder writes once its tar is whole and before the engine may read it. An
  // image re-tagged later shows as a change next time.
  const version = await versionAsked;
  const automatic = version ? platformArgs(version.Os ?? 'linux', version.Arch ?? '') : {};
  const refsOf = (text: string) =>
    imageReferences(text, buildArgs, automatic)
      .filter((ref) => builder === 'buildkit' || ref.kind !== 'syntax') // the legacy builder ignores # syntax=
      .map((ref) => ref.ref);
  const pairImages = imageIds(docker, refsOf(fallbackDockerfile?.toString('utf8') ?? ''));
  pairImages.catch(() => undefined);
  let runtimeImages: Record<string, string> | undefined;
  let unknownBecause = 'the Dockerfile the builder wrote was not kept (a link, or over 1 MiB)';
  const askRuntimeImages = async ({ dockerfileSource, dockerfile }: Pick<TarSummary, 'dockerfileSource' | 'dockerfile'>) => {
    try {
      if (dockerfileSource === 'pair') runtimeImages = await pairImages;
      else if (dockerfile) runtimeImages = await imageIds(docker, refsOf(dockerfile.toString('utf8')));
    } catch (error) {
      unknownBecause = `the engine did not say which images the runtime Dockerfile names (${messageOf(error)})`;
    }
  };

  run.enter('builder-run', `Running ${run.builderTag}; its stdout is the runtime build context`);
  const result = await runBuilderIntoRuntimeBuild(docker, builderId, {
    builder,
    fallbackDockerfile,
    fallbackName: relative(pair.runtimeDockerfile),
    network: run.builderNetwork,
    abort: run.abort,
    timeoutMs: options.builderTimeoutMs,
    buildArgs: options.buildArgs,
    noCache: options.noCache,
    runtimeDockerfileHint: `${relative(pair.runtimeDockerfile)} (or the Dockerfile your builder writes into its tar)`,
    credentials,
    beforeRuntimeBuildEnds: askRuntimeImages,
    onPhase: (next, message) => run.enter(next, message),
    emit: run.emit,
  });
  if (runtimeImages) {
    // An image the legacy builder pulled was not on the engine before: its id is known now.
    const before = runtimeImages;
    const pulled = await imageIds(
      docker,
      Object.keys(before).filter((ref) => before[ref] === ''),
    ).catch(() => ({}));
    runtimeImages = { ...before, ...pulled };
  }
  return {
    runtimeId: result.runtimeId,
    context: result.summary,
    inputs,
    upToDate: false,
    runtimeImages,
    runtimeImagesUnknown: runtimeImages ? undefined : unknownBecause,
    builderRunMs: result.builderRunMs,
    runtimeBuildMs: result.runtimeBuildMs,
    removed: result.removed,
    built: {
      dockerfile: (result.summary.dockerfileSource === 'pair' ? fallbackDockerfile : result.summary.dockerfile)?.toString('utf8'),
      listing: result.listing,
      automatic,
    },
  };
}

/**
 * The checks the image that will carry the tag must pass, whichever way it came: the doctor (its findings
 * reported; with `strict`, refused), the size budget and the growth budget. A new image that fails them is
 * removed; an up-to-date one keeps its tag and the build fails.
 */
async function check(run: Run, builderId: string, produced: Produced): Promise<Checked> {
  const { docker, options, emit } = run;
  run.enter('doctor', 'Checking the runtime image: what it runs, what that needs, what changed');
  try {
    const recorded = produced.record;
    const reuse = recorded?.examinedWith === DOCTOR_RULES && recorded.files !== undefined && recorded.doctor !== undefined;
    // Independent requests, at once: the two images' sizes, the doctor, the pair's builds.
    const examined: Promise<Examination> = reuse
      ? Promise.resolve({ findings: recorded.doctor ?? [], files: recorded.files ?? [], truncated: Boolean(recorded.filesTruncated) })
      : produced.built
        ? examineBuilt(docker, {
            id: produced.runtimeId,
            dockerfile: produced.built.dockerfile,
            context: produced.built.listing,
            images: produced.runtimeImages,
            buildArgs: options.buildArgs,
            automatic: produced.built.automatic,
            cacheDir: path.join(run.records, 'doctor-bases'),
            engineId: produced.inputs.engineId,
          })
        : examineImage(docker, produced.runtimeId);
    const buildsRead = pairBuilds(run.records, pairKey(produced.inputs.engineId, run.pair.dir, run.runtimeTag));
    const sized = produced.sizes ? Promise.resolve(produced.sizes) : imageSizes(docker, builderId, run.builderTag, produced.runtimeId, run.runtimeTag);
    for (const asked of [examined, buildsRead, sized]) asked.catch(() => undefined);
    const exam = await examined;
    if (!reuse) {
      const how = exam.path === 'listing' ? "from the base image's listing and the context (no export)" : `by exporting it${exam.why ? `: ${exam.why}` : ''}`;
      emit({ type: 'phase', phase: 'doctor', message: `Doctor: checked the runtime image ${how}` });
    }
    for (const finding of exam.findings) emit({ type: 'finding', finding });
    const [builder, runtime] = await sized;
    const builds = await buildsRead;
    const since = produced.upToDate ? buildBefore(builds, runtime.id) : builds.filter((b) => b.runtimeId !== runtime.id).at(-1);
    const previous = since && (await readRecord(run.records, since.runtimeId));
    const refusal = guardRefusal(runtime, exam, since && { build: since, files: previous?.files }, options);
    if (refusal) {
      const tagged = produced.upToDate ? undefined : await imageSize(docker, run.runtimeTag).catch(() => undefined);
      throw refused(refusal, run, produced, tagged?.id);
    }
    // A cancel that came while the image was being checked: it is not tagged.
    if (run.abort.signal.aborted) throw run.abort.signal.reason;
    return { builder, runtime, exam, examinedNow: !reuse, since };
  } catch (error) {
    if (!produced.upToDate) await removeUntaggedImage(docker, produced.runtimeId);
    throw error;
  }
}

/** A guard's refusal, with what became of the tag: a new image was not tagged; an up-to-date one still is. */
function refused(refusal: Refusal, run: Run, produced: Produced, taggedId: string | undefined): DockerceptionError {
  const outcome = produced.upToDate
    ? `; nothing changed since it was built${produced.record ? ` (${produced.record.recordedAt})` : ''}, so it was not rebuilt: it still carries the tag ${run.runtimeTag}, and this build fails because it does not pass`
    : taggedId === produced.runtimeId
      ? `; the build made the very image ${run.runtimeTag} already points at (its steps were cached), so that tag stays, and this build fails because it does not pass`
      : `${refusal.code === 'DOCTOR' ? ', so' : ';'} it was not tagged`;
  return new DockerceptionError(refusal.code, `${refusal.what}${outcome}.${refusal.detail ?? ''}\n${refusal.fix}`, refusal.phase);
}

/** Tags a new runtime image (an up-to-date one already carries the tag). */
async function tag(run: Run, produced: Produced): Promise<void> {
  if (produced.upToDate) return;
  run.enter('tag', `Tagging ${run.runtimeTag}`);
  const { repo, tag } = splitReference(run.runtimeTag);
  try {
    await run.docker.getImage(produced.runtimeId).tag({ repo, tag });
  } catch (error) {
    await removeUntaggedImage(run.docker, produced.runtimeId);
    throw error;
  }
  run.emit({ type: 'phase', phase: 'tag', message: `Tagged ${run.runtimeTag}` });
}

/** Keeps what the next build decides with: the inputs and what was found (a record per image), and the
 * pair's history. Returns what grew since the pair's build before. */
async function record(run: Run, produced: Produced, checked: Checked): Promise<Growth | undefined> {
  const { records } = run;
  const { runtime, exam, since } = checked;
  if (!produced.upToDate || checked.examinedNow || produced.builderInputs !== produced.record?.builderInputs) {
    const recordedAt = produced.record?.recordedAt ?? new Date().toISOString();
    // The record and the pair's history are written at once: different files.
    const written = writeRecord(records, {
      inputs: produced.record?.inputs ?? produced.inputs,
      runtimeId: produced.runtimeId,
      context: { ...produced.context, dockerfile: undefined },
      recordedAt,
      runtimeSize: runtime.size,
      files: exam.files,
      filesTruncated: exam.truncated,
      doctor: exam.findings,
      examinedWith: DOCTOR_RULES,
      ...(produced.runtimeImages ? { runtimeImages: produced.runtimeImages } : {}),
      ...(produced.runtimeImagesUnknown ? { runtimeImagesUnknown: produced.runtimeImagesUnknown } : {}),
      ...(produced.builderInputs ? { builderInputs: produced.builderInputs } : {}),
    }).catch((error: unknown) => unrecorded(run, error));
    const added = produced.upToDate
      ? undefined
      : addPairBuild(records, pairKey(produced.inputs.engineId, run.pair.dir, run.runtimeTag), {
          runtimeId: produced.runtimeId,
          size: runtime.size,
          recordedAt,
        }).catch((error: unknown) => unrecorded(run, error));
    await Promise.all([written, added]);
  }
  if (!since || since.runtimeId === runtime.id) return undefined;
  return growthSince(records, since, runtime.id, runtime.size);
}

/** A record that could not be written costs the next build its skip and its growth: said, not fatal. */
function unrecorded(run: Run, error: unknown): void {
  run.emit({
    type: 'log',
    source: 'runtime-build',
    line: `Could not record this build in ${run.records} (${messageOf(error)}): the next build runs everything and cannot say what grew. Check that folder's permissions and free space.`,
  });
}

async function imageSizes(docker: Docker, builderId: string, builderTag: string, runtimeId: string, runtimeTag: string): Promise<[ImageSize, ImageSize]> {
  const [builder, runtime] = await Promise.all([imageSize(docker, builderId, builderTag), imageSize(docker, runtimeId, runtimeTag)]);
  if (!builder || !runtime) throw new Error('an image the engine just built or reported is gone');
  return [builder, runtime];
}

interface Refusal {
  code: 'SIZE_BUDGET' | 'SIZE_GROWTH' | 'DOCTOR';
  phase: Phase;
  /** What is wrong with the image: a sentence without its full stop (what became of the tag follows). */
  what: string;
  /** More about it, after that sentence. */
  detail?: string;
  /** What to do. */
  fix: string;
}

/** The doctor's findings that refuse an image under `strict`. */
export function refusingFindings(findings: readonly Finding[], strict: Strictness | undefined): Finding[] {
  if (!strict) return [];
  return strict === 'warnings' ? [...findings] : findings.filter((f) => f.severity === 'error');
}

/**
 * The first check a runtime image fails, if any: the size budget, the growth budget, and with `strict` the
 * doctor's errors (or, with 'warnings', any finding). Pure: the caller decides what becomes of the image.
 */
export function guardRefusal(
  runtime: ImageSize,
  exam: Examination,
  previous: { build: PairBuild; files?: FileEntry[] } | undefined,
  options: Pick<BuildOptions, 'maxRuntimeSize' | 'maxGrowth' | 'strict'>,
): Refusal | undefined {
  const { maxRuntimeSize, maxGrowth } = options;
  if (maxRuntimeSize !== undefined && runtime.size > maxRuntimeSize) {
    return {
      code: 'SIZE_BUDGET',
      phase: 'tag',
      what: `The runtime image is ${formatBytes(runtime.size)}, over the budget of ${formatBytes(maxRuntimeSize)}`,
      fix: `Make it smaller (see 'dockerception inspect' for its layers and largest files) or raise the budget.`,
    };
  }
  if (maxGrowth !== undefined && previous && runtime.size - previous.build.size > maxGrowth) {
    const changes = previous.files
      ? fileChanges(previous.files, exam.files)
          .filter((c) => c.delta > 0)
          .slice(0, 5)
      : [];
    const largest = changes.length > 0 ? ` Largest growth: ${changes.map((c) => `+${formatBytes(c.delta)} ${c.path}`).join(', ')}.` : '';
    return {
      code: 'SIZE_GROWTH',
      phase: 'tag',
      what:
        `The runtime image is ${formatBytes(runtime.size)}, ${formatBytes(runtime.size - previous.build.size)} more than the pair's last build ` +
        `(${formatBytes(previous.build.size)}, ${previous.build.recordedAt}), over the allowed growth of ${formatBytes(maxGrowth)}`,
      detail: largest,
      fix: `Find what grew ('dockerception inspect --diff' after a build without --max-growth), or raise --max-growth.`,
    };
  }
  const findings = refusingFindings(exam.findings, options.strict);
  if (findings.length > 0) {
    const mode = options.strict === 'warnings' ? 'errors and warnings' : 'errors: the findings that stop docker run';
    return {
      code: 'DOCTOR',
      phase: 'doctor',
      what: `The doctor found ${findings.length} problem(s) in the runtime image`,
      detail: ` Strict mode (${mode}) refuses:\n` + findings.map((f) => `  - ${f.severity} ${f.code}: ${f.message}`).join('\n'),
      fix:
        options.strict === 'warnings'
          ? `Fix them, or use --strict (errors only) or no --strict (dockerception.doctor.strict) to tag it with these reported.`
          : `Fix them, or build without --strict (dockerception.doctor.strict) to tag it with these reported.`,
    };
  }
  return undefined;
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
