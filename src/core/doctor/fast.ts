// The runtime image's files without a second pass over the image: the base image's listing (kept per
// image id: an image never changes) with what the runtime Dockerfile's COPY and WORKDIR lines put on top,
// taken from the context as the tar gate saw it stream, then what the engine's init layer puts over
// everything in a container (/etc/hosts, /.dockerenv, …: what `docker run` and an export see).
// Only what is modelled here is modelled: anything else (a RUN, an ADD, COPY --from or --chown/--chmod,
// variables, wildcards, a .dockerignore, a symlink or a hard link in the way, a base with ONBUILD…) says
// why, and the doctor exports the image as before. test/unit/doctor-fast.test.ts holds both paths to the
// same answers on every doctor test image and example.
import * as posix from 'node:path/posix';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { imageReferences } from '../dockerfile-refs';
import { CONFIG_FILE, LOADER_NAME, type ImageFile } from './image-files';

/** What the engine's init layer writes into every container (moby's daemon/initlayer); it lies over the image's layers. */
export const INIT_PATHS: ReadonlySet<string> = new Set([
  '/dev',
  '/dev/pts',
  '/dev/shm',
  '/dev/console',
  '/proc',
  '/sys',
  '/etc',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/etc/mtab',
  '/.dockerenv',
]);

type Step = { kind: 'copy'; sources: string[]; dest: string; line: number } | { kind: 'workdir'; dir: string; line: number };

/** The runtime Dockerfile as a base and filesystem steps, or why it is not modelled. */
export type RuntimePlan = { base: string | undefined; steps: Step[] } | { unmodelled: string };

/** Instructions that change nothing in the filesystem. */
const CONFIG_ONLY = new Set(['ARG', 'ENV', 'LABEL', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'USER', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'MAINTAINER']);
/** Characters whose meaning in a COPY or WORKDIR word is not modelled here (variables, quotes, escapes, wildcards). */
const UNMODELLED_CHARS = /[$'"\\*?[]/;

/**
 * Reads the runtime Dockerfile: one FROM (the base, resolved as the engine resolves it; undefined for
 * scratch), then COPY and WORKDIR lines in order. Anything else that could change the files is refused.
 */
export function planRuntime(text: string, buildArgs: Readonly<Record<string, string>> = {}, automatic: Readonly<Record<string, string>> = {}): RuntimePlan {
  const dockerfile = DockerfileParser.parse(text);
  if (dockerfile.getDirectives().some((d) => d.getName().toLowerCase() === 'syntax'))
    return { unmodelled: 'the runtime Dockerfile names a # syntax= frontend' };
  if (dockerfile.getDirectives().some((d) => d.getName().toLowerCase() === 'escape')) return { unmodelled: 'the runtime Dockerfile sets its escape character' };
  const instructions = dockerfile.getInstructions();
  const froms = instructions.filter((i) => i.getKeyword() === 'FROM');
  if (froms.length !== 1) return { unmodelled: `the runtime Dockerfile has ${froms.length} FROM lines (only one stage is modelled)` };
  const fromArgs = froms[0].getArguments().map((a) => a.getValue());
  if (fromArgs.some((a) => a.startsWith('--'))) return { unmodelled: 'its FROM has a flag (--platform)' };
  const refs = imageReferences(text, buildArgs, automatic);
  if (refs.some((r) => r.kind !== 'from')) return { unmodelled: 'it reads another image (COPY --from, RUN --mount)' };
  const base = refs[0]?.ref;
  const steps: Step[] = [];
  let seenFrom = false;
  for (const instruction of instructions) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      seenFrom = true;
      continue;
    }
    if (!seenFrom || CONFIG_ONLY.has(keyword)) continue;
    if (keyword === 'WORKDIR') {
      const dir = (instruction.getArgumentsContent() ?? '').trim();
      if (!dir || UNMODELLED_CHARS.test(dir)) return { unmodelled: `WORKDIR on line ${line} uses variables, quotes or escapes` };
      steps.push({ kind: 'workdir', dir, line });
      continue;
    }
    if (keyword === 'COPY') {
      const words = copyWords(instruction);
      if (typeof words === 'string') return { unmodelled: `COPY on line ${line} ${words}` };
      steps.push({ kind: 'copy', sources: words.slice(0, -1), dest: words[words.length - 1], line });
      continue;
    }
    return { unmodelled: `${keyword} on line ${line} is not modelled (a RUN, ADD, VOLUME or ONBUILD changes files only the engine knows)` };
  }
  return { base, steps };
}

