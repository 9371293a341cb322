// Registry helpers the shipping tests share: a Debian docker-registry (PrivateRegistry) and what it answers,
// read with curl (the registry API v2 as any client sees it), never with the code under test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mustRun } from './endpoints/process';
import { PrivateRegistry } from './endpoints/registry';

export { PrivateRegistry };

/** A non-loopback IPv4 address of this machine: a registry there is not insecure-allowed by the engine. */
export function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const item of list ?? []) if (item.family === 'IPv4' && !item.internal && !item.address.startsWith('172.17.')) return item.address;
  }
  return undefined;
}

/** `docker import` of a tar with the given files: an image with one layer, made in seconds. */
export function importImage(tag: string, files: Record<string, Buffer>): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-ship-img-'));
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
    const tar = spawnSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 30 }).stdout;
    mustRun('docker', ['import', '--change', 'CMD ["/x"]', '-', tag], { input: tar });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function curlArgs(registry: PrivateRegistry, ca: string | undefined, auth: boolean): string[] {
  return [...(ca ? ['--cacert', ca] : []), ...(auth ? ['-u', `${registry.user}:${registry.password}`] : [])];
}

/** The blob's size as the registry serves it (HEAD /v2/NAME/blobs/DIGEST, Content-Length), by curl. */
export function blobSize(registry: PrivateRegistry, repo: string, digest: string, ca?: string, auth = true): number {
  const head = mustRun('curl', ['-sS', '-I', '-L', ...curlArgs(registry, ca, auth), `${registry.url}/v2/${repo}/blobs/${digest}`]);
  const lengths = [...head.matchAll(/^content-length:\s*(\d+)/gim)].map((m) => Number(m[1]));
  return lengths[lengths.length - 1];
}

const MANIFEST_V2 = 'Accept: application/vnd.docker.distribution.manifest.v2+json';

/** The registry's own answer for a tag: Docker-Content-Digest of GET /v2/NAME/manifests/TAG, by curl. */
export function registryDigest(registry: PrivateRegistry, repo: string, tag: string, ca?: string, auth = true): string | undefined {
  const headers = mustRun('curl', [
    '-sS',
    '-D',
    '-',
    '-o',
    '/dev/null',
    '-H',
    MANIFEST_V2,
    ...curlArgs(registry, ca, auth),
    `${registry.url}/v2/${repo}/manifests/${tag}`,
  ]);
  return /^docker-content-digest:\s*(\S+)/im.exec(headers)?.[1];
}

/** The manifest the registry serves for a tag, by curl, and the pull size it states (layers plus config). */
export function registryManifest(
  registry: PrivateRegistry,
  repo: string,
  tag: string,
  ca?: string,
  auth = true,
): { config: { size: number; digest: string }; layers: Array<{ size: number; digest: string }>; pullSize: number } {
  const manifest = JSON.parse(
    mustRun('curl', ['-sS', '-f', '-H', MANIFEST_V2, ...curlArgs(registry, ca, auth), `${registry.url}/v2/${repo}/manifests/${tag}`]),
  ) as {
    config: { size: number; digest: string };
    layers: Array<{ size: number; digest: string }>;
  };
  return { ...manifest, pullSize: manifest.layers.reduce((sum, l) => sum + l.size, 0) + manifest.config.size };
}
