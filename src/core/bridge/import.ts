// Import: a multi-stage Dockerfile as a pair. The last stage (with the stages it is built FROM) becomes
// Dockerfile.run; every stage before it stays in the builder `Dockerfile`, as written, which ends in one
// more stage whose CMD writes a tar of exactly what the runtime stages copy from the builder's stages and
// from the build context, laid out as STAGE/PATH and context/PATH, so that Dockerfile.run's COPY lines read
// them from the runtime build's context. Pure text: no engine is needed.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { expandVariables } from '../dockerfile-refs';
import { DockerceptionError } from '../errors';
import { BUILDER_DOCKERFILE, RUNTIME_DOCKERFILE } from '../pairs';
import {
  flagValue,
  formatCopy,
  globalVariables,
  parseDockerfile,
  stageNamed,
  stageVariables,
  type ParsedDockerfile,
  type Stage,
  type StageInstruction,
} from './dockerfile';

/** Where the builder's last stage gathers what it writes. */
export const OUT_DIR = '/dockerception-out';
/** The builder's last stage. */
export const COLLECT_STAGE = 'dockerception-output';

export interface ImportResult {
  /** The builder Dockerfile. */
  builder: string;
  /** Dockerfile.run. */
  runtime: string;
  /** What cannot be carried over exactly: also in comments at the top of the files. */
  notes: string[];
}