/** A COPY line's sources and destination, or why they are not modelled. */
function copyWords(instruction: Instruction): string[] | string {
  const flags = 'getFlags' in instruction ? (instruction as unknown as { getFlags(): unknown[] }).getFlags() : [];
  if (flags.length > 0) return 'has a flag (--from, --chown, --chmod, --link)';
  const content = (instruction.getArgumentsContent() ?? '').trim();
  let words: string[];
  if (content.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(content);
      if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) return 'is a JSON form that is not a list of strings';
      words = parsed as string[];
    } catch {
      return 'is a JSON form that does not parse';
    }
  } else {
    words = instruction.getArguments().map((a) => a.getValue());
  }
  if (words.length < 2) return 'names no destination';
  if (words.some((w) => UNMODELLED_CHARS.test(w) || w === '')) return 'uses variables, quotes, escapes or wildcards';
  return words;
}

/** What the model is built from. */
export interface ModelInputs {
  plan: Extract<RuntimePlan, { steps: Step[] }>;
  /** The base image's listing, as an export of a container made from it lists it (init layer included), in walk order. */
  baseFiles: readonly ImageFile[];
  /** The base image's WORKDIR (the start for relative WORKDIR and COPY destinations). */
  baseWorkingDir?: string;
  /** The engine's init layer entries (those at INIT_PATHS of any container's export on that engine). */
  initFiles: readonly ImageFile[];
  /** The context, by context path. */
  context: ReadonlyMap<string, ImageFile>;
}

class Unmodelled extends Error {}

/** Go's filepath.Walk order, as an export lists a container: a folder, then its entries by name. */
export function walkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]), Buffer.from(y[i]));
  }
  return x.length - y.length;
}

/**
 * The runtime image's files as an export of a container made from it would list them, or why they cannot
 * be known here.
 */
export function modelFiles(inputs: ModelInputs): { files: ImageFile[] } | { unmodelled: string } {
  try {
    return { files: model(inputs) };
  } catch (error) {
    if (error instanceof Unmodelled) return { unmodelled: error.message };
    throw error;
  }
}

