import type { Engine } from '../engine';
import { messageOf } from '../errors';
import { builderTagFor, splitReference } from '../pipeline';
import { registryKey, registryOf, type RegistryAuth, type RegistryCredentials } from '../registry-auth';
import { ShipError } from './errors';

/** One line of a push's progress, per layer where the engine names one. */
export type PushEvent =
  | { kind: 'start'; ref: string; registry: string; message: string }
  | { kind: 'preparing' | 'waiting' | 'pushed' | 'exists' | 'mounted' | 'retrying'; layer: string; message: string }
  | { kind: 'pushing'; layer: string; current: number; total: number | undefined; message: string }
  | { kind: 'info'; message: string };

export interface PushOptions {
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
  /** The docker CLI's credentials (registryCredentials()); asked for the tag's registry only. */
  credentials?: RegistryCredentials;
}

export interface PushResult {
  /** The reference pushed (registry/name:tag). */
  ref: string;
  registry: string;
  /** sha256:… of the manifest, from the engine's aux message. */
  digest: string;
  /** name@sha256:… */
  canonical: string;
  /** The manifest's size in bytes, as the engine reports it. */
  manifestSize: number;
  /** Layers by short id: whether the registry already had it (exists/mounted) or this push sent it. */
  layers: Array<{ layer: string; sent: boolean }>;
  elapsedMs: number;
}

interface EngineMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** A push message as a PushEvent. */
export function pushEventOf(message: EngineMessage): PushEvent | undefined {
  const status = message.status ?? '';
  const layer = message.id ?? '';
  if (!status) return undefined;
  if (!layer || /^The push refers to/.test(status) || /digest: sha256:/.test(status)) return { kind: 'info', message: layer ? `${layer}: ${status}` : status };
  if (status === 'Pushing') {
    const current = message.progressDetail?.current ?? 0;
    return { kind: 'pushing', layer, current, total: message.progressDetail?.total, message: `${layer}: pushing ${message.progress ?? ''}`.trim() };
  }
  const kind =
    status === 'Preparing'
      ? 'preparing'
      : status === 'Waiting'
        ? 'waiting'
        : status === 'Pushed'
          ? 'pushed'
          : status === 'Layer already exists'
            ? 'exists'
            : status.startsWith('Mounted from')
              ? 'mounted'
              : status.startsWith('Retrying')
                ? 'retrying'
                : undefined;
  if (!kind) return { kind: 'info', message: `${layer}: ${status}` };
  const said =
    kind === 'exists' ? 'layer already exists in the registry, not sent' : kind === 'mounted' ? `${status.toLowerCase()} (not sent)` : status.toLowerCase();
  return { kind, layer, message: `${layer}: ${said}` };
}

/**
 * A push failure as what happened at which registry and what to do. `engineMessage` is what the engine
 * said (it quotes the registry's answer).
 */
