// A rebuild in which nothing changed is skipped, the way Docker skips a cached RUN: same inputs, same
// output. The inputs of the runtime image — the builder image (its id changes with the sources, the
// builder Dockerfile and every image that Dockerfile reads), Dockerfile.run, the build args, the engine's
// builder, the builder's network, the engine itself, and by id every image the runtime Dockerfile reads
// (FROM, COPY --from, RUN --mount=from, # syntax=) — are recorded in a file named after the runtime
// image's id. A record is trusted only for the image the runtime tag points at now: a removed or retagged
// image has no matching record, and is built again. A record also keeps the digest of everything the
// builder build read (src/core/builder-inputs.ts): when that digest, the builder tag and everything above are
// as recorded, the pair is up to date without even a (cached) builder build. test/unit/skip-oracle.test.ts holds the rule to a
// forced build: the skip happens exactly when a forced build would make the same image.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { EngineBuilder } from './builder-choice';
import { engineVersion, isPodmanByPing } from './engine/connect';
import type { Finding } from './doctor/checks';
import type { FileEntry } from './doctor/growth';
import type { TarSummary } from './tar-gate';
import { sweepTemporaryFiles, writeFileAtomic } from './state-files';

export interface BuildInputs {
  engineId: string;
  builderImageId: string;
  builder: EngineBuilder;
  buildArgs: Record<string, string>;
  runtimeDockerfileSha256: string;
  /** The builder container's network; records made before it was an input have none ('default'). */
  builderNetwork?: string;
}

export interface BuildRecord {
  inputs: BuildInputs;
  runtimeId: string;
  context: TarSummary;
  recordedAt: string;
  /** The runtime image's size, files (largest first, bounded) and doctor findings when it was built. */
  runtimeSize?: number;
  files?: FileEntry[];
  filesTruncated?: boolean;
  doctor?: Finding[];
  /** Which doctor rules made `doctor`: findings from older rules are made again before they are trusted. */
  examinedWith?: number;
  /** Every image the runtime Dockerfile read, by reference as written (ARGs resolved) → image id then
   * ('' when it was not on the engine). Records from before this was kept have none: built again once. */
  runtimeImages?: Record<string, string>;
  /** Why runtimeImages could not be known for this build (it is then never up to date). */
  runtimeImagesUnknown?: string;
  /** The digest of everything the builder build read (src/core/builder-inputs.ts), for the builder image
   * `inputs.builderImageId`: when it is the same now, the pair is found up to date without a builder build.
   * Records without it (older ones, or a builder Dockerfile the engine decides at build time) take the
   * normal path. */
  builderInputs?: string;
}

/** At most this many records are kept; the oldest go first. */
const MAX_RECORDS = 500;

/** Where records live: $DOCKERCEPTION_STATE_DIR, else the user's cache folder. */
export function recordsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKERCEPTION_STATE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dockerception', 'builds');
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

const engineIds = new WeakMap<Docker, Promise<string>>();

/** The engine's own id (from /info), asked once per client. */
export function engineIdOf(docker: Docker): Promise<string> {
  let id = engineIds.get(docker);
  if (!id) {
    // Podman or not: from connectEngine's ping when it made the client, else from /version's components.
    const known = isPodmanByPing(docker);
    const podman = known ?? engineVersion(docker).then((version) => Boolean(version.Components?.some((c) => /podman/i.test(c.Name))));
    id = Promise.all([docker.info(), podman]).then(([info, isPodman]: [{ ID?: string; Name?: string; DockerRootDir?: string }, boolean]) =>
      // Podman's compat API makes up a new ID for every /info: its host and storage are what stay.
      isPodman ? `podman/${info.Name ?? ''}/${info.DockerRootDir ?? ''}` : `${info.ID ?? ''}/${info.Name ?? ''}`,
    );
    engineIds.set(docker, id);
  }
  return id;
}

function recordFile(dir: string, runtimeId: string): string {
  return path.join(dir, `${runtimeId.replace(/^sha256:/, '')}.json`);
}

export async function readRecord(dir: string, runtimeId: string): Promise<BuildRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(recordFile(dir, runtimeId), 'utf8')) as BuildRecord;
  } catch {
    return undefined; // none, or unreadable: build again
  }
}

/** Writes the record (atomically: a reader never sees half of one, two writers never share a temporary
 * file) and drops the oldest over the limit and any temporary file a killed writer left. */
