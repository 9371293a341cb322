// A real VS Code for the tests: code-server 4.100.3 (VS Code 1.100.3) started on loopback, and
// Debian's Chromium driven by playwright-core. Used by the extension-host tests and the UI tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '../../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Installs code-server through the project's script (once; later calls reuse it) and returns entry.js. */
export async function ensureCodeServer(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(ROOT, 'scripts', 'code-server.sh')], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim().split('\n').pop() ?? '';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface CodeServer {
  port: number;
  base: string;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  /** The workbench URL for a folder, with an optional `payload` (extension development and tests). */
  url(folder: string, payload?: Array<[string, string]>): string;
  /** A vscode-remote URI for a path on this machine, as the workbench's payload wants it. */
  remote(fsPath: string): string;
  install(vsix: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** false: workspace trust is on and nothing is trusted (Restricted Mode). */
  trusted: boolean;
  env?: NodeJS.ProcessEnv;
  settings?: Record<string, unknown>;
}

export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  const entry = await ensureCodeServer();
  const home = mkdtempSync(path.join(os.tmpdir(), `dc-code-server-${options.name}-`));
  const userDataDir = path.join(home, 'data');
  const extensionsDir = path.join(home, 'extensions');
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'security.workspace.trust.startupPrompt': 'never',
      'workbench.tips.enabled': false,
      'git.enabled': false,
      ...options.settings,
    }),
  );
  const config = path.join(home, 'config.yaml');
  writeFileSync(config, 'auth: none\n');
  mkdirSync(path.join(ARTIFACTS, 'logs'), { recursive: true });
  const logFile = path.join(ARTIFACTS, 'logs', `code-server-${options.name}.log`);
  const log = createWriteStream(logFile);
  const port = await freePort();
  const args = [
    entry,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--config',
    config,
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(options.trusted ? ['--disable-workspace-trust'] : []),
  ];
  const env = { ...process.env, EXTENSIONS_GALLERY: '{}', ...options.env };
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start within 60 s; see ${logFile}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('HTTP server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${code} before it listened; see ${logFile}`));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const remote = (fsPath: string) => `vscode-remote://127.0.0.1:${port}${fsPath}`;
  return {
    port,
    base,
    userDataDir,
    extensionsDir,
    logFile,
    remote,
    // A .code-workspace file opens as a (multi-root) workspace, anything else as a folder.
    url: (folder, payload) =>
      `${base}/?${folder.endsWith('.code-workspace') ? 'workspace' : 'folder'}=${encodeURIComponent(folder)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`,
    install: async (vsix) => {
      await promisify(execFile)(process.execPath, [entry, '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], {
        env,
      });
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      log.end();
      // Its user data and extensions folder: the log above is what a failure leaves to read.
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with the flags this closed network needs (never a downloaded browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Writes each of `files` (a path relative to `dir` → its text), making the folders it needs. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
}

/**
 * code-server (trusted) with Chromium on `workspace`, once the workbench shows and the extension's status-bar
 * item is there. The extension: this checkout's dist/ as the extension under development, or with `vsix`
 * that package installed as a user installs it.
 */
export async function openWorkbench(options: {
  name: string;
  workspace: string;
  env?: NodeJS.ProcessEnv;
  width?: number;
  vsix?: string;
  settings?: Record<string, unknown>;
}): Promise<{ server: CodeServer; browser: Browser; page: Page }> {
  const server = await startCodeServer({ name: options.name, trusted: true, env: options.env, settings: options.settings ?? { 'window.zoomLevel': 0 } });
  if (options.vsix) await server.install(options.vsix);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: options.width ?? 1600, height: 860 } });
  await page.goto(options.vsix ? server.url(options.workspace) : server.url(options.workspace, [['extensionDevelopmentPath', server.remote(ROOT)]]));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
  return { server, browser, page };
}

/**
 * A multi-root workspace (its .code-workspace file is returned): roots svc-a and svc-b, each with a pair
 * in a folder named api; svc-b sets its own runtimeTag in its folder settings.
 */
export function makeMultiRootWorkspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-multiroot-'));
  const pair = (side: string) => ({
    [`svc-${side}/api/Dockerfile`]: `FROM busybox:1.36\nRUN mkdir /o && echo ${side} > /o/side.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
    [`svc-${side}/api/Dockerfile.run`]: 'FROM busybox:1.36\nCOPY side.txt /\nCMD ["cat", "/side.txt"]\n',
  });
  const files: Record<string, string> = {
    ...pair('a'),
    ...pair('b'),
    'svc-b/.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': 'dc-mr-b-${name}' }),
    'services.code-workspace': JSON.stringify({
      folders: [{ path: 'svc-a' }, { path: 'svc-b' }],
      settings: { 'dockerception.runtimeTag': 'dc-mr-${name}' },
    }),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return path.join(dir, 'services.code-workspace');
}

/** A fixture workspace of busybox pairs: `quick` builds in a second, `slow` never ends by itself. */
export function makeFixtureWorkspace(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-workspace-'));
  const files: Record<string, string> = {
    'quick/Dockerfile':
      'FROM busybox:1.36\nRUN mkdir /out && echo "hello from quick" > /out/hello.txt\nCOPY Dockerfile.run /out/Dockerfile\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
    'quick/Dockerfile.run': 'FROM scratch\nCOPY hello.txt /hello.txt\n',
    'slow/Dockerfile': 'FROM busybox:1.36\nCMD ["sh", "-c", "echo compiling forever >&2; sleep 600"]\n',
    'slow/Dockerfile.run': 'FROM scratch\n',
    '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': 'dc-vscode-${name}' }),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
