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
} from './core';

const USAGE = `Usage:
  dockerception list [DIR] [--json]
  dockerception engine [--host URL] [--json]
      Which engine the other commands use, where that choice came from (--host, DOCKER_HOST, the docker
      context, the default) and whether it answers: the docker CLI's rules, with its TLS variables.
      Every Dockerfile / Dockerfile.run pair under DIR (default: the current folder).
  dockerception inspect [DIR] [--tag NAME] [--diff] [--host URL] [--json]
      Where the bytes are: both sizes, the runtime image's layers and its largest files, and what the
      doctor finds in it. --diff: what changed, file by file, since the pair's build before.
  dockerception build [DIR] [options]
      Build the pair in DIR: the builder image, then its stdout tar as the runtime image's context.
      --tag NAME              runtime image name (default: the folder's name); builder is NAME-builder
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
      --strict                fail (and tag nothing) when the doctor finds a problem in the runtime
                              image (a missing loader, ENTRYPOINT, interpreter; another architecture)
      --host URL              engine address (default: DOCKER_HOST, the docker context, the default socket)
      --json                  one JSON object on stdout at the end; progress stays on stderr

Exit codes: 0 ok, 1 build failed, 2 usage error or no pair, 3 engine unreachable, 130 cancelled.`;

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

async function list(dir: string, json: boolean): Promise<number> {
  const pairs = await findPairs(dir);
  if (json) {
    process.stdout.write(`${JSON.stringify({ pairs })}\n`);
  } else if (pairs.length === 0) {
    process.stderr.write(`No pairs under ${path.resolve(dir)}: a pair is a folder with a 'Dockerfile' (builder) and a 'Dockerfile.run' (runtime).\n`);
  } else {
    const width = Math.max(...pairs.map((p) => p.name.length));
    for (const pair of pairs) process.stdout.write(`${pair.name.padEnd(width)}  ${path.relative(process.cwd(), pair.dir) || '.'}\n`);
  }
  return 0;
}

async function build(dir: string, values: Record<string, unknown>, json: boolean): Promise<number> {
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

  const pair = await pairAt(dir);
  const engine = await connectEngine({ host: values.host as string | undefined });

  // Ctrl-C / SIGTERM cancel the run cleanly: the container is removed and nothing is tagged.
  const abort = new AbortController();
  const onSignal = () => {
    process.stderr.write('\nCancelling: stopping the builder and removing its container...\n');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await buildPair(engine, pair, {
      tag: values.tag as string | undefined,
      buildArgs,
      noCache: Boolean(values['no-cache']),
      force: Boolean(values.force),
      builder,
      builderNetwork: values['builder-network'] as string | undefined,
      builderTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
      maxRuntimeSize: budget,
      maxGrowth: growthBudget,
      strict: Boolean(values.strict),
      signal: abort.signal,
      onEvent: progressPrinter(),
    });
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
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        tag: { type: 'string', short: 't' },
        'build-arg': { type: 'string', multiple: true },
        'no-cache': { type: 'boolean' },
        force: { type: 'boolean' },
        builder: { type: 'string' },
        'builder-network': { type: 'string' },
        timeout: { type: 'string' },
        'max-runtime-size': { type: 'string' },
        'max-growth': { type: 'string' },
        strict: { type: 'boolean' },
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
    const [command, dir = '.', ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (command === 'list') return await list(dir, json);
    if (command === 'engine') {
      if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
      return await engineCommand(values, json);
    }
    if (command === 'build') return await build(dir, values, json);
    if (command === 'inspect') return await inspect(dir, values, json);
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
