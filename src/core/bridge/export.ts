// Export: a pair as one multi-stage Dockerfile that builds the same runtime image with a plain
// `docker build -f FILE PAIR-FOLDER`. The builder's stages come first (renamed builder-*), then a stage
// that runs the builder image's command as the pipeline runs it and unpacks its stdout into
// /dockerception-context, then the runtime Dockerfile with each COPY/ADD from the context copying from
// that stage instead.
//
// What the builder's command is, where it runs and as whom are read from the built builder image through
// the engine (its Config: Entrypoint, Cmd, WorkingDir, User, Env, Shell), not guessed from the Dockerfile:
// a base image's ENTRYPOINT or WORKDIR counts as much as the Dockerfile's own lines. The builder is run
// once too, as the pipeline runs it, to learn whether its tar carries the runtime Dockerfile (and a
// .dockerignore), and whether its image has the sh and tar the exported RUN step needs.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { buildKitSyntax, chooseBuilder, engineDefaultBuilder, type BuilderSetting, type EngineBuilder } from '../builder-choice';
import { LABEL_RUN, removeContainer } from '../cleanup';
import { packContext } from '../context';
import { AttachDemux } from '../demux';
import type { Engine } from '../engine';
import { DockerceptionError, messageOf } from '../errors';
import { buildImage } from '../image-build';
import type { Pair } from '../pairs';
import { builderTagFor } from '../pipeline';
import { contextPath } from '../tar/entry-rules';
import { flagValue, formatCopy, parseDockerfile, shellWord, stageNamed, type ParsedDockerfile, type StageInstruction } from './dockerfile';
import { renderStages } from './render';

/** Where the exported file unpacks the builder's output. */
export const CONTEXT_DIR = '/dockerception-context';
/** Where the builder's command writes its stdout (a folder of its own: the image may have no writable /tmp). */
const OUTPUT_DIR = '/dockerception-output';
const OUTPUT_TAR = `${OUTPUT_DIR}/context.tar`;
/** The stage that runs the builder's command. */
export const OUTPUT_STAGE = 'builder-output';

/** The builder image as the pipeline runs it, and what its run wrote. */
export interface BuilderFacts {
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
  /** The image's SHELL, when set (RUN's shell form would use it). */
  shell: string[];
  /** Whether the image has the sh and tar the exported RUN step needs. */
  tools: 'ok' | 'no-sh' | 'no-tar';
  /** The runtime Dockerfile the pipeline builds from: the one in the builder's tar, else Dockerfile.run. */
  runtimeDockerfile: string;
  runtimeDockerfileSource: 'builder-output' | 'pair';
  /** The builder's tar has a .dockerignore at its root (the runtime build applies it). */
  dockerignoreInTar: boolean;
}

export interface ExportResult {
  /** The multi-stage Dockerfile. */
  text: string;
  /** What cannot be carried over exactly: also in comments at the top of `text`. */
  notes: string[];
  /** BuildKit-only syntax the file uses (empty: it builds with both builders). */
  needsBuildKit: string[];
}

