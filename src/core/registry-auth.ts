import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { imageReferences, registryOf } from './dockerfile-refs';
import { dockerConfigDir } from './engine/address';
import { messageOf } from './errors';

export { registryOf } from './dockerfile-refs';

/** One registry's credentials as the engine takes them in X-Registry-Config. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

/**
 * The registry credentials of one build, asked lazily: nothing is asked of a credential helper until a
 * build needs a registry (the legacy builder for the registries its Dockerfiles name and the engine lacks,
 * BuildKit when it asks through its session), and each registry at most once.
 */
export interface RegistryCredentials {
  /** Where they come from, for messages: the config file. */
  readonly configFile: string;
  /** What went wrong asking (never a helper's output): said in the build's output, never fatal. */
  readonly problems: string[];
  /** The registries this build may pull from (see registriesToAsk); undefined: not narrowed. */
  readonly registries?: readonly string[];
  /** Credentials found so far, by the key the engine looks them up under. */
  readonly auths: Readonly<Record<string, RegistryAuth>>;
  /** The registries asked so far ('docker.io' for Docker Hub), in order. */
  readonly asked: readonly string[];
  /** Whether config.json names any source of credentials at all (auths, credsStore, credHelpers). */
  readonly configured: boolean;
  /** The credentials for a registry host, asked on first use. Undefined when there are none. */
  get(registry: string): Promise<RegistryAuth | undefined>;
  /** X-Registry-Config's map: the credentials for `registries` (default: this build's). */
  forRegistries(registries?: readonly string[]): Promise<Record<string, RegistryAuth>>;
  /** The same credentials (one cache) limited to the registries a build names. */
  only(registries: readonly string[]): RegistryCredentials;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const HELPER_TIMEOUT_MS = 10_000;
/** Docker Hub's key in config.json and X-Registry-Config, and what its helper is asked for. */
export const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** What credential helpers print when they hold nothing for a server (docker-credential-helpers). */
const NOT_FOUND = 'credentials not found in native keychain';

/** The key a registry host has in config.json and X-Registry-Config. */
export function registryKey(registry: string): string {
  return HUB_HOSTS.has(registry) || registry === HUB_KEY ? HUB_KEY : registry;
}

/** A config.json key as a bare host: the docker CLI's ConvertToHostname. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * The credentials the docker CLI would use, read from config.json now (so that a `docker login` applies
 * at once) and asked of helpers only when a registry is needed. As in the CLI: a registry in credHelpers
 * uses that helper; else, with credsStore set, the credsStore helper (the file's auths are not used then);
 * else the file's auths.
 */
export async function registryCredentials(env: NodeJS.ProcessEnv = process.env, homeDir?: string): Promise<RegistryCredentials> {
  const configFile = path.join(dockerConfigDir(env, homeDir), 'config.json');
  const problems: string[] = [];
  let config: ConfigFile = {};
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as ConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${configFile} cannot be read (${messageOf(error)})`);
  }
  return new LazyCredentials(configFile, problems, config, env);
}

class LazyCredentials implements RegistryCredentials {
  private readonly cache: Map<string, Promise<RegistryAuth | undefined>>;
  private readonly found: Record<string, RegistryAuth>;
  private readonly order: string[];

  constructor(
    readonly configFile: string,
    readonly problems: string[],
    private readonly config: ConfigFile,
    private readonly env: NodeJS.ProcessEnv,
    readonly registries?: readonly string[],
    shared?: LazyCredentials,
  ) {
    this.cache = shared?.cache ?? new Map();
    this.found = shared?.found ?? {};
    this.order = shared?.order ?? [];
  }

  get auths(): Readonly<Record<string, RegistryAuth>> {
    return this.found;
  }

  get asked(): readonly string[] {
    return this.order;
  }

  get configured(): boolean {
    const { auths, credsStore, credHelpers } = this.config;
    return Boolean(credsStore) || Object.keys(credHelpers ?? {}).length > 0 || Object.keys(auths ?? {}).length > 0;
  }

  only(registries: readonly string[]): RegistryCredentials {
    return new LazyCredentials(this.configFile, this.problems, this.config, this.env, [...new Set(registries)], this);
  }

  async forRegistries(registries: readonly string[] | undefined = this.registries): Promise<Record<string, RegistryAuth>> {
    const hosts = registries ?? (await this.knownRegistries());
    const result: Record<string, RegistryAuth> = {};
    for (const host of hosts) {
      const auth = await this.get(host);
      if (auth) result[registryKey(host)] = auth;
    }
    return result;
  }

  get(registry: string): Promise<RegistryAuth | undefined> {
    const key = registryKey(registry);
    let answer = this.cache.get(key);
    if (!answer) {
      this.order.push(HUB_HOSTS.has(registry) ? 'docker.io' : registry);
      answer = this.ask(key).then((auth) => {
        if (auth) this.found[key] = auth;
        return auth;
      });
      this.cache.set(key, answer);
    }
    return answer;
  }

  /** Every registry config.json knows, for a build whose registries were not narrowed (what `docker build`
   * sends): credHelpers' keys, and the credsStore helper's list or else the file's auths. */
  private async knownRegistries(): Promise<string[]> {
    const { auths, credHelpers, credsStore } = this.config;
    const keys = Object.keys(credHelpers ?? {});
    if (!credsStore) keys.push(...Object.keys(auths ?? {}));
    else {
      const program = `docker-credential-${credsStore}`;
      try {
        keys.push(...Object.keys(JSON.parse(await runHelper(program, 'list', '', this.env)) as Record<string, unknown>));
      } catch (error) {
        const why = error instanceof SyntaxError ? 'its answer is not JSON' : (error as Error).message;
        this.problems.push(`${program} failed to list its registries (${why}; its output is not shown, as it may hold a secret).`);
      }
    }
    return [...new Set(keys.map((key) => (registryKey(key) === HUB_KEY ? 'docker.io' : hostOf(key))))];
  }

  private async ask(key: string): Promise<RegistryAuth | undefined> {
    const host = hostOf(key);
    const helpers = this.config.credHelpers ?? {};
    const helper = helpers[key] ?? helpers[host] ?? this.config.credsStore;
    if (helper) return this.askHelper(helper, key);
    const auths = this.config.auths ?? {};
    const entry = auths[key] ?? Object.entries(auths).find(([candidate]) => hostOf(candidate) === host)?.[1];
    if (!entry) return undefined;
    const auth: RegistryAuth = { serveraddress: key, ...(entry.auth ? decodeAuth(entry.auth) : {}) };
    if (entry.username) auth.username = entry.username;
    if (entry.password) auth.password = entry.password;
    if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
    return auth.username || auth.identitytoken ? auth : undefined;
  }

  private async askHelper(helper: string, key: string): Promise<RegistryAuth | undefined> {
    const program = `docker-credential-${helper}`;
    const fix = `Check it with 'echo ${key} | ${program} get' in a terminal, or log in again with 'docker login ${hostOf(key)}'.`;
    let output: string;
    try {
      output = await runHelper(program, 'get', key, this.env);
    } catch (error) {
      // Its output is never shown: a helper may print a secret, and errors reach logs and the output channel.
      if ((error as HelperError).notFound) return undefined;
      this.problems.push(`${program} failed for ${hostOf(key)} (${(error as Error).message}; its output is not shown, as it may hold a secret). ${fix}`);
      return undefined;
    }
    let answer: { Username?: unknown; Secret?: unknown };
    try {
      answer = JSON.parse(output) as { Username?: unknown; Secret?: unknown };
    } catch {
      this.problems.push(`${program} answered for ${hostOf(key)} with something that is not JSON (not shown, as it may hold a secret). ${fix}`);
      return undefined;
    }
    if (typeof answer?.Secret !== 'string' || (answer.Username !== undefined && typeof answer.Username !== 'string')) {
      this.problems.push(`${program} answered for ${hostOf(key)} without a Username and Secret (not shown). ${fix}`);
      return undefined;
    }
    // A helper's "<token>" user means the secret is an identity token.
    return answer.Username === '<token>'
      ? { serveraddress: key, identitytoken: answer.Secret }
      : { serveraddress: key, username: (answer.Username as string | undefined) ?? '', password: answer.Secret };
  }
}

function decodeAuth(auth: string): { username?: string; password?: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? {} : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

interface HelperError extends Error {
  notFound?: boolean;
}

/** `docker-credential-X get|list` with the server on stdin. Rejects with a message that holds none of its output. */
function runHelper(program: string, verb: 'get' | 'list', server: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(program, [verb], { env, timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (!error) return resolve(stdout);
      const failure: HelperError = new Error(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? `there is no ${program} on PATH`
          : error.killed
            ? `no answer within ${HELPER_TIMEOUT_MS / 1000} s`
            : `exit status ${String((error as { code?: unknown }).code ?? error.signal ?? 'unknown')}`,
      );
      failure.notFound = stdout.trim() === NOT_FOUND;
      reject(failure);
    });
    child.stdin?.on('error', () => undefined); // a helper that does not read its input: its answer decides
    child.stdin?.end(server);
  });
}

/**
 * The registries a build may pull from: those of the images the Dockerfiles read from outside (FROM,
 * COPY --from, RUN --mount=from, # syntax=, with the build args) that the engine does not have. An image
 * the engine has is not pulled (no --pull), so its registry is not asked.
 */
export async function registriesToAsk(docker: Docker, dockerfileTexts: readonly string[], buildArgs: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const refs = [...new Set(dockerfileTexts.flatMap((text) => imageReferences(text, buildArgs).map((r) => r.ref)))];
  const missing = await Promise.all(
    refs.map((ref) =>
      docker
        .getImage(ref)
        .inspect()
        // Not there (404), or not known: the build may pull it.
        .then(
          () => false,
          () => true,
        ),
    ),
  );
  return [...new Set(refs.filter((_, i) => missing[i]).map(registryOf))];
}

/** registriesToAsk for Dockerfiles on disk (a pair's two); one that cannot be read names nothing. */
export async function registriesToAskFor(docker: Docker, dockerfiles: readonly string[], buildArgs: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const texts = await Promise.all(dockerfiles.map((file) => fs.readFile(file, 'utf8').catch(() => '')));
  return registriesToAsk(docker, texts, buildArgs);
}

/** Why credentials were not sent to a plain tcp:// engine, and what to do. */
export function plainTcpRefusal(url: string, registries: readonly string[]): string {
  const which = registries.length > 0 ? ` for ${registries.join(', ')}` : '';
  return (
    `Registry credentials${which} were not sent: the engine at ${url} is reached over plain HTTP, without TLS, where anyone on the ` +
    `network could read them. Use TLS (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or a docker context with TLS), an ssh:// engine or a local ` +
    `socket; or pull the image on the engine's machine first.`
  );
}

/** The X-Registry-Config header's value: the JSON in Go's base64.URLEncoding, which the engine decodes:
 * the URL alphabet (docker-modem's standard one breaks on '+' and '/') with its '=' padding kept. */
export function registryConfigHeader(auths: Record<string, RegistryAuth>): string {
  return Buffer.from(JSON.stringify(auths)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
