// The middle of the seed's pipe, `docker run NAME-builder | docker build -`: the builder container's
// stdout streams through the TarGate into the runtime build's request body. Three parts, each alone:
// the container (created, attached, removed), its exit verdict, and the stream between the two builds.
import { pipeline } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineBuilder } from './builder-choice';
import { LABEL_RUN, removeContainer, removeUntaggedImage } from './cleanup';
import { AttachDemux, LineSplitter } from './demux';
import { DockerceptionError, isConnectionError, messageOf, type Phase } from './errors';
import { buildImage, connectionLost } from './image-build';
import type { ProgressEvent } from './build-types';
import type { RegistryCredentials } from './registry-auth';
import { TarGate, type ContextListing, type ExitVerdict, type TarGateOptions, type TarSummary } from './tar-gate';

/** The builder's CMD only writes a tar: by default it runs with no network (safer, and it starts sooner). */
export const DEFAULT_BUILDER_NETWORK = 'none';

/** Docker's NetworkMode values: none, default, bridge, host, a network's name, or container:NAME. */
export function isValidNetworkMode(mode: string): boolean {
  return /^(?:container:)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(mode);
}

/** What a builder CMD prints when it looks for a network it was not given. */
const NO_NETWORK =
  /network is unreachable|temporary failure in name resolution|could not resolve|no such host|bad address|getaddrinfo|EAI_AGAIN|ENOTFOUND|ENETUNREACH|dial tcp/i;

/** The hint for a failed builder that ran without a network and whose stderr says it wanted one. */
export function networkHint(network: string, stderrTail: readonly string[]): string {
  if (network !== 'none' || !stderrTail.some((line) => NO_NETWORK.test(line))) return '';
  return (
    `\nThe builder ran with no network (the default: its CMD should only write a tar). If it must fetch something, ` +
    `do that in a RUN step of its Dockerfile, or give it a network with --builder-network default (setting: dockerception.builderNetwork).`
  );
}

export interface BuilderRunOptions {
  builder: EngineBuilder;
  /** The pair's Dockerfile.run; undefined when it is missing (the builder's tar must then hold a Dockerfile). */
  fallbackDockerfile: Buffer | undefined;
  /** Dockerfile.run as people name it (for the message when it is missing). */
  fallbackName?: string;
  network: string;
  abort: AbortController;
  timeoutMs?: number;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  runtimeDockerfileHint: string;
  credentials?: RegistryCredentials;
  /** Asked once the builder's output is whole, before the runtime build may read its Dockerfile (see TarGate). */
  beforeRuntimeBuildEnds?: TarGateOptions['beforeEnd'];
  onPhase: (phase: Phase, message: string) => void;
  emit: (event: ProgressEvent) => void;
}

export interface BuilderRunResult {
  runtimeId: string;
  summary: TarSummary;
  builderRunMs: number;
  runtimeBuildMs: number;
  /** The context's entries as the gate saw them (for the doctor's listing without an export). */
  listing?: ContextListing;
  /** The builder container's removal, under way: a build awaits it before it returns, not before its tag. */
  removed: Promise<void>;
}

const KEPT_STDERR_LINES = 10;

/** The last lines a builder wrote to stderr, passed on as they come and kept for its exit message. */
class StderrTail {
  readonly lines: string[] = [];
  readonly splitter: LineSplitter;

  constructor(emit: (event: ProgressEvent) => void) {
    this.splitter = new LineSplitter((line) => {
      this.lines.push(line);
      if (this.lines.length > KEPT_STDERR_LINES) this.lines.shift();
      emit({ type: 'log', source: 'builder-stderr', line });
    });
  }
}

/**
 * Creates the builder container. No TTY: a pty turns LF into CRLF and corrupts the tar. No log driver:
 * the tar would be written to the json-file log as well.
 */
