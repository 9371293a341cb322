// Where a build's problems are in the pair's files: a failed step's line, the FROM of a base that could not
// be pulled, the ENTRYPOINT/CMD line the doctor's finding is about. Pure (no vscode import): the extension's
// Problems panel (diagnostics/index.ts) and the CLI's `file:line: error CODE: message` lines
// (src/cli/diagnostic-lines.ts, read by the task's problem matcher) both place problems with it.
import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';
import type { Finding, Pair } from '../../core';

export interface Problem {
  /** Absolute path of the file the problem is about. */
  file: string;
  /** 0-based line. */
  line: number;
  severity: 'error' | 'warning';
  /** The finding's or the error's code (MISSING_LOADER, BUILDER_BUILD_FAILED, …). */
  code: string;
  message: string;
  /** What a Quick Fix can do about it, when one is mechanical. */
  fix?: 'cgo-disabled' | 'create-runtime-dockerfile';
  /** For create-runtime-dockerfile: the content, written for the builder's tar when the build saw it. */
  content?: string;
}

export interface BuildFailure {
  code: string;
  message: string;
  phase?: string;
  /** A missing Dockerfile.run, written for the builder's tar. */
  runtimeDockerfile?: string;
}

export interface ProblemInput {
  pair: Pair;
  error?: BuildFailure;
  findings?: readonly Finding[];
  /** Where the runtime Dockerfile came from, when the build got that far. */
  dockerfileSource?: 'builder-output' | 'pair';
  /** Reads a file (default: from disk); undefined when it is not there. */
  read?: (file: string) => string | undefined;
}

interface Line {
  keyword: string;
  /** Normalised text: keyword upper-case, continuations joined, whitespace collapsed. */
  text: string;
  line: number;
}

const readDisk = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

const normalise = (text: string) =>
  text
    .replace(/\\\r?\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(\S+)/, (keyword) => keyword.toUpperCase());

/** The Dockerfile's instructions with their first line (0-based), parsed by dockerfile-ast. */
export function instructionsOf(content: string): Line[] {
  return DockerfileParser.parse(content)
    .getInstructions()
    .map((instruction) => {
      const range = instruction.getRange();
      const lines = content.split(/\r?\n/).slice(range.start.line, range.end.line + 1);
      return { keyword: instruction.getKeyword().toUpperCase(), text: normalise(lines.join('\n')), line: range.start.line };
    });
}

/** "at step 3/5 of stage build (RUN go build …)" in the core's build failure. */
export function failedStep(message: string): { index: number; total: number; stage?: string; instruction: string } | undefined {
  const match = /failed to build at step (\d+)\/(\d+)(?: of stage (\S+))? \((.*?)\): /s.exec(message);
  return match ? { index: Number(match[1]), total: Number(match[2]), stage: match[3], instruction: match[4] } : undefined;
}

const imageName = (ref: string) => ref.replace(/^docker\.io\/(library\/)?/, '');

/**
 * The line of a build step: the instruction with the same text (BuildKit writes FROM's image fully
 * qualified: docker.io/library/busybox:1.36), the one nearest the step's position when several match,
 * else the step's position counted in instructions (ARGs before the first FROM are no steps).
 */
export function lineOfStep(content: string, step: { index: number; instruction: string }): number | undefined {
  const all = instructionsOf(content);
  const firstFrom = all.findIndex((i) => i.keyword === 'FROM');
  const steps = firstFrom > 0 ? all.slice(firstFrom) : all;
  const wanted = normalise(step.instruction);
  const keyword = wanted.split(' ')[0];
  const same = (i: Line) =>
    keyword === 'FROM' && i.keyword === 'FROM'
      ? imageName(i.text.split(' ')[1] ?? '') === imageName(wanted.split(' ')[1] ?? '')
      : i.text === wanted || (wanted.length > 20 && i.text.startsWith(wanted.replace(/(\.\.\.|\u2026)$/, '')));
  const matches = steps.map((i, at) => ({ i, at })).filter(({ i }) => same(i));
  if (matches.length > 0) return matches.sort((a, b) => Math.abs(a.at + 1 - step.index) - Math.abs(b.at + 1 - step.index))[0].i.line;
  return steps[step.index - 1]?.line;
}

/**
 * A failure before any step (BuildKit resolves every base first, "failed to resolve source metadata for …"):
 * the FROM whose image the message names, its ${VARIABLE}s standing for anything, else the first FROM.
 */
export function lineOfBase(content: string, message: string): number | undefined {
  const froms = instructionsOf(content).filter((i) => i.keyword === 'FROM');
  const named = froms.find((i) => {
    const image = i.text.split(' ').find((word, at) => at > 0 && !word.startsWith('--'));
    if (!image) return false;
    const pattern = image
      .split(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[-+][^}]*)?\}?/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('\\S*');
    return new RegExp(pattern).test(message);
  });
  return (named ?? froms[0])?.line;
}

