import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { removeContainer } from './cleanup';
import { LineSplitter } from './demux';
import { DockerceptionError, isConnectionError, messageOf, type ErrorCode, type Phase } from './errors';

export interface BuildStep {
  index: number;
  total: number;
  instruction: string;
}

export interface ImageBuildOptions {
  /** What is being built, for messages: 'builder' or 'runtime'. */
  role: 'builder' | 'runtime';
  tag?: string;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  signal?: AbortSignal;
  /** Where the Dockerfile is, for the message when the build fails. */
  dockerfileHint: string;
  onStep?: (step: BuildStep) => void;
  onLine?: (line: string) => void;
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
/** The legacy builder's bookkeeping lines: not worth showing as a build's last output. */
const NOISE = /^ ---> |^Removing intermediate container |^Successfully (built|tagged) /;
const KEPT_LINES = 12;

/** The engine's own words from a dockerode error ("(HTTP code 500) server error - <message>"). */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  return messageOf(error)
    .replace(/^\(HTTP code \d+\) [a-z ]+ - /, '')
    .trim();
}

/** Dockerfile features the legacy builder (all dockerode can drive) rejects, with what to say about it. */
function buildKitHint(message: string): string {
  if (/--mount|--chmod|--link|unknown flag|heredoc|<</i.test(message)) {
    return ' This engine builds through the legacy builder (dockerode cannot drive BuildKit), which has no RUN --mount, COPY --link or heredocs: rewrite that instruction without them.';
  }
  return '';
}

/**
 * One `POST /build` with a tar body, its JSON-lines progress parsed as it streams. Resolves to the image
 * id (from the `aux` event, not the "Successfully built" text). Fails on `errorDetail` events, which the
 * engine sends after HTTP 200 (modem.followProgress would report those as success).
 */
export async function buildImage(docker: Docker, body: Readable, options: ImageBuildOptions): Promise<string> {
  const failCode: ErrorCode = options.role === 'builder' ? 'BUILDER_BUILD_FAILED' : 'RUNTIME_BUILD_FAILED';
  const phase: Phase = options.role === 'builder' ? 'builder-build' : 'runtime-build';
  const recent: string[] = [];
  let step: BuildStep | undefined;
  let imageId: string | undefined;
  let errorMessage: string | undefined;
  /** The intermediate container of the RUN step under way (" ---> Running in <id>"). */
  let runningIn: string | undefined;

  const buildOptions: Docker.ImageBuildOptions & { abortSignal?: AbortSignal } = {
    rm: true,
    forcerm: true,
    ...(options.tag ? { t: options.tag } : {}),
    ...(options.buildArgs && Object.keys(options.buildArgs).length > 0 ? { buildargs: options.buildArgs } : {}),
    ...(options.noCache ? { nocache: true } : {}),
    // A fresh object every call: dockerode deletes abortSignal from the options it is given.
    ...(options.signal ? { abortSignal: options.signal } : {}),
  };

  const failure = (detail: string, cause?: unknown): DockerceptionError => {
    const at = step ? ` at step ${step.index}/${step.total} (${step.instruction})` : '';
    const tail = recent.length > 0 ? `\nLast output:\n  ${recent.join('\n  ')}` : '';
    return new DockerceptionError(
      failCode,
      `The ${options.role} image failed to build${at}: ${detail}.${buildKitHint(detail)} ` +
        `Fix ${options.dockerfileHint} and build again.${tail}`,
      phase,
      { cause },
    );
  };

  const onEvent = (event: { stream?: string; aux?: { ID?: string }; error?: string; errorDetail?: { message?: string } }) => {
    if (event.aux?.ID) imageId = event.aux.ID;
    if (event.errorDetail || event.error) errorMessage = (event.errorDetail?.message ?? event.error ?? '').trim();
    if (typeof event.stream === 'string') {
      for (const raw of event.stream.split('\n')) {
        const line = raw.trimEnd();
        if (!line) continue;
        const running = /^ ---> Running in ([0-9a-f]+)$/.exec(line);
        if (running) runningIn = running[1];
        const match = STEP.exec(line);
        if (match) {
          step = { index: Number(match[1]), total: Number(match[2]), instruction: match[3] };
          options.onStep?.(step);
          continue;
        }
        if (!NOISE.test(line)) {
          recent.push(line);
          if (recent.length > KEPT_LINES) recent.shift();
        }
        options.onLine?.(line);
      }
    }
  };

  let response: NodeJS.ReadableStream;
  try {
    response = await docker.buildImage(body as unknown as NodeJS.ReadableStream, buildOptions);
  } catch (error) {
    if (error instanceof DockerceptionError) throw error; // our own body failed (tar checks, builder exit)
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    if (isConnectionError(error)) throw connectionLost(phase, error);
    throw failure(engineMessage(error), error);
  }

  await new Promise<void>((resolve, reject) => {
    const lines = new LineSplitter((line) => {
      if (!line.trim()) return;
      try {
        onEvent(JSON.parse(line));
      } catch {
        options.onLine?.(line); // not JSON: a proxy's text, say; show it rather than fail on it
      }
    });
    let ended = false;
    response.on('data', (chunk: Buffer) => lines.write(chunk));
    response.on('end', () => {
      ended = true;
      lines.end();
      resolve();
    });
    response.on('error', (error) => reject(error));
    response.on('close', () => {
      if (!ended) reject(options.signal?.aborted ? options.signal.reason : new Error('premature close'));
    });
  }).catch(async (error: unknown) => {
    // The engine removes the step's container itself once it notices the request is gone, but later
    // than we return: remove it now, so that a cancelled build has left nothing when it reports.
    if (runningIn) await removeContainer(docker.getContainer(runningIn));
    if (error instanceof DockerceptionError) throw error;
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    throw connectionLost(phase, error);
  });

  if (errorMessage !== undefined) throw failure(errorMessage);
  if (!imageId) throw failure('the engine ended the build without reporting an image id');
  return imageId;
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
