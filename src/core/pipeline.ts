import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream';
import type Docker from 'dockerode';
import { packContext } from './context';
import { AttachDemux, LineSplitter } from './demux';
import type { Engine } from './engine';
import { DockerceptionError, isConnectionError, messageOf, type Phase } from './errors';
import { LABEL_RUN, removeContainer, sweepLeftoverContainers } from './cleanup';
import { chooseBuilder, engineDefaultBuilder, type BuilderChoice, type BuilderSetting, type EngineBuilder } from './builder-choice';
import { buildImage, connectionLost, type BuildStep } from './image-build';
import type { Pair } from './pairs';
import { formatBytes, imageSize, type ImageSize } from './sizes';
import { TarGate, type TarSummary } from './tar-gate';
import { engineIdOf, freshness, recordsDir, sha256, writeRecord, type BuildInputs, type BuildRecord } from './up-to-date';


export type ProgressEvent =
  | { type: 'phase'; phase: Phase; message: string }
  | { type: 'step'; role: 'builder' | 'runtime'; step: BuildStep }
  | { type: 'log'; source: 'builder-build' | 'builder-stderr' | 'runtime-build'; line: string };

export interface BuildOptions {
  /** Runtime image reference; the builder is tagged NAME-builder. Default: the pair's name. */
  tag?: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  /** The engine's builder for both images: 'auto' (default) follows the engine and the Dockerfiles. */
  builder?: BuilderSetting;
  /** Run everything even when nothing changed since the tagged runtime image was built. */
  force?: boolean;
  /** Where the inputs of each build are recorded (default: recordsDir()). */
  recordsDir?: string;
  /** Bounds the builder container's run, in milliseconds (0 or undefined: no bound). */
  builderTimeoutMs?: number;
  /** Fail with SIZE_BUDGET, tagging nothing, when the runtime image is larger (bytes). */
  maxRuntimeSize?: number;
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
  return new DockerceptionError('CANCELLED', `The build was cancelled during the ${phase.replace('-', ' ')}. Nothing was tagged and the builder container was removed.`, phase);
}

/**
 * The seed's `docker build -t NAME-builder .; docker run NAME-builder | docker build -t NAME -`, through
 * the Engine API and streamed: the builder's stdout goes straight into the runtime build's request body
 * through the TarGate, which checks it and holds its end back until the builder's exit code is known.
 * The runtime image is built untagged and tagged only when everything succeeded; the builder container
 * is always removed.
 */