/** The ENTRYPOINT (else CMD) line a finding about `path` is on: the instruction naming it, else the last one. */
export function lineOfEntrypoint(content: string, path?: string): number | undefined {
  const all = instructionsOf(content);
  const starts = all.filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
  const base = path?.split('/').pop();
  const naming = base
    ? starts.filter((i) => i.text.includes(path as string) || new RegExp(`[\\s"/]${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(i.text))
    : [];
  const pick = (list: Line[]) => list.filter((i) => i.keyword === 'ENTRYPOINT').pop() ?? list.pop();
  return pick(naming)?.line ?? pick(starts)?.line;
}

/** The builder line that writes the runtime Dockerfile into its tar (a COPY/RUN naming a Dockerfile), if one does. */
export function lineWritingDockerfile(builderContent: string): number | undefined {
  return instructionsOf(builderContent)
    .filter((i) => i.keyword !== 'FROM' && /Dockerfile/.test(i.text))
    .pop()?.line;
}

/** The runtime Dockerfile the builder copies into its tar from the pair's folder (`COPY Dockerfile.run /out/Dockerfile`). */
function copiedRuntimeDockerfile(builderContent: string): boolean {
  return instructionsOf(builderContent).some((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && /\sDockerfile\.run\s/.test(`${i.text} `));
}

/** Findings whose fix is `CGO_ENABLED=0` when the builder compiles Go: a dynamic binary with no loader or library. */
const LINKING = new Set(['MISSING_LOADER', 'MISSING_LIBRARY']);

/** Every problem of one build, on the file and line it is about. */
export function locateProblems(input: ProblemInput): Problem[] {
  const { pair, error } = input;
  const read = input.read ?? readDisk;
  const builder = read(pair.builderDockerfile);
  const runtime = read(pair.runtimeDockerfile);
  const problems: Problem[] = [];
  // A failed build does not say where its runtime Dockerfile came from: a builder that names a Dockerfile writes it.
  const builderWrites = builder !== undefined && lineWritingDockerfile(builder) !== undefined;
  const fromBuilderTar = input.dockerfileSource === 'builder-output' || runtime === undefined || (input.dockerfileSource === undefined && builderWrites);
  const goBuild = builder !== undefined && /(^|\n)\s*RUN\b[^\n]*\bgo\s+build\b/i.test(builder) && !/CGO_ENABLED=0/.test(builder);

  /** Where a problem in the runtime Dockerfile goes: its own line, or the builder line that writes it. */
  const inRuntime = (lineIn: (content: string) => number | undefined): { file: string; line: number } => {
    if (!fromBuilderTar && runtime !== undefined) return { file: pair.runtimeDockerfile, line: lineIn(runtime) ?? 0 };
    if (builder !== undefined && copiedRuntimeDockerfile(builder) && runtime !== undefined) {
      const line = lineIn(runtime);
      if (line !== undefined) return { file: pair.runtimeDockerfile, line };
    }
    return { file: pair.builderDockerfile, line: (builder !== undefined ? lineWritingDockerfile(builder) : undefined) ?? 0 };
  };

  for (const finding of input.findings ?? []) {
    const at = inRuntime((content) => lineOfEntrypoint(content, finding.path));
    problems.push({
      ...at,
      severity: finding.severity,
      code: finding.code,
      message: finding.message,
      fix: goBuild && LINKING.has(finding.code) ? 'cgo-disabled' : undefined,
    });
  }

  if (error && error.code !== 'CANCELLED' && error.code !== 'SKIPPED' && error.code !== 'DOCTOR') {
    const message = error.message.split('\n')[0];
    const step = failedStep(error.message);
    const base = { severity: 'error' as const, code: error.code, message };
    if (error.code === 'BUILDER_BUILD_FAILED') {
      problems.push({
        ...base,
        file: pair.builderDockerfile,
        line: (builder !== undefined ? (step ? lineOfStep(builder, step) : lineOfBase(builder, error.message)) : undefined) ?? 0,
      });
    } else if (error.code === 'RUNTIME_BUILD_FAILED' && error.phase === 'runtime-build') {
      problems.push({ ...base, ...inRuntime((content) => (step ? lineOfStep(content, step) : lineOfBase(content, error.message))) });
    } else if (error.code === 'NO_PAIR' && runtime === undefined) {
      // The builder's tar had no Dockerfile, and the pair's Dockerfile.run is gone: on the line that writes
      // a Dockerfile, else on the CMD/ENTRYPOINT that writes the tar.
      problems.push({
        ...base,
        file: pair.builderDockerfile,
        line: (builder !== undefined ? (lineWritingDockerfile(builder) ?? lineOfEntrypoint(builder)) : undefined) ?? 0,
        fix: 'create-runtime-dockerfile',
        ...(error.runtimeDockerfile ? { content: error.runtimeDockerfile } : {}),
      });
    } else if (['BUILDER_START', 'BUILDER_EXIT', 'NOT_A_TAR', 'TRUNCATED_TAR', 'UNSAFE_PATH', 'TRAILING_DATA', 'TIMEOUT'].includes(error.code)) {
      // The builder's run: its CMD/ENTRYPOINT makes the tar.
      problems.push({ ...base, file: pair.builderDockerfile, line: (builder !== undefined ? lineOfEntrypoint(builder) : undefined) ?? 0 });
    } else if (error.code === 'SIZE_BUDGET' || error.code === 'SIZE_GROWTH') {
      problems.push({ ...base, ...inRuntime(() => 0) });
    } else if (error.code !== 'ENGINE_UNREACHABLE') {
      problems.push({ ...base, file: pair.builderDockerfile, line: 0 });
    }
  }
  return problems;
}
