import type Docker from 'dockerode';
import { DockerceptionError, messageOf } from '../errors';
import { parseEngineUrl, dockerOptions, type ClientOptions } from './options';
import { SshDialAgent } from './ssh-dial';
import { resolveEngine, type EngineAddress, type ResolveOptions } from './address';

/** Where an address came from and how to change it, in the words of the surface the user is on. */
export function whereFrom(address: EngineAddress, surface: 'cli' | 'vscode'): string {
  const explicit = surface === 'cli' ? 'pass --host' : 'set the dockerception.host setting';
  if (address.source === 'flag')
    return ' It comes from --host; pass another address, or leave it out to use DOCKER_HOST, the docker context or the default socket.';
  if (address.source === 'setting')
    return ' It comes from the dockerception.host setting; change it, or clear it to use DOCKER_HOST, the docker context or the default socket.';
  if (address.source === 'DOCKER_HOST') return ` It comes from DOCKER_HOST; change or unset it, or ${explicit}.`;
  if (address.source.startsWith('context ')) {
    return ` It comes from the docker ${address.source.replace('context ', "context '")}'; run 'docker context use default' (or another context), or ${explicit}.`;
  }
  return ` To use another engine, ${explicit}, DOCKER_HOST or a docker context.`;
}

/** How to fix an unreachable engine, by what the connection attempt said. */
export function unreachableHint(address: EngineAddress, cause: string, surface: 'cli' | 'vscode'): string {
  const where = whereFrom(address, surface);
  const host = parseEngineUrl(address.url)
    .rest.replace(/^[^@]*@/, '')
    .replace(/[:/].*$/, '');
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(cause)) {
    return (
      `ssh refused ${host}: its host key is not the one in known_hosts, so this may be a man in the middle and nothing was sent. ` +
      `If the machine was reinstalled, check its new key, remove the old one with 'ssh-keygen -R ${host}' and run 'ssh ${host}' once to accept it.${where}`
    );
  }
  if (/Host key verification failed|No .*host key is known/i.test(cause)) {
    return `ssh does not know ${host}'s host key and cannot ask here: run 'ssh ${host}' once in a terminal to check and accept it.${where}`;
  }
  if (/Permission denied \(/i.test(cause)) {
    return `ssh could not log in to ${host}: add your key to ssh-agent (ssh-add) or name it in ~/.ssh/config (IdentityFile); passwords cannot be asked for here.${where}`;
  }
  if (/Could not resolve hostname/i.test(cause)) return `ssh cannot find ${host}: check the name, or the Host alias in ~/.ssh/config.${where}`;
  if (/status 127|docker: (command )?not found|No such file or directory.*docker/i.test(cause)) {
    return `${host} has no 'docker' command: install the docker CLI there (ssh engines run 'docker system dial-stdio' on the remote machine).${where}`;
  }
  const { scheme, rest } = parseEngineUrl(address.url);
  if (scheme === 'tcp' && /^[^/]*\/.*\.sock$/.test(rest) && /ECONNREFUSED|ENOTFOUND|404|page not found/i.test(cause)) {
    const socket = rest.slice(rest.indexOf('/'));
    return `An address without a scheme is tcp, as for the docker CLI, so this is the path ${socket} on a tcp engine; for a unix socket, write unix://${socket}.${where}`;
  }
  if (/no 'ssh' command/.test(cause)) return `Install OpenSSH's client (the ssh command), which ssh:// engines use.${where}`;
  if (/self[- ]signed|unable to (get|verify)|certificate signature failure|CERT_|unknown ca/i.test(cause)) {
    const dir = address.tls ? ` in ${address.tls.dir}` : '';
    return `The engine's certificate is not signed by the ca.pem${dir}, so it was refused: use the CA that signed the engine's certificate.${where}`;
  }
  if (/certificate required|bad certificate|alert/i.test(cause)) {
    return `The engine refused the client certificate: it wants cert.pem and key.pem signed by its own CA.${where}`;
  }
  if (/wrong version number|packet length too long|EPROTO/i.test(cause)) {
    return `The engine answers plain HTTP, not TLS: unset DOCKER_TLS_VERIFY and DOCKER_TLS (or use a context without TLS).${where}`;
  }
  if (/HTTP request to an HTTPS server/i.test(cause)) {
    return `The engine wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem.${where}`;
  }
  if (/EACCES|permission denied/i.test(cause)) {
    return `Permission denied on the socket: add your user to the 'docker' group (then log in again), or run as root.${where}`;
  }
  if (/ENOENT|ECONNREFUSED/i.test(cause)) {
    return `Nothing is listening there: start Docker (e.g. 'sudo systemctl start docker').${where}`;
  }
  return `Check that the engine runs and answers 'docker info'.${where}`;
}

