import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineBuilder } from './builder-choice';
import { buildCacheRecords, recordsBefore, removeContextRecords } from './buildkit-cache';
import { openAuthSession } from './buildkit-session';
import { removeContainer } from './cleanup';
import { LineSplitter } from './demux';
import { DockerceptionError, isConnectionError, messageOf, type ErrorCode, type Phase } from './errors';
import { BuildKitProgress } from './progress/buildkit';
import { LegacyProgress } from './progress/legacy';
import type { BuildEvent, BuildProgress, BuildStep } from './progress/types';
import { transportOf } from './engine/connect';
import { plainTcpRefusal, registryConfigHeader, type RegistryAuth, type RegistryCredentials } from './registry-auth';

export { describeStep, type BuildStep } from './progress/types';

/** Bound of one JSON event line from the engine (see LineSplitter). */
const MAX_EVENT_LINE = 16 * 1024 * 1024;

export interface ImageBuildOptions {
  /** What is being built, for messages: 'builder' or 'runtime'. */
  role: 'builder' | 'runtime';
  /** The engine's builder to use (default: legacy). */
  builder?: EngineBuilder;
  tag?: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  signal?: AbortSignal;
  /** Where the Dockerfile is, for the message when the build fails. */
  dockerfileHint: string;
  onStep?: (step: BuildStep) => void;
  onLine?: (line: string) => void;
  /** The image id, as soon as the engine reports it (before the response ends). */
  onImageId?: (id: string) => void;
  /** Registry credentials for the engine's pulls, asked lazily: the legacy builder gets those of the
   * registries the build names in X-Registry-Config; BuildKit asks through its session. */
  credentials?: RegistryCredentials;
}

/** The engine's own words from a dockerode error ("(HTTP code 500) server error - <message>"). */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  return messageOf(error)
    .replace(/^\(HTTP code \d+\) [a-z ]+ - /, '')
    .trim();
}

/** What to add to a failure message when the Dockerfile uses syntax the builder in use lacks. */
export function syntaxHint(message: string, builder: EngineBuilder): string {
  if (builder === 'legacy' && /--mount|--chmod|--link|unknown flag|heredoc|<</i.test(message)) {
    return " The legacy builder has no RUN --mount, COPY --chmod/--link or heredocs: build with BuildKit (--builder buildkit, or the dockerception.builder setting; 'auto' picks it when a Dockerfile uses them).";
  }
  if (builder === 'buildkit' && /unknown flag: link/i.test(message)) {
    return " The engine's built-in Dockerfile frontend has no COPY --link: it needs a '# syntax=docker/dockerfile:1' frontend image the engine can pull. Drop --link, or make that image available.";
  }
  if (builder === 'buildkit' && /unknown instruction/i.test(message)) {
    return " If that line belongs to a heredoc (<<EOF): the engine's built-in Dockerfile frontend has no heredocs; they need a '# syntax=docker/dockerfile:1' frontend image the engine can pull. Write the commands with && instead.";
  }
  if (builder === 'buildkit' && /no active sessions/i.test(message)) {
    return ' RUN --mount=type=secret and type=ssh need a session with the client, which Dockerception does not open: pass the value as a build arg or a file in the context instead.';
  }
  return '';
}

