import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import {
  BUILDER_SETTINGS,
  DockerceptionError,
  buildPair,
  describeContext,
  describeEngine,
  describeFinding,
  describeStep,
  isBuilderSetting,
  connectEngine,
  exitCodeFor,
  findPairs,
  formatBytes,
  inspectPair,
  messageOf,
  pairAt,
  recordsDir,
  taggedGrowth,
  type Growth,
  parseSize,
  sizeTable,
  type ProgressEvent,
  type BuildOptions,
  type Pair,
  type NamingRoot,
  builderTagFor,
  describeNamingRoot,
  findTagCollision,
  gitRootOf,
  namingRoot,
  pairFor,
  tagCollisionError,
} from './core';
import { type PlannedPair } from './core/build-all';
import { withDiagnosticLines } from './cli/diagnostic-lines';
import { buildAllCli } from './cli/build-all';
import { isShipBuild, pullSizeCommand, pushCommand, shipBuild, type CliParts } from './cli/ship';
import { BRIDGE_USAGE, bridgeCli } from './cli/bridge';

const USAGE = `Usage:
  dockerception list [DIR] [--json]
      Every Dockerfile / Dockerfile.run pair under DIR (default: the current folder) and its name.
  dockerception engine [--host URL] [--json]
      Which engine the other commands use, where that choice came from (--host, DOCKER_HOST, the docker
      context, the default) and whether it answers: the docker CLI's rules, with its TLS variables.
  dockerception inspect [DIR] [--tag NAME] [--diff] [--pull-size] [--host URL] [--json]
      Where the bytes are: both sizes, the runtime image's layers and its largest files, and what the
      doctor finds in it. --diff: what changed, file by file, since the pair's build before.
      --pull-size: what a pull of the runtime image downloads, estimated by gzipping its layers as the
      engine pushes them (and the pushed figure when this machine pushed that image).
  dockerception push [DIR] [--tag NAME]... [--push-builder] [--host URL] [--json]
      Push the pair's runtime image to the registry its tag names (127.0.0.1:5000/team/app:1.4), with the
      docker CLI's credentials (config.json, credsStore, credHelpers: 'docker login'). --tag: the names
      to push it as (repeatable; the variables below); default the pair's tag. --push-builder: push the
      builder image too (never by default: it holds toolchains and sources). Progress per layer on stderr;
      prints NAME@sha256:… and what a pull downloads.
  dockerception build [DIR] [options]
      Build the pair in DIR: the builder image, then its stdout tar as the runtime image's context.
      --tag NAME              runtime image name (default: the pair's name, below); builder is NAME-builder.
                              Repeatable: the image is built as the first and also tagged as the others.
                              May name \${name}, \${folder}, \${gitSha} (short), \${gitBranch} (made safe
                              for a tag) and \${date} (UTC, YYYYMMDD): --tag '127.0.0.1:5000/\${name}:\${gitSha}'
      --push                  then push the runtime image under every tag (see 'push'); a failed push
                              fails the build's exit code. --push-builder: the builder too
      --build-arg K=V         build argument for both builds (repeatable)
      --no-cache              build without the engine's cache (and run everything)
      --force                 run the builder and the runtime build even when nothing changed since the
                              tagged runtime image was built (without it such a build says "up to date")
      --builder auto|buildkit|legacy
                              the engine's builder for both images (default auto: the engine's default,
                              or BuildKit when a Dockerfile uses RUN --mount, COPY --chmod, heredocs…)
      --builder-network NAME  the builder container's network: none (default; its CMD only writes a
                              tar), default, host or a network's name
      --timeout SECONDS       stop the builder container after this long
      --max-runtime-size SIZE fail (and tag nothing) when the runtime image is larger, e.g. 10MB
      --max-growth SIZE       fail (and tag nothing) when the runtime image grew more than SIZE since
                              the pair's last build
      --strict                fail (and tag nothing) when the doctor finds an error in the runtime image
                              (a missing loader, ENTRYPOINT or interpreter; another architecture)
      --strict=warnings       fail on the doctor's warnings too
      --host URL              engine address (default: DOCKER_HOST, the docker context, the default socket)
      --json                  one JSON object on stdout at the end; progress stays on stderr
  dockerception build --all [DIR] [options]
      Build every pair under DIR (default: the current folder), the same pairs and names 'list' shows. A pair whose
      Dockerfile or Dockerfile.run names another pair's builder or runtime image (FROM, COPY --from,
      RUN --mount=from, build args resolved) is built after that pair; pairs that do not need each other
      build at once. A cycle, or two pairs with one tag, is refused before anything runs. A failure skips
      only the pairs that need it. Ends with one table: pair, result (built, up to date, failed,
      skipped), builder and runtime sizes, how many times smaller, time. Takes the options above (each
      pair is built under its own name; --tag templates, with \${name} or \${folder}, are each pair's
      extra names; --push pushes each pair that built or was up to date, adds a 'pull' column, and a
      failed push fails that pair), and:
      --jobs N                builds at once (default: two per CPU, between 2 and 8: a build mostly waits
                              on the engine, so one per CPU leaves CPUs idle)
      --fail-fast             stop at the first failure: cancel the running builds, start no more
      --engines CTX[,CTX…]    spread the pairs over several engines, each a docker context ('docker
                              context ls'; 'default' is DOCKER_HOST or the default socket), --jobs on
                              each. Pairs that use each other's images are built on one engine; with
                              --push each engine pushes what it built. The table says which built what
      --only PATTERN          build only the pairs matching PATTERN (repeatable)
      --exclude PATTERN       leave out the pairs matching PATTERN (repeatable)
                              PATTERN is a .dockerignore pattern ('services/*', '**/api') tried on the
                              pair's folder relative to DIR and on its name
      --json                  one JSON array on stdout at the end, an element per pair
${BRIDGE_USAGE}

Pair names: a pair is named after its folder relative to a root, folders joined with '-'
('services/api' is services-api; a pair in the root itself takes the root's name). The root is the
folder given to 'build --all' or 'list'; otherwise the git repository root that holds the pair; otherwise
the current folder when it holds the pair; otherwise the pair's own folder. VS Code names pairs from the
workspace folder the same way, so a repository opened in VS Code and built in CI gets the same names
and tags. A build whose tags would overwrite another pair's images is refused, naming both pairs.

Exit codes: 0 ok, 1 build failed (with --all: any pair failed), 2 usage error, no pair, a tag collision
or a cycle, 3 engine unreachable, 130 cancelled.`;

