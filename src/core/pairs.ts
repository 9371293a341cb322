import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DockerceptionError } from './errors';

export const BUILDER_DOCKERFILE = 'Dockerfile';
export const RUNTIME_DOCKERFILE = 'Dockerfile.run';

/** A folder holding a builder `Dockerfile` and a runtime `Dockerfile.run`. */
export interface Pair {
  /** Image name derived from the folder's name (see imageNameFor). */
  name: string;
  /** Absolute path of the folder; it is the builder's build context. */
  dir: string;
  builderDockerfile: string;
  runtimeDockerfile: string;
}

/** Folders that hold other people's code or generated files; a pair is never looked for inside them. */
export const SKIPPED_FOLDERS: ReadonlySet<string> = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  'vendor',
  'bower_components',
  '.venv',
  'venv',
  '__pycache__',
  '.cache',
  '.vscode-test',
]);

/**
 * Turns a folder name into a valid image repository name the way a person would by hand: lower case,
 * anything outside [a-z0-9._-] becomes '-', runs of separators collapse, and it starts and ends with a
 * letter or digit (Docker's reference grammar). An empty result becomes 'app'.
 */
export function imageNameFor(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 100)
    .replace(/[^a-z0-9]+$/, '');
  return name || 'app';
}

export function pairFor(dir: string): Pair {
  const abs = path.resolve(dir);
  return {
    name: imageNameFor(path.basename(abs)),
    dir: abs,
    builderDockerfile: path.join(abs, BUILDER_DOCKERFILE),
    runtimeDockerfile: path.join(abs, RUNTIME_DOCKERFILE),
  };
}

/** The pair in exactly this folder, or NO_PAIR saying which file is missing. */
export async function pairAt(dir: string): Promise<Pair> {
  const pair = pairFor(dir);
  const missing: string[] = [];
  for (const file of [pair.builderDockerfile, pair.runtimeDockerfile]) {
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) missing.push(path.basename(file));
  }
  if (missing.length > 0) {
    throw new DockerceptionError(
      'NO_PAIR',
      `No Dockerception pair in ${pair.dir}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing. ` +
        `A pair is a folder with a builder 'Dockerfile' and a runtime 'Dockerfile.run'; ` +
        `run 'dockerception list' to see the pairs under a folder.`,
      'discover',
    );
  }
  return pair;
}

/** Every pair under root, sorted by folder. Folders in SKIPPED_FOLDERS and symlinked folders are not entered. */
export async function findPairs(root: string): Promise<Pair[]> {
  const pairs: Pair[] = [];
  async function visit(dir: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished while walking: nothing to find there
    }
    let hasBuilder = false;
    let hasRuntime = false;
    const subdirs: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) subdirs.push(path.join(dir, entry.name));
      } else if (entry.isFile()) {
        if (entry.name === BUILDER_DOCKERFILE) hasBuilder = true;
        else if (entry.name === RUNTIME_DOCKERFILE) hasRuntime = true;
      }
    }
    if (hasBuilder && hasRuntime) pairs.push(pairFor(dir));
    await Promise.all(subdirs.map(visit));
  }
  await visit(path.resolve(root));
  return pairs.sort((a, b) => a.dir.localeCompare(b.dir));
}

/**
 * Names that tell pairs apart in a workspace (several roots, nested folders): a pair keeps its folder's
 * name unless another pair has the same one; those take as many of the folders above them as it takes
 * to differ ("svc-a/api" and "svc-b/api" become "svc-a-api" and "svc-b-api").
 */
export function distinctNames(pairs: readonly Pair[]): Pair[] {
  const named = pairs.map((pair) => ({ ...pair }));
  const parts = named.map((pair) => pair.dir.split(/[\\/]+/).filter(Boolean));
  for (let depth = 2; ; depth++) {
    const counts = new Map<string, number>();
    for (const pair of named) counts.set(pair.name, (counts.get(pair.name) ?? 0) + 1);
    const colliding = named.map((pair, i) => ((counts.get(pair.name) ?? 0) > 1 && parts[i].length >= depth ? i : -1)).filter((i) => i >= 0);
    if (colliding.length === 0) return named;
    for (const i of colliding) named[i].name = imageNameFor(parts[i].slice(-depth).join('-'));
  }
}
