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

/**
 * A pair's name, the one rule every surface uses: the pair's folder relative to the root it is named
 * from, its folders joined with '-' ("services/api" → "services-api"); a pair in the root itself takes the
 * root folder's name. `prefix` (a multi-root workspace's folder name) goes in front. The root is the
 * workspace folder in VS Code; for the CLI see namingRoot.
 */
export function pairName(dir: string, root: string, prefix?: string): string {
  const abs = path.resolve(dir);
  const rel = path.relative(path.resolve(root), abs);
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  const parts = inside ? rel.split(/[\\/]+/) : prefix === undefined ? [path.basename(abs)] : [];
  return imageNameFor([...(prefix === undefined ? [] : [prefix]), ...parts].join('-'));
}

/** The pair in `dir`, named relative to `root` (default: the folder itself, i.e. its own name). */
export function pairFor(dir: string, root: string = dir, prefix?: string): Pair {
  const abs = path.resolve(dir);
  return {
    name: pairName(abs, root, prefix),
    dir: abs,
    builderDockerfile: path.join(abs, BUILDER_DOCKERFILE),
    runtimeDockerfile: path.join(abs, RUNTIME_DOCKERFILE),
  };
}

export type NamingRootSource = 'given' | 'git' | 'cwd' | 'pair';

/** Where the CLI names a pair from: a folder given for that (--all DIR, list DIR), else the git repository
 * root that holds the pair, else the current folder when it holds the pair, else the pair's own folder. */
export interface NamingRoot {
  root: string;
  source: NamingRootSource;
}

const within = (dir: string, root: string) => {
  const rel = path.relative(root, dir);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** The nearest folder at or above `dir` holding a `.git` (a folder, or a worktree's file). */
export async function gitRootOf(dir: string): Promise<string | undefined> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (
      await fs.stat(path.join(current, '.git')).then(
        () => true,
        () => false,
      )
    )
      return current;
    if (path.dirname(current) === current) return undefined;
  }
}

export async function namingRoot(dir: string, given?: string, cwd = process.cwd()): Promise<NamingRoot> {
  const abs = path.resolve(dir);
  if (given !== undefined && within(abs, path.resolve(given))) return { root: path.resolve(given), source: 'given' };
  const git = await gitRootOf(abs);
  if (git !== undefined) return { root: git, source: 'git' };
  if (within(abs, path.resolve(cwd))) return { root: path.resolve(cwd), source: 'cwd' };
  return { root: abs, source: 'pair' };
}

/** Explains a NamingRoot to people: "named from the git repository root /x". */
export function describeNamingRoot({ root, source }: NamingRoot): string {
  const where = { given: 'the folder given', git: 'the git repository root', cwd: 'the current folder', pair: 'its own folder' }[source];
  return `named from ${where} ${root}`;
}

/** The pair in exactly this folder (named by namingRoot unless `root` is given), or NO_PAIR saying which file is missing. */
export async function pairAt(dir: string, options: { root?: string } = {}): Promise<Pair> {
  const root = options.root ?? (await namingRoot(dir)).root;
  const pair = pairFor(dir, root);
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
export async function findPairs(root: string, options: { prefix?: string } = {}): Promise<Pair[]> {
  const top = path.resolve(root);
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
    if (hasBuilder && hasRuntime) pairs.push(pairFor(dir, top, options.prefix));
    await Promise.all(subdirs.map(visit));
  }
  await visit(top);
  return pairs.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** Two pairs that would write the same image: building one would overwrite the other's. */
export interface TagCollision {
  tag: string;
  first: { pair: Pair; role: 'builder' | 'runtime' };
  second: { pair: Pair; role: 'builder' | 'runtime' };
}

/** Docker's short and long spellings of one image: "api" is "docker.io/library/api:latest". */
export function canonicalReference(ref: string): string {
  let name = ref.trim();
  if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  if (name.startsWith('index.docker.io/')) name = name.slice('index.docker.io/'.length);
  if (name.startsWith('library/') && name.indexOf('/', 'library/'.length) < 0) name = name.slice('library/'.length);
  if (name.includes('@')) return name;
  const slash = name.lastIndexOf('/');
  return name.lastIndexOf(':') > slash ? name : `${name}:latest`;
}

/** The first two pairs whose runtime or builder tags are one image, or undefined when every tag is the pair's own. */
export function findTagCollision(tagged: ReadonlyArray<{ pair: Pair; runtimeTag: string; builderTag: string }>): TagCollision | undefined {
  const owners = new Map<string, { pair: Pair; role: 'builder' | 'runtime' }>();
  for (const { pair, runtimeTag, builderTag } of tagged) {
    for (const [tag, role] of [
      [runtimeTag, 'runtime'],
      [builderTag, 'builder'],
    ] as const) {
      const key = canonicalReference(tag);
      const owner = owners.get(key);
      if (owner && owner.pair.dir !== pair.dir) return { tag, first: owner, second: { pair, role } };
      owners.set(key, { pair, role });
    }
  }
  return undefined;
}

/** NO_PAIR naming both pairs of a collision and what to do. */
export function tagCollisionError(collision: TagCollision, remedy: string): DockerceptionError {
  const side = (s: TagCollision['first']) => `${s.pair.name} (${s.pair.dir})${s.role === 'builder' ? "'s builder" : ''}`;
  return new DockerceptionError(
    'NO_PAIR',
    `${side(collision.first)} and ${side(collision.second)} would both be tagged ${collision.tag}: one would overwrite the other's image, so nothing was built. ${remedy}`,
    'discover',
  );
}