export async function buildPair(engine: Engine, pair: Pair, options: BuildOptions = {}): Promise<BuildResult> {
  const { docker } = engine;
  const emit = options.onEvent ?? (() => undefined);
  const runtimeTag = options.tag ?? pair.name;
  if (!isValidReference(runtimeTag)) {
    throw new DockerceptionError(
      'NO_PAIR',
      `'${runtimeTag}' is not a valid image name: use lower-case letters, digits and . _ - (e.g. 'my-app' or 'my-app:1.0').`,
      'discover',
    );
  }
  const builderTag = builderTagFor(runtimeTag);
  const relDockerfile = (file: string) => path.relative(process.cwd(), file) || file;
  let phase: Phase = 'builder-build';
  const started = Date.now();

  // One controller for the whole run: the caller's cancel and our own failures both end every request.
  const abort = new AbortController();
  const onCallerAbort = () => abort.abort(cancelled(phase));
  if (options.signal?.aborted) throw cancelled(phase);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    // Alongside the builder build (it needs no container): builder containers a killed run left behind.
    const sweep = sweepLeftoverContainers(docker)
      .catch(() => 0)
      .then((swept) => {
        if (swept > 0) emit({ type: 'phase', phase, message: `Removed ${swept} builder container(s) an earlier, killed run left behind` });
      });

    const choice = await chooseEngineBuilder(docker, pair, options.builder ?? 'auto');
    emit({ type: 'phase', phase, message: `Building with ${choice.builder === 'buildkit' ? 'BuildKit' : 'the legacy builder'}: ${choice.reason}` });

    // 1. The builder image, from the pair's folder packed as the docker CLI would send it.
    emit({ type: 'phase', phase, message: `Building the builder image ${builderTag} from ${pair.dir}` });
    const builderId = await buildImage(docker, packContext(pair.dir), {
      role: 'builder',
      builder: choice.builder,
      tag: builderTag,
      buildArgs: options.buildArgs,
      noCache: options.noCache,
      signal: abort.signal,
      dockerfileHint: relDockerfile(pair.builderDockerfile),
      onStep: (step) => emit({ type: 'step', role: 'builder', step }),
      onLine: (line) => emit({ type: 'log', source: 'builder-build', line }),
    });
    const builderBuildMs = Date.now() - started;
    await sweep;

    // Nothing changed since the tagged runtime image was built: the builder's CMD, like a cached RUN,
    // would write the same output.
    const fallbackDockerfile = await fs.readFile(pair.runtimeDockerfile);
    const records = options.recordsDir ?? recordsDir();
    const inputs: BuildInputs = {
      engineId: await engineIdOf(docker),
      builderImageId: builderId,
      builder: choice.builder,
      buildArgs: options.buildArgs ?? {},
      runtimeDockerfileSha256: sha256(fallbackDockerfile),
    };
    if (!options.noCache && !options.force) {
      const fresh = await freshness(docker, records, runtimeTag, inputs);
      if (fresh.upToDate) {
        emit({ type: 'phase', phase: 'tag', message: `Up to date: ${runtimeTag} was built from the same builder image, Dockerfile.run, build args and builder; nothing to run (--force runs it anyway)` });
        return await upToDateResult(docker, pair, builderId, builderTag, runtimeTag, fresh.record, choice, builderBuildMs, started);
      }
      emit({ type: 'phase', phase, message: `Building the runtime image: ${fresh.reason}` });
    }

    // 2 + 3. Run the builder; its stdout is the runtime build's context.
    phase = 'builder-run';
    emit({ type: 'phase', phase, message: `Running ${builderTag}; its stdout is the runtime build context` });
    const run = await runBuilderIntoRuntimeBuild(docker, builderId, {
      builder: choice.builder,
      fallbackDockerfile,
      abort,
      timeoutMs: options.builderTimeoutMs,
      buildArgs: options.buildArgs,
      noCache: options.noCache,
      runtimeDockerfileHint: `${relDockerfile(pair.runtimeDockerfile)} (or the Dockerfile your builder writes into its tar)`,
      onPhase: (next, message) => {
        phase = next;
        emit({ type: 'phase', phase, message });
      },
      emit,
    });

    // 4. Only now, with everything checked, does the runtime image get its name.
    phase = 'tag';
    const [builder, runtimeUntagged] = await Promise.all([imageSize(docker, builderId, builderTag), imageSize(docker, run.runtimeId, runtimeTag)]);
    if (!builder || !runtimeUntagged) throw new Error('an image the engine just built is gone');
    if (options.maxRuntimeSize !== undefined && runtimeUntagged.size > options.maxRuntimeSize) {
      await removeUntaggedImage(docker, run.runtimeId);
      throw new DockerceptionError(
        'SIZE_BUDGET',
        `The runtime image is ${formatBytes(runtimeUntagged.size)}, over the budget of ${formatBytes(options.maxRuntimeSize)}; it was not tagged. ` +
          `Make it smaller (see 'dockerception inspect' for its layers and largest files) or raise the budget.`,
        'tag',
      );
    }
    const { repo, tag } = splitReference(runtimeTag);
    await docker.getImage(run.runtimeId).tag({ repo, tag });
    emit({ type: 'phase', phase, message: `Tagged ${runtimeTag}` });
    await writeRecord(records, { inputs, runtimeId: run.runtimeId, context: run.summary, recordedAt: new Date().toISOString() }).catch(() => undefined);

    return {
      ok: true,
      pair,
      builder,
      runtime: runtimeUntagged,
      context: run.summary,
      engineBuilder: choice,
      upToDate: false,
      timings: {
        builderBuildMs,
        builderRunMs: run.builderRunMs,
        runtimeBuildMs: run.runtimeBuildMs,
        totalMs: Date.now() - started,
      },
    };
  } catch (error) {
    if (abort.signal.aborted && abort.signal.reason instanceof DockerceptionError) throw abort.signal.reason;
    // The runtime build's request is open during the builder run too: a broken connection then
    // belongs to the phase the user is watching.
    if (error instanceof DockerceptionError && error.code === 'ENGINE_UNREACHABLE' && error.phase !== phase) {
      throw connectionLost(phase, error.cause ?? error);
    }
    if (error instanceof DockerceptionError) throw error;
    if (isConnectionError(error)) throw connectionLost(phase, error);
    throw new DockerceptionError(
      phase === 'builder-build' ? 'BUILDER_BUILD_FAILED' : 'RUNTIME_BUILD_FAILED',
      `The ${phase.replace('-', ' ')} failed: ${messageOf(error)}. Build again; if it persists, check 'docker info' and the engine's log.`,
      phase,
      { cause: error },
    );
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

async function upToDateResult(
  docker: Docker,
  pair: Pair,
  builderId: string,
  builderTag: string,
  runtimeTag: string,
  record: BuildRecord,
  engineBuilder: BuilderChoice,
  builderBuildMs: number,
  started: number,
): Promise<BuildResult> {
  const [builder, runtime] = await Promise.all([imageSize(docker, builderId, builderTag), imageSize(docker, record.runtimeId, runtimeTag)]);
  if (!builder || !runtime) throw new Error('an image the engine just reported is gone');
  return {
    ok: true,
    pair,
    builder,
    runtime,
    context: record.context,
    engineBuilder,
    upToDate: true,
    timings: { builderBuildMs, builderRunMs: 0, runtimeBuildMs: 0, totalMs: Date.now() - started },
  };
}

/** The builder for both images: the setting, the engine's default, and what the pair's Dockerfiles use. */
async function chooseEngineBuilder(docker: Docker, pair: Pair, setting: BuilderSetting): Promise<BuilderChoice> {
  if (setting !== 'auto') return chooseBuilder(setting, 'legacy', []);
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

interface RunOptions {
  builder: EngineBuilder;
  fallbackDockerfile: Buffer;
  abort: AbortController;
  timeoutMs?: number;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  runtimeDockerfileHint: string;
  onPhase: (phase: Phase, message: string) => void;
  emit: (event: ProgressEvent) => void;
}

const KEPT_STDERR_LINES = 10;

async function runBuilderIntoRuntimeBuild(
  docker: Docker,
  builderId: string,
  options: RunOptions,
): Promise<{ runtimeId: string; summary: TarSummary; builderRunMs: number; runtimeBuildMs: number }> {
  const { abort, emit } = options;
  const stderrTail: string[] = [];
  const stderrLines = new LineSplitter((line) => {
    stderrTail.push(line);
    if (stderrTail.length > KEPT_STDERR_LINES) stderrTail.shift();
    emit({ type: 'log', source: 'builder-stderr', line });
  });

  // No TTY: a pty turns LF into CRLF and corrupts the tar. No log driver: the tar would be written
  // to the json-file log as well.
  const container = await docker.createContainer({
    Image: builderId,
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Labels: { [LABEL_RUN]: '1' },
    HostConfig: { LogConfig: { Type: 'none', Config: {} } },
  });
  let attach: NodeJS.ReadableStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let runtimeId: string | undefined;
  const runStarted = Date.now();
  let builderRunMs = 0;
  try {
    // Attach before start: attaching after start loses the first bytes.
    attach = await container.attach({ stream: true, stdout: true, stderr: true });
    // The exit status is asked for once start() has returned, with 'not-running': it answers at once for
    // a builder that has already exited. ('next-exit' asked before start races it: a builder that exits
    // before the engine has registered the wait is never reported, and the build hangs.)
    let markStarted: (started: Promise<unknown>) => void = () => undefined;
    const started = new Promise<Promise<unknown>>((resolve) => (markStarted = resolve));
    const exited = (async () => {
      await (await started);
      return (await container.wait({ condition: 'not-running', abortSignal: abort.signal })) as { StatusCode: number };
    })();
    exited.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile

    const exitVerdict = async (): Promise<DockerceptionError | undefined> => {
      stderrLines.end();
      let status: number;
      try {
        status = (await exited).StatusCode;
      } catch (error) {
        if (abort.signal.aborted) throw abort.signal.reason;
        return new DockerceptionError(
          'BUILDER_EXIT',
          `The builder container's exit status could not be read (${messageOf(error)}), so its output was not used and nothing was tagged. ` +
            `Was the container removed by someone else? Build again.`,
          'builder-run',
          { cause: error },
        );
      }
      builderRunMs = Date.now() - runStarted;
      options.onPhase('runtime-build', `Builder exited ${status} after ${(builderRunMs / 1000).toFixed(1)} s; building the runtime image`);
      if (status === 0) return undefined;
      const tail = stderrTail.length > 0 ? ` Its last stderr lines:\n  ${stderrTail.join('\n  ')}` : ' It wrote nothing to stderr.';
      return new DockerceptionError(
        'BUILDER_EXIT',
        `The builder container exited with code ${status}, so its output was not used and nothing was tagged.${tail}\n` +
          `Fix the build in the builder's Dockerfile (its CMD runs here), then build again.`,
        'builder-run',
      );
    };

    const gate = new TarGate({ fallbackDockerfile: options.fallbackDockerfile, exitVerdict });
    const demux = new AttachDemux((chunk) => stderrLines.write(chunk));
    let gateError: DockerceptionError | undefined;
    const failRun = (error: DockerceptionError) => {
      gateError ??= error;
      gate.destroy(error);
    };
    abort.signal.addEventListener('abort', () => failRun(abort.signal.reason), { once: true });
    pipeline(attach, demux, gate, (error) => {
      if (!error) return;
      if (error instanceof DockerceptionError) gateError ??= error;
      else if (!gateError) failRun(connectionLost('builder-run', error));
    });

    // The engine answers a build only after reading the whole body, so start the runtime build
    // (the reader of the gate) before the builder, and catch its promise at once.
    const runtimeStarted = Date.now();
    const runtimeBuild = buildImage(docker, gate, {
      role: 'runtime',
      builder: options.builder,
      buildArgs: options.buildArgs,
      noCache: options.noCache,
      signal: abort.signal,
      dockerfileHint: options.runtimeDockerfileHint,
      onStep: (step) => emit({ type: 'step', role: 'runtime', step }),
      onLine: (line) => emit({ type: 'log', source: 'runtime-build', line }),
      onImageId: (id) => (runtimeId = id),
    });
    runtimeBuild.catch(() => undefined);

    const start = container.start();
    markStarted(start);
    await start;
    if (options.timeoutMs && options.timeoutMs > 0) {
      const seconds = options.timeoutMs / 1000;
      timer = setTimeout(() => {
        abort.abort(
          new DockerceptionError(
            'TIMEOUT',
            `The builder ran longer than the ${seconds} s timeout and was stopped; nothing was tagged. ` +
              `Raise the timeout (--timeout, or the dockerception.builderTimeout setting) or find out why the builder does not exit.`,
            'builder-run',
          ),
        );
      }, options.timeoutMs);
    }

    try {
      runtimeId = await runtimeBuild;
    } catch (error) {
      throw gateError ?? error;
    }
    if (gateError) throw gateError;
    if (!gate.summary) throw new Error('the builder output was never checked to its end');
    return { runtimeId, summary: gate.summary, builderRunMs, runtimeBuildMs: Date.now() - runtimeStarted - builderRunMs };
  } catch (error) {
    // A runtime build the engine finished before we refused its body leaves an untagged image: remove it.
    if (runtimeId) await removeUntaggedImage(docker, runtimeId);
    throw error;
  } finally {
    clearTimeout(timer);
    // Destroy the attach stream before removing: with an unread attach stream, remove can hang.
    (attach as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    await removeContainer(container);
  }
}

/** Removes an image we built but did not tag. Without force, so an image that has a tag stays. */
async function removeUntaggedImage(docker: Docker, id: string): Promise<void> {
  try {
    const info = await docker.getImage(id).inspect();
    if ((info.RepoTags ?? []).length === 0) await docker.getImage(id).remove({ noprune: false });
  } catch {
    // already gone, or in use by another image: nothing of ours to clean
  }
}
