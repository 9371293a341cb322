import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../../..');
/** Every endpoint a test starts logs here, so that a failure can be read after the run. */
export const LOG_DIR = path.join(ROOT, 'test-artifacts', 'endpoints');

/** A background process a test started: its log file, and a stop that waits for it to be gone. */
export interface Started {
  child: ChildProcess;
  log: string;
  stop(signal?: NodeJS.Signals, waitMs?: number): Promise<void>;
}

export function startLogged(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Started {
  mkdirSync(LOG_DIR, { recursive: true });
  const log = path.join(LOG_DIR, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], env, detached: true });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    log,
    async stop(signal = 'SIGTERM', waitMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), waitMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls until check() is true, or fails naming what it waited for and the log to read. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, started: Started, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    if (started.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tail = spawnSync('tail', ['-n', '20', started.log], { encoding: 'utf8' }).stdout;
  throw new Error(`${what} did not come up (exit ${started.child.exitCode}). Last lines of ${started.log}:\n${tail}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, input: options.input, cwd: options.cwd, maxBuffer: 64 << 20 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: (result.stderr ?? '') + (result.error ? String(result.error) : '') };
}

export function mustRun(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

/** Unmounts what a stopped engine left mounted under dir (deepest first), so that dir can be removed. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '');
  for (const mount of mounts
    .filter((m) => m.startsWith(`${dir}/`))
    .sort()
    .reverse())
    run('umount', ['-l', mount]);
}

/** Whether a Docker API (dockerd, Podman) answers /_ping on its unix socket. */
export function pingsOn(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath: socket, path: '/_ping', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

/** Copies images from the machine's engine to another (docker save | docker load), as a pull would. */
export function copyImages(images: string[], toUrl: string, scratchDir: string): void {
  const tar = path.join(scratchDir, 'images.tar');
  mustRun('docker', ['save', '-o', tar, ...images]);
  mustRun('docker', ['-H', toUrl, 'load', '-i', tar]);
  rmSync(tar);
}
