// For npm run bench: the extension's activation time as VS Code itself reports it, read where a person reads
// it — "Developer: Show Running Extensions" in code-server, which shows codeLoadingTime + activateCallTime
// (the require of dist/extension.js plus the synchronous part of activate()) as "Activation: N ms" — and,
// in the same window, "Developer: Startup Performance", whose "Extension Activation Stats" table shows the
// three times VS Code records apart: Load Code (codeLoadingTime), Call Activate (activateCallTime) and
// Finish Activate (activateResolvedTime: from activate() returning to the promise it returned resolving,
// here the deferred require of dist/extension-main.js and start()). That editor is read as its text (select
// all, copy, the clipboard through playwright), not from Monaco's virtualized DOM. The floor is an empty
// extension with the same activation events, loaded beside it in the same window, so that each run's
// numbers come with what VS Code's own overhead was in that run. A fresh code-server per run (a fresh
// extension host); the median of DC_ACTIVATION_RUNS runs (default 9), printed as one JSON line.
// DC_ACTIVATION_EXTENSION: measure the extension in that folder instead of this checkout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, ROOT, launchChromium, makeFixtureWorkspace, startCodeServer } from '../support/code-server';

const FLOOR_ID = 'activation-floor';
/** The extension measured: this checkout, or another build of it (a worktree of an older commit, for a before row). */
const EXTENSION = process.env.DC_ACTIVATION_EXTENSION ?? ROOT;
const OURS_ID = 'dockerception.dockerception';
// An installed extension without a gallery entry shows its package name in Running Extensions; Startup
// Performance shows the identifier (publisher.name).
const FLOOR_STATS_ID = 'dc-bench.activation-floor';

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

/** One extension's row of Startup Performance's "Extension Activation Stats" (milliseconds). */
interface Stats {
  loadCode: number;
  callActivate: number;
  finishActivate: number;
}

interface Run {
  oursMs: number;
  floorMs: number;
  ours: Stats;
  floor: Stats;
}

const activationMs = (text: string): number => {
  const match = /Activation: (\d+(?:\.\d+)?)ms/.exec(text);
  if (!match) throw new Error(`Running Extensions shows "${text}", not "Activation: N ms"`);
  return Number(match[1]);
};

/**
 * The row of `id` in the markdown table "Extension Activation Stats" (| Extension | Eager | Load Code |
 * Call Activate | Finish Activate | Event | By |), or undefined while the editor does not show it yet.
 */
function statsRow(text: string, id: string): Stats | undefined {
  const section = text.split(/^## /m).find((s) => s.startsWith('Extension Activation Stats'));
  if (!section) return undefined;
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const lines = section.split('\n').filter((l) => l.trim().startsWith('|'));
  const header = cells(lines[0] ?? '');
  const column = (name: string) => header.indexOf(name);
  const [load, call, finish] = [column('Load Code'), column('Call Activate'), column('Finish Activate')];
  if (column('Extension') !== 0 || load < 0 || call < 0 || finish < 0) throw new Error(`Startup Performance's table has the columns ${header.join(', ')}`);
  const row = lines.map(cells).find((c) => c[0].toLowerCase() === id.toLowerCase());
  if (!row) return undefined;
  const stats = { loadCode: Number(row[load]), callActivate: Number(row[call]), finishActivate: Number(row[finish]) };
  if (!Object.values(stats).every(Number.isFinite)) throw new Error(`Startup Performance shows for ${id}: ${row.join(' | ')}`);
  return stats;
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>Developer: ${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
}

/**
 * "Developer: Startup Performance", read as text: the editor (markdown, read-only, filled once the workbench
 * reaches LifecyclePhase.Eventually and again when an extension's status changes) selected whole and copied.
 */
async function startupPerformance(page: Page, ids: string[]): Promise<Stats[]> {
  await runCommand(page, 'Startup Performance');
  const editor = page.locator('.monaco-editor[data-uri^="perf:"]').first();
  await editor.waitFor({ timeout: 30_000 });
  const deadline = Date.now() + 30_000;
  let text = '';
  for (;;) {
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+C');
    // A string: the tests compile without the DOM's types.
    text = String(await page.evaluate('navigator.clipboard.readText()'));
    const rows = ids.map((id) => statsRow(text, id));
    if (rows.every((r) => r !== undefined)) return rows as Stats[];
    if (Date.now() > deadline) throw new Error(`Startup Performance shows no row for ${ids.join(' or ')}:\n${text.slice(0, 3000)}`);
    await page.waitForTimeout(500);
  }
}

async function oneRun(floorVsix: string, workspace: string, index: number): Promise<Run> {
  const server = await startCodeServer({ name: `activation-${index}`, trusted: true });
  const browser = await launchChromium();
  try {
    await server.install(floorVsix);
    // The clipboard: Startup Performance is read by copying its editor's text.
    const context = await browser.newContext({ viewport: { width: 1400, height: 2400 }, permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await page.goto(server.url(workspace, [['extensionDevelopmentPath', server.remote(EXTENSION)]]), { timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: 'Dockerception' }).first().waitFor({ timeout: 60_000 });
    await runCommand(page, 'Show Running Extensions');
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
      const shown = { oursMs: await timeOf(OURS_ID), floorMs: await timeOf(FLOOR_ID) };
      if (index === 0) await shot();
      const [ours, floor] = await startupPerformance(page, [OURS_ID, FLOOR_STATS_ID]);
      return { ...shown, ours, floor };
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
      // Startup Performance's Finish Activate (activateResolvedTime), and its three columns run by run.
      finishActivateMs: median(runs.map((r) => r.ours.finishActivate)),
      floorFinishActivateMs: median(runs.map((r) => r.floor.finishActivate)),
      loadCodeRunsMs: runs.map((r) => r.ours.loadCode),
      callActivateRunsMs: runs.map((r) => r.ours.callActivate),
      finishActivateRunsMs: runs.map((r) => r.ours.finishActivate),
      floorLoadCodeRunsMs: runs.map((r) => r.floor.loadCode),
      floorCallActivateRunsMs: runs.map((r) => r.floor.callActivate),
      floorFinishActivateRunsMs: runs.map((r) => r.floor.finishActivate),
      load: os.loadavg().map((l) => Math.round(l * 100) / 100),
    }),
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