async function createBuilder(docker: Docker, image: string, network: string): Promise<Docker.Container> {
  try {
    return await docker.createContainer({
      Image: image,
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Labels: { [LABEL_RUN]: '1' },
      HostConfig: { LogConfig: { Type: 'none', Config: {} }, NetworkMode: network },
    });
  } catch (error) {
    throw builderStartError('created', error, network);
  }
}

/**
 * A builder the engine could not create or start: no CMD, a CMD that does not exist, an unknown network.
 * A broken connection is not the builder's fault: it is reported as the engine's.
 */
function builderStartError(what: 'created' | 'started', error: unknown, network: string): DockerceptionError {
  if (isConnectionError(error)) return connectionLost('builder-run', error);
  const said = messageOf(error)
    .replace(/^\(HTTP code \d+\) [a-z ]+ - /, '')
    .trim();
  const fix = /network/i.test(said)
    ? `The builder network '${network}' is not one the engine has ('docker network ls'): set --builder-network / dockerception.builderNetwork to none, default or an existing network.`
    : `Give the builder's Dockerfile a CMD (or ENTRYPOINT) that writes the runtime context as a tar to stdout, e.g. CMD ["tar", "-c", "-C", "/out", "."], and check that the program it names is in the image.`;
  return new DockerceptionError('BUILDER_START', `The builder container could not be ${what}: the engine said "${said}". ${fix}`, 'builder-run', {
    cause: error,
  });
}

/**
 * The builder's exit status, asked once start() has returned, with 'not-running': it answers at once for
 * a builder that has already exited. ('next-exit' asked before start races it: a builder that exits
 * before the engine has registered the wait is never reported, and the build hangs.)
 */
function exitStatus(container: Docker.Container, started: Promise<unknown>, signal: AbortSignal): Promise<number> {
  const status = (async () => {
    await started;
    const answer = (await container.wait({ condition: 'not-running', abortSignal: signal })) as { StatusCode?: unknown; Error?: { Message?: string } | null };
    // Fail closed: only a plain exit code counts, never a missing one or a wait the engine says went wrong.
    if (answer?.Error?.Message) throw new Error(`the engine's wait for the container failed: ${answer.Error.Message}`);
    if (typeof answer?.StatusCode !== 'number' || !Number.isInteger(answer.StatusCode)) {
      throw new Error(`the engine's wait answered without an exit code (${JSON.stringify(answer)?.slice(0, 200)})`);
    }
    return answer.StatusCode;
  })();
  status.catch(() => undefined); // awaited by the verdict; never an unhandled rejection meanwhile
  return status;
}

/** Turns the builder's exit status into the gate's verdict: undefined for 0, else BUILDER_EXIT. */
function builderVerdict(status: Promise<number>, stderr: StderrTail, options: BuilderRunOptions, onExit: (status: number) => void): ExitVerdict {
  return async () => {
    stderr.splitter.end();
    let code: number;
    try {
      code = await status;
    } catch (error) {
      if (options.abort.signal.aborted) throw options.abort.signal.reason;
      return new DockerceptionError(
        'BUILDER_EXIT',
        `The builder container's exit status could not be read (${messageOf(error)}), so its output was not used and nothing was tagged. ` +
          `Was the container removed by someone else? Build again.`,
        'builder-run',
        { cause: error },
      );
    }
    onExit(code);
    if (code === 0) return undefined;
    // The first line stands alone (a notification shows only it): the code and the last thing said.
    const last = stderr.lines.at(-1);
    const said = last === undefined ? ', writing nothing to stderr' : `: "${last.length > 200 ? `${last.slice(0, 200)}…` : last}"`;
    const tail = stderr.lines.length > 1 ? `\nIts last stderr lines:\n  ${stderr.lines.join('\n  ')}` : '';
    return new DockerceptionError(
      'BUILDER_EXIT',
      `The builder container exited with code ${code}${said}. Its output was not used and nothing was tagged.${tail}\n` +
        `Fix the build in the builder's Dockerfile (its CMD runs here), then build again.${networkHint(options.network, stderr.lines)}`,
      'builder-run',
    );
  };
}

