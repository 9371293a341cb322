// The builds of each pair, newest last: which runtime image each made and how large it was. "What grew"
// compares a build's file listing (in its record) with the one before it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileChanges, type FileChange } from './doctor/growth';
import type Docker from 'dockerode';
import { engineIdOf, readRecord, sha256 } from './up-to-date';

export interface PairBuild {
  runtimeId: string;
  size: number;
  recordedAt: string;
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

const historyFile = (recordsDir: string, key: string) => path.join(recordsDir, 'pairs', `${key}.json`);

export async function pairBuilds(recordsDir: string, key: string): Promise<PairBuild[]> {
  try {
    const builds = JSON.parse(await fs.readFile(historyFile(recordsDir, key), 'utf8')) as PairBuild[];
    return Array.isArray(builds) ? builds : [];
  } catch {
    return [];
  }
}

/** Adds a build to the pair's history (written atomically), keeping the last KEPT_BUILDS. */
export async function addPairBuild(recordsDir: string, key: string, build: PairBuild): Promise<void> {
  const builds = [...(await pairBuilds(recordsDir, key)).filter((b) => b.runtimeId !== build.runtimeId), build].slice(-KEPT_BUILDS);
  const file = historyFile(recordsDir, key);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(builds));
  await fs.rename(temporary, file);
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
