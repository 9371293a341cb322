import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { registryOf } from '../dockerfile-refs';
import type { RegistryAuth } from '../registry-auth';
import { ShipError } from './errors';

/** A reference cut into what the registry API v2 needs. */
export interface RegistryRef {
  /** The host in the reference ('docker.io' for Docker Hub). */
  registry: string;
  /** Where the API is: registry-1.docker.io for Docker Hub. */
  apiHost: string;
  /** The repository inside the registry (library/x on Docker Hub). */
  repository: string;
  /** A tag or a sha256 digest. */
  reference: string;
}

export function parseRegistryRef(ref: string): RegistryRef {
  const registry = registryOf(ref);
  let rest = registry === 'docker.io' && !ref.startsWith('docker.io/') ? ref : ref.slice(registry.length + 1);
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, apiHost: registry === 'docker.io' ? 'registry-1.docker.io' : registry, repository: rest, reference };
}

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
}

/** A pushed image as its registry stores it. */
export interface PushedManifest {
  /** sha256 of the manifest bytes the registry serves (what `docker push` prints as digest). */
  digest: string;
  /** name@sha256:… */
  canonical: string;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Compressed bytes a pull downloads: the layers' sizes plus the config's, as the manifest states them. */
  pullSize: number;
  /** The layers' sizes alone. */
  layerBytes: number;
}

export interface RegistryClientOptions {
  credentials?: RegistryAuth;
  /** PEM CA(s) to trust for the registry. Default: what Docker's daemon reads, /etc/docker/certs.d/HOST/ca.crt, if present. */
  ca?: string | Buffer;
  /** Where certs.d is (Docker's: /etc/docker/certs.d). */
  certsDir?: string;
  /** Allow plain HTTP when the registry does not speak TLS (default: only for 127.0.0.0/8 and localhost, as the engine allows). */
  insecure?: boolean;
  signal?: AbortSignal;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Docker's own rule: registries on 127.0.0.0/8 (and localhost) are insecure-allowed by default. */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '[::1]';
}

function caFor(host: string, options: RegistryClientOptions): string | Buffer | undefined {
  if (options.ca) return options.ca;
  try {
    return readFileSync(path.join(options.certsDir ?? '/etc/docker/certs.d', host, 'ca.crt'));
  } catch {
    return undefined;
  }
}

function request(url: URL, headers: Record<string, string>, options: RegistryClientOptions, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const ca = url.protocol === 'https:' ? caFor(url.host, options) : undefined;
    const req = lib.request(url, { method, headers, signal: options.signal, ...(ca ? { ca } : {}), timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether an error means "this server does not speak TLS" (a plain HTTP registry). */
function notTls(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException & { reason?: string };
  return e.code === 'EPROTO' || /wrong version number|packet length too long|http request/i.test(String(e.message));
}

/** Parses `Bearer realm="…",service="…",scope="…"` / `Basic realm="…"`. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
  return { scheme, params };
}

function basic(auth: RegistryAuth): string {
  return `Basic ${Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64')}`;
}

/** A small registry API v2 client for one repository: the scheme (https, or http where allowed), and the
 * Basic or Bearer authorization the registry asks for. */
export class RegistryClient {
  private base: URL | undefined;
  private authorization: string | undefined;

  constructor(
    readonly ref: RegistryRef,
    private readonly options: RegistryClientOptions = {},
  ) {}

  private async send(pathname: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
    const fix = isLoopbackRegistry(this.ref.apiHost)
      ? ''
      : ` If it serves plain HTTP, it must be listed in the engine's insecure-registries; if its certificate is signed by your own CA, put the CA in /etc/docker/certs.d/${this.ref.apiHost}/ca.crt.`;
    if (!this.base) {
      const secure = new URL(`https://${this.ref.apiHost}`);
      try {
        const answer = await request(new URL(pathname, secure), headers, this.options, method);
        this.base = secure;
        return answer;
      } catch (error) {
        if (this.options.signal?.aborted) throw error;
        const allowed = this.options.insecure ?? isLoopbackRegistry(this.ref.apiHost);
        if (!(allowed && notTls(error))) throw registryError(this.ref.registry, error, fix);
        this.base = new URL(`http://${this.ref.apiHost}`);
      }
    }
    try {
      return await request(new URL(pathname, this.base), headers, this.options, method);
    } catch (error) {
      if (this.options.signal?.aborted) throw error;
      throw registryError(this.ref.registry, error, fix);
    }
  }

  /** GET with authorization: on a 401, answer the registry's challenge once and retry. */
  async get(pathname: string, accept: string[] = []): Promise<Answer> {
    const headers = (): Record<string, string> => ({
      ...(accept.length ? { Accept: accept.join(', ') } : {}),
      ...(this.authorization ? { Authorization: this.authorization } : {}),
    });
    let answer = await this.send(pathname, headers());
    if (answer.status === 401 && answer.headers['www-authenticate']) {
      await this.authorize(parseChallenge(String(answer.headers['www-authenticate'])));
      answer = await this.send(pathname, headers());
    }
    return answer;
  }

  private async authorize(challenge: { scheme: string; params: Record<string, string> }): Promise<void> {
    const auth = this.options.credentials;
    if (challenge.scheme === 'basic') {
      if (!auth?.username) throw this.noCredentials();
      this.authorization = basic(auth);
      return;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) {
      throw new ShipError(
        'PUSH_FAILED',
        `The registry ${this.ref.registry} asks for '${challenge.scheme}' authentication, which Dockerception does not speak.`,
      );
    }
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.ref.repository}:pull`);
    const answer = await request(realm, auth?.username ? { Authorization: basic(auth) } : {}, this.options);
    if (answer.status !== 200) {
      throw new ShipError(
        'PUSH_AUTH',
        `The registry ${this.ref.registry}'s token service answered ${answer.status} (${answer.body.toString('utf8').slice(0, 200).trim()}): log in with 'docker login ${this.ref.registry}'.`,
      );
    }
    const token = JSON.parse(answer.body.toString('utf8')) as { token?: string; access_token?: string };
    this.authorization = `Bearer ${token.token ?? token.access_token ?? ''}`;
  }

  private noCredentials(): ShipError {
    return new ShipError(
      'PUSH_AUTH',
      `The registry ${this.ref.registry} asks for credentials and there are none for it: run 'docker login ${this.ref.registry}'.`,
    );
  }

  /** The manifest of a tag or digest, its bytes and digest; undefined when the registry has no such tag (404). */
  async manifest(reference = this.ref.reference): Promise<{ bytes: Buffer; digest: string; mediaType: string } | undefined> {
    const answer = await this.get(`/v2/${this.ref.repository}/manifests/${reference}`, MANIFEST_TYPES);
    if (answer.status === 404) return undefined;
    if (answer.status === 401) {
      throw new ShipError(
        'PUSH_AUTH',
        `The registry ${this.ref.registry} refused the credentials for ${this.ref.repository} (401 ${registryMessage(answer.body)}): log in again with 'docker login ${this.ref.registry}'.`,
      );
    }
    if (answer.status !== 200) {
      throw new ShipError(
        'PUSH_FAILED',
        `The registry ${this.ref.registry} answered ${answer.status} for the manifest of ${this.ref.repository}:${reference} (${registryMessage(answer.body)}).`,
      );
    }
    const digest = `sha256:${createHash('sha256').update(answer.body).digest('hex')}`;
    return { bytes: answer.body, digest, mediaType: String(answer.headers['content-type'] ?? '') };
  }
}