export async function writeRecord(dir: string, record: BuildRecord): Promise<void> {
  const file = recordFile(dir, record.runtimeId);
  await writeFileAtomic(file, JSON.stringify(record));
  await sweepTemporaryFiles(dir);
  const others = (await fs.readdir(dir)).filter((name) => name.endsWith('.json') && name !== path.basename(file));
  const excess = others.length + 1 - MAX_RECORDS;
  if (excess <= 0) return;
  const aged = await Promise.all(others.map(async (name) => ({ name, mtime: (await fs.stat(path.join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  aged.sort((a, b) => a.mtime - b.mtime);
  await Promise.all(aged.slice(0, excess).map(({ name }) => fs.rm(path.join(dir, name), { force: true })));
}

/** The id of each image reference on this engine now ('' when it has none: a build would pull it). */
export async function imageIds(docker: Docker, refs: readonly string[]): Promise<Record<string, string>> {
  const unique = [...new Set(refs)];
  const ids = await Promise.all(
    unique.map((ref) =>
      docker
        .getImage(ref)
        .inspect()
        .then(
          (image) => image.Id,
          (error: { statusCode?: number }) => {
            // 404: not there; 400: not a valid reference, which no build can have pulled either.
            if (error?.statusCode === 404 || error?.statusCode === 400) return '';
            throw error;
          },
        ),
    ),
  );
  return Object.fromEntries(unique.map((ref, i) => [ref, ids[i]]));
}

/** The images the runtime Dockerfile read whose id is not the one recorded, said for people. */
export async function changedRuntimeImages(docker: Docker, recorded: Record<string, string>): Promise<string[]> {
  const now = await imageIds(docker, Object.keys(recorded));
  return Object.entries(recorded)
    .filter(([ref, id]) => now[ref] !== id || id === '')
    .map(([ref, id]) =>
      now[ref] === ''
        ? `the runtime Dockerfile's image ${ref} is not on the engine, so a build pulls it each time (BuildKit does not keep what it pulls here): 'docker pull ${ref}' once, and builds use the local copy and can be up to date`
        : `the runtime Dockerfile's image ${ref} changed (${short(id)} → ${short(now[ref])})`,
    );
}

const short = (id: string) => (id ? id.replace(/^sha256:/, '').slice(0, 12) : 'none');

/**
 * What differs between the recorded build and these inputs, said for people; empty when nothing does.
 * Dockerfile.run counts only when the recorded build used it: a builder that writes its own Dockerfile
 * makes it unused.
 */
export function changedInputs(recorded: Pick<BuildRecord, 'inputs' | 'context'>, now: BuildInputs): string[] {
  const changes: string[] = [];
  const before = recorded.inputs;
  if (before.engineId !== now.engineId) changes.push('it was built on another engine');
  if (before.builderImageId !== now.builderImageId) changes.push('the builder image changed (its sources or Dockerfile)');
  if (before.runtimeDockerfileSha256 !== now.runtimeDockerfileSha256 && recorded.context.dockerfileSource === 'pair') {
    changes.push("Dockerfile.run changed (the builder runs again: its tar, the runtime build's context, is not kept between builds)");
  }
  if ((before.builderNetwork ?? 'default') !== (now.builderNetwork ?? 'default')) {
    changes.push(`the builder's network changed (${before.builderNetwork ?? 'default'} → ${now.builderNetwork ?? 'default'})`);
  }
  if (canonical(before.buildArgs) !== canonical(now.buildArgs)) changes.push('the build args changed');
  if (before.builder !== now.builder) changes.push(`the builder changed (${before.builder} → ${now.builder})`);
  return changes;
}

function canonical(args: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(args)
      .sort()
      .map((key) => [key, args[key]]),
  );
}

/** The tagged runtime image as inspected for the check (its size and date spare the caller another request). */
export interface TaggedImage {
  id: string;
  size: number;
  created: string;
}

export type Freshness = { upToDate: true; record: BuildRecord; tagged: TaggedImage } | { upToDate: false; reason: string };

/** The image tagged `runtimeTag` and its record, or why there is nothing to compare (the first of freshness's reasons). */
export async function taggedRecord(
  docker: Docker,
  dir: string,
  runtimeTag: string,
): Promise<{ tagged: TaggedImage; record: BuildRecord } | { reason: string }> {
  let tagged: TaggedImage;
  try {
    const info = await docker.getImage(runtimeTag).inspect();
    tagged = { id: info.Id, size: info.Size, created: info.Created };
  } catch {
    return { reason: `no image is tagged ${runtimeTag}` };
  }
  const record = await readRecord(dir, tagged.id);
  if (!record || record.runtimeId !== tagged.id) return { reason: `${runtimeTag} has no record of a Dockerception build here` };
  return { tagged, record };
}

/** Whether the image tagged `runtimeTag` was built from `inputs`, and if not, why the pair is built again;
 * `read`: taggedRecord's answer when the caller has it. */
export async function freshness(
  docker: Docker,
  dir: string,
  runtimeTag: string,
  inputs: BuildInputs,
  read?: Awaited<ReturnType<typeof taggedRecord>>,
): Promise<Freshness> {
  const found = read ?? (await taggedRecord(docker, dir, runtimeTag));
  if ('reason' in found) return { upToDate: false, reason: found.reason };
  const { tagged, record } = found;
  const changes = changedInputs(record, inputs);
  if (changes.length === 0) {
    if (!record.runtimeImages) {
      changes.push(
        record.runtimeImagesUnknown
          ? `which images its runtime Dockerfile read is not known: ${record.runtimeImagesUnknown}`
          : 'its record does not say which images the runtime Dockerfile read (made by an older Dockerception)',
      );
    } else {
      try {
        changes.push(...(await changedRuntimeImages(docker, record.runtimeImages)));
      } catch (error) {
        changes.push(`the engine did not say whether the runtime Dockerfile's images changed (${(error as Error).message})`);
      }
    }
  }
  return changes.length === 0 ? { upToDate: true, record, tagged } : { upToDate: false, reason: changes.join('; ') };
}
