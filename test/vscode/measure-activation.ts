// For npm run bench: the extension's activation time as VS Code itself reports it, read where a person reads
// it — "Developer: Show Running Extensions" in code-server, which shows codeLoadingTime + activateCallTime
// (the require of dist/extension.js plus the synchronous part of activate()) as "Activation: N ms". The floor
// is an empty extension with the same activation events, loaded beside it in the same window, so that each
// run's number comes with what VS Code's own overhead was in that run. A fresh code-server per run (a fresh
// extension host); the median of DC_ACTIVATION_RUNS runs (default 9), printed as one JSON line.
// DC_ACTIVATION_EXTENSION: measure the extension in that folder instead of this checkout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACTS, ROOT, launchChromium, makeFixtureWorkspace, startCodeServer } from '../support/code-server';

const FLOOR_ID = 'activation-floor';
/** The extension measured: this checkout, or another build of it (a worktree of an older commit, for a before row). */
const EXTENSION = process.env.DC_ACTIVATION_EXTENSION ?? ROOT;
const OURS_ID = 'dockerception.dockerception';
// An installed extension without a gallery entry shows its package name.

/**
 * An extension that does nothing, activated by the same events as Dockerception, packed as a .vsix (a zip of
 * extension/; the workbench loads one development extension only, so the floor is installed).
 */
function packFloorExtension(dir: string): string {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { vscode: string }; activationEvents: string[] };
  mkdirSync(path.join(dir, 'extension'));
  writeFileSync(
    path.join(dir, 'extension', 'package.json'),
    JSON.stringify({
      name: 'activation-floor',
      publisher: 'dc-bench',
      version: '0.0.1',
      engines: { vscode: manifest.engines.vscode },
      main: './extension.js',
      activationEvents: manifest.activationEvents.filter((e) => e.startsWith('workspaceContains:')),
    }),
  );
  writeFileSync(path.join(dir, 'extension', 'extension.js'), 'exports.activate = function () {};\nexports.deactivate = function () {};\n');
  execFileSync('zip', ['-q', '-r', 'floor.vsix', 'extension'], { cwd: dir });
  return path.join(dir, 'floor.vsix');
}

interface Run {
  oursMs: number;
  floorMs: number;
}

const activationMs = (text: string): number => {
  const match = /Activation: (\d+(?:\.\d+)?)ms/.exec(text);
  if (!match) throw new Error(`Running Extensions shows "${text}", not "Activation: N ms"`);
  return Number(match[1]);
};

async function oneRun(floorVsix: string, workspace: string, index: number): Promise<Run> {
  const server = await startCodeServer({ name: `activation-${index}`, trusted: true });
  const browser = await launchChromium();
  try {
    await server.install(floorVsix);
    const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
    await page.goto(server.url(workspace, [['extensionDevelopmentPath', server.remote(EXTENSION)]]), { timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('>Developer: Show Running Extensions');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show Running Extensions' }).first().click();
    const row = (id: string) => page.locator('.runtime-extensions-editor .extension', { has: page.locator('.name', { hasText: id }) }).first();
    const timeOf = async (id: string) => {
      const time = row(id).locator('.activation-time');
      await time.filter({ hasText: /Activation: \d/ }).waitFor({ timeout: 30_000 });
      return activationMs((await time.textContent()) ?? '');
    };
    const shot = () => {
      mkdirSync(path.join(ARTIFACTS, 'vscode'), { recursive: true });
      return page.screenshot({ path: path.join(ARTIFACTS, 'vscode', 'running-extensions.png') });
    };
    try {
      const result = { oursMs: await timeOf(OURS_ID), floorMs: await timeOf(FLOOR_ID) };
      if (index === 0) await shot();
      return result;
    } catch (error) {
      await shot().catch(() => undefined);
      throw error;
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const count = Number(process.env.DC_ACTIVATION_RUNS ?? 9);
  const floorDir = mkdtempSync(path.join(os.tmpdir(), 'dc-activation-floor-'));
  const workspace = makeFixtureWorkspace();
  const runs: Run[] = [];
  try {
    const floorVsix = packFloorExtension(floorDir);
    for (let i = 0; i < count; i++) runs.push(await oneRun(floorVsix, workspace, i));
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
    rmSync(workspace, { recursive: true, force: true });
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(
    JSON.stringify({
      activationMs: median(runs.map((r) => r.oursMs)),
      floorMs: median(runs.map((r) => r.floorMs)),
      activationRunsMs: runs.map((r) => r.oursMs),
      floorRunsMs: runs.map((r) => r.floorMs),
      load: os.loadavg().map((l) => Math.round(l * 100) / 100),
    }),
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