const isUrl = (source: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@');
const hasWildcard = (p: string) => /[*?[]/.test(p);

/** `/a/b/`, `a/b`, `./a` → `/a/b`, `/a/b`, `/a`; `.` and `/` → `/`. */
function absolute(p: string): string {
  const normal = path.posix.normalize(`/${p}`);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : '/';
}

/** The part of a path before its first wildcard component ('/app/*.so' → '/app'). */
function wildcardFreeDir(p: string): string {
  const parts = p.split('/');
  const first = parts.findIndex(hasWildcard);
  return absolute(parts.slice(0, first).join('/'));
}

/** The stages the last stage is built FROM (its ancestors), and it: the runtime's stages, in order. */
function runtimeStages(parsed: ParsedDockerfile): Stage[] {
  const chain: Stage[] = [];
  let stage: Stage | undefined = parsed.stages.at(-1);
  while (stage) {
    chain.unshift(stage);
    stage = stageNamed(parsed.stages, stage.image, stage.index);
  }
  return chain;
}

/** Whether a stage ends up on scratch (no tar for the builder's CMD). */
function rootImage(parsed: ParsedDockerfile, stage: Stage): string {
  let at: Stage | undefined = stage;
  let image = stage.image;
  while (at) {
    image = at.image;
    at = stageNamed(parsed.stages, at.image, at.index);
  }
  return image;
}

const label = (stage: Stage) => (stage.name ? stage.name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-') : `stage-${stage.index}`);

/**
 * Splits a multi-stage Dockerfile into a pair: see the file's comment. `buildArgs` only resolve variables
 * in copied paths (as the build would: pass the same ones to 'dockerception build').
 */
export function splitMultiStage(text: string, options: { buildArgs?: Record<string, string>; source?: string } = {}): ImportResult {
  const parsed = parseDockerfile(text);
  const source = options.source ?? 'the Dockerfile';
  if (parsed.stages.length < 2) {
    throw new DockerceptionError(
      'NO_PAIR',
      `${source} has ${parsed.stages.length === 0 ? 'no FROM line' : 'one stage only'}: a pair needs a builder and a runtime, so import takes a multi-stage Dockerfile (two FROM lines or more). A one-stage Dockerfile builds as it is.`,
      'discover',
    );
  }
  const notes: string[] = [];
  const runtime = runtimeStages(parsed);
  const runtimeIndices = new Set(runtime.map((s) => s.index));
  const last = parsed.stages.at(-1) as Stage;
  const globals = globalVariables(parsed, options.buildArgs);
  // The collect stage starts FROM the last builder stage that is not on scratch: it needs tar.
  const candidates = parsed.stages.slice(0, last.index).reverse();
  const base =
    candidates.find((s) => !runtimeIndices.has(s.index) && rootImage(parsed, s).toLowerCase() !== 'scratch') ??
    candidates.find((s) => rootImage(parsed, s).toLowerCase() !== 'scratch');
  if (!base) {
    throw new DockerceptionError(
      'NO_PAIR',
      `Every stage of ${source} before the last starts FROM scratch, so none has the tar the builder's CMD needs. Add a stage FROM an image with tar (e.g. busybox), then import again.`,
      'discover',
    );
  }
  const collect: string[] = [];
  const addCollect = (line: string) => {
    if (!collect.includes(line)) collect.push(line);
  };
  const rewritten = new Map<number, string>(); // start line → new text
  for (const stage of runtime) {
    const scopes = stageVariables(stage, globals, options.buildArgs);
    for (const instruction of stage.instructions) {
      if (instruction.keyword === 'RUN') {
        for (const flag of instruction.flags.filter((f) => f.name === 'mount')) {
          const from = /(?:^|,)from=([^,]+)/.exec(flag.value ?? '')?.[1];
          if (from && stageNamed(parsed.stages, from, stage.index) && !runtimeIndices.has(stageNamed(parsed.stages, from, stage.index)?.index ?? -1)) {
            notes.push(
              `RUN --mount=from=${from} in the runtime stage reads a builder stage, which the runtime build cannot: copy what it needs instead (COPY --from).`,
            );
          } else if (!from && /(?:^|,)type=bind/.test(flag.value ?? '')) {
            notes.push(`RUN --mount=type=bind in the runtime stage reads the build context, which is now the builder's tar: it sees only what the tar holds.`);
          }
        }
      }
      const copy = instruction.copy;
      if (!copy) continue;
      const vars = scopes.get(instruction.startLine) ?? new Map<string, string>();
      const from = flagValue(copy.flags, 'from');
      const fromStage = from !== undefined ? stageNamed(parsed.stages, from, stage.index) : undefined;
      if (from !== undefined && (!fromStage || runtimeIndices.has(fromStage.index))) continue; // an image, or a runtime stage: as it is
      if (from === undefined && copy.keyword === 'ADD' && copy.sources.every(isUrl)) continue; // fetched either way
      const prefix = fromStage ? label(fromStage) : 'context';
      const sources: string[] = [];
      for (const raw of copy.sources) {
        if (isUrl(raw)) {
          sources.push(raw);
          continue;
        }
        const expanded = raw.includes('$') ? expandVariables(raw, vars) : raw;
        if (raw.includes('$') && expanded !== raw && /\$/.test(expanded))
          notes.push(`${raw} in ${instruction.text} uses a variable the base image sets: check the copied path.`);
        const p = absolute(expanded);
        const gather = hasWildcard(p) ? wildcardFreeDir(p) : p;
        const target = `${OUT_DIR}/${prefix}${gather === '/' ? '/' : gather}`;
        const fromFlag = fromStage ? ` --from=${fromStage.name ?? fromStage.index}` : '';
        // From the context: the builder's context is the same folder, so the same path copies the same files.
        const src = fromStage ? gather : gather === '/' ? '.' : gather.slice(1);
        addCollect(`COPY${fromFlag} ${src} ${target}`);
        sources.push(`${prefix}${p === '/' ? '/' : p}`);
      }
      const flags = copy.flags.filter((f) => f.name !== 'from').map((f) => f.text);
      rewritten.set(
        instruction.startLine,
        `# was: ${instruction.text.split('\n').join('\n#      ')}\n${formatCopy(copy.keyword, flags, sources, copy.dest, copy.json)}`,
      );
      if (fromStage && flagValue(copy.flags, 'chown') === undefined) {
        notes.push(
          `COPY --from=${from} kept the owners the files have in stage ${from}; from the context they are root's (0:0). If that stage's files are not root's, add --chown to the line in Dockerfile.run.`,
        );
      }
    }
  }
  if (collect.length === 0) notes.push(`The runtime stage copies nothing from the other stages: the builder's tar holds only an empty folder.`);

  const lines = parsed.lines;
  const preamble = lines.slice(0, parsed.preambleEnd).join('\n').replace(/\n+$/, '');
  const runtimeBody: string[] = [];
  for (const stage of runtime) {
    for (let line = stage.startLine; line <= stage.endLine; line++) {
      const instruction = stage.instructions.find((i) => i.startLine === line) as StageInstruction | undefined;
      const swap = instruction && rewritten.get(line);
      if (swap && instruction) {
        runtimeBody.push(swap);
        line = instruction.endLine;
      } else runtimeBody.push(lines[line]);
    }
  }
  const uniqueNotes = [...new Set(notes)];
  const noteLines = uniqueNotes.map((n) => `# NOTE: ${n}`);
  const builderText = [
    preamble,
    ...(preamble ? [''] : []),
    lines.slice(parsed.stages[0].startLine, last.startLine).join('\n').replace(/\n+$/, ''),
    '',
    `# Dockerception: the builder image writes, as a tar on stdout, what Dockerfile.run copies from the stages above`,
    `# (STAGE/PATH) and from the build context (context/PATH). Its CMD needs tar in ${base.name ?? `stage ${base.index}`} (FROM ${rootImage(parsed, base)}).`,
    ...noteLines,
    `FROM ${base.name ?? base.index} AS ${COLLECT_STAGE}`,
    'USER root',
    `WORKDIR ${OUT_DIR}`,
    ...collect,
    'ENTRYPOINT []',
    'CMD ["tar", "-cf", "-", "."]',
    '',
  ].join('\n');
  const globalArgLines = parsed.globalArgs.map((i) => i.text);
  const directives = lines.slice(0, parsed.preambleEnd).filter((line) => /^#\s*syntax\s*=/i.test(line));
  const runtimeText = [
    ...directives,
    `# Runtime Dockerfile made by 'dockerception import' from ${source}: its COPY --from lines read the builder's tar.`,
    ...noteLines,
    ...globalArgLines,
    ...(globalArgLines.length ? [''] : []),
    runtimeBody.join('\n').replace(/\n+$/, ''),
    '',
  ].join('\n');
  return { builder: builderText, runtime: runtimeText, notes: uniqueNotes };
}

export interface ImportOptions {
  /** The pair's folder (default: the Dockerfile's folder). It is the builder's build context, so it should be the folder the multi-stage build used as its context. */
  out?: string;
  /** Overwrite an existing Dockerfile / Dockerfile.run there. */
  force?: boolean;
  buildArgs?: Record<string, string>;
}

export interface ImportWritten extends ImportResult {
  dir: string;
  files: string[];
}

/** The files import would write that already exist (and differ from the input). */
export async function existingPairFiles(dockerfile: string, out?: string): Promise<string[]> {
  const dir = path.resolve(out ?? path.dirname(dockerfile));
  const files = [path.join(dir, BUILDER_DOCKERFILE), path.join(dir, RUNTIME_DOCKERFILE)];
  const exists = await Promise.all(
    files.map((f) =>
      fs.stat(f).then(
        () => true,
        () => false,
      ),
    ),
  );
  return files.filter((_, i) => exists[i]);
}

/** Reads a multi-stage Dockerfile and writes the pair beside it (or in `out`); never overwrites without `force`. */
export async function importDockerfile(dockerfile: string, options: ImportOptions = {}): Promise<ImportWritten> {
  let text: string;
  try {
    text = await fs.readFile(dockerfile, 'utf8');
  } catch (error) {
    throw new DockerceptionError(
      'NO_PAIR',
      `${dockerfile} could not be read (${(error as Error).message}). Give the path of a multi-stage Dockerfile.`,
      'discover',
      { cause: error },
    );
  }
  const dir = path.resolve(options.out ?? path.dirname(dockerfile));
  const result = splitMultiStage(text, { buildArgs: options.buildArgs, source: path.basename(dockerfile) });
  const existing = await existingPairFiles(dockerfile, dir);
  if (existing.length > 0 && !options.force) {
    const same = existing.some((f) => path.resolve(f) === path.resolve(dockerfile));
    throw new DockerceptionError(
      'NO_PAIR',
      `${existing.map((f) => path.relative(process.cwd(), f) || f).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written. ` +
        (same
          ? `The pair's builder must be named Dockerfile in the build context's folder: rename the multi-stage file (e.g. to Dockerfile.multistage) and import that, or use --force to replace it.`
          : `Use --force to replace ${existing.length === 1 ? 'it' : 'them'}, or --out to write the pair elsewhere.`),
      'discover',
    );
  }
  await fs.mkdir(dir, { recursive: true });
  const files = [path.join(dir, BUILDER_DOCKERFILE), path.join(dir, RUNTIME_DOCKERFILE)];
  await fs.writeFile(files[0], result.builder);
  await fs.writeFile(files[1], result.runtime);
  return { ...result, dir, files };
}
