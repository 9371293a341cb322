// The builds of each pair, newest last: which runtime image each made and how large it was. "What grew"
// compares a build's file listing (in its record) with the one before it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileChanges, type FileChange } from './doctor/growth';
import type Docker from 'dockerode';
import { writeFileAtomic, sweepTemporaryFiles } from './state-files';
import { engineIdOf, readRecord, sha256 } from './up-to-date';

export interface PairBuild {
  runtimeId: string;
  size: number;
  recordedAt: string;
  /** The pushes of this build's image, oldest first (read from the pair's pushes/ folder, not stored in the build's file). */
  pushes?: PairPush[];
}

/** One push of a pair's runtime image: where it went, the digest the registry stores it under, what a pull downloads. */
export interface PairPush {
  /** The image pushed (a build's runtimeId). */
  runtimeId: string;
  /** The reference pushed (registry/name:tag). */
  ref: string;
  /** sha256:… of the pushed manifest. */
  digest: string;
  /** name@sha256:… */
  canonical: string;
  /** Compressed bytes a pull downloads (the manifest's layers plus its config); undefined when the registry could not be read. */
  pullSize?: number;
  pushedAt: string;
}

/** What changed since the pair's build before: the total and each file. */
export interface Growth {
  since: PairBuild;
  sizeDelta: number;
  /** Largest changes first; empty when either build has no listing. */
  changes: FileChange[];
  /** A listing was cut to its largest files: small changes may be missing or shown as added/removed. */
  partial: boolean;
}

const KEPT_BUILDS = 20;

/** A pair is its folder, its runtime tag and the engine it was built on. */
export function pairKey(engineId: string, dir: string, runtimeTag: string): string {
  return sha256(`${engineId}\0${path.resolve(dir)}\0${runtimeTag}`).slice(0, 32);
}

/** Each build of a pair is a file of its own under pairs/<key>/, so two processes that finish at once both
 * add theirs (a shared list rewritten by each would lose one). pairs/<key>.json is the older single list. */
const historyDir = (recordsDir: string, key: string) => path.join(recordsDir, 'pairs', key);
/** Each push is a file of its own too, under pairs/<key>/pushes/ (a folder: the builds' listing skips it). */
const pushesDir = (recordsDir: string, key: string) => path.join(historyDir(recordsDir, key), 'pushes');
const KEPT_PUSHES = 50;
const legacyHistoryFile = (recordsDir: string, key: string) => path.join(recordsDir, 'pairs', `${key}.json`);

function isPairBuild(value: unknown): value is PairBuild {
  const build = value as PairBuild;
  return typeof build?.runtimeId === 'string' && typeof build.size === 'number' && typeof build.recordedAt === 'string';
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined; // none, or unreadable
  }
}

/** The pair's builds, oldest first; each image once (its latest build). */
export async function pairBuilds(recordsDir: string, key: string): Promise<PairBuild[]> {
  const dir = historyDir(recordsDir, key);
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
  const [legacy, ...each] = await Promise.all([readJson(legacyHistoryFile(recordsDir, key)), ...names.map((name) => readJson(path.join(dir, name)))]);
  const latest = new Map<string, PairBuild>();
  for (const build of [...(Array.isArray(legacy) ? legacy : []), ...each]) {
    if (!isPairBuild(build)) continue;
    const known = latest.get(build.runtimeId);
    if (!known || known.recordedAt <= build.recordedAt) latest.set(build.runtimeId, build);
  }
  for (const push of await pairPushes(recordsDir, key)) {
    const build = latest.get(push.runtimeId);
    if (build) latest.set(push.runtimeId, { ...build, pushes: [...(build.pushes ?? []), push] });
  }
  return [...latest.values()].sort((a, b) => (a.recordedAt < b.recordedAt ? -1 : a.recordedAt > b.recordedAt ? 1 : 0)).slice(-KEPT_BUILDS);
}

const buildFileName = (build: PairBuild) => `${build.recordedAt.replace(/[^0-9A-Za-z]/g, '')}-${build.runtimeId.replace(/^sha256:/, '').slice(0, 16)}.json`;

