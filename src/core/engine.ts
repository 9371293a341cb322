import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { DockerceptionError, messageOf } from './errors';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Which engine to talk to, and why that one: shown to the user whenever it cannot be reached. */
export interface EngineAddress {
  /** As the docker CLI writes it: unix:///var/run/docker.sock, tcp://host:2375, ssh://user@host. */
  url: string;
  source: 'flag' | 'setting' | 'DOCKER_HOST' | `context ${string}` | 'default';
  tlsDir?: string;
}

export interface ResolveOptions {
  /** --host on the command line, or the extension's setting. */
  host?: string;
  hostSource?: 'flag' | 'setting';
  /** Where messages appear: the CLI names its flags, the extension its settings. */
  surface?: 'cli' | 'vscode';
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
}

/**
 * Picks the engine the way the docker CLI does: an explicit host, else DOCKER_HOST, else the current
 * context (DOCKER_CONTEXT, else ~/.docker/config.json's currentContext, read from the contexts' meta
 * store), else the default socket.
 */
export function resolveEngine(options: ResolveOptions = {}): EngineAddress {
  const env = options.env ?? process.env;
  if (options.host) return { url: options.host, source: options.hostSource ?? 'flag' };
  if (env.DOCKER_HOST) return { url: env.DOCKER_HOST, source: 'DOCKER_HOST', tlsDir: env.DOCKER_CERT_PATH };

  const configDir = env.DOCKER_CONFIG ?? path.join(options.homeDir ?? os.homedir(), '.docker');
  let contextName = env.DOCKER_CONTEXT;
  if (!contextName) {
    try {
      contextName = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')).currentContext;
    } catch {
      contextName = undefined; // no config, or not JSON: the CLI falls back to the default too
    }
  }
  if (contextName && contextName !== 'default') {
    const id = createHash('sha256').update(contextName).digest('hex');
    try {
      const meta = JSON.parse(readFileSync(path.join(configDir, 'contexts', 'meta', id, 'meta.json'), 'utf8'));
      const host: unknown = meta?.Endpoints?.docker?.Host;
      if (typeof host === 'string' && host) {
        const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
        return { url: host, source: `context ${contextName}`, tlsDir: existsSync(tlsDir) ? tlsDir : undefined };
      }
    } catch (error) {
      throw new DockerceptionError(
        'ENGINE_UNREACHABLE',
        `The current docker context '${contextName}' cannot be read (${messageOf(error)}). ` +
          `Run 'docker context use default', or pass --host / set DOCKER_HOST.`,
        'connect',
      );
    }
  }
  return { url: `unix://${DEFAULT_SOCKET}`, source: 'default' };
}

/** dockerode options for an address; every field is set so that DOCKER_HOST cannot leak in underneath. */
export function dockerOptions(address: EngineAddress): Docker.DockerOptions {
  const raw = address.url.includes('://') ? address.url : `tcp://${address.url}`;
  const url = new URL(raw);
  const blank = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined } as const;
  switch (url.protocol) {
    case 'unix:':
      return { ...blank, socketPath: decodeURIComponent(url.pathname) || DEFAULT_SOCKET };
    case 'ssh:':
      return {
        ...blank,
        protocol: 'ssh',
        host: url.hostname,
        port: url.port || 22,
        username: decodeURIComponent(url.username) || undefined,
        sshOptions: { agent: process.env.SSH_AUTH_SOCK },
      };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = address.tlsDir && existsSync(path.join(address.tlsDir, 'cert.pem'));
      const secure = url.protocol === 'https:' || tls || url.port === '2376';
      return {
        ...blank,
        protocol: secure ? 'https' : 'http',
        host: url.hostname,
        port: url.port || (secure ? 2376 : 2375),
        ...(tls && address.tlsDir
          ? {
              ca: readFileSync(path.join(address.tlsDir, 'ca.pem')),
              cert: readFileSync(path.join(address.tlsDir, 'cert.pem')),
              key: readFileSync(path.join(address.tlsDir, 'key.pem')),
            }
          : {}),
      };
    }
    default:
      throw new DockerceptionError(
        'ENGINE_UNREACHABLE',
        `The engine address '${address.url}' (from ${address.source}) is not unix://, tcp:// or ssh://. ` +
          `Fix it, e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375.`,
        'connect',
      );
  }
}

/** Where an address came from and how to change it, in the words of the surface the user is on. */
function whereFrom(address: EngineAddress, surface: 'cli' | 'vscode'): string {
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
function unreachableHint(address: EngineAddress, cause: string, surface: 'cli' | 'vscode'): string {
  const where = whereFrom(address, surface);
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
  /** The engine's version and API version, from the ping at connect time. */
  version: { engine: string; api: string };
}

/** Connects and checks the engine answers within timeoutMs, or throws ENGINE_UNREACHABLE saying where and how to fix it. */
export async function connectEngine(options: ResolveOptions = {}, timeoutMs = 5000): Promise<Engine> {
  const address = resolveEngine(options);
  // Loaded on first use: dockerode (with ssh2) is most of the bundle, and the extension must activate
  // without it.
  const { default: DockerClient } = await import('dockerode');
  const docker = new DockerClient(dockerOptions(address));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    // dockerode honours abortSignal here though its types do not declare the argument.
    const versionWithSignal = docker.version as unknown as (opts: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;
    const version = await versionWithSignal.call(docker, { abortSignal: abort.signal });
    return { docker, address, version: { engine: version.Version, api: version.ApiVersion } };
  } catch (error) {
    const cause = abort.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : messageOf(error);
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `Cannot reach the Docker engine at ${address.url} (${cause}). ${unreachableHint(address, cause, options.surface ?? 'cli')}`,
      'connect',
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