function registryMessage(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    if (parsed.errors?.length) return parsed.errors.map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
  } catch {
    // not JSON
  }
  return body.toString('utf8').slice(0, 200).trim() || 'no message';
}

function registryError(registry: string, error: unknown, fix: string): ShipError {
  const e = error as NodeJS.ErrnoException;
  const message = e.message ?? String(error);
  if (/certificate|self.signed|unable to verify|CERT_|SSL|TLS/i.test(`${e.code} ${message}`)) {
    return new ShipError('PUSH_TLS', `TLS with the registry ${registry} failed (${message}).${fix}`, { cause: error });
  }
  return new ShipError(
    'REGISTRY_UNREACHABLE',
    `The registry ${registry} could not be reached (${message}). Check the host and port in the tag, and that the registry runs.`,
    {
      cause: error,
    },
  );
}

/**
 * What a pushed reference (tag or name@digest) holds in its registry: the manifest's digest, layers and
 * config, and the pull size (layers plus config, compressed, as the manifest states). Read over the
 * registry API v2, with the same credentials as the push.
 */
export async function pushedManifest(ref: string, options: RegistryClientOptions = {}): Promise<PushedManifest> {
  const parsed = parseRegistryRef(ref);
  const client = new RegistryClient(parsed, options);
  const found = await client.manifest();
  if (!found) throw new ShipError('PUSH_FAILED', `The registry ${parsed.registry} has no ${parsed.repository}:${parsed.reference}: push it first.`);
  const manifest = JSON.parse(found.bytes.toString('utf8')) as { mediaType?: string; config?: Descriptor; layers?: Descriptor[] };
  if (!manifest.config || !manifest.layers) {
    throw new ShipError(
      'PUSH_FAILED',
      `${ref} is a manifest list (several platforms), not one image: its pull size depends on the platform. Name the platform's manifest by its digest.`,
    );
  }
  const layerBytes = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  return {
    digest: found.digest,
    canonical: `${parsed.registry === 'docker.io' ? 'docker.io/' : `${parsed.registry}/`}${parsed.repository}@${found.digest}`,
    mediaType: manifest.mediaType ?? found.mediaType,
    config: manifest.config,
    layers: manifest.layers,
    layerBytes,
    pullSize: layerBytes + manifest.config.size,
  };
}

/** Whether a registry holds a tag (a manifest answers 200), e.g. to check a cancelled push left none. */
export async function registryHasTag(ref: string, options: RegistryClientOptions = {}): Promise<boolean> {
  return (await new RegistryClient(parseRegistryRef(ref), options).manifest()) !== undefined;
}
