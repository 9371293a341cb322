import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { dockerConfigDir } from './engine/address';
import { messageOf } from './errors';

/** One registry's credentials as the engine takes them in X-Registry-Config. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

export interface RegistryCredentials {
  /** Registry host → credentials, as `docker build` sends them. */
  auths: Record<string, RegistryAuth>;
  /** Where they came from, for messages: the config file. */
  configFile: string;
  /** Helpers that failed: said once in the output, never fatal (a public FROM needs none). */
  problems: string[];
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const HELPER_TIMEOUT_MS = 10_000;

/**
 * Every credential the docker CLI would send with `docker build`: config.json's `auths`, then what the
 * `credsStore` helper lists, then each `credHelpers` entry (later ones win, as in the CLI's
 * GetAllCredentials). Read for each build, so that a `docker login` applies at once.
 */
export async function registryCredentials(env: NodeJS.ProcessEnv = process.env, homeDir?: string): Promise<RegistryCredentials> {
  const configFile = path.join(dockerConfigDir(env, homeDir), 'config.json');
  const result: RegistryCredentials = { auths: {}, configFile, problems: [] };
  let config: ConfigFile;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as ConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.problems.push(`${configFile} cannot be read (${messageOf(error)})`);
    return result;
  }
  for (const [server, entry] of Object.entries(config.auths ?? {})) {
    const fromAuth = entry.auth ? decodeAuth(entry.auth) : {};
    const auth: RegistryAuth = { serveraddress: server, ...fromAuth };
    if (entry.username) auth.username = entry.username;
    if (entry.password) auth.password = entry.password;
    if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
    if (auth.username || auth.identitytoken) result.auths[server] = auth;
  }
  const helped: Array<[string, string]> = [];
  if (config.credsStore) {
    try {
      const listed = JSON.parse(await runHelper(config.credsStore, 'list', '', env)) as Record<string, string>;
      for (const server of Object.keys(listed)) helped.push([server, config.credsStore]);
    } catch (error) {
      result.problems.push(`the credential helper docker-credential-${config.credsStore} failed to list (${messageOf(error)})`);
    }
  }
  for (const [server, helper] of Object.entries(config.credHelpers ?? {})) helped.push([server, helper]);
  for (const [server, helper] of helped) {
    try {
      const answer = JSON.parse(await runHelper(helper, 'get', server, env)) as { Username?: string; Secret?: string };
      // A helper's "<token>" user means the secret is an identity token.
      result.auths[server] =
        answer.Username === '<token>'
          ? { serveraddress: server, identitytoken: answer.Secret }
          : { serveraddress: server, username: answer.Username, password: answer.Secret };
    } catch (error) {
      result.problems.push(`docker-credential-${helper} has nothing for ${server} (${messageOf(error)})`);
    }
  }
  return result;
}

function decodeAuth(auth: string): { username?: string; password?: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? {} : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function runHelper(helper: string, verb: 'get' | 'list', input: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, [verb], { env, timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr.trim() || stdout.trim() || error.message));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // a helper that does not read its input: its answer decides
    child.stdin?.end(input);
  });
}

/** The X-Registry-Config header's value: the JSON in Go's base64.URLEncoding, which the engine decodes:
 * the URL alphabet (docker-modem's standard one breaks on '+' and '/') with its '=' padding kept. */
export function registryConfigHeader(auths: Record<string, RegistryAuth>): string {
  return Buffer.from(JSON.stringify(auths)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Registry hosts an engine's pull error names, for the message that follows it. */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}