function model({ plan, baseFiles, baseWorkingDir, initFiles, context }: ModelInputs): ImageFile[] {
  if (context.has('.dockerignore')) throw new Unmodelled('the runtime context has a .dockerignore');
  const tree = new Map<string, ImageFile>();
  const linked = new Set<string>();
  for (const file of baseFiles) {
    if (INIT_PATHS.has(file.path)) continue; // the init layer's, put back last
    tree.set(file.path, file);
    if (file.type === 'link' && file.linkTarget) {
      linked.add(file.path);
      linked.add(file.linkTarget);
    }
  }
  // Folders of the context that only appear as the parent of an entry.
  const contextDirs = new Set<string>();
  for (const name of context.keys()) for (let dir = posix.dirname(name); dir !== '.' && !contextDirs.has(dir); dir = posix.dirname(dir)) contextDirs.add(dir);

  const ensureDir = (dir: string) => {
    if (dir === '/') return;
    const existing = tree.get(dir);
    if (existing) {
      if (existing.type !== 'directory') throw new Unmodelled(`${dir} is a ${existing.type} in the image, and a COPY or WORKDIR goes through it`);
      return;
    }
    ensureDir(posix.dirname(dir));
    tree.set(dir, { path: dir, type: 'directory', size: 0, mode: 0o755 });
  };
  const put = (target: string, from: ImageFile) => {
    ensureDir(posix.dirname(target));
    const existing = tree.get(target);
    if (existing && existing.type !== from.type) throw new Unmodelled(`a COPY puts a ${from.type} at ${target}, where the image has a ${existing.type}`);
    if (linked.has(target)) throw new Unmodelled(`a COPY replaces ${target}, which is hard-linked in the base image`);
    if (existing && from.type === 'directory') return; // a folder copied onto a folder: merged
    const file: ImageFile = { ...from, path: target };
    const sourceLoader = LOADER_NAME.test(posix.basename(from.path));
    const targetLoader = LOADER_NAME.test(posix.basename(target));
    if (targetLoader && !sourceLoader && from.format === 'elf') throw new Unmodelled(`${from.path.slice(1)} is copied to ${target}, a loader's name`);
    if (file.elf && sourceLoader && !targetLoader) {
      const { systemDirs: _dropped, ...elf } = file.elf;
      file.elf = elf;
    }
    if (CONFIG_FILE.test(target)) {
      if (from.type === 'file' && from.size > 0 && !from.content)
        throw new Unmodelled(`${target} (the loader's configuration) is copied from ${from.path.slice(1)}, whose bytes were not kept`);
    } else delete file.content;
    tree.set(target, file);
  };

  let workdir = baseWorkingDir || '/';
  for (const step of plan.steps) {
    if (step.kind === 'workdir') {
      workdir = posix.resolve(workdir, step.dir);
      ensureDir(workdir);
      continue;
    }
    const destText = step.dest;
    const dest = posix.resolve(workdir, destText);
    const destIsDir = destText.endsWith('/') || destText === '.' || step.sources.length > 1 || tree.get(dest)?.type === 'directory';
    if (tree.get(dest)?.type === 'symlink') throw new Unmodelled(`COPY on line ${step.line} writes to ${dest}, a symlink in the image`);
    for (const source of step.sources) {
      const name = posix.normalize(`/${source}`).slice(1).replace(/\/+$/, '');
      for (let dir = posix.dirname(name); dir !== '.'; dir = posix.dirname(dir)) {
        if (context.get(dir)?.type === 'symlink') throw new Unmodelled(`COPY on line ${step.line} reads ${source} through a symlink of the context`);
      }
      const entry = name === '' ? undefined : context.get(name);
      const isDir = name === '' || entry?.type === 'directory' || (!entry && contextDirs.has(name));
      if (!isDir) {
        if (!entry) throw new Unmodelled(`COPY on line ${step.line} names ${source}, which the context does not hold`);
        if (entry.type === 'symlink') throw new Unmodelled(`COPY on line ${step.line} names ${source}, a symlink (the engine follows it)`);
        put(destIsDir ? posix.join(dest, posix.basename(name)) : dest, entry);
        continue;
      }
      // A folder: its contents go into the destination.
      if (tree.get(dest) && tree.get(dest)?.type !== 'directory')
        throw new Unmodelled(`COPY on line ${step.line} copies a folder onto ${dest}, which is a file`);
      ensureDir(dest);
      const prefix = name === '' ? '' : `${name}/`;
      const under = [...context.entries()].filter(([path]) => path.startsWith(prefix)).sort(([a], [b]) => walkOrder(a, b));
      for (const [path, file] of under) {
        const target = posix.join(dest, path.slice(prefix.length));
        for (let dir = posix.dirname(path.slice(prefix.length)); dir !== '.'; dir = posix.dirname(dir)) ensureDir(posix.join(dest, dir));
        put(target, file);
      }
    }
  }
  for (const file of initFiles) tree.set(file.path, file);
  return [...tree.values()].sort((a, b) => walkOrder(a.path, b.path));
}
