import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../support/endpoints/process';
import { runCli, type CliResult } from '../unit/helpers';

const made: string[] = [];

/** A folder that removeTempDirs() removes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The environment with no DOCKER_* of the developer's, and a docker config folder of the test's own. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('DOCKER_')) env[key] = value;
  env.DOCKER_CONFIG = tempDir('dc-docker-config-');
  // DOCKERCEPTION_STATE_DIR (the records) is not DOCKER_*: it stays.
  return { ...env, ...extra };
}

/** `docker version` with the same environment: whether the docker CLI reaches the same engine. */
export function dockerCli(env: NodeJS.ProcessEnv, ...args: string[]): { ok: boolean; out: string } {
  const result = run('docker', args.length ? args : ['version', '--format', '{{.Server.Version}}'], { env });
  return { ok: result.status === 0, out: (result.stdout + result.stderr).trim() };
}

/** `dockerception engine --json` under env: which engine, from where, and whether it answered. */
export async function ourEngine(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult & { ok: boolean }> {
  const result = await runCli(['engine', '--json', ...args], { env });
  return { ...result, ok: result.code === 0 };
}