export function pushFailure(ref: string, engineMessage: string, hadCredentials: boolean, configFile?: string): ShipError {
  const registry = registryOf(ref);
  const answered = `The registry ${registry} answered the push of ${ref}: ${engineMessage}`;
  const from = configFile ? ` in ${configFile}` : '';
  if (/x509|certificate|tls:|server gave HTTP response to HTTPS client|handshake/i.test(engineMessage)) {
    const plain = /HTTP response to HTTPS client/i.test(engineMessage);
    return new ShipError(
      'PUSH_TLS',
      `${answered}. ${
        plain
          ? `It serves plain HTTP: add "${registry}" to "insecure-registries" in the engine's daemon.json and restart the engine, or serve it over TLS.`
          : `The engine does not trust its certificate: put the CA that signed it in /etc/docker/certs.d/${registry}/ca.crt on the engine's machine (no restart needed), or list it in "insecure-registries".`
      }`,
    );
  }
  if (/unauthorized|authentication required|no basic auth credentials|incorrect username or password/i.test(engineMessage)) {
    return new ShipError(
      'PUSH_AUTH',
      hadCredentials
        ? `${answered}. It refused the credentials for it${from}: log in again with 'docker login ${registry}'.`
        : `${answered}. There are no credentials for it${from}: run 'docker login ${registry}'.`,
    );
  }
  if (/denied/i.test(engineMessage)) {
    return new ShipError(
      'PUSH_REFUSED',
      `${answered}. Either you are not logged in as a user who may push there ('docker login ${registry}'), or the repository is not yours: name one you may push to in the tag.`,
    );
  }
  if (/name invalid|invalid reference|repository name|name unknown|invalid repository/i.test(engineMessage)) {
    return new ShipError(
      'PUSH_REFUSED',
      `${answered}. The registry refuses that name: use one it accepts (lower-case path components, e.g. ${registry}/team/app:1.0).`,
    );
  }
  if (/connection refused|no such host|i\/o timeout|dial tcp|no route to host|network is unreachable/i.test(engineMessage)) {
    return new ShipError(
      'REGISTRY_UNREACHABLE',
      `The engine could not reach the registry ${registry} to push ${ref} (${engineMessage}). Check the host and port in the tag and that the registry runs; the engine, not this machine, connects to it.`,
    );
  }
  return new ShipError('PUSH_FAILED', `${answered}.`);
}

function cancelled(ref: string): ShipError {
  return new ShipError(
    'CANCELLED',
    `The push of ${ref} was cancelled. The registry got no manifest, so the tag was not created or moved there; layers already sent may stay in its storage until it collects garbage.`,
  );
}

/** Credentials for the tag's registry, the docker CLI's way. */
async function authFor(ref: string, credentials: RegistryCredentials | undefined): Promise<RegistryAuth | undefined> {
  if (!credentials) return undefined;
  return credentials.get(registryOf(ref));
}

/**
 * Pushes one image by its tag through the engine (POST /images/{name}/push with X-Registry-Auth for the
 * tag's registry). Progress per layer goes to onEvent. Resolves with the digest from the engine's aux
 * message; rejects with a ShipError saying which registry, what it answered and what to do.
 */
export async function pushImage(engine: Engine, ref: string, options: PushOptions = {}): Promise<PushResult> {
  const started = Date.now();
  const registry = registryOf(ref);
  if (ref.includes('@')) throw new ShipError('BAD_TAG', `${ref} names a digest: push a tag (name:tag).`);
  const { repo, tag } = splitReference(ref);
  if (options.signal?.aborted) throw cancelled(ref);
  try {
    await engine.docker.getImage(ref).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new ShipError('NO_IMAGE', `The engine has no image tagged ${ref}: build it first ('dockerception build'), or tag the image with that name.`);
    }
    throw new ShipError('PUSH_FAILED', `The engine could not be asked for ${ref} (${messageOf(error)}).`, { cause: error });
  }
  const auth = await authFor(ref, options.credentials);
  options.onEvent?.({
    kind: 'start',
    ref,
    registry,
    message: `Pushing ${ref} to ${registry}${auth ? ` as ${auth.username ?? 'token'}` : ' without credentials'}`,
  });
  const authconfig = auth ? { ...auth, serveraddress: registryKey(registry) } : {};
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await engine.docker.getImage(repo).push({ tag, authconfig, abortSignal: options.signal })) as NodeJS.ReadableStream;
  } catch (error) {
    if (options.signal?.aborted) throw cancelled(ref);
    throw pushFailure(ref, messageOf(error), Boolean(auth), options.credentials?.configFile);
  }
  const layers = new Map<string, boolean>();
  let aux: EngineMessage['aux'];
  let failure: string | undefined;
  let buffered = '';
  const handle = (line: string): void => {
    if (!line.trim()) return;
    let message: EngineMessage;
    try {
      message = JSON.parse(line) as EngineMessage;
    } catch {
      return;
    }
    if (message.errorDetail?.message || message.error) {
      failure = message.errorDetail?.message ?? message.error;
      return;
    }
    if (message.aux?.Digest) aux = message.aux;
    const event = pushEventOf(message);
    if (event && 'layer' in event) {
      if (event.kind === 'pushed') layers.set(event.layer, true);
      else if (event.kind === 'exists' || event.kind === 'mounted') layers.set(event.layer, false);
      else if (!layers.has(event.layer)) layers.set(event.layer, false);
    }
    if (event) options.onEvent?.(event);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        lines.forEach(handle);
      });
      stream.on('end', () => {
        handle(buffered);
        resolve();
      });
      stream.on('error', reject);
      stream.on('close', () => (options.signal?.aborted ? reject(new Error('aborted')) : undefined));
    });
  } catch (error) {
    if (options.signal?.aborted) throw cancelled(ref);
    throw pushFailure(ref, messageOf(error), Boolean(auth), options.credentials?.configFile);
  }
  if (options.signal?.aborted) throw cancelled(ref);
  if (failure) throw pushFailure(ref, failure, Boolean(auth), options.credentials?.configFile);
  if (!aux?.Digest) throw new ShipError('PUSH_FAILED', `The engine ended the push of ${ref} without naming a digest: check 'docker push ${ref}'.`);
  return {
    ref,
    registry,
    digest: aux.Digest,
    canonical: `${repo}@${aux.Digest}`,
    manifestSize: aux.Size ?? 0,
    layers: [...layers].map(([layer, sent]) => ({ layer, sent })),
    elapsedMs: Date.now() - started,
  };
}

/**
 * The references a ship pushes for a pair: the runtime's tags; the builder's (NAME-builder:TAG) only
 * when asked — a builder holds toolchains and sources, never meant to leave the machine by default.
 */
export function refsToPush(runtimeTags: readonly string[], options: { pushBuilder?: boolean } = {}): string[] {
  const refs = [...new Set(runtimeTags)];
  return options.pushBuilder ? [...refs, ...refs.map(builderTagFor)] : refs;
}

/**
 * Whether a reference is a plain local name ('app', 'app:1', 'docker.io/app'): on Docker Hub that is
 * library/…, Docker's own official images, where no user can push. A list of tags (dockerception.runtimeTag)
 * keeps such a name for the engine and pushes the others.
 */
export function isLocalName(ref: string): boolean {
  return registryOf(ref) === 'docker.io' && !ref.replace(/^docker\.io\//, '').includes('/');
}

/**
 * A pair's tags split into those a push sends and those that stay the engine's names (isLocalName). None to
 * send is a ShipError that says what tag to give; `what` names the pair or image in it.
 */
export function pushableRefs(refs: readonly string[], what: string): { push: string[]; local: string[] } {
  const push = refs.filter((ref) => !isLocalName(ref));
  const local = refs.filter(isLocalName);
  if (push.length === 0) {
    throw new ShipError(
      'NO_REGISTRY',
      `${what}: the tag ${refs.join(', ')} names no registry, so there is nowhere to push it (a plain name is Docker Hub's library/…, where nobody can push). Give a tag that names one: --tag registry.example:5000/team/\${name}:1 (or myuser/\${name}:1 for Docker Hub), or in VS Code a dockerception.runtimeTag list such as ["\${name}", "registry.example:5000/team/\${name}:\${gitSha}"].`,
    );
  }
  return { push, local };
}

/** Gives an image the extra tags it is shipped under (docker tag), e.g. from expandTags. */
export async function tagImage(engine: Engine, image: string, refs: readonly string[]): Promise<void> {
  for (const ref of refs) {
    const { repo, tag } = splitReference(ref);
    await engine.docker.getImage(image).tag({ repo, tag });
  }
}