export interface ExportOptions {
  builder?: BuilderSetting;
  buildArgs?: Record<string, string>;
  /** The builder image's tag (default: the pipeline's, NAME-builder). */
  builderTag?: string;
  /** The file's path as the user will name it, for the `docker build -f` line in its header. */
  outputName?: string;
  /** The folder that `docker build` line is run from (default: the process's current folder). */
  cwd?: string;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

const LOCAL_ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$/i;
const isUrl = (source: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@');

/** A context source as a path under CONTEXT_DIR: `.` is the folder itself, `/x` and `./x` are `x`. */
export function contextSource(source: string): string {
  const clean = source.replace(/^(\.\/|\/)+/, '');
  if (clean === '' || clean === '.') return `${CONTEXT_DIR}/`;
  return `${CONTEXT_DIR}/${clean}`;
}

/** Could this COPY source match the context's root file named Dockerfile (`.`, `Dockerfile`, `Docker*`)? */
const mayMatchDockerfile = (source: string) => {
  const clean = source.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.') return true;
  if (clean.includes('/')) return false;
  const glob = new RegExp(
    `^${clean
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return glob.test('Dockerfile');
};

const isDefaultShell = (shell: readonly string[]) => shell.length === 0 || (shell.length === 2 && shell[0] === '/bin/sh' && shell[1] === '-c');
const isRoot = (user: string) => user === '' || user === 'root' || user === '0' || /^(root|0):(root|0)$/.test(user);

/** The stage that runs the builder's command and unpacks its stdout. */
function outputStage(facts: BuilderFacts, addDockerfileRun: string | undefined): string {
  const argv = [...facts.entrypoint, ...facts.cmd];
  const command = `${argv.map(shellWord).join(' ')} > ${OUTPUT_TAR}`;
  const unpack = `mkdir -p ${CONTEXT_DIR} && tar -xf ${OUTPUT_TAR} -C ${CONTEXT_DIR} && rm -r ${OUTPUT_DIR}`;
  const run = (script: string) => (isDefaultShell(facts.shell) ? `RUN ${script}` : `RUN ${JSON.stringify(['/bin/sh', '-c', script]).replace(/","/g, '", "')}`);
  const lines = [
    `# The builder's command as Dockerception runs it: the builder image's ENTRYPOINT + CMD (${JSON.stringify(argv)}),`,
    `# in its WORKDIR (${facts.workingDir || '/'}), as its USER (${facts.user || 'root'}), with its ENV. Its stdout is the runtime context.`,
    `FROM builder AS ${OUTPUT_STAGE}`,
  ];
  let write = '';
  if (addDockerfileRun !== undefined) {
    // Written as the pipeline adds it (mode 0644), not copied: the pair's .dockerignore may leave it out.
    lines.push(`# The builder's tar has no Dockerfile: Dockerception adds Dockerfile.run to the runtime context as one.`);
    const content = addDockerfileRun.split('\n');
    const last = content.pop() ?? '';
    const target = `${CONTEXT_DIR}/Dockerfile`;
    write = content.length > 0 ? ` \\\n    && printf '%s\\n' ${content.map(shellWord).join(' ')} > ${target}` : ` \\\n    && : > ${target}`;
    if (last !== '') write += ` \\\n    && printf '%s' ${shellWord(last)} >> ${target}`;
  }
  if (isRoot(facts.user)) lines.push(run(`mkdir -p ${OUTPUT_DIR} && ${command} \\\n    && ${unpack}${write}`));
  else {
    // The command runs as the builder's user, writing into a folder made for it; root unpacks.
    lines.push(
      'USER root',
      run(`mkdir -p ${OUTPUT_DIR} && chown ${shellWord(facts.user)} ${OUTPUT_DIR}`),
      `USER ${facts.user}`,
      run(command),
      'USER root',
      run(`${unpack}${write}`),
    );
  }
  return lines.join('\n');
}

/** The runtime stages' COPY/ADD from the context, copying from the builder's output instead. */
function contextCopy(instruction: StageInstruction, notes: string[]): string | undefined {
  const copy = instruction.copy;
  if (!copy || flagValue(copy.flags, 'from') !== undefined) return undefined;
  if (copy.keyword === 'ADD' && copy.sources.every(isUrl)) return undefined; // fetched by the build either way
  if (copy.keyword === 'ADD') {
    for (const source of copy.sources.filter((s) => LOCAL_ARCHIVE.test(s))) {
      notes.push(
        `ADD ${source} unpacks a local archive from the context; the exported COPY --from copies it as a file. Unpack it in the builder or in a RUN step.`,
      );
    }
    for (const source of copy.sources.filter(isUrl)) notes.push(`ADD ${source} mixes a URL with context files: split it into two ADD lines.`);
  }
  // COPY from the context makes every file root's (0:0) and keeps its mode; COPY --from keeps the owner
  // the files have in the stage (tar -x as root restores the tar's): --chown=0:0 keeps them root's.
  const flags = copy.flags.filter((f) => f.name !== 'from').map((f) => f.text);
  if (flagValue(copy.flags, 'chown') === undefined) flags.unshift('--chown=0:0');
  flags.unshift(`--from=${OUTPUT_STAGE}`);
  const sources = copy.sources.map((s) => (isUrl(s) ? s : contextSource(s)));
  return `# was: ${instruction.text.split('\n').join('\n#      ')}\n${formatCopy('COPY', flags, sources, copy.dest, copy.json)}`;
}

/** Stage names that say what they are: builder-* for the builder's, the runtime's own (or runtime-*). */
function stageNames(builder: ParsedDockerfile, runtime: ParsedDockerfile): { builderNames: Map<number, string>; runtimeNames: Map<number, string> } {
  const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
  const builderNames = new Map<number, string>();
  const lastBuilder = builder.stages.length - 1;
  for (const stage of builder.stages) {
    builderNames.set(stage.index, stage.index === lastBuilder ? 'builder' : `builder-${stage.name ? slug(stage.name) : `stage-${stage.index}`}`);
  }
  const taken = new Set([...builderNames.values(), OUTPUT_STAGE]);
  const runtimeNames = new Map<number, string>();
  const lastRuntime = runtime.stages.length - 1;
  for (const stage of runtime.stages) {
    let name = stage.index === lastRuntime ? (stage.name ? slug(stage.name) : 'runtime') : `runtime-${stage.name ? slug(stage.name) : `stage-${stage.index}`}`;
    if (taken.has(name)) name = `runtime-${name}`;
    taken.add(name);
    runtimeNames.set(stage.index, name);
  }
  return { builderNames, runtimeNames };
}

/** The global ARG lines of both Dockerfiles, once each; a name declared with two defaults is noted. */
function globalArgs(builder: ParsedDockerfile, runtime: ParsedDockerfile, notes: string[]): string[] {
  const lines: string[] = [];
  const seen = new Map<string, string>();
  for (const instruction of [...builder.globalArgs, ...runtime.globalArgs]) {
    const text = instruction.text;
    const name = (instruction.args[0] ?? '').split('=')[0];
    const before = seen.get(name);
    if (before === text) continue;
    if (before !== undefined)
      notes.push(`ARG ${name} is declared before FROM in both Dockerfiles with different defaults (${before} / ${text}); the first one wins here.`);
    else lines.push(text);
    seen.set(name, text);
  }
  return lines;
}

/** The multi-stage Dockerfile for a pair whose builder image and run are described by `facts`. */
export function composeExport(builderText: string, facts: BuilderFacts, options: { outputName?: string; pairDir?: string } = {}): ExportResult {
  const builder = parseDockerfile(builderText);
  const runtime = parseDockerfile(facts.runtimeDockerfile);
  if (builder.stages.length === 0) {
    throw new DockerceptionError(
      'NO_PAIR',
      `The builder Dockerfile has no FROM line, so there is nothing to export. Fix the Dockerfile (it must build), then export again.`,
      'discover',
    );
  }
  if (runtime.stages.length === 0) {
    throw new DockerceptionError(
      'NO_PAIR',
      `The runtime Dockerfile (${facts.runtimeDockerfileSource === 'pair' ? 'Dockerfile.run' : "the one in the builder's tar"}) has no FROM line. Fix it (it must build), then export again.`,
      'discover',
    );
  }
  const notes: string[] = [];
  const argv = [...facts.entrypoint, ...facts.cmd];
  if (argv.length === 0) {
    throw new DockerceptionError(
      'NO_PAIR',
      `The builder image has neither ENTRYPOINT nor CMD, so there is no command to export. Give the builder's Dockerfile a CMD that writes the runtime context as a tar to stdout, then export again.`,
      'discover',
    );
  }
  if (facts.tools === 'no-sh')
    notes.push(
      `The builder image has no /bin/sh: the exported RUN step needs sh and tar in it. Add them (e.g. FROM busybox as a base) or the export will not build.`,
    );
  if (facts.tools === 'no-tar')
    notes.push(
      `The builder image has no tar: the exported RUN step unpacks the builder's output with it. Install tar in the builder, or the export will not build.`,
    );
  if (facts.dockerignoreInTar)
    notes.push(
      `The builder's tar holds a .dockerignore, which the runtime build applies to its context; here every file the builder wrote can be copied. Leave it out of the tar or check the COPY lines below.`,
    );
  if (facts.runtimeDockerfileSource === 'builder-output')
    notes.push(`The runtime stage is the Dockerfile the builder wrote into its tar, as it is now: export again when the builder writes another.`);
  notes.push(`The builder's command runs here as a RUN step: with the build's network (Dockerception gives it none) and cached like any RUN step.`);

  const { builderNames, runtimeNames } = stageNames(builder, runtime);
  const runtimeCopiesDockerfile = runtime.stages.some((stage) =>
    stage.instructions.some(
      (i) =>
        i.copy &&
        flagValue(i.copy.flags, 'from') === undefined &&
        !(i.copy.keyword === 'ADD' && i.copy.sources.every(isUrl)) &&
        i.copy.sources.some(mayMatchDockerfile),
    ),
  );
  const addDockerfileRun = facts.runtimeDockerfileSource === 'pair' && runtimeCopiesDockerfile ? facts.runtimeDockerfile : undefined;
  const copyNotes: string[] = [];
  const runtimeText = renderStages(
    runtime,
    runtime.stages.map((s) => s.index),
    runtimeNames,
    (instruction, stage) => {
      // --from naming a runtime stage is renamed by renderStages; an image stays as it is.
      const from = instruction.copy ? flagValue(instruction.copy.flags, 'from') : undefined;
      if (from !== undefined && !stageNamed(runtime.stages, from, stage.index)) return undefined;
      return contextCopy(instruction, copyNotes);
    },
  );
  notes.push(...new Set(copyNotes));
  const args = globalArgs(builder, runtime, notes);
  const builderStages = renderStages(
    builder,
    builder.stages.map((s) => s.index),
    builderNames,
  );
  const body = [
    ...(args.length > 0 ? [args.join('\n'), ''] : []),
    "# ---- The builder (the pair's Dockerfile) ----",
    builderStages,
    '',
    "# ---- The builder's output, unpacked: what Dockerception streams into the runtime build as its context ----",
    outputStage(facts, addDockerfileRun),
    '',
    `# ---- The runtime image (${facts.runtimeDockerfileSource === 'pair' ? "the pair's Dockerfile.run" : "the Dockerfile in the builder's tar"}) ----`,
    runtimeText,
    '',
  ].join('\n');
  const needsBuildKit = buildKitSyntax(body);
  const file = options.outputName ?? 'Dockerfile.multistage';
  const folder = options.pairDir ?? '.';
  const first = needsBuildKit.length
    ? `# Needs BuildKit (it uses ${needsBuildKit.join(', ')}): DOCKER_BUILDKIT=1 docker build -f ${file} ${folder}`
    : `# Builds with BuildKit and with the legacy builder: docker build -f ${file} ${folder}`;
  const directives = [...builder.lines.slice(0, builder.preambleEnd)].filter((line) => /^#\s*syntax\s*=/i.test(line));
  const header = [
    ...directives,
    first,
    '# Exported by Dockerception from a builder → tar → runtime pair: it builds the same runtime image in one build.',
    ...notes.map((note) => `# NOTE: ${note}`),
    '',
  ];
  return { text: header.join('\n') + body, notes, needsBuildKit };
}

/** The builder image's settings the pipeline runs it with. */
async function imageFacts(docker: Docker, id: string): Promise<Pick<BuilderFacts, 'entrypoint' | 'cmd' | 'workingDir' | 'user' | 'shell'>> {
  const info = await docker.getImage(id).inspect();
  const config = info.Config ?? ({} as Docker.ImageInspectInfo['Config']);
  const list = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : typeof value === 'string' && value ? [value] : []);
  return {
    entrypoint: list(config.Entrypoint),
    cmd: list(config.Cmd),
    workingDir: config.WorkingDir ?? '',
    user: config.User ?? '',
    shell: list((config as unknown as { Shell?: unknown }).Shell),
  };
}

interface RunOutput {
  exitCode: number;
  stderr: string;
  dockerfile?: string;
  dockerignore: boolean;
  readError?: string;
}

/** Runs the builder (as the pipeline does: no TTY, no log, no network) and reads its tar's root Dockerfile. */
async function runBuilder(docker: Docker, image: string, argv: string[], wrapper: boolean): Promise<RunOutput> {
  const probe = 'command -v tar >/dev/null 2>&1 || exit 97; exec "$@"';
  const container = await docker.createContainer({
    Image: image,
    ...(wrapper ? { Entrypoint: ['/bin/sh', '-c', probe, 'sh'], Cmd: argv } : {}),
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    Labels: { [LABEL_RUN]: '1' },
    HostConfig: { LogConfig: { Type: 'none', Config: {} }, NetworkMode: 'none' },
  });
  const stderr: Buffer[] = [];
  const found: { upper?: string; lower?: string; dockerignore: boolean } = { dockerignore: false };
  let readError: string | undefined;
  try {
    const attach = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const stdout = new PassThrough();
    const reading = readTar(stdout, found).catch((error: unknown) => {
      readError = messageOf(error);
    });
    const demuxed = pipeline(attach, new AttachDemux((chunk) => stderr.push(Buffer.from(chunk))), stdout).catch(() => undefined);
    await container.start();
    const answer = (await container.wait({ condition: 'not-running' })) as { StatusCode: number };
    await demuxed;
    await reading;
    return {
      exitCode: answer.StatusCode,
      stderr: Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-5).join('\n'),
      dockerfile: found.upper ?? found.lower,
      dockerignore: found.dockerignore,
      readError,
    };
  } finally {
    await removeContainer(container);
  }
}

/** Reads a (maybe gzipped) tar: keeps the root Dockerfile's text, notes a root .dockerignore. */
async function readTar(input: NodeJS.ReadableStream, found: { upper?: string; lower?: string; dockerignore: boolean }): Promise<void> {
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const name = contextPath(header.name);
    if (name === '.dockerignore') found.dockerignore = true;
    const slot = name === 'Dockerfile' ? 'upper' : name === 'dockerfile' ? 'lower' : undefined;
    const parts: Buffer[] = [];
    const body = stream as unknown as NodeJS.ReadableStream;
    body.on('data', (chunk: Buffer) => {
      if (slot) parts.push(chunk);
    });
    body.on('end', () => {
      if (slot) found[slot] = header.type === 'file' ? Buffer.concat(parts).toString('utf8') : undefined;
      next();
    });
  });
  // Sniff gzip from the first bytes.
  const head = new PassThrough();
  let decided = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!decided) {
        decided = true;
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          const gunzip = createGunzip();
          gunzip.pipe(extract as unknown as NodeJS.WritableStream);
          head.pipe(gunzip);
        } else head.pipe(extract as unknown as NodeJS.WritableStream);
      }
      if (head.write(chunk)) callback();
      else head.once('drain', callback);
    },
    final(callback) {
      if (!decided) {
        decided = true;
        head.pipe(extract as unknown as NodeJS.WritableStream);
      }
      head.end();
      callback();
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  await pipeline(input, sink);
  await done;
}

