// The doctor's entries for the pipeline and inspect: list the image's files once, then check them.
// examineImage exports the image; examineBuilt, for an image just built, makes the same listing from the
// base image's (kept per image id) and the context the tar gate saw, and exports only where that could
// differ from what `docker run` sees (fast.ts says why).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { writeFileAtomic } from '../state-files';
import { diagnose, type Finding } from './checks';
import { INIT_PATHS, modelFiles, planRuntime } from './fast';
import { listingOf, type FileEntry } from './growth';
import { imageFiles, type ImageConfig, type ImageFile } from './image-files';

export { diagnose, FileTree, type Finding, type FindingCode } from './checks';
export { MACHINES, parseElf, ElfCapture, type ElfInfo } from './elf';
export { INIT_PATHS, modelFiles, planRuntime, walkOrder, type RuntimePlan } from './fast';
export { fileChanges, listingOf, MAX_LISTED_FILES, type FileChange, type FileEntry } from './growth';
export { ContentSniffer, imageConfig, imageFiles, type ImageConfig, type ImageFile } from './image-files';

export interface Examination {
  findings: Finding[];
  files: FileEntry[];
  /** More regular files than a listing keeps: `files` holds the largest. */
  truncated: boolean;
  /** How the image's files were known: from the base image's listing and the context, or an export of the image. */
  path?: 'listing' | 'export';
  /** Why the image was exported (when `path` is 'export' and a listing was asked for). */
  why?: string;
}

/** The image's settings the doctor reads and its layers, from one inspect. */
async function inspected(docker: Docker, ref: string): Promise<{ config: ImageConfig; layers: string[]; onBuild: number }> {
  const info = await docker.getImage(ref).inspect();
  return {
    config: {
      entrypoint: info.Config?.Entrypoint as string[] | null | undefined,
      cmd: info.Config?.Cmd,
      env: info.Config?.Env,
      workingDir: info.Config?.WorkingDir,
      architecture: info.Architecture,
    },
    layers: (info.RootFS as { Layers?: string[] } | undefined)?.Layers ?? [],
    onBuild: ((info.Config as { OnBuild?: unknown[] | null } | undefined)?.OnBuild ?? []).length,
  };
}

export async function examineImage(docker: Docker, ref: string): Promise<Examination> {
  const [files, { config }] = await Promise.all([imageFiles(docker, ref), inspected(docker, ref)]);
  return { findings: diagnose(files, config), ...listingOf(files), path: 'export' };
}

/** What the build knows of an image it just made. */
export interface BuiltImage {
  id: string;
  /** The runtime Dockerfile the engine built from (undefined when its content was not kept). */
  dockerfile?: string;
  /** The context's entries as the gate saw them stream (undefined when they were not listed). */
  context?: { files: ReadonlyMap<string, ImageFile>; unlisted?: string };
  /** Every image the runtime Dockerfile read, by reference as written → id, as the build saw them. */
  images?: Record<string, string>;
  buildArgs?: Record<string, string>;
  /** BuildKit's automatic platform ARGs, when BuildKit built it. */
  automatic?: Record<string, string>;
  /** Where base images' listings are kept (a folder of the state directory). */
  cacheDir: string;
  /** The engine's id: its init layer's entries are kept per engine. */
  engineId: string;
}

/** A base image's listing as kept: an image never changes, so it is kept by id. */
interface BaseListing {
  files: ImageFile[];
  layers: string[];
  workingDir?: string;
  onBuild: number;
}

const memory = new Map<string, Promise<BaseListing>>();
const initMemory = new Map<string, ImageFile[]>();

const serialise = (value: unknown) =>
  JSON.stringify(value, (key, v: unknown) =>
    key === 'content' && v && typeof v === 'object' && 'data' in v ? { base64: Buffer.from((v as { data: number[] }).data).toString('base64') } : v,
  );
const revive = (text: string) =>
  JSON.parse(text, (key, v: unknown) =>
    key === 'content' && v && typeof v === 'object' && 'base64' in v ? Buffer.from((v as { base64: string }).base64, 'base64') : v,
  ) as unknown;