export interface Engine {
  docker: Docker;
  address: EngineAddress;
  /** The engine's version and API version, from the ping at connect time (its headers, else /version). */
  version: { engine: string; api: string };
}

/**
 * The client for an address. docker-modem reads DOCKER_HOST, DOCKER_CERT_PATH (opening its files),
 * DOCKER_TLS_VERIFY and DOCKER_CLIENT_TIMEOUT whenever DOCKER_HOST is set, and merges them under the options
 * it is given; the address already went through the docker CLI's rules, so none of that may apply. The
 * constructor is synchronous: hiding DOCKER_HOST around it is invisible to anything else.
 */
export function createClient(DockerClient: typeof Docker, options: ClientOptions): Docker {
  const saved = process.env.DOCKER_HOST;
  delete process.env.DOCKER_HOST;
  try {
    return new DockerClient(options as Docker.DockerOptions);
  } finally {
    if (saved !== undefined) process.env.DOCKER_HOST = saved;
  }
}

const versions = new WeakMap<Docker, Promise<Docker.DockerVersion>>();

/** The engine's /version, asked once per client (over ssh:// every request may cost a login); a failed
 * answer is asked again next time. connectEngine does not ask it: its /_ping says what it needs. */
export function engineVersion(docker: Docker): Promise<Docker.DockerVersion> {
  let known = versions.get(docker);
  if (!known) {
    known = docker.version();
    versions.set(docker, known);
    known.catch(() => versions.get(docker) === known && versions.delete(docker));
  }
  return known;
}

/** The headers of an engine's GET /_ping: Api-Version, Server, Builder-Version, Libpod-Buildah-Version, … */
export type PingHeaders = Record<string, string | string[] | undefined>;

/** GET /_ping, the request the docker CLI starts with: its headers, or the transport's or the engine's error. */
export function pingEngine(docker: Docker, abortSignal?: AbortSignal): Promise<PingHeaders> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      { path: '/_ping', method: 'GET', isStream: true, statusCodes: { 200: true, 500: 'server error' }, abortSignal } as Parameters<Docker['modem']['dial']>[0],
      (error: unknown, res: unknown) => {
        if (error) return reject(error);
        const response = res as { headers: PingHeaders; resume(): void };
        response.resume();
        resolve(response.headers);
      },
    );
  });
}

/** How long connectEngine's ping stands for "now" (a build's choice of builder reads it instead of asking again). */
const PING_FRESH_MS = 5000;
/** connectEngine's ping per client: what never changes while a client lives (which kind of engine it is), and
 * once, while fresh, the engine's answer "now". */
const connectPings = new WeakMap<Docker, { headers: PingHeaders; at: number; used: boolean }>();

/**
 * Whether the engine is Podman's Docker-compatible API: its /_ping carries Libpod-Api-Version (Docker's
 * never does), as its /version lists a "Podman Engine" component (test/engines/podman.test.ts and
 * test/unit/pairs-engine.test.ts compare both). Undefined for a client connectEngine did not make.
 */
export function isPodmanByPing(docker: Docker): boolean | undefined {
  const kept = connectPings.get(docker);
  return kept ? Boolean(header(kept.headers, 'libpod-api-version')) : undefined;
}

/**
 * The engine's ping headers now: connectEngine's own when no one has used them yet and they are at most 5 s
 * old (the CLI's build right after connecting), else a new GET /_ping (a long-lived client, as VS Code's).
 */
export function freshPing(docker: Docker): Promise<PingHeaders> {
  const kept = connectPings.get(docker);
  if (kept && !kept.used && Date.now() - kept.at <= PING_FRESH_MS) {
    kept.used = true;
    return Promise.resolve(kept.headers);
  }
  return pingEngine(docker);
}

