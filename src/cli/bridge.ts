// `dockerception export [DIR] [-o FILE]` and `dockerception import DOCKERFILE [--out DIR]`: thin over
// src/core/bridge. Both print what could not be carried over exactly (also written as comments in the files).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DockerceptionError, closeEngine, connectEngine, exitCodeFor, exportPair, importDockerfile, isBuilderSetting, messageOf, pairAt } from '../core';

export const BRIDGE_USAGE = `  dockerception export [DIR] [-o FILE] [--force] [--build-arg K=V] [--builder auto|buildkit|legacy] [--host URL]
      Write the pair in DIR as one multi-stage Dockerfile that builds the same runtime image with a plain
      'docker build -f FILE DIR'. Builds the builder image and runs it once (to read its command and its tar).
      Without -o the file goes to stdout; what cannot be carried over exactly is said on stderr and in
      comments at its top. An existing FILE is kept unless --force.
  dockerception import DOCKERFILE [--out DIR] [--force] [--build-arg K=V]
      Make a pair from a multi-stage Dockerfile: the stages before the last become the builder Dockerfile,
      ending in a CMD that writes a tar of what the last stage copies from them; the last stage becomes
      Dockerfile.run. DIR (default: the Dockerfile's folder) must be the folder the multi-stage build used as
      its context. An existing Dockerfile or Dockerfile.run there is kept unless --force.`;

class BridgeUsageError extends Error {}

function buildArgsOf(values: string[] | undefined): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq > 0) args[value.slice(0, eq)] = value.slice(eq + 1);
    else if (eq < 0 && process.env[value] !== undefined) args[value] = process.env[value] ?? '';
    else throw new BridgeUsageError(`--build-arg takes KEY=VALUE, got '${value}'`);
  }
  return args;
}

const shown = (file: string) => path.relative(process.cwd(), file) || file;

async function exportCommand(
  dir: string,
  values: { output?: string; force?: boolean; 'build-arg'?: string[]; builder?: string; host?: string },
): Promise<number> {
  if (values.builder !== undefined && !isBuilderSetting(values.builder))
    throw new BridgeUsageError(`--builder takes auto, buildkit or legacy, got '${values.builder}'`);
  const pair = await pairAt(dir);
  if (values.output && !values.force) {
    const exists = await fs.stat(values.output).then(
      () => true,
      () => false,
    );
    if (exists) {
      throw new DockerceptionError(
        'NO_PAIR',
        `${values.output} already exists; nothing was written. Use --force to replace it, or -o to write another file.`,
        'discover',
      );
    }
  }
  const engine = await connectEngine({ host: values.host });
  try {
    const result = await exportPair(engine, pair, {
      builder: values.builder as 'auto' | 'buildkit' | 'legacy' | undefined,
      buildArgs: buildArgsOf(values['build-arg']),
      outputName: values.output ? shown(path.resolve(values.output)) : undefined,
      onLine: (line) => {
        if (!/^ ---> |^Removing intermediate container/.test(line)) process.stderr.write(`  ${line}\n`);
      },
    });
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    if (values.output) {
      await fs.writeFile(values.output, result.text);
      process.stderr.write(`Wrote ${values.output}: ${result.text.split('\n')[0].replace(/^# /, '')}\n`);
    } else process.stdout.write(result.text);
    return 0;
  } finally {
    closeEngine(engine);
  }
}

async function importCommand(dockerfile: string, values: { out?: string; force?: boolean; 'build-arg'?: string[] }): Promise<number> {
  const result = await importDockerfile(dockerfile, { out: values.out, force: values.force, buildArgs: buildArgsOf(values['build-arg']) });
  for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
  process.stderr.write(`Wrote ${result.files.map(shown).join(' and ')}. Build the pair with: dockerception build ${shown(result.dir)}\n`);
  return 0;
}

/** `dockerception export|import …`: returns the exit code. */
export async function bridgeCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        out: { type: 'string' },
        force: { type: 'boolean' },
        'build-arg': { type: 'string', multiple: true },
        builder: { type: 'string' },
        host: { type: 'string', short: 'H' },
      },
    });
    if (positionals.length > 1) throw new BridgeUsageError(`unexpected argument '${positionals[1]}'`);
    if (command === 'export') {
      if (values.out) throw new BridgeUsageError(`'export' writes a file: use -o FILE (--out is import's folder)`);
      return await exportCommand(positionals[0] ?? '.', values);
    }
    if (values.output) throw new BridgeUsageError(`'import' writes a pair into a folder: use --out DIR`);
    if (!positionals[0]) throw new BridgeUsageError(`'import' needs the multi-stage Dockerfile to read: dockerception import DOCKERFILE [--out DIR]`);
    return await importCommand(positionals[0], values);
  } catch (error) {
    if (error instanceof BridgeUsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`dockerception: ${error.message}\n\nUsage:\n${BRIDGE_USAGE}\n`);
      return 2;
    }
    const known =
      error instanceof DockerceptionError
        ? error
        : new DockerceptionError('RUNTIME_BUILD_FAILED', `Unexpected failure: ${messageOf(error)}. Please report it with the output above.`, 'discover');
    process.stderr.write(`\ndockerception: ${known.code}: ${known.message}\n`);
    return exitCodeFor(known.code);
  }
}
