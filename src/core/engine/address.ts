import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerceptionError, messageOf } from '../errors';

export const DEFAULT_SOCKET = '/var/run/docker.sock';
export const DEFAULT_PIPE = '//./pipe/docker_engine';

export type EngineSource = 'flag' | 'setting' | 'DOCKER_HOST' | `context ${string}` | 'default';

/** The TLS material of an engine address, as the docker CLI would use it. */
export interface EngineTls {
  /** Where ca.pem, cert.pem and key.pem are, and what put them there. */
  dir: string;
  dirSource: 'DOCKER_CERT_PATH' | 'config dir' | 'context';
  /** Check the engine's certificate: DOCKER_TLS_VERIFY set, or a context without SkipTLSVerify. */
  verify: boolean;
}

/** Which engine to talk to, and why that one: shown to the user whenever it cannot be reached. */
export interface EngineAddress {
  /** As the docker CLI writes it: unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host. */
  url: string;
  source: EngineSource;
  tls?: EngineTls;
  /** DOCKER_API_VERSION: pins the API version, as it does for the docker CLI. */
  apiVersion?: string;
}

export interface ResolveOptions {
  /** --host on the command line, or the extension's setting. */
  host?: string;
  hostSource?: 'flag' | 'setting';
  /** A docker context by name, as `docker --context NAME` takes it: before DOCKER_HOST and the current
   * context ('default' is DOCKER_HOST or the platform's default). Not with `host`. */
  context?: string;
  /** Where messages appear: the CLI names its flags, the extension its settings. */
  surface?: 'cli' | 'vscode';
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  platform?: NodeJS.Platform;
}

/** The docker CLI's config folder: DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env, homeDir = os.homedir()): string {
  return env.DOCKER_CONFIG || path.join(homeDir, '.docker');
}

/**
 * Picks the engine the way the docker CLI does: an explicit host, else DOCKER_HOST, else the current
 * context (DOCKER_CONTEXT, else config.json's currentContext), else the platform's default. The first, the
 * second and the last take their TLS from DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH; a context
 * brings its own.
 */
export function resolveEngine(options: ResolveOptions = {}): EngineAddress {
  const env = options.env ?? process.env;
  const configDir = dockerConfigDir(env, options.homeDir);
  const pinned = env.DOCKER_API_VERSION ? { apiVersion: env.DOCKER_API_VERSION } : {};
  const fromEnv = (url: string, source: EngineSource): EngineAddress => ({ url, source, ...tlsFromEnv(env, configDir), ...pinned });

  const tls = tlsFromEnv(env, configDir);
  if (options.host?.trim()) return fromEnv(normalizeHost(options.host), options.hostSource ?? 'flag');
  const chosen = options.context?.trim();
  if (chosen && chosen !== 'default') return { ...contextAddress(chosen, configDir, 'docker context'), ...pinned };
  if (env.DOCKER_HOST?.trim()) return fromEnv(normalizeHost(env.DOCKER_HOST), 'DOCKER_HOST');
  const name = chosen || currentContextName(env, configDir);
  if (name && name !== 'default') return { ...contextAddress(name, configDir), ...pinned };
  // As the CLI's default context: TLS variables without a host mean the TLS port on this machine.
  return fromEnv(tls.tls ? DEFAULT_TLS_HOST : defaultUrl(options.platform ?? process.platform), 'default');
}

/** The docker CLI's default for tcp:// without a host or port, and for TLS variables without any host. */
export const DEFAULT_TCP_HOST = 'tcp://localhost:2375';
export const DEFAULT_TLS_HOST = 'tcp://localhost:2376';

/**
 * An engine address written by a user, as the docker CLI's opts.ParseHost reads it: surrounding blanks go,
 * no scheme means tcp (so a bare /path is tcp://localhost:2375/path, as the CLI takes it), tcp:// without a
 * host is localhost and without a port 2375 (TLS or not), a tcp path is kept (the CLI puts it before every
 * API path), unix:// and npipe:// alone are the default socket and pipe. Other schemes are left for
 * dockerOptions to refuse with a message.
 */
export function normalizeHost(written: string): string {
  const host = written.trim();
  const at = host.indexOf('://');
  const scheme = at < 0 ? 'tcp' : host.slice(0, at).toLowerCase();
  const rest = at < 0 ? host : host.slice(at + 3);
  if (scheme === 'unix') return `unix://${rest || DEFAULT_SOCKET}`;
  if (scheme === 'npipe') return `npipe://${rest || DEFAULT_PIPE}`;
  if (scheme !== 'tcp') return host;
  const slash = rest.indexOf('/');
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const basePath = slash < 0 ? '' : rest.slice(slash);
  const parts = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(hostPort);
  if (!parts) return host; // not host[:port]: dockerOptions says so
  const [, name, port] = parts;
  if (name.startsWith('[') && !port) return host; // the CLI refuses an IPv6 host without a port too
  return `tcp://${name || 'localhost'}:${port || '2375'}${basePath}`;
}

export function defaultUrl(platform: NodeJS.Platform): string {
  return platform === 'win32' ? `npipe://${DEFAULT_PIPE}` : `unix://${DEFAULT_SOCKET}`;
}

/** The docker CLI turns TLS on for any non-empty DOCKER_TLS_VERIFY (even "0") or DOCKER_TLS. */
export function tlsFromEnv(env: NodeJS.ProcessEnv, configDir: string): { tls?: EngineTls } {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return {};
  const dir = env.DOCKER_CERT_PATH || configDir;
  return { tls: { dir, dirSource: env.DOCKER_CERT_PATH ? 'DOCKER_CERT_PATH' : 'config dir', verify } };
}

/** DOCKER_CONTEXT, else config.json's currentContext; undefined when neither names one. */
export function currentContextName(env: NodeJS.ProcessEnv, configDir: string): string | undefined {
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT;
  try {
    const name: unknown = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')).currentContext;
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined; // no config, or not JSON: the CLI falls back to the default too
  }
}

/** A context from the CLI's store: contexts/meta/<sha256(name)>/meta.json, TLS files under contexts/tls. */
/** `what` names it in messages: the current context, or one given by name (--engines). */
function contextAddress(name: string, configDir: string, what = 'current docker context'): EngineAddress {
  const id = createHash('sha256').update(name).digest('hex');
  const source = `context ${name}` as const;
  let endpoint: { Host?: unknown; SkipTLSVerify?: unknown } | undefined;
  try {
    endpoint = JSON.parse(readFileSync(path.join(configDir, 'contexts', 'meta', id, 'meta.json'), 'utf8'))?.Endpoints?.docker;
  } catch (error) {
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `The ${what} '${name}' cannot be read (${messageOf(error)}). ` +
        `Run 'docker context use default' (or 'docker context ls' to see the others), or choose the engine explicitly.`,
      'connect',
    );
  }
  if (typeof endpoint?.Host !== 'string' || !endpoint.Host) {
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `The docker context '${name}' has no Docker endpoint. Run 'docker context inspect ${name}' to see it, or 'docker context use default'.`,
      'connect',
    );
  }
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  const skip = endpoint.SkipTLSVerify === true;
  // As in the CLI: TLS when the context stores TLS files or says to skip verification, else plain.
  const tls = existsSync(tlsDir) || skip ? { dir: tlsDir, dirSource: 'context' as const, verify: !skip } : undefined;
  return { url: endpoint.Host, source, ...(tls ? { tls } : {}) };
}