/** What to add when the engine could not pull a base image because a registry wants credentials. */
export function pullHint(message: string, credentials: RegistryCredentials | undefined): string {
  if (
    !/unauthorized|authentication required|no basic auth credentials|pull access denied|denied: requested access|status: 401|incorrect username or password/i.test(
      message,
    )
  )
    return '';
  const named = Object.keys(credentials?.auths ?? {}).find((server) => message.includes(server.replace(/^https?:\/\//, '').replace(/\/.*$/, '')));
  const file = credentials?.configFile ?? 'the docker config.json';
  // What went wrong asking a helper (its output never shown), rather than "no credentials".
  if (!named && credentials && credentials.problems.length > 0) return ` Its credentials could not be had: ${credentials.problems.join(' ')}`;
  if (named) {
    return ` The registry ${named} refused the credentials for it in ${file}: log in again with 'docker login ${named}' (or fix the credential helper), then build again.`;
  }
  return ` ${file} has no credentials for that registry: run 'docker login <registry>' (Dockerception sends what the docker CLI would), or use an image the engine can pull without them.`;
}

/**
 * One `POST /build` with a tar body, its JSON-lines progress parsed as it streams, through the legacy
 * builder or BuildKit (`version=2`, the body as its context: no session needed). Resolves to the image
 * id. Fails on `errorDetail` events, which the engine sends after HTTP 200 (modem.followProgress would
 * report those as success). A BuildKit build removes the context records it left in the build cache.
 */
export async function buildImage(docker: Docker, body: Readable, options: ImageBuildOptions): Promise<string> {
  const builder = options.builder ?? 'legacy';
  if (builder === 'legacy') return runBuild(docker, body, options, builder);
  const before = recordsBefore(await buildCacheRecords(docker).catch(() => []));
  const credentials = options.credentials;
  // BuildKit asks for credentials through the session when it pulls, per registry; nothing is asked before.
  // No session when config.json names no credentials, or when the engine is plain tcp:// (see below).
  const serve = credentials?.configured && transportOf(docker).kind !== 'plain' ? credentials : undefined;
  if (credentials?.configured && !serve) announcePlainTcp(docker, options);
  const session = serve
    ? await openAuthSession(docker, (host) => askReporting(serve, options, () => serve.get(host))).catch((error: unknown) => sessionFailed(options, error))
    : undefined;
  let failed = true;
  try {
    const id = await runBuild(docker, body, options, builder, session?.id);
    failed = false;
    return id;
  } finally {
    session?.close();
    await removeContextRecords(docker, before, { settleMs: failed ? 300 : 0 }).catch(() => 0);
  }
}

/** Asks, then says in the build's output what went wrong while asking (never a helper's output). */
async function askReporting<T>(credentials: RegistryCredentials, options: ImageBuildOptions, ask: () => Promise<T>): Promise<T> {
  const seen = credentials.problems.length;
  try {
    return await ask();
  } finally {
    for (const problem of credentials.problems.slice(seen)) options.onLine?.(`Registry credentials: ${problem}`);
  }
}

const announced = new WeakSet<RegistryCredentials>();

/** Once per build: credentials exist but the engine is plain tcp://, so none are sent. */
function announcePlainTcp(docker: Docker, options: ImageBuildOptions): void {
  const credentials = options.credentials;
  if (!credentials || announced.has(credentials) || credentials.registries?.length === 0) return;
  announced.add(credentials);
  options.onLine?.(plainTcpRefusal(transportOf(docker).url, credentials.registries ?? []));
}

/**
 * The legacy builder's X-Registry-Config: the credentials for the registries this build names and the
 * engine lacks (all config.json knows when the build did not narrow them), asked now. None for a plain
 * tcp:// engine.
 */
async function legacyRegistryConfig(docker: Docker, options: ImageBuildOptions): Promise<Record<string, RegistryAuth>> {
  const credentials = options.credentials;
  if (!credentials?.configured || credentials.registries?.length === 0) return {};
  if (transportOf(docker).kind === 'plain') {
    announcePlainTcp(docker, options);
    return {};
  }
  return askReporting(credentials, options, () => credentials.forRegistries());
}

function sessionFailed(options: ImageBuildOptions, error: unknown): never {
  const phase: Phase = options.role === 'builder' ? 'builder-build' : 'runtime-build';
  if (isConnectionError(error)) throw connectionLost(phase, error);
  throw new DockerceptionError(
    options.role === 'builder' ? 'BUILDER_BUILD_FAILED' : 'RUNTIME_BUILD_FAILED',
    `The engine refused the BuildKit session that carries registry credentials (${engineMessage(error)}). Build with the legacy builder (--builder legacy, or the dockerception.builder setting), which takes them with the request.`,
    phase,
    { cause: error },
  );
}

async function runBuild(docker: Docker, body: Readable, options: ImageBuildOptions, builder: EngineBuilder, session?: string): Promise<string> {
  const failCode: ErrorCode = options.role === 'builder' ? 'BUILDER_BUILD_FAILED' : 'RUNTIME_BUILD_FAILED';
  const phase: Phase = options.role === 'builder' ? 'builder-build' : 'runtime-build';
  let announcedId: string | undefined;
  const sink = { onStep: options.onStep, onLine: options.onLine };
  const progress: BuildProgress = builder === 'buildkit' ? new BuildKitProgress(sink) : new LegacyProgress(sink);

  const failure = (detail: string, cause?: unknown): DockerceptionError => {
    const step = progress.step;
    const at = step ? ` at step ${step.index}/${step.total}${step.stage ? ` of stage ${step.stage}` : ''} (${step.instruction})` : '';
    const tail = progress.recentLines.length > 0 ? `\nLast output:\n  ${progress.recentLines.join('\n  ')}` : '';
    return new DockerceptionError(
      failCode,
      `The ${options.role} image failed to build${at}: ${detail}.${syntaxHint(detail, builder)}${pullHint(`${detail} ${step?.instruction ?? ''}`, options.credentials)} ` +
        `Fix ${options.dockerfileHint} and build again.${tail}`,
      phase,
      { cause },
    );
  };

  let response: NodeJS.ReadableStream;
  try {
    const auths = builder === 'legacy' ? await legacyRegistryConfig(docker, options) : {};
    response = await dialBuild(docker, body, options, builder, session, auths);
  } catch (error) {
    if (error instanceof DockerceptionError) throw error; // our own body failed (tar checks, builder exit)
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    if (isConnectionError(error)) throw connectionLost(phase, error);
    throw failure(engineMessage(error), error);
  }

  await new Promise<void>((resolve, reject) => {
    const lines = new LineSplitter((line) => {
      if (!line.trim()) return;
      let event: BuildEvent;
      try {
        event = JSON.parse(line) as BuildEvent;
      } catch {
        options.onLine?.(line); // not JSON: a proxy's text, say; show it rather than fail on it
        return;
      }
      progress.event(event);
      if (progress.imageId && progress.imageId !== announcedId) {
        announcedId = progress.imageId;
        options.onImageId?.(announcedId);
      }
    }, MAX_EVENT_LINE);
    let ended = false;
    response.on('data', (chunk: Buffer) => lines.write(chunk));
    response.on('end', () => {
      ended = true;
      lines.end();
      progress.end();
      resolve();
    });
    response.on('error', (error) => reject(error));
    response.on('close', () => {
      if (!ended) reject(options.signal?.aborted ? options.signal.reason : new Error('premature close'));
    });
  }).catch(async (error: unknown) => {
    // The legacy engine removes the step's container itself once it notices the request is gone, but
    // later than we return: remove it now, so that a cancelled build has left nothing when it reports.
    if (progress instanceof LegacyProgress && progress.runningIn) await removeContainer(docker.getContainer(progress.runningIn));
    if (error instanceof DockerceptionError) throw error;
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    throw connectionLost(phase, error);
  });

  if (progress.error !== undefined) throw failure(progress.error);
  if (!progress.imageId) throw failure('the engine ended the build without reporting an image id');
  return progress.imageId;
}

/** The request itself: what dockerode's buildImage sends. BuildKit needs a session only for registry
 * credentials (the body is the whole context). */
function dialBuild(
  docker: Docker,
  body: Readable,
  options: ImageBuildOptions,
  builder: EngineBuilder,
  session: string | undefined,
  auths: Record<string, RegistryAuth>,
): Promise<NodeJS.ReadableStream> {
  const query: Record<string, unknown> = {
    rm: true,
    forcerm: true,
    ...(builder === 'buildkit' ? { version: '2' } : {}),
    ...(session ? { session } : {}),
    ...(options.tag ? { t: options.tag } : {}),
    ...(options.buildArgs && Object.keys(options.buildArgs).length > 0 ? { buildargs: JSON.stringify(options.buildArgs) } : {}),
    ...(options.noCache ? { nocache: true } : {}),
  };
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: '/build?',
        method: 'POST',
        file: body,
        options: query,
        abortSignal: options.signal,
        // The legacy builder's only way to get credentials; BuildKit asks through its session instead.
        ...(builder === 'legacy' && Object.keys(auths).length > 0 ? { registryconfig: { base64: registryConfigHeader(auths) } } : {}),
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      },
      (error: unknown, response: unknown) => (error ? reject(error) : resolve(response as NodeJS.ReadableStream)),
    );
  });
}

export function connectionLost(phase: Phase, error: unknown): DockerceptionError {
  return new DockerceptionError(
    'ENGINE_UNREACHABLE',
    `The connection to the Docker engine broke during the ${phase.replace('-', ' ')} (${messageOf(error)}). ` +
      `The engine may have been restarted or stopped: check 'docker info' and build again.`,
    phase,
    { cause: error },
  );
}
