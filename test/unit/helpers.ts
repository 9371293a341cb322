import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { connectEngine, type Engine } from '../../src/core';
import { buildCacheRecords } from '../../src/core/buildkit-cache';
export { makeTar, type TarEntrySpec as TarEntry } from '../support/tar';

export const ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const BUSYBOX = 'busybox:1.36';

const run = promisify(execFile);

let engine: Promise<Engine> | undefined;
export function testEngine(): Promise<Engine> {
  engine ??= connectEngine();
  return engine;
}

/** A fresh folder holding the given files (paths relative, contents as text or bytes). */
export function makeDir(files: Record<string, string | Buffer>, prefix = 'dc-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}

/** A folder of pairs, NAME/Dockerfile and NAME/Dockerfile.run each (default: busybox builder, scratch runtime). */
export function pairsDir(pairs: Record<string, { builder?: string; runtime?: string }>): string {
  return makeDir(
    Object.fromEntries(
      Object.entries(pairs).flatMap(([name, p]) => [
        [`${name}/Dockerfile`, p.builder ?? 'FROM busybox:1.36\n'],
        [`${name}/Dockerfile.run`, p.runtime ?? 'FROM scratch\n'],
      ]),
    ),
  );
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A pair whose builder is busybox running `script` (sh) with the files in `payload` beside it; the
 * builder's stdout is whatever the script writes. The runtime Dockerfile.run defaults to a scratch image
 * that copies `hello.txt`.
 */
export function makeBuilderPair(
  script: string,
  options: { payload?: Record<string, string | Buffer>; runtime?: string; builder?: string; name?: string } = {},
): string {
  const files: Record<string, string | Buffer> = {
    Dockerfile: options.builder ?? `FROM ${BUSYBOX}\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
    'Dockerfile.run': options.runtime ?? 'FROM scratch\nCOPY hello.txt /hello.txt\n',
    'payload/run.sh': script,
  };
  for (const [name, content] of Object.entries(options.payload ?? {})) files[`payload/${name}`] = content;
  const parent = makeDir({});
  const dir = path.join(parent, options.name ?? `pair-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** The docker CLI, with the legacy builder (what the pipeline drives, and what we compare with). */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  return stdout;
}

const allContainers = async () => (await docker('ps', '-aq', '--no-trunc')).split('\n').filter(Boolean);
const allVolumes = async () => (await docker('volume', 'ls', '-q')).split('\n').filter(Boolean);
/** Containers and volumes that existed before these tests started: not ours to count. */
const baseline = Promise.all([allContainers(), allVolumes()]);
baseline.catch(() => undefined); // no engine (a pure suite): nothing to count

/** Containers and volumes created since the tests started and still there: builder runs, the engine's
 * RUN-step containers, image exports, a builder image's anonymous volumes. Every test expects none. */
export async function leftovers(): Promise<string[]> {
  const [containersBefore, volumesBefore] = await baseline;
  const [containers, volumes] = await Promise.all([allContainers(), allVolumes()]);
  return [
    ...containers.filter((id) => !containersBefore.includes(id)).map((id) => `container ${id.slice(0, 12)}`),
    ...volumes.filter((name) => !volumesBefore.includes(name)).map((name) => `volume ${name.slice(0, 12)}`),
  ];
}

export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker('image', 'inspect', ref);
    return true;
  } catch {
    return false;
  }
}

export async function removeImages(...refs: string[]): Promise<void> {
  for (const ref of refs) await docker('rmi', '-f', ref).catch(() => undefined);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI; onStderr sees progress as it arrives (to act mid-run, e.g. send SIGINT). */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? process.env, cwd: options.cwd ?? ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The one JSON object the CLI prints on stdout in --json mode. */
export function jsonOf(result: CliResult): any {
  const lines = result.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got ${lines.length}:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return JSON.parse(lines[0]);
}

/** The engine's two builders: suites that build run once under each. */
export const BUILDERS = ['legacy', 'buildkit'] as const;
export type TestBuilder = (typeof BUILDERS)[number];

/** Listed as the core lists them (BuildKit's DiskUsage where the API has no build-cache filter): never a
 * second /system/df beside a test's own, which the engine refuses ("a disk usage operation is already running"). */
async function allContextRecords(): Promise<string[]> {
  const { docker: engineDocker } = await testEngine();
  return (await buildCacheRecords(engineDocker)).filter((r) => /^http url http:\/\/build-context-/.test(r.Description ?? '')).map((r) => r.ID);
}
/** Records that were in the build cache when these tests started (this file was loaded): not ours to count. */
const recordsBaseline = allContextRecords();
recordsBaseline.catch(() => undefined); // no engine: the tests that need one say so

/** Streamed-context records in the engine's build cache (BuildKit's `http url http://build-context-…`
 * downloads) made since these tests started: every BuildKit build must remove its own, so the tests
 * expect none. */
export async function contextCacheRecords(): Promise<string[]> {
  const before = new Set(await recordsBaseline);
  return (await allContextRecords()).filter((id) => !before.has(id));
}