const baseFile = (dir: string, id: string) => path.join(dir, `${id.replace(/^sha256:/, '')}.json`);
const initFile = (dir: string, engineId: string) => path.join(dir, `init-${createHash('sha256').update(engineId).digest('hex').slice(0, 16)}.json`);

/** Keeps the engine's init layer entries (from any container's export on it): what a scratch image's listing starts from. */
async function learnInit(dir: string, engineId: string, exported: readonly ImageFile[]): Promise<void> {
  const init = exported.filter((f) => INIT_PATHS.has(f.path));
  initMemory.set(engineId, init);
  await writeFileAtomic(initFile(dir, engineId), serialise(init)).catch(() => undefined); // kept for speed only
}

async function initListing(dir: string, engineId: string): Promise<ImageFile[] | undefined> {
  const known = initMemory.get(engineId);
  if (known) return known;
  const read = await fs.readFile(initFile(dir, engineId), 'utf8').catch(() => undefined);
  if (read === undefined) return undefined;
  const init = revive(read) as ImageFile[];
  initMemory.set(engineId, init);
  return init;
}

/** A base image's listing: kept in memory and in `dir` by id, else made once by exporting a container of it. */
function baseListing(docker: Docker, dir: string, engineId: string, id: string): Promise<BaseListing> {
  let listing = memory.get(id);
  if (!listing) {
    listing = (async () => {
      const read = await fs.readFile(baseFile(dir, id), 'utf8').catch(() => undefined);
      if (read !== undefined) return revive(read) as BaseListing;
      const [files, info] = await Promise.all([imageFiles(docker, id), inspected(docker, id)]);
      const made: BaseListing = { files, layers: info.layers, workingDir: info.config.workingDir, onBuild: info.onBuild };
      await Promise.all([writeFileAtomic(baseFile(dir, id), serialise(made)).catch(() => undefined), learnInit(dir, engineId, files)]);
      return made;
    })();
    listing.catch(() => memory.delete(id));
    memory.set(id, listing);
  }
  return listing;
}

/**
 * The doctor on an image the build just made: from the base image's listing and the context when the
 * runtime Dockerfile only copies files, else (saying why) from an export of the image.
 */
export async function examineBuilt(docker: Docker, built: BuiltImage): Promise<Examination> {
  const runtime = inspected(docker, built.id);
  runtime.catch(() => undefined);
  const why = await (async (): Promise<string | { files: ImageFile[] }> => {
    if (built.dockerfile === undefined) return 'the runtime Dockerfile was not kept (a link, or over 1 MiB)';
    if (!built.context) return "the context's files were not listed";
    if (built.context.unlisted) return built.context.unlisted;
    const plan = planRuntime(built.dockerfile, built.buildArgs, built.automatic);
    if ('unmodelled' in plan) return plan.unmodelled;
    let base: BaseListing | undefined;
    if (plan.base !== undefined) {
      const id = built.images?.[plan.base];
      if (!id) return `the id of the base image ${plan.base} as the build saw it is not known`;
      base = await baseListing(docker, built.cacheDir, built.engineId, id);
      if (base.onBuild > 0) return `the base image ${plan.base} has ONBUILD triggers`;
    }
    const initFiles = base ? base.files.filter((f) => INIT_PATHS.has(f.path)) : await initListing(built.cacheDir, built.engineId);
    if (!initFiles) return "this engine's init layer is not known yet (learned from the first export)";
    const { layers } = await runtime;
    if (base && !base.layers.every((layer, i) => layers[i] === layer)) return `the image is not built on the layers of ${plan.base}`;
    const modelled = modelFiles({ plan, baseFiles: base?.files ?? [], baseWorkingDir: base?.workingDir, initFiles, context: built.context.files });
    return 'unmodelled' in modelled ? modelled.unmodelled : modelled;
  })();
  const { config } = await runtime;
  if (typeof why !== 'string') return { findings: diagnose(why.files, config), ...listingOf(why.files), path: 'listing' };
  const files = await imageFiles(docker, built.id);
  await learnInit(built.cacheDir, built.engineId, files);
  return { findings: diagnose(files, config), ...listingOf(files), path: 'export', why };
}

/** One line per finding, for the CLI's stderr and the output channel. */
export function describeFinding(finding: Finding): string {
  return `${finding.severity} ${finding.code}: ${finding.message}`;
}