/** Adds a build to the pair's history (its own file, written atomically); only the last KEPT_BUILDS are kept. */
export async function addPairBuild(recordsDir: string, key: string, build: PairBuild): Promise<void> {
  const dir = historyDir(recordsDir, key);
  await writeFileAtomic(path.join(dir, buildFileName(build)), JSON.stringify(build));
  await sweepTemporaryFiles(dir);
  const names = (await fs.readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  await Promise.all(names.slice(0, Math.max(0, names.length - KEPT_BUILDS)).map((name) => fs.rm(path.join(dir, name), { force: true })));
}

function isPairPush(value: unknown): value is PairPush {
  const push = value as PairPush;
  return (
    typeof push?.runtimeId === 'string' &&
    typeof push.ref === 'string' &&
    typeof push.digest === 'string' &&
    typeof push.canonical === 'string' &&
    (push.pullSize === undefined || typeof push.pullSize === 'number') &&
    typeof push.pushedAt === 'string'
  );
}

/** The pair's pushes, oldest first; `runtimeId` keeps only that image's. */
export async function pairPushes(recordsDir: string, key: string, runtimeId?: string): Promise<PairPush[]> {
  const dir = pushesDir(recordsDir, key);
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
  const pushes = (await Promise.all(names.map((name) => readJson(path.join(dir, name))))).filter(isPairPush);
  return pushes
    .filter((push) => runtimeId === undefined || push.runtimeId === runtimeId)
    .sort((a, b) => (a.pushedAt < b.pushedAt ? -1 : a.pushedAt > b.pushedAt ? 1 : 0));
}

/** Records a push with the pair's builds: a file of its own, written atomically, so pushes at once all stay; the last KEPT_PUSHES are kept. */
export async function addPairPush(recordsDir: string, key: string, push: PairPush): Promise<void> {
  const dir = pushesDir(recordsDir, key);
  const name = `${push.pushedAt.replace(/[^0-9A-Za-z]/g, '')}-${push.digest.replace(/^sha256:/, '').slice(0, 16)}-${sha256(push.ref).slice(0, 8)}.json`;
  await writeFileAtomic(path.join(dir, name), JSON.stringify(push));
  await sweepTemporaryFiles(dir);
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  await Promise.all(names.slice(0, Math.max(0, names.length - KEPT_PUSHES)).map((n) => fs.rm(path.join(dir, n), { force: true })));
}

/** The latest push of the image `runtimeId` (any image of the pair when undefined). */
export async function lastPairPush(recordsDir: string, key: string, runtimeId?: string): Promise<PairPush | undefined> {
  return (await pairPushes(recordsDir, key, runtimeId)).at(-1);
}

/** The build before the one that made `runtimeId` (or before now, when it is not in the history). */
export function buildBefore(builds: readonly PairBuild[], runtimeId: string | undefined): PairBuild | undefined {
  const at = runtimeId === undefined ? -1 : builds.findIndex((b) => b.runtimeId === runtimeId);
  return at < 0 ? builds[builds.length - 1] : builds[at - 1];
}

/** What grew between an earlier build and the image `runtimeId` of `size`, from their records' listings. */
export async function growthSince(recordsDir: string, since: PairBuild, runtimeId: string, size: number): Promise<Growth> {
  const [before, after] = await Promise.all([readRecord(recordsDir, since.runtimeId), readRecord(recordsDir, runtimeId)]);
  const listed = before?.files && after?.files;
  return {
    since,
    sizeDelta: size - since.size,
    changes: listed ? fileChanges(before.files ?? [], after.files ?? []) : [],
    partial: Boolean(before?.filesTruncated || after?.filesTruncated),
  };
}

/**
 * What grew in the image tagged `runtimeTag` since the pair's build before it; undefined when the tag
 * is not an image this pair's history knows, or it has no build before it.
 */
export async function taggedGrowth(docker: Docker, recordsDir: string, pairDir: string, runtimeTag: string): Promise<Growth | undefined> {
  const [engineId, image] = await Promise.all([
    engineIdOf(docker),
    docker
      .getImage(runtimeTag)
      .inspect()
      .catch(() => undefined),
  ]);
  if (!image) return undefined;
  const builds = await pairBuilds(recordsDir, pairKey(engineId, pairDir, runtimeTag));
  if (!builds.some((b) => b.runtimeId === image.Id)) return undefined;
  const since = buildBefore(builds, image.Id);
  return since ? growthSince(recordsDir, since, image.Id, image.Size) : undefined;
}