class UsageError extends Error {}

function fail(error: unknown, json: boolean): number {
  if (error instanceof UsageError) {
    process.stderr.write(`dockerception: ${error.message}\n\n${USAGE}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'USAGE', message: error.message, phase: 'discover' } })}\n`);
    return 2;
  }
  const known =
    error instanceof DockerceptionError
      ? error
      : new DockerceptionError('RUNTIME_BUILD_FAILED', `Unexpected failure: ${messageOf(error)}. Please report it with the output above.`, 'tag');
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: known.toJSON() })}\n`);
  process.stderr.write(`\ndockerception: ${known.code}: ${known.message}\n`);
  return exitCodeFor(known.code);
}

function progressPrinter(): (event: ProgressEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'phase':
        process.stderr.write(`==> ${event.message}\n`);
        break;
      case 'step':
        process.stderr.write(`${describeStep(event.role, event.step)}\n`);
        break;
      case 'finding':
        process.stderr.write(`  doctor: ${describeFinding(event.finding)}\n`);
        break;
      case 'log':
        if (!/^ ---> |^Removing intermediate container/.test(event.line)) {
          process.stderr.write(`${event.source === 'builder-stderr' ? '  builder| ' : '  '}${event.line}\n`);
        }
        break;
    }
  };
}

function parseBuildArgs(values: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq > 0) args[value.slice(0, eq)] = value.slice(eq + 1);
    else if (eq < 0 && process.env[value] !== undefined)
      args[value] = process.env[value] ?? ''; // like docker: K alone takes $K
    else throw new UsageError(`--build-arg takes KEY=VALUE, got '${value}'`);
  }
  return args;
}

/** The root pairs are named from when the user gave no folder: the git repository holding the current folder, else it. */
async function defaultRoot(): Promise<string> {
  return (await gitRootOf(process.cwd())) ?? process.cwd();
}

async function list(dir: string | undefined, json: boolean): Promise<number> {
  const pairs = await findPairs(dir ?? '.');
  const root = dir ?? (await defaultRoot());
  const named = dir === undefined ? pairs.map((p) => pairFor(p.dir, root)) : pairs;
  if (json) {
    process.stdout.write(`${JSON.stringify({ pairs: named })}\n`);
  } else if (named.length === 0) {
    process.stderr.write(`No pairs under ${path.resolve(dir ?? '.')}: a pair is a folder with a 'Dockerfile' (builder) and a 'Dockerfile.run' (runtime).\n`);
  } else {
    const width = Math.max(...named.map((p) => p.name.length));
    for (const pair of named) process.stdout.write(`${pair.name.padEnd(width)}  ${path.relative(process.cwd(), pair.dir) || '.'}\n`);
  }
  return 0;
}

/** --strict (errors) and --strict=warnings; argv was normalised so that a bare --strict reads 'errors'. */
function strictness(value: unknown): BuildOptions['strict'] {
  if (value === undefined) return undefined;
  if (value === 'errors' || value === 'warnings') return value;
  throw new UsageError(`--strict takes no value (the doctor's errors) or =warnings (errors and warnings), got '--strict=${String(value)}'`);
}