function timeoutError(timeoutMs: number): DockerceptionError {
  return new DockerceptionError(
    'TIMEOUT',
    `The builder ran longer than the ${timeoutMs / 1000} s timeout and was stopped; nothing was tagged. ` +
      `Raise the timeout (--timeout, or the dockerception.builderTimeout setting) or find out why the builder does not exit.`,
    'builder-run',
  );
}

/**
 * Runs the builder and builds the runtime image from its stdout. The container is always removed; a
 * runtime image built from output later refused is removed too.
 */
export async function runBuilderIntoRuntimeBuild(docker: Docker, builderId: string, options: BuilderRunOptions): Promise<BuilderRunResult> {
  const { abort, emit } = options;
  const stderr = new StderrTail(emit);
  const container = await createBuilder(docker, builderId, options.network);
  let attach: NodeJS.ReadableStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let runtimeId: string | undefined;
  const runStarted = Date.now();
  let builderRunMs = 0;
  let succeeded = false;
  let removed: Promise<void> = Promise.resolve();
  try {
    // Attach before start: attaching after start loses the first bytes.
    attach = await container.attach({ stream: true, stdout: true, stderr: true });
    let markStarted: (started: Promise<unknown>) => void = () => undefined;
    const started = new Promise<Promise<unknown>>((resolve) => (markStarted = resolve)).then((start) => start);
    const exitVerdict = builderVerdict(exitStatus(container, started, abort.signal), stderr, options, (status) => {
      builderRunMs = Date.now() - runStarted;
      options.onPhase('runtime-build', `Builder exited ${status} after ${(builderRunMs / 1000).toFixed(1)} s; building the runtime image`);
    });

    const gate = new TarGate({
      fallbackDockerfile: options.fallbackDockerfile,
      fallbackName: options.fallbackName,
      exitVerdict,
      beforeEnd: options.beforeRuntimeBuildEnds,
      listFiles: true,
    });
    let gateError: DockerceptionError | undefined;
    const failRun = (error: DockerceptionError) => {
      gateError ??= error;
      gate.destroy(error);
    };
    abort.signal.addEventListener('abort', () => failRun(abort.signal.reason), { once: true });
    pipeline(attach, new AttachDemux((chunk) => stderr.splitter.write(chunk)), gate, (error) => {
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
      credentials: options.credentials,
      onStep: (step) => emit({ type: 'step', role: 'runtime', step }),
      onLine: (line) => emit({ type: 'log', source: 'runtime-build', line }),
      onImageId: (id) => (runtimeId = id),
    });
    runtimeBuild.catch(() => undefined);

    const start = container.start().catch((error: unknown) => {
      throw abort.signal.aborted ? abort.signal.reason : builderStartError('started', error, options.network);
    });
    markStarted(start);
    await start;
    if (options.timeoutMs && options.timeoutMs > 0) {
      const timeoutMs = options.timeoutMs;
      timer = setTimeout(() => abort.abort(timeoutError(timeoutMs)), timeoutMs);
    }

    try {
      runtimeId = await runtimeBuild;
    } catch (error) {
      throw gateError ?? error;
    }
    if (gateError) throw gateError;
    if (!gate.summary) throw new Error('the builder output was never checked to its end');
    succeeded = true;
    return {
      runtimeId,
      summary: gate.summary,
      builderRunMs,
      runtimeBuildMs: Date.now() - runtimeStarted - builderRunMs,
      listing: gate.listing,
      // Set in `finally`, after this object is made.
      get removed() {
        return removed;
      },
    };
  } catch (error) {
    // A runtime build the engine finished before we refused its body leaves an untagged image: remove it.
    if (runtimeId) await removeUntaggedImage(docker, runtimeId);
    throw error;
  } finally {
    clearTimeout(timer);
    // Destroy the attach stream before removing: with an unread attach stream, remove can hang.
    (attach as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    // After a success the build goes on while the engine removes the container (it awaits the removal
    // before it returns); after a failure the removal is awaited here.
    removed = removeContainer(container);
    if (!succeeded) await removed;
  }
}
