// Build All as a person clicks it, in code-server with Debian's Chromium and the real engine: the Pairs
// view's title button, one progress notification ("N of 3 …"), the rows as pairs finish (a failed row says
// so), the status bar showing the run, output lines carrying each pair's name. The extension runs from
// this checkout (extensionDevelopmentPath: dist/ from 'npm run build'), so no .vsix is needed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, openWorkbench, writeFiles, type CodeServer } from '../support/code-server';

const SHOTS = path.join(ARTIFACTS, 'e2e-build-all');
const PREFIX = `dc-bui${Math.random().toString(36).slice(2, 6)}`;
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tagged = (ref: string) => {
  try {
    docker('image', 'inspect', ref);
    return true;
  } catch {
    return false;
  }
};

describe('Build All in the real UI', { timeout: 10 * 60_000 }, () => {
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let workspace: string;
  const tags = ['base', 'app', 'broken'].flatMap((n) => [`${PREFIX}-${n}`, `${PREFIX}-${n}-builder`]);

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    workspace = mkdtempSync(path.join(os.tmpdir(), 'dc-e2e-all-'));
    const files: Record<string, string> = {
      // app's builder starts FROM base's runtime image: Build All builds base first.
      'base/Dockerfile': 'FROM busybox:1.36\nRUN mkdir /o && echo base > /o/base.txt\nCMD ["sh", "-c", "sleep 2; tar -cf - -C /o ."]\n',
      'base/Dockerfile.run': 'FROM busybox:1.36\nCOPY base.txt /\n',
      'app/Dockerfile': `FROM ${PREFIX}-base\nRUN mkdir /o && cp /base.txt /o/ && echo app > /o/app.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
      'app/Dockerfile.run': 'FROM scratch\nCOPY . /\n',
      'broken/Dockerfile': 'FROM busybox:1.36\nCMD ["sh", "-c", "echo the compiler broke >&2; exit 3"]\n',
      'broken/Dockerfile.run': 'FROM scratch\n',
      '.vscode/settings.json': JSON.stringify({ 'dockerception.runtimeTag': `${PREFIX}-\${name}`, 'dockerception.revealOutput': 'never' }),
    };
    writeFiles(workspace, files);
    ({ server, browser, page } = await openWorkbench({ name: 'e2e-build-all', workspace, width: 1400 }));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    for (const tag of tags) if (tagged(tag)) docker('rmi', '-f', tag);
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it("runs from the Pairs view's title: one progress notification, rows updating, the failed row saying so", async () => {
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
    try {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>View: Show Dockerception');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'View: Show Dockerception' }).first().click();
      for (const name of ['app', 'base', 'broken']) {
        await page.locator('.monaco-list-row', { hasText: name }).filter({ hasText: 'not built yet' }).first().waitFor({ timeout: 60_000 });
      }
      // The view is alone in its container, so its title actions sit in the side bar's title.
      const sidebar = page.locator('.part.sidebar');
      await sidebar.hover();
      await sidebar.locator('.title-actions .action-label[aria-label="Build All"], .pane-header .action-label[aria-label="Build All"]').first().click();

      // One notification for the whole run, counting pairs as they finish.
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: Build All' });
      await toast.first().waitFor({ timeout: 30_000 });
      const statusBar = page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: /Build All \d of 3/ });
      await statusBar.first().waitFor({ timeout: 30_000 });
      await toast
        .filter({ hasText: /[1-2] of 3/ })
        .first()
        .waitFor({ timeout: 120_000 });
      await shot('progress');
      assert.equal(
        await page.locator('.notifications-toasts .notification-toast', { hasText: 'Dockerception: building' }).count(),
        0,
        'no per-pair notification',
      );

      // The end: rows say what happened to each pair.
      await page.locator('.notifications-toasts', { hasText: 'Build All: broken failed' }).first().waitFor({ timeout: 180_000 });
      await shot('finished');
      await page
        .locator('.monaco-list-row', { hasText: 'base' })
        .filter({ hasText: /[\d.]+ (?:B|kB|MB) ← [\d.]+ MB/ })
        .first()
        .waitFor({ timeout: 30_000 });
      await page
        .locator('.monaco-list-row', { hasText: 'app' })
        .filter({ hasText: /[\d.]+ (?:B|kB|MB) ← [\d.]+ MB/ })
        .first()
        .waitFor({ timeout: 30_000 });
      await page.locator('.monaco-list-row', { hasText: 'broken' }).filter({ hasText: 'last build failed: BUILDER_EXIT' }).first().waitFor({ timeout: 30_000 });
      assert.equal(await statusBar.count(), 0, 'the status bar no longer shows the run');
      assert.ok(tagged(`${PREFIX}-base`) && tagged(`${PREFIX}-app`));
      assert.equal(tagged(`${PREFIX}-broken`), false);

      // The output: every line of the run says whose it is.
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>Dockerception: Show Output');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dockerception: Show Output' }).first().click();
      const lines = page.locator('.part.panel .monaco-editor .view-lines').first();
      await lines.waitFor({ timeout: 10_000 });
      const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
      assert.match(text, /\[app\] ==> Tagged /);
      assert.match(text, /\[app\] {3}size /, "the size table's lines too");
      assert.match(text, /Build All: 2 built, 0 up to date, 1 failed, 0 skipped/);
      await shot('output');
    } catch (error) {
      await shot('FAILED').catch(() => undefined);
      throw error;
    }
  });
});