/** What every build of this command shares: everything but the tag, the signal and the progress. */
function sharedOptions(values: Record<string, unknown>): Omit<BuildOptions, 'tag' | 'signal' | 'onEvent'> {
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout takes a number of seconds, got '${String(values.timeout)}'`);
  const budget = values['max-runtime-size'] === undefined ? undefined : parseSize(String(values['max-runtime-size']));
  if (values['max-runtime-size'] !== undefined && budget === undefined) {
    throw new UsageError(`--max-runtime-size takes a size such as 10MB or 512KiB, got '${String(values['max-runtime-size'])}'`);
  }
  const growthBudget = values['max-growth'] === undefined ? undefined : parseSize(String(values['max-growth']));
  if (values['max-growth'] !== undefined && growthBudget === undefined) {
    throw new UsageError(`--max-growth takes a size such as 1MB or 512KiB, got '${String(values['max-growth'])}'`);
  }
  const buildArgs = parseBuildArgs((values['build-arg'] as string[] | undefined) ?? []);
  const builder = (values.builder as string | undefined) ?? 'auto';
  if (!isBuilderSetting(builder)) throw new UsageError(`--builder takes ${BUILDER_SETTINGS.join(', ')}, got '${builder}'`);
  return {
    buildArgs,
    noCache: Boolean(values['no-cache']),
    force: Boolean(values.force),
    builder,
    builderNetwork: values['builder-network'] as string | undefined,
    builderTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    maxRuntimeSize: budget,
    maxGrowth: growthBudget,
    strict: strictness(values.strict),
  };
}

/** Refuses a single build whose tags are another pair's under the same naming root (that pair's default tags). */
async function refuseCollision(pair: Pair, runtimeTag: string, root: NamingRoot): Promise<void> {
  if (root.source === 'pair') return; // a pair on its own: no neighbours to overwrite
  const others = (await findPairs(root.root)).filter((p) => p.dir !== pair.dir);
  const collision = findTagCollision([
    { pair, runtimeTag, builderTag: builderTagFor(runtimeTag) },
    ...others.map((p) => ({ pair: p, runtimeTag: p.name, builderTag: builderTagFor(p.name) })),
  ]);
  if (collision) {
    throw tagCollisionError(collision, `Give this build another --tag, or rename one of the folders (pairs are ${describeNamingRoot(root)}).`);
  }
}

/** Ctrl-C / SIGTERM abort `abort`, for as long as `body` runs. */
async function cancellable<T>(abort: AbortController, message: string, body: () => Promise<T>): Promise<T> {
  const onSignal = () => {
    process.stderr.write(`\n${message}\n`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function build(dir: string | undefined, values: Record<string, unknown>, json: boolean): Promise<number> {
  for (const option of ['jobs', 'fail-fast', 'only', 'exclude', 'engines']) {
    if (values[option] !== undefined) throw new UsageError(`--${option} goes with 'build --all'`);
  }
  const shared = sharedOptions(values);
  const root = await namingRoot(dir ?? '.');
  const pair = await pairAt(dir ?? '.', { root: root.root });
  const tag = (values.tag as string | undefined) ?? pair.name;
  await refuseCollision(pair, tag, root);
  const engine = await connectEngine({ host: values.host as string | undefined });

  // Ctrl-C / SIGTERM cancel the run cleanly: the container is removed and nothing is tagged.
  const abort = new AbortController();
  return cancellable(abort, 'Cancelling: stopping the builder and removing its container...', async () => {
    const result = await withDiagnosticLines(pair, progressPrinter(), (onEvent) => buildPair(engine, pair, { ...shared, tag, signal: abort.signal, onEvent }));
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stderr.write(`\n${describeContext(result.context)}; ${(result.timings.totalMs / 1000).toFixed(1)} s in all.\n`);
      if (result.doctor.length > 0) process.stderr.write(`Doctor: ${result.doctor.length} finding(s) above; the image was tagged (--strict refuses it).\n`);
      process.stderr.write('\n');
      process.stdout.write(`${sizeTable(result.builder, result.runtime)}\n`);
      if (result.growth) process.stdout.write(`\n${growthText(result.growth, 10)}\n`);
    }
    return 0;
  });
}

/** Progress of many builds at once: the lines that matter, each carrying its pair's name. */
function allPrinter(width: number): (planned: PlannedPair, event: ProgressEvent) => void {
  return ({ pair }, event) => {
    const who = `[${pair.name}]`.padEnd(width + 2);
    if (event.type === 'phase') process.stderr.write(`${who} ==> ${event.message}\n`);
    else if (event.type === 'finding') process.stderr.write(`${who} doctor: ${describeFinding(event.finding)}\n`);
    else if (event.type === 'log' && event.source === 'builder-stderr') process.stderr.write(`${who} builder| ${event.line}\n`);
  };
}

/** "Since the build of …: +1.2 MB in all" and the largest file changes, for people. */
function growthText(growth: Growth, limit: number): string {
  const sign = (n: number) => (n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : '±0 B');
  const lines = [`Since the build of ${growth.since.recordedAt} (${formatBytes(growth.since.size)}): ${sign(growth.sizeDelta)} in all`];
  const shown = growth.changes.slice(0, limit);
  for (const c of shown) lines.push(`  ${sign(c.delta).padStart(10)}  ${c.path}${c.change === 'added' || c.change === 'removed' ? ` (${c.change})` : ''}`);
  if (growth.changes.length > shown.length) lines.push(`  … ${growth.changes.length - shown.length} more ('dockerception inspect --diff')`);
  if (growth.changes.length === 0) lines.push('  no file changed size');
  if (growth.partial) lines.push('  (a listing holds only the largest files: small changes may be missing)');
  return lines.join('\n');
}

async function engineCommand(values: Record<string, unknown>, json: boolean): Promise<number> {
  const engine = await connectEngine({ host: values.host as string | undefined });
  if (json) {
    const { url, source, tls } = engine.address;
    process.stdout.write(`${JSON.stringify({ url, source, tls: tls ?? null, version: engine.version })}\n`);
  } else {
    process.stdout.write(`${describeEngine(engine.address)}: Docker ${engine.version.engine} (API ${engine.version.api})\n`);
  }
  return 0;
}

async function inspect(dir: string, values: Record<string, unknown>, json: boolean): Promise<number> {
  const pair = await pairAt(dir);
  const engine = await connectEngine({ host: values.host as string | undefined });
  const tag = (values.tag as string | undefined) ?? pair.name;
  if (values.diff) return inspectDiff(engine.docker, pair.dir, tag, json);
  const result = await inspectPair(engine.docker, tag);
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const { builder, runtime } = result;
  if (builder) process.stdout.write(`${sizeTable(builder, runtime)}\n`);
  else process.stdout.write(`runtime ${runtime.tag}: ${formatBytes(runtime.size)} (no builder image ${pair.name}-builder)\n`);
  process.stdout.write('\nRuntime layers (oldest first):\n');
  for (const layer of runtime.layers) process.stdout.write(`  ${formatBytes(layer.size).padStart(9)}  ${layer.step}\n`);
  process.stdout.write('\nLargest files:\n');
  for (const file of runtime.largestFiles) process.stdout.write(`  ${formatBytes(file.size).padStart(9)}  ${file.path}\n`);
  process.stdout.write('\nDoctor:\n');
  if (result.doctor.length === 0) process.stdout.write('  nothing found\n');
  for (const finding of result.doctor) process.stdout.write(`  ${describeFinding(finding)}\n`);
  return 0;
}

async function inspectDiff(docker: Docker, pairDir: string, tag: string, json: boolean): Promise<number> {
  const growth = await taggedGrowth(docker, recordsDir(), pairDir, tag);
  if (!growth) {
    throw new DockerceptionError(
      'NO_PAIR',
      `There is nothing to compare ${tag} with: this machine has no record of a Dockerception build of it after an earlier one. Build the pair twice (the second build is compared with the first).`,
      'inspect',
    );
  }
  if (json) process.stdout.write(`${JSON.stringify({ diff: growth })}\n`);
  else process.stdout.write(`${growthText(growth, Number.POSITIVE_INFINITY)}\n`);
  return 0;
}

/** What the shipping commands (src/cli/ship.ts) share with 'build'. */
const cliParts: CliParts = {
  usageError: (m) => new UsageError(m),
  sharedOptions,
  progressPrinter,
  allPrinter,
  refuseCollision,
  cancellable,
  defaultRoot,
  growthText,
};

/** node's parseArgs has no option with an optional value: a bare --strict becomes --strict=errors. */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const [i, arg] of argv.entries()) {
    if (arg === '--') return [...out, ...argv.slice(i)];
    out.push(arg === '--strict' ? '--strict=errors' : arg);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  if (argv[0] === 'export' || argv[0] === 'import') return await bridgeCli(argv);
  try {
    const { values, positionals } = parseArgs({
      args: normaliseArgv(argv),
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        tag: { type: 'string', short: 't', multiple: true },
        push: { type: 'boolean' },
        'push-builder': { type: 'boolean' },
        'pull-size': { type: 'boolean' },
        'build-arg': { type: 'string', multiple: true },
        'no-cache': { type: 'boolean' },
        force: { type: 'boolean' },
        builder: { type: 'string' },
        'builder-network': { type: 'string' },
        timeout: { type: 'string' },
        'max-runtime-size': { type: 'string' },
        'max-growth': { type: 'string' },
        strict: { type: 'string' },
        all: { type: 'boolean' },
        jobs: { type: 'string', short: 'j' },
        'fail-fast': { type: 'boolean' },
        engines: { type: 'string', multiple: true },
        only: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        diff: { type: 'boolean' },
        host: { type: 'string', short: 'H' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
    json = Boolean(values.json);
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (values.version) {
      process.stdout.write(`${process.env.DOCKERCEPTION_VERSION ?? 'dev'}\n`);
      return 0;
    }
    const [command, given, ...extra] = positionals;
    const dir = given ?? '.';
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (values.all && command !== 'build') throw new UsageError(`--all goes with 'build' ('dockerception build --all [DIR]')`);
    if (command === 'list') return await list(given, json);
    if (command === 'engine') {
      if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
      return await engineCommand(values, json);
    }
    if (command === 'build' && !values.all && isShipBuild(values)) return await shipBuild(given, values, json, cliParts);
    if (command === 'build' && values.all) return await buildAllCli(given, values, json, cliParts);
    if (command === 'build') return await build(given, { ...values, tag: values.tag?.[0] }, json);
    if (command === 'push') return await pushCommand(given, values, json, cliParts);
    if (command === 'inspect' && values['pull-size']) return await pullSizeCommand(dir, values, json);
    if (command === 'inspect') return await inspect(dir, { ...values, tag: values.tag?.at(-1) }, json);
    throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail(new UsageError(error.message), json);
    }
    return fail(error, json);
  }
}

/** Runs the CLI and sets the process's exit code; src/cli-entry.ts calls it. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    process.stderr.write(`dockerception: ${messageOf(error)}\n`);
    process.exitCode = 1;
  }
}