/**
 * Exports a pair: builds its builder image (as the pipeline does, with its tag), reads the image's
 * command settings, runs it once to read its tar, and writes the multi-stage Dockerfile.
 */
export async function exportPair(engine: Engine, pair: Pair, options: ExportOptions = {}): Promise<ExportResult> {
  const docker = engine.docker;
  const [builderText, runText] = await Promise.all([
    fs.readFile(pair.builderDockerfile, 'utf8'),
    fs.readFile(pair.runtimeDockerfile, 'utf8').catch(() => undefined),
  ]);
  const choice = chooseBuilder(options.builder ?? 'auto', await engineDefaultBuilder(docker), [
    { label: 'the builder Dockerfile', text: builderText },
    { label: 'Dockerfile.run', text: runText ?? '' },
  ]);
  const tag = options.builderTag ?? builderTagFor(pair.name);
  options.onLine?.(`Building the builder image ${tag} (${choice.builder === 'buildkit' ? 'BuildKit' : 'legacy builder'}) to read its command`);
  const id = await buildImage(docker, packContext(pair.dir), {
    role: 'builder',
    builder: choice.builder as EngineBuilder,
    tag,
    buildArgs: options.buildArgs,
    signal: options.signal,
    dockerfileHint: path.relative(process.cwd(), pair.builderDockerfile) || pair.builderDockerfile,
    onLine: options.onLine,
  });
  const config = await imageFacts(docker, id);
  const argv = [...config.entrypoint, ...config.cmd];
  if (argv.length === 0)
    return composeExport(builderText, { ...config, tools: 'ok', runtimeDockerfile: runText ?? '', runtimeDockerfileSource: 'pair', dockerignoreInTar: false });
  options.onLine?.(`Running ${tag} once to read its output (${JSON.stringify(argv)})`);
  let tools: BuilderFacts['tools'] = 'ok';
  let output: RunOutput;
  try {
    output = await runBuilder(docker, id, argv, true);
    if (output.exitCode === 97) {
      tools = 'no-tar';
      output = await runBuilder(docker, id, argv, false);
    }
  } catch (error) {
    if (!/no such file|not found|executable file/i.test(messageOf(error))) throw error;
    tools = 'no-sh';
    output = await runBuilder(docker, id, argv, false);
  }
  if (output.exitCode !== 0) {
    throw new DockerceptionError(
      'BUILDER_EXIT',
      `The builder container exited with code ${output.exitCode} while it was run to read its output${output.stderr ? `: "${output.stderr}"` : ''}. Fix the build ('dockerception build' shows the same), then export again.`,
      'builder-run',
    );
  }
  if (output.readError) {
    throw new DockerceptionError(
      'NOT_A_TAR',
      `The builder's stdout could not be read as a tar (${output.readError}). It must write the runtime context as a tar to stdout: 'dockerception build' says more. Fix it, then export again.`,
      'builder-run',
    );
  }
  if (output.dockerfile === undefined && runText === undefined) {
    throw new DockerceptionError(
      'NO_PAIR',
      `The builder's tar has no Dockerfile and ${pair.runtimeDockerfile} could not be read, so there is no runtime Dockerfile to export. Restore Dockerfile.run, then export again.`,
      'discover',
    );
  }
  const facts: BuilderFacts = {
    ...config,
    tools,
    runtimeDockerfile: output.dockerfile ?? runText ?? '',
    runtimeDockerfileSource: output.dockerfile !== undefined ? 'builder-output' : 'pair',
    dockerignoreInTar: output.dockerignore,
  };
  return composeExport(builderText, facts, { outputName: options.outputName, pairDir: path.relative(options.cwd ?? process.cwd(), pair.dir) || '.' });
}