function header(headers: PingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The engine's version and API version from its ping: Api-Version, and the version in Server
 * ("Docker/20.10.24+dfsg1 (linux)", Podman's "Libpod/4.3.1 (linux)"), which is what /version's Version
 * says (test/unit/pairs-engine.test.ts and test/engines/podman.test.ts compare them). Undefined when a
 * header is missing (a proxy in between may drop Server): then /version is asked.
 */
export function versionFromPing(headers: PingHeaders): { engine: string; api: string } | undefined {
  const api = header(headers, 'api-version');
  const engine = /^[^/\s]+\/(\S+)/.exec(header(headers, 'server') ?? '')?.[1];
  return api && engine ? { engine, api } : undefined;
}

/** Connects and checks the engine answers within timeoutMs, or throws ENGINE_UNREACHABLE saying where and how to fix it. */
export async function connectEngine(options: ResolveOptions = {}, timeoutMs = 5000): Promise<Engine> {
  const surface = options.surface ?? 'cli';
  const address = resolveEngine(options);
  // Loaded on first use: dockerode is most of the bundle, and the extension must activate without it.
  const { default: DockerClient } = await import('dockerode');
  const docker = createClient(DockerClient, dockerOptions(address));
  const abort = new AbortController();
  // ssh starts a process and logs in before the first byte: give it the CLI's ConnectTimeout.
  const limit = parseEngineUrl(address.url).scheme === 'ssh' ? Math.max(timeoutMs, 30_000) : timeoutMs;
  const timer = setTimeout(() => abort.abort(), limit);
  try {
    // GET /_ping as the docker CLI starts: 1 ms on the engine here, where /version takes 20-40 ms (it asks
    // containerd and the kernel); its headers also give the build its builder (freshPing).
    const headers = await pingEngine(docker, abort.signal);
    connectPings.set(docker, { headers, at: Date.now(), used: false });
    let version = versionFromPing(headers);
    if (!version) {
      const versionWithSignal = docker.version as unknown as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
      const answer = await versionWithSignal.call(docker, { abortSignal: abort.signal });
      versions.set(docker, Promise.resolve(answer));
      version = { engine: answer.Version, api: answer.ApiVersion };
    }
    return { docker, address, version };
  } catch (error) {
    closeClient(docker); // nobody will use it: its ssh processes (or TLS sockets) end now
    const cause = abort.signal.aborted ? `no answer within ${limit / 1000} s` : messageOf(error);
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `Cannot reach the Docker engine at ${address.url} (${cause}). ${unreachableHint(address, cause, surface)}`,
      'connect',
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends every connection a client holds (over ssh://, every ssh process it started, streams included). Call
 * it whenever a client is dropped (a refresh, another engine, an unreachable error): an agent nobody
 * destroys keeps its processes until they idle out. The client must not be used afterwards.
 */
export function closeClient(docker: Docker): void {
  const agent = (docker.modem as unknown as { agent?: { destroy?: () => void } }).agent;
  agent?.destroy?.();
}

/** closeClient for an Engine. */
export function closeEngine(engine: Engine): void {
  closeClient(engine.docker);
}

/**
 * How the client reaches the engine, for what may be sent: credentials go over a local socket, TLS or ssh,
 * never over plain tcp:// (anyone on the network could read them); a stream taken over costs a login over ssh.
 */
export function transportOf(docker: Docker): { kind: 'local' | 'ssh' | 'tls' | 'plain'; url: string } {
  const modem = docker.modem as unknown as { socketPath?: string; agent?: unknown; protocol?: string; host?: string; port?: number | string };
  if (modem.socketPath) return { kind: 'local', url: `unix://${modem.socketPath}` };
  if (modem.agent instanceof SshDialAgent) return { kind: 'ssh', url: `ssh://${modem.agent.target.host}` };
  const url = `tcp://${modem.host ?? 'localhost'}:${modem.port ?? ''}`;
  return modem.protocol === 'https' ? { kind: 'tls', url } : { kind: 'plain', url };
}

/** One line naming the engine and where the choice came from, for the CLI's --verbose and the extension. */
export function describeEngine(address: EngineAddress): string {
  const tls = address.tls ? `, TLS${address.tls.verify ? '' : ' without verification'} (${address.tls.dir})` : '';
  const source =
    address.source === 'flag'
      ? '--host'
      : address.source === 'setting'
        ? 'the dockerception.host setting'
        : address.source.startsWith('context ')
          ? `the docker context '${address.source.slice('context '.length)}'`
          : address.source === 'default'
            ? 'the default, as nothing names another'
            : address.source;
  return `${address.url} (from ${source}${tls})`;
}
