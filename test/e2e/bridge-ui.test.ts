// The bridge as a person clicks it, in code-server with Debian's Chromium and the real engine: "Export as
// Multi-Stage Dockerfile" on a pair's row, and "Make a Pair from This Dockerfile" on a multi-stage
// Dockerfile in the Explorer. What they write is held to what the CLI writes for the same inputs (the CLI's
// export and import are proven by building, in test/engines/bridge.test.ts). The extension runs from this
// checkout (dist/ from 'npm run build').
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';

const SHOTS = path.join(ARTIFACTS, 'e2e-bridge');
const PREFIX = `dc-bridgeui${Math.random().toString(36).slice(2, 6)}`;
const MULTI = 'FROM busybox:1.36 AS build\nRUN mkdir /out && echo built > /out/hello.txt\nFROM scratch\nCOPY --from=build /out/hello.txt /hello.txt\n';

describe('the bridge in the real UI', { timeout: 8 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let home: string;
  let workspace: string;
  let env: NodeJS.ProcessEnv;
  // Run from the workspace, so that the CLI names the pair as the extension does (its folder's name).
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { env, cwd: workspace, encoding: 'utf8', stdio: 'pipe' });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    home = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-bridge-'));
    workspace = path.join(home, 'workspace');
    const files: Record<string, string> = {
      // The pair's folder has a name of this run's own: its images (PREFIX, PREFIX-builder) are this test's.
      [`${PREFIX}/Dockerfile`]: 'FROM busybox:1.36\nCMD ["sh", "-c", "mkdir /o && echo exported > /o/hello.txt && tar -cf - -C /o ."]\n',
      [`${PREFIX}/Dockerfile.run`]: 'FROM scratch\nCOPY hello.txt /\n',
      'ms/app.dockerfile': MULTI,
      '.vscode/settings.json': JSON.stringify({ 'dockerception.revealOutput': 'never' }),
    };
    writeFiles(workspace, files);
    env = { ...process.env, DOCKERCEPTION_STATE_DIR: path.join(home, 'state'), DOCKER_CONFIG: path.join(home, 'docker-config') };
    mkdirSync(env.DOCKER_CONFIG as string, { recursive: true });
    ({ server, browser, page } = await openWorkbench({ name: 'e2e-bridge', workspace, env }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const tag of [`${PREFIX}-builder`, PREFIX]) {
      try {
        execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
      } catch {
        // not made
      }
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const command = async (title: string) => {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
  };
  /** A context menu's item: VS Code ignores a click that lands right as the menu opens, so hover, then Enter. */
  const choose = async (label: string) => {
    const item = page.locator('.context-view .action-label', { hasText: label }).first();
    await item.waitFor();
    await item.hover();
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
  };
  const toast = (text: string) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();

  it("exports a pair from its row: the file opens, and it is what 'dockerception export' writes", async () => {
    try {
      await command('View: Show Dockerception');
      const row = page.locator('.monaco-list-row', { hasText: PREFIX }).filter({ hasText: 'not built' }).first();
      await row.waitFor({ timeout: 60_000 });
      await row.click({ button: 'right' });
      await choose('Export as Multi-Stage Dockerfile');
      const done = toast('exported');
      await done.waitFor({ timeout: 180_000 });
      await shot('exported');
      const said = (await done.innerText()).replace(/\u00a0/g, ' ');
      assert.match(said, /Dockerception: exported \S+ to Dockerfile\.multistage\. It builds with BuildKit and with the legacy builder\./);
      // The editor shows the file a person would read next.
      await page.locator('.tab.active', { hasText: 'Dockerfile.multistage' }).first().waitFor({ timeout: 15_000 });
      const written = readFileSync(path.join(workspace, PREFIX, 'Dockerfile.multistage'), 'utf8');
      // Its first line is the command that builds it, run from the folder it is in.
      assert.equal(written.split('\n')[0], '# Builds with BuildKit and with the legacy builder: docker build -f Dockerfile.multistage .');
      // The rest is what the CLI writes (whose first line names the CLI's own output file).
      const fromCli = path.join(home, 'cli-export.Dockerfile');
      cli('export', PREFIX, '-o', fromCli);
      const rest = (text: string) => text.split('\n').slice(1).join('\n');
      assert.equal(rest(written), rest(readFileSync(fromCli, 'utf8')), 'the UI and the CLI write the same export');
    } catch (error) {
      await shot('export-FAILED').catch(() => undefined);
      throw error;
    }
  });

  it('makes a pair from a multi-stage Dockerfile in the Explorer: both files, as the CLI writes them, and a new row', async () => {
    try {
      // What the CLI makes of the same file, in a copy of its folder.
      const copy = path.join(home, 'ms-copy');
      cpSync(path.join(workspace, 'ms'), copy, { recursive: true });
      cli('import', path.join(copy, 'app.dockerfile'));

      await command('View: Show Explorer');
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^ms$/ }).first().click();
      const file = page.locator('.explorer-folders-view .monaco-list-row[aria-level="2"]', { hasText: 'app.dockerfile' }).first();
      await file.waitFor();
      await file.click({ button: 'right' });
      await choose('Make a Pair from This Dockerfile');
      await toast('made a pair').waitFor({ timeout: 60_000 });
      await shot('imported');
      for (const name of ['Dockerfile', 'Dockerfile.run']) {
        const made = path.join(workspace, 'ms', name);
        assert.ok(existsSync(made), `${name} was written`);
        assert.equal(readFileSync(made, 'utf8'), readFileSync(path.join(copy, name), 'utf8'), `${name}: the UI and the CLI write the same`);
      }
      assert.equal(readFileSync(path.join(workspace, 'ms', 'app.dockerfile'), 'utf8'), MULTI, 'the multi-stage Dockerfile is left as it was');
      // The new pair shows in the Pairs view.
      await command('View: Show Dockerception');
      await page.locator('.monaco-list-row', { hasText: 'ms' }).filter({ hasText: 'not built' }).first().waitFor({ timeout: 30_000 });
      await shot('new-row');
    } catch (error) {
      await shot('import-FAILED').catch(() => undefined);
      throw error;
    }
  });
});
